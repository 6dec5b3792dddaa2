import SchemaRegistry

/// Avro schemas read from and written to their JSON text as Avro's Java library does it (Confluent's converter
/// registers `Schema.toString()`), so that a schema registered by Vltava is the text a Java worker registers.
extension AvroType {
    /// The most nodes a schema may expand to once its named types are spelled out wherever used: a bound on the
    /// work a hostile schema (a type used twice in a type used twice in …) could cause.
    static let maximumNodes = 100_000

    /// Parses schema text.
    static func parse(_ text: String) throws(AvroError) -> AvroType {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            throw AvroError("the Avro schema is not valid JSON: \(error)")
        }
        var parser = AvroTypeParser()
        return try parser.parse(json, namespace: nil, depth: 0)
    }

    /// The schema as compact JSON text, members in Avro's order.
    var jsonText: String {
        var writer = AvroTypeWriter()
        return writer.json(self).serialized
    }
}

private struct AvroTypeParser {
    /// Named types defined so far, by full name, and those whose definition is being read (for recursion).
    var defined: [String: AvroType] = [:]
    var inProgress: Set<String> = []
    var nodes = 0

    static let primitives: [String: AvroType.Kind] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long, "float": .float, "double": .double,
        "bytes": .bytes, "string": .string,
    ]
    /// Attributes that define a type rather than annotate it (Avro's `SCHEMA_RESERVED`).
    static let reserved: Set<String> = ["doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type",
                                        "aliases", "default"]
    static let fieldReserved: Set<String> = ["default", "doc", "name", "order", "type", "aliases"]

    mutating func parse(_ json: JSONValue, namespace: String?, depth: Int) throws(AvroError) -> AvroType {
        nodes += 1
        guard nodes <= AvroType.maximumNodes else {
            throw AvroError("the Avro schema expands to more than \(AvroType.maximumNodes) types")
        }
        guard depth < 64 else { throw AvroError("the Avro schema is nested deeper than 64") }
        switch json {
        case let .string(name):
            return try reference(name, namespace: namespace)
        case let .array(branches):
            var types: [AvroType] = []
            for branch in branches {
                let type = try parse(branch, namespace: namespace, depth: depth + 1)
                if case .union = type.kind { throw AvroError("an Avro union may not hold a union") }
                types.append(type)
            }
            return AvroType(.union(types))
        case .object:
            return try parseObject(json, namespace: namespace, depth: depth)
        default:
            throw AvroError("not an Avro schema: \(json.serialized.prefix(200))")
        }
    }

    mutating func reference(_ name: String, namespace: String?) throws(AvroError) -> AvroType {
        if let kind = Self.primitives[name] { return AvroType(kind) }
        var candidates = [name]
        if let namespace, !name.contains(".") { candidates.insert("\(namespace).\(name)", at: 0) }
        for candidate in candidates {
            if inProgress.contains(candidate) { return AvroType(.recursiveReference(candidate)) }
            if let type = defined[candidate] {
                nodes += Self.size(of: type)
                guard nodes <= AvroType.maximumNodes else {
                    throw AvroError("the Avro schema expands to more than \(AvroType.maximumNodes) types")
                }
                return type
            }
        }
        throw AvroError("\"\(name)\" is not a defined name in the Avro schema")
    }

    static func size(of type: AvroType) -> Int {
        switch type.kind {
        case let .array(items): return 1 + size(of: items)
        case let .map(values): return 1 + size(of: values)
        case let .union(types): return types.reduce(1) { $0 + size(of: $1) }
        case let .record(record): return record.fields.reduce(1) { $0 + size(of: $1.type) }
        default: return 1
        }
    }

    static func properties(of json: JSONValue, except reserved: Set<String>) -> [AvroProperty] {
        (json.objectValue ?? []).filter { !reserved.contains($0.0) }.map { AvroProperty(name: $0.0, value: $0.1) }
    }

    mutating func parseObject(_ json: JSONValue, namespace: String?, depth: Int) throws(AvroError) -> AvroType {
        guard let typeValue = json["type"] else { throw AvroError("an Avro schema has no type: \(json.serialized.prefix(200))") }
        guard case let .string(type) = typeValue else {
            return try parse(typeValue, namespace: namespace, depth: depth + 1)
        }
        let properties = Self.properties(of: json, except: Self.reserved)
        switch type {
        case "record", "error", "enum", "fixed":
            return try parseNamed(json, type: type, namespace: namespace, depth: depth, properties: properties)
        case "array":
            guard let items = json["items"] else { throw AvroError("an Avro array has no items") }
            return AvroType(.array(items: try parse(items, namespace: namespace, depth: depth + 1)), properties: properties)
        case "map":
            guard let values = json["values"] else { throw AvroError("an Avro map has no values") }
            return AvroType(.map(values: try parse(values, namespace: namespace, depth: depth + 1)), properties: properties)
        default:
            var referenced = try reference(type, namespace: namespace)
            if Self.primitives[type] != nil { referenced.properties = properties }
            return referenced
        }
    }

    static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    mutating func parseNamed(_ json: JSONValue, type: String, namespace: String?, depth: Int,
                             properties: [AvroProperty]) throws(AvroError) -> AvroType {
        guard let name = json["name"]?.stringValue else { throw AvroError("an Avro \(type) has no name") }
        let space = name.contains(".") ? nil : (json["namespace"]?.stringValue ?? namespace)
        let fullName = (space ?? "").isEmpty ? name : "\(space ?? "").\(name)"
        for part in fullName.split(separator: ".", omittingEmptySubsequences: false) where !Self.isValidName(part) {
            throw AvroError("\"\(fullName)\" is not a valid Avro name")
        }
        guard defined[fullName] == nil, !inProgress.contains(fullName) else {
            throw AvroError("the Avro schema defines \(fullName) twice")
        }
        let innerNamespace = fullName.lastIndex(of: ".").map { String(fullName[..<$0]) }
        let aliases = (json["aliases"]?.arrayValue ?? []).compactMap(\.stringValue)
        let doc = json["doc"]?.stringValue
        let result: AvroType
        switch type {
        case "enum":
            guard let symbolValues = json["symbols"]?.arrayValue else { throw AvroError("the Avro enum \(fullName) has no symbols") }
            var symbols: [String] = []
            for value in symbolValues {
                guard let symbol = value.stringValue, !symbols.contains(symbol) else {
                    throw AvroError("the Avro enum \(fullName) has an invalid or repeated symbol")
                }
                symbols.append(symbol)
            }
            result = AvroType(.enumeration(AvroEnum(fullName: fullName, doc: doc, symbols: symbols,
                                                    defaultSymbol: json["default"]?.stringValue, aliases: aliases)),
                              properties: properties)
        case "fixed":
            guard let size = json["size"]?.integerValue, size >= 0, size <= Int32.max else {
                throw AvroError("the Avro fixed \(fullName) has no valid size")
            }
            result = AvroType(.fixed(AvroFixed(fullName: fullName, doc: doc, size: Int(size), aliases: aliases)), properties: properties)
        default:
            guard let fieldValues = json["fields"]?.arrayValue else { throw AvroError("the Avro record \(fullName) has no fields") }
            inProgress.insert(fullName)
            var fields: [AvroField] = []
            for fieldValue in fieldValues {
                guard let fieldName = fieldValue["name"]?.stringValue else {
                    throw AvroError("a field of the Avro record \(fullName) has no name")
                }
                guard !fields.contains(where: { $0.name == fieldName }) else {
                    throw AvroError("the Avro record \(fullName) has two fields named \(fieldName)")
                }
                guard let fieldType = fieldValue["type"] else {
                    throw AvroError("the field \(fieldName) of the Avro record \(fullName) has no type")
                }
                fields.append(AvroField(
                    name: fieldName, type: try parse(fieldType, namespace: innerNamespace, depth: depth + 1),
                    doc: fieldValue["doc"]?.stringValue, defaultValue: fieldValue["default"],
                    order: fieldValue["order"]?.stringValue,
                    aliases: (fieldValue["aliases"]?.arrayValue ?? []).compactMap(\.stringValue),
                    properties: Self.properties(of: fieldValue, except: Self.fieldReserved)))
            }
            inProgress.remove(fullName)
            result = AvroType(.record(AvroRecord(fullName: fullName, doc: doc, fields: fields, aliases: aliases)),
                              properties: properties)
        }
        defined[fullName] = result
        return result
    }
}

