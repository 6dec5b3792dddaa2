/// JSON Schema (draft-07 and later drafts' common keywords): checks that a document is a schema, gives its
/// normalized form, and compares content models for compatibility.
struct JSONSchemaDocument: Sendable {
    var root: JSONValue

    private static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]
    private static let schemaKeywords: Set<String> = [
        "additionalProperties", "items", "not", "contains", "propertyNames", "if", "then", "else", "additionalItems",
        "unevaluatedProperties", "unevaluatedItems",
    ]
    private static let schemaArrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    private static let schemaMapKeywords: Set<String> = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"]
    private static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]
    private static let countKeywords: Set<String> = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]

    static func parse(_ text: String, references: [String: JSONSchemaDocument] = [:]) throws(RegistryError) -> JSONSchemaDocument {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            throw .invalidSchema("Invalid JSON schema: \(error)")
        }
        var nodes = 0
        try validate(json, path: "#", nodes: &nodes)
        return JSONSchemaDocument(root: json)
    }

    private static func validate(_ schema: JSONValue, path: String, nodes: inout Int) throws(RegistryError) {
        nodes += 1
        guard nodes <= 100_000 else { throw .invalidSchema("JSON schema has more than 100000 subschemas") }
        if schema.boolValue != nil { return }
        guard let members = schema.objectValue else { throw .invalidSchema("\(path) is not a schema (object or boolean)") }
        for (keyword, value) in members {
            let at = "\(path)/\(keyword)"
            switch keyword {
            case "type":
                let names = value.stringValue.map { [$0] } ?? value.arrayValue?.map { $0.stringValue ?? "" }
                guard let names, !names.isEmpty, names.allSatisfy(typeNames.contains) else {
                    throw .invalidSchema("\(at) must name JSON types")
                }
            case "required":
                guard let names = value.arrayValue, names.allSatisfy({ $0.stringValue != nil }) else {
                    if value.boolValue != nil { continue }
                    throw .invalidSchema("\(at) must be an array of strings")
                }
            case "enum":
                guard value.arrayValue != nil else { throw .invalidSchema("\(at) must be an array") }
            case "$ref", "$id", "$schema", "title", "description", "pattern", "format", "$comment":
                guard value.stringValue != nil else { throw .invalidSchema("\(at) must be a string") }
            case _ where schemaKeywords.contains(keyword):
                if keyword == "items" || keyword == "additionalItems", let items = value.arrayValue {
                    for (index, item) in items.enumerated() { try validate(item, path: "\(at)/\(index)", nodes: &nodes) }
                } else {
                    try validate(value, path: at, nodes: &nodes)
                }
            case _ where schemaArrayKeywords.contains(keyword):
                guard let items = value.arrayValue, !items.isEmpty else { throw .invalidSchema("\(at) must be a non-empty array") }
                for (index, item) in items.enumerated() { try validate(item, path: "\(at)/\(index)", nodes: &nodes) }
            case _ where schemaMapKeywords.contains(keyword):
                guard let properties = value.objectValue else { throw .invalidSchema("\(at) must be an object") }
                for (name, property) in properties { try validate(property, path: "\(at)/\(name)", nodes: &nodes) }
            case _ where numberKeywords.contains(keyword):
                guard value.doubleValue != nil || (keyword.hasPrefix("exclusive") && value.boolValue != nil) else {
                    throw .invalidSchema("\(at) must be a number")
                }
            case _ where countKeywords.contains(keyword):
                guard let count = value.integerValue, count >= 0 else { throw .invalidSchema("\(at) must be a non-negative integer") }
            default:
                continue
            }
        }
    }

    var normalizedForm: String { root.serialized }

    /// Problems reading data valid under `writer` with `reader` (empty: every such document is accepted).
    static func problems(reader: JSONSchemaDocument, writer: JSONSchemaDocument) -> [String] {
        var problems: [String] = []
        var steps = 0
        compare(reader.root, writer.root, path: "#", problems: &problems, steps: &steps)
        return problems
    }

    private static func types(of schema: JSONValue) -> Set<String>? {
        if let name = schema["type"]?.stringValue { return [name] }
        if let names = schema["type"]?.arrayValue { return Set(names.compactMap(\.stringValue)) }
        return nil
    }

    /// Whether the schema accepts properties it does not name.
    private static func isOpen(_ schema: JSONValue) -> Bool {
        if schema["additionalProperties"]?.boolValue == false { return false }
        if schema["additionalProperties"]?.isObject == true { return false }
        return true
    }

    private static func compare(
        _ reader: JSONValue, _ writer: JSONValue, path: String, problems: inout [String], steps: inout Int
    ) {
        steps += 1
        guard steps < 100_000 else { return }
        if reader.boolValue == true || reader == .object([]) { return }
        if writer.boolValue == false { return }
        if reader.boolValue == false {
            problems.append("{errorType:'SCHEMA_REMOVED', path:'\(path)'}")
            return
        }
        if writer.boolValue == true {
            problems.append("{errorType:'TYPE_NARROWED', path:'\(path)'}")
            return
        }
        if let readerTypes = types(of: reader) {
            let writerTypes = types(of: writer) ?? typeNames
            for type in writerTypes where !readerTypes.contains(type) && !(type == "integer" && readerTypes.contains("number")) {
                problems.append("{errorType:'TYPE_NARROWED', description:'type \(type) no longer accepted', path:'\(path)'}")
            }
        }
        if let readerEnum = reader["enum"]?.arrayValue {
            if let writerEnum = writer["enum"]?.arrayValue {
                for value in writerEnum where !readerEnum.contains(value) {
                    problems.append("{errorType:'ENUM_ARRAY_NARROWED', path:'\(path)/enum'}")
                    break
                }
            } else {
                problems.append("{errorType:'ENUM_ARRAY_NARROWED', path:'\(path)/enum'}")
            }
        }
        compareBound("minimum", reader, writer, path: path, larger: true, problems: &problems)
        compareBound("exclusiveMinimum", reader, writer, path: path, larger: true, problems: &problems)
        compareBound("minLength", reader, writer, path: path, larger: true, problems: &problems)
        compareBound("minItems", reader, writer, path: path, larger: true, problems: &problems)
        compareBound("maximum", reader, writer, path: path, larger: false, problems: &problems)
        compareBound("exclusiveMaximum", reader, writer, path: path, larger: false, problems: &problems)
        compareBound("maxLength", reader, writer, path: path, larger: false, problems: &problems)
        compareBound("maxItems", reader, writer, path: path, larger: false, problems: &problems)

        let readerProperties = reader["properties"]?.objectValue ?? []
        let writerProperties = writer["properties"]?.objectValue ?? []
        let readerRequired = Set(reader["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let writerRequired = Set(writer["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for (name, readerProperty) in readerProperties {
            let propertyPath = "\(path)/properties/\(name)"
            if let writerProperty = writerProperties.first(where: { $0.0 == name })?.1 {
                compare(readerProperty, writerProperty, path: propertyPath, problems: &problems, steps: &steps)
            } else if isOpen(writer) {
                if readerProperty.boolValue != true && readerProperty != .object([]) {
                    problems.append("{errorType:'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(propertyPath)'}")
                }
            } else if let additional = writer["additionalProperties"], additional.isObject {
                compare(readerProperty, additional, path: propertyPath, problems: &problems, steps: &steps)
            }
            if readerRequired.contains(name), !writerRequired.contains(name), readerProperty["default"] == nil {
                problems.append("{errorType:'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', path:'\(propertyPath)'}")
            }
        }
        for (name, writerProperty) in writerProperties where !readerProperties.contains(where: { $0.0 == name }) {
            let propertyPath = "\(path)/properties/\(name)"
            if reader["additionalProperties"]?.boolValue == false {
                problems.append("{errorType:'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', path:'\(propertyPath)'}")
            } else if let additional = reader["additionalProperties"], additional.isObject {
                compare(additional, writerProperty, path: propertyPath, problems: &problems, steps: &steps)
            }
        }
        for name in readerRequired where !writerRequired.contains(name) && !readerProperties.contains(where: { $0.0 == name }) {
            problems.append("{errorType:'REQUIRED_ATTRIBUTE_ADDED', path:'\(path)/required/\(name)'}")
        }
        if reader["additionalProperties"]?.boolValue == false, isOpen(writer) {
            problems.append("{errorType:'ADDITIONAL_PROPERTIES_REMOVED', path:'\(path)/additionalProperties'}")
        }
        if let readerItems = reader["items"], readerItems.arrayValue == nil, let writerItems = writer["items"], writerItems.arrayValue == nil {
            compare(readerItems, writerItems, path: "\(path)/items", problems: &problems, steps: &steps)
        }
    }

    private static func compareBound(
        _ keyword: String, _ reader: JSONValue, _ writer: JSONValue, path: String, larger: Bool, problems: inout [String]
    ) {
        guard let readerBound = reader[keyword]?.doubleValue else { return }
        let narrowed: Bool
        if let writerBound = writer[keyword]?.doubleValue {
            narrowed = larger ? readerBound > writerBound : readerBound < writerBound
        } else {
            narrowed = true
        }
        if narrowed {
            let kind = larger ? "\(keyword.uppercased())_INCREASED" : "\(keyword.uppercased())_DECREASED"
            problems.append("{errorType:'\(kind)', path:'\(path)/\(keyword)'}")
        }
    }
}
