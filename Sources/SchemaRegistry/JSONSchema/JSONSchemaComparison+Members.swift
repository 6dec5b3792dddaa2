/// The members of object and array schemas: properties (with pattern properties and open, closed and partially
/// open content models), dependencies, and items (tuples and the rest).
extension JSONSchemaComparison {
    mutating func compareProperties(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let reader = readerNode.value
        let writer = writerNode.value
        let readerProperties = reader["properties"]?.objectValue ?? []
        let writerProperties = writer["properties"]?.objectValue ?? []
        let readerRequired = Set(reader["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let writerRequired = Set(writer["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for (name, readerProperty) in readerProperties {
            let segment = JSONSchemaDocument.pointerSegment(name)
            let propertyPath = "\(path)/properties/\(segment)"
            let readerChild = child(readerNode, readerProperty, "properties/" + segment)
            if let writerProperty = writerProperties.last(where: { $0.0 == name })?.1 {
                compare(readerChild, child(writerNode, writerProperty, "properties/" + segment), path: propertyPath, problems: &problems)
            } else if let writerPattern = patternSchema(for: name, in: writerNode) {
                compare(readerChild, writerPattern, path: propertyPath, problems: &problems)
            } else if Self.isOpen(writer) {
                if !Self.isTrivial(self.reader.dereferenced(readerChild).value) {
                    let kind = readerRequired.contains(name) ? "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" : "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
                    problems.append("{errorType:'\(kind)', path:'\(propertyPath)'}")
                }
            } else if let (additional, keyword) = Self.additional(writer), additional.isObject {
                compare(readerChild, child(writerNode, additional, keyword), path: propertyPath, problems: &problems)
            }
            if readerRequired.contains(name), !writerRequired.contains(name), readerProperty["default"] == nil {
                // A property the writer had, now required (REQUIRED_ATTRIBUTE_ADDED), or a new required one.
                let existed = writerProperties.contains { $0.0 == name }
                problems.append(existed
                    ? "{errorType:'REQUIRED_ATTRIBUTE_ADDED', path:'\(path)/required/\(segment)'}"
                    : "{errorType:'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', path:'\(propertyPath)'}")
            }
        }
        for (name, writerProperty) in writerProperties where !readerProperties.contains(where: { $0.0 == name }) {
            let segment = JSONSchemaDocument.pointerSegment(name)
            let propertyPath = "\(path)/properties/\(segment)"
            let writerChild = child(writerNode, writerProperty, "properties/" + segment)
            if let readerPattern = patternSchema(for: name, in: readerNode) {
                compare(readerPattern, writerChild, path: propertyPath, problems: &problems)
            } else if Self.isClosed(reader) {
                // A property the writer already refused (`false`) may go (Confluent's
                // PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL); any other may not.
                if self.writer.dereferenced(writerChild).value.boolValue != false {
                    problems.append("{errorType:'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', path:'\(propertyPath)'}")
                }
            } else if let (additional, keyword) = Self.additional(reader), additional.isObject {
                compare(child(readerNode, additional, keyword), writerChild, path: propertyPath, problems: &problems)
            }
        }
        // A `required` name that no property of the reader describes is not checked, as in Confluent's registry
        // (its diff walks properties): `required: ["foo"]` becoming `required: ["bar"]` is compatible there.
        // Pattern properties matched by pattern text.
        let readerPatterns = reader["patternProperties"]?.objectValue ?? []
        let writerPatterns = writer["patternProperties"]?.objectValue ?? []
        for (pattern, readerSchema) in readerPatterns {
            let segment = "patternProperties/" + JSONSchemaDocument.pointerSegment(pattern)
            let readerChild = child(readerNode, readerSchema, segment)
            if let writerSchema = writerPatterns.last(where: { $0.0 == pattern })?.1 {
                compare(readerChild, child(writerNode, writerSchema, segment), path: "\(path)/\(segment)", problems: &problems)
            } else if Self.isOpen(writer) {
                if !Self.isTrivial(self.reader.dereferenced(readerChild).value) {
                    problems.append("{errorType:'PATTERN_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(path)/\(segment)'}")
                }
            } else if let (additional, keyword) = Self.additional(writer), additional.isObject {
                compare(readerChild, child(writerNode, additional, keyword), path: "\(path)/\(segment)", problems: &problems)
            }
        }
        for (pattern, writerSchema) in writerPatterns where !readerPatterns.contains(where: { $0.0 == pattern }) {
            let segment = "patternProperties/" + JSONSchemaDocument.pointerSegment(pattern)
            if Self.isClosed(reader) {
                problems.append("{errorType:'PATTERN_PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', path:'\(path)/\(segment)'}")
            } else if let (additional, keyword) = Self.additional(reader), additional.isObject {
                compare(child(readerNode, additional, keyword), child(writerNode, writerSchema, segment),
                        path: "\(path)/\(segment)", problems: &problems)
            }
        }
        if Self.isClosed(reader), Self.isOpen(writer) {
            problems.append("{errorType:'ADDITIONAL_PROPERTIES_REMOVED', path:'\(path)/additionalProperties'}")
        } else if let (readerAdditional, readerKeyword) = Self.additional(reader), readerAdditional.isObject {
            if let (writerAdditional, writerKeyword) = Self.additional(writer), writerAdditional.isObject {
                compare(child(readerNode, readerAdditional, readerKeyword), child(writerNode, writerAdditional, writerKeyword),
                        path: "\(path)/\(readerKeyword)", problems: &problems)
            } else if Self.isOpen(writer), !Self.isTrivial(self.reader.dereferenced(child(readerNode, readerAdditional, readerKeyword)).value) {
                problems.append("{errorType:'ADDITIONAL_PROPERTIES_NARROWED', path:'\(path)/\(readerKeyword)'}")
            }
        }
    }

    /// `dependencies` (draft-07, arrays or schemas), `dependentRequired` and `dependentSchemas` (2019-09).
    private static func dependencies(_ schema: JSONValue) -> (arrays: [String: Set<String>], schemas: [(String, JSONValue, String)]) {
        var arrays: [String: Set<String>] = [:]
        var schemas: [(String, JSONValue, String)] = []
        for keyword in ["dependencies", "dependentRequired", "dependentSchemas"] {
            for (name, value) in schema[keyword]?.objectValue ?? [] {
                if let names = value.arrayValue, keyword != "dependentSchemas" {
                    arrays[name, default: []].formUnion(names.compactMap(\.stringValue))
                } else {
                    schemas.append((name, value, "\(keyword)/\(JSONSchemaDocument.pointerSegment(name))"))
                }
            }
        }
        return (arrays, schemas)
    }

    mutating func compareDependencies(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let readerDependencies = Self.dependencies(readerNode.value)
        let writerDependencies = Self.dependencies(writerNode.value)
        for (name, required) in readerDependencies.arrays.sorted(by: { $0.key < $1.key }) {
            guard let writerRequired = writerDependencies.arrays[name] else {
                problems.append("{errorType:'DEPENDENCY_ARRAY_ADDED', path:'\(path)/dependencies/\(name)'}")
                continue
            }
            if !required.isSubset(of: writerRequired) {
                problems.append("{errorType:'DEPENDENCY_ARRAY_EXTENDED', path:'\(path)/dependencies/\(name)'}")
            }
        }
        for (name, schema, segment) in readerDependencies.schemas {
            guard let (_, writerSchema, writerSegment) = writerDependencies.schemas.last(where: { $0.0 == name }) else {
                problems.append("{errorType:'DEPENDENCY_SCHEMA_ADDED', path:'\(path)/\(segment)'}")
                continue
            }
            compare(child(readerNode, schema, segment), child(writerNode, writerSchema, writerSegment), path: "\(path)/\(segment)", problems: &problems)
        }
    }

    /// Positional items (`prefixItems`, or `items` as an array) and the schema for the rest of the items.
    private static func tuple(_ schema: JSONValue) -> (items: [JSONValue], itemsKeyword: String, rest: JSONValue?, restKeyword: String) {
        if let prefix = schema["prefixItems"]?.arrayValue {
            if let rest = schema["items"] { return (prefix, "prefixItems", rest, "items") }
            return (prefix, "prefixItems", schema["unevaluatedItems"], "unevaluatedItems")
        }
        if let items = schema["items"]?.arrayValue {
            return (items, "items", schema["additionalItems"], "additionalItems")
        }
        return ([], "items", schema["items"], "items")
    }

    mutating func compareItems(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let readerTuple = Self.tuple(readerNode.value)
        let writerTuple = Self.tuple(writerNode.value)
        let readerItems = readerTuple.items
        let writerItems = writerTuple.items
        for index in 0..<max(readerItems.count, writerItems.count) {
            let itemPath = "\(path)/\(readerTuple.itemsKeyword)/\(index)"
            let readerChild: JSONSchemaNode
            if index < readerItems.count {
                readerChild = child(readerNode, readerItems[index], "\(readerTuple.itemsKeyword)/\(index)")
            } else if let rest = readerTuple.rest {
                readerChild = child(readerNode, rest, readerTuple.restKeyword)
            } else {
                continue  // the reader accepts any item there
            }
            if index < writerItems.count {
                compare(readerChild, child(writerNode, writerItems[index], "\(writerTuple.itemsKeyword)/\(index)"), path: itemPath, problems: &problems)
            } else if let rest = writerTuple.rest {
                compare(readerChild, child(writerNode, rest, writerTuple.restKeyword), path: itemPath, problems: &problems)
            } else if !Self.isTrivial(reader.dereferenced(readerChild).value) {
                problems.append("{errorType:'ITEM_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(itemPath)'}")
            }
        }
        if let readerRest = readerTuple.rest {
            let writerRest = writerTuple.rest ?? .bool(true)
            if readerRest.boolValue == false, writerRest.boolValue != false {
                // No more items than those listed, where more were allowed (Confluent's ADDITIONAL_ITEMS_REMOVED).
                problems.append("{errorType:'ADDITIONAL_ITEMS_REMOVED', path:'\(path)/\(readerTuple.restKeyword)'}")
            } else {
                compare(child(readerNode, readerRest, readerTuple.restKeyword), child(writerNode, writerRest, writerTuple.restKeyword),
                        path: "\(path)/\(readerTuple.restKeyword)", problems: &problems)
            }
        }
        // `additionalItems` beside no item list validates nothing, but Confluent's registry compares it all the same
        // (ADDITIONAL_ITEMS_REMOVED, TYPE_CHANGED): so does this.
        if readerTuple.restKeyword != "additionalItems", let readerAdditional = readerNode.value["additionalItems"] {
            let writerAdditional = writerNode.value["additionalItems"] ?? .bool(true)
            if readerAdditional.boolValue == false, writerAdditional.boolValue != false {
                problems.append("{errorType:'ADDITIONAL_ITEMS_REMOVED', path:'\(path)/additionalItems'}")
                return
            }
            compare(child(readerNode, readerAdditional, "additionalItems"), child(writerNode, writerAdditional, "additionalItems"),
                    path: "\(path)/additionalItems", problems: &problems)
        }
    }
}