/// Writes a schema as Avro's `Schema.toString()`: a named type in full at its first use and by name after; names
/// qualified unless in the enclosing namespace; attributes after the members that define the type.
private struct AvroTypeWriter {
    var written: Set<String> = []
    var space: String?

    static func split(_ fullName: String) -> (space: String?, name: String) {
        guard let dot = fullName.lastIndex(of: ".") else { return (nil, fullName) }
        return (String(fullName[..<dot]), String(fullName[fullName.index(after: dot)...]))
    }

    func reference(_ fullName: String) -> JSONValue {
        let (typeSpace, name) = Self.split(fullName)
        let isTypeName = ["null", "boolean", "int", "long", "float", "double", "bytes", "string", "record", "enum", "array",
                          "map", "union", "fixed"].contains(name)
        return .string(typeSpace != nil && typeSpace == space && !isTypeName ? name : fullName)
    }

    func nameMembers(_ fullName: String) -> [(String, JSONValue)] {
        let (typeSpace, name) = Self.split(fullName)
        var members: [(String, JSONValue)] = [("name", .string(name))]
        if let typeSpace {
            if typeSpace != space { members.append(("namespace", .string(typeSpace))) }
        } else if space != nil {
            members.append(("namespace", .string("")))
        }
        return members
    }

    static func aliasMembers(_ aliases: [String]) -> [(String, JSONValue)] {
        aliases.isEmpty ? [] : [("aliases", .array(aliases.map { .string($0) }))]
    }

    mutating func json(_ type: AvroType) -> JSONValue {
        let properties = type.properties.map { ($0.name, $0.value) }
        switch type.kind {
        case .null, .boolean, .int, .long, .float, .double, .bytes, .string:
            guard !properties.isEmpty else { return .string(type.typeName) }
            return .object([("type", .string(type.typeName))] + properties)
        case let .array(items):
            return .object([("type", .string("array")), ("items", json(items))] + properties)
        case let .map(values):
            return .object([("type", .string("map")), ("values", json(values))] + properties)
        case let .union(types):
            return .array(types.map { json($0) })
        case let .recursiveReference(name):
            return reference(name)
        case let .record(record):
            guard written.insert(record.fullName).inserted else { return reference(record.fullName) }
            var members: [(String, JSONValue)] = [("type", .string("record"))] + nameMembers(record.fullName)
            let savedSpace = space
            space = Self.split(record.fullName).space
            if let doc = record.doc { members.append(("doc", .string(doc))) }
            var fields: [JSONValue] = []
            for field in record.fields {
                var fieldMembers: [(String, JSONValue)] = [("name", .string(field.name)), ("type", json(field.type))]
                if let doc = field.doc { fieldMembers.append(("doc", .string(doc))) }
                if let defaultValue = field.defaultValue { fieldMembers.append(("default", defaultValue)) }
                if let order = field.order, order != "ascending" { fieldMembers.append(("order", .string(order))) }
                fieldMembers += Self.aliasMembers(field.aliases)
                fieldMembers += field.properties.map { ($0.name, $0.value) }
                fields.append(.object(fieldMembers))
            }
            members.append(("fields", .array(fields)))
            space = savedSpace
            return .object(members + properties + Self.aliasMembers(record.aliases))
        case let .enumeration(enumeration):
            guard written.insert(enumeration.fullName).inserted else { return reference(enumeration.fullName) }
            var members: [(String, JSONValue)] = [("type", .string("enum"))] + nameMembers(enumeration.fullName)
            if let doc = enumeration.doc { members.append(("doc", .string(doc))) }
            members.append(("symbols", .array(enumeration.symbols.map { .string($0) })))
            if let defaultSymbol = enumeration.defaultSymbol { members.append(("default", .string(defaultSymbol))) }
            return .object(members + properties + Self.aliasMembers(enumeration.aliases))
        case let .fixed(fixed):
            guard written.insert(fixed.fullName).inserted else { return reference(fixed.fullName) }
            var members: [(String, JSONValue)] = [("type", .string("fixed"))] + nameMembers(fixed.fullName)
            if let doc = fixed.doc { members.append(("doc", .string(doc))) }
            members.append(("size", .integer(fixed.size)))
            return .object(members + properties + Self.aliasMembers(fixed.aliases))
        }
    }
}
