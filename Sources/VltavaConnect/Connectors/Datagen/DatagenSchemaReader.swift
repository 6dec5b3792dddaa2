import SchemaRegistry

/// Reads an Avro schema with avro-random-generator's hints into `DatagenType`s. The schema is first checked by the
/// registry's Avro parser (so it is refused exactly when Avro would refuse it); this walk then keeps what that
/// parser drops: `arg.properties`, docs, and where each named type is used. Named types are inlined where they are
/// referred to; a record that contains itself is refused, since a Connect schema cannot be recursive.
struct DatagenSchemaReader {
    private var named: [String: DatagenType] = [:]
    private var defining: Set<String> = []

    /// The top-level record of schema text (Avro's parser also accepts `//` and `/* */` comments, which
    /// Confluent's bundled schemas use).
    static func read(_ text: String, setting name: String) throws(ConnectError) -> DatagenType {
        let json: JSONValue
        do {
            let uncommented = JSONComments.strip(text)
            try AvroSchemaValidator.validate(uncommented)
            json = try JSONParser.parse(uncommented)
        } catch let error as RegistryError {
            throw .config(name: name, message: "Unable to parse the provided schema: \(error.message)")
        } catch {
            throw .config(name: name, message: "Unable to parse the provided schema: \(error)")
        }
        return try read(json, setting: name)
    }

    /// The top-level record of a schema already in JSON form.
    static func read(_ json: JSONValue, setting name: String) throws(ConnectError) -> DatagenType {
        var reader = DatagenSchemaReader()
        let root: DatagenType
        do {
            root = try reader.type(json, namespace: nil, depth: 0)
        } catch {
            guard case let .config(_, message) = error else { throw error }
            throw .config(name: name, message: message)
        }
        guard case .record = root.kind else {
            throw .config(name: name, message: "the schema must be an Avro record (each generated value becomes a Connect struct)")
        }
        return root
    }

    private static let primitives: [String: DatagenType.Kind] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long, "float": .float, "double": .double,
        "bytes": .bytes, "string": .string,
    ]

    private mutating func type(_ json: JSONValue, namespace: String?, depth: Int) throws(ConnectError) -> DatagenType {
        guard depth < 64 else { throw Self.invalid("the schema is nested deeper than 64 levels") }
        switch json {
        case let .string(name):
            if let kind = Self.primitives[name] { return try primitive(kind, logical: nil, hints: nil, identity: json.serialized) }
            return try reference(name, namespace: namespace)
        case let .array(branches):
            var types: [DatagenType] = []
            for branch in branches { types.append(try type(branch, namespace: namespace, depth: depth + 1)) }
            let schema = try DatagenConnectSchemas.union(types.map { (Self.unionFieldName($0), Self.isNull($0) ? nil : $0.connectSchema) })
            return DatagenType(kind: .union(types), logical: nil, hints: DatagenHints(), connectSchema: schema, identity: json.serialized)
        case .object:
            guard let typeValue = json["type"] else { throw Self.invalid("a schema object has no type") }
            guard case let .string(typeName) = typeValue else { return try type(typeValue, namespace: namespace, depth: depth + 1) }
            switch typeName {
            case "record", "error", "enum", "fixed":
                return try namedType(json, kind: typeName, namespace: namespace, depth: depth)
            case "array":
                guard let items = json["items"] else { throw Self.invalid("an array has no items") }
                let itemType = try type(items, namespace: namespace, depth: depth + 1)
                return try withHints(.array(itemType), schema: .array(of: itemType.connectSchema), hints: json["arg.properties"],
                                     identity: json.serialized)
            case "map":
                guard let values = json["values"] else { throw Self.invalid("a map has no values") }
                let valueType = try type(values, namespace: namespace, depth: depth + 1)
                var keys: DatagenType?
                if let keyHints = try DatagenHintsReader(json["arg.properties"]).keysProperties {
                    keys = try primitive(.string, logical: nil, hints: keyHints, identity: "keys " + keyHints.serialized)
                }
                return try withHints(.map(values: valueType, keys: keys), schema: .map(keys: .string, values: valueType.connectSchema),
                                     hints: json["arg.properties"], identity: json.serialized)
            default:
                if let kind = Self.primitives[typeName] {
                    return try primitive(kind, logical: Self.logical(json, kind: kind), hints: json["arg.properties"], identity: json.serialized)
                }
                return try reference(typeName, namespace: namespace)
            }
        default:
            throw Self.invalid("not a valid Avro schema: \(json.serialized.prefix(200))")
        }
    }

    private func primitive(_ kind: DatagenType.Kind, logical: DatagenType.Logical?, hints: JSONValue?,
                           identity: String) throws(ConnectError) -> DatagenType {
        // Only null has no Connect schema (AvroData refuses it outside a union too; fields of type null are refused).
        let schema = DatagenConnectSchemas.primitive(kind, logical: logical) ?? .optionalString
        return try withHints(kind, logical: logical, schema: schema, hints: hints, identity: identity)
    }

    /// The type with its hints read; options are converted with the type itself, so it is built twice.
    private func withHints(_ kind: DatagenType.Kind, logical: DatagenType.Logical? = nil, schema: ConnectSchema,
                           hints: JSONValue?, identity: String) throws(ConnectError) -> DatagenType {
        let bare = DatagenType(kind: kind, logical: logical, hints: DatagenHints(), connectSchema: schema, identity: identity)
        guard let hints else { return bare }
        let parsed = try DatagenHintsReader(hints).hints(for: bare)
        return DatagenType(kind: kind, logical: logical, hints: parsed, connectSchema: schema, identity: identity)
    }

    private static func logical(_ json: JSONValue, kind: DatagenType.Kind) -> DatagenType.Logical? {
        switch (json["logicalType"]?.stringValue, kind) {
        case ("date"?, .int): return .date
        case ("time-millis"?, .int): return .timeMillis
        case ("timestamp-millis"?, .long): return .timestampMillis
        case ("decimal"?, .bytes):
            guard let precision = json["precision"]?.integerValue, precision > 0, precision <= 1000 else { return nil }
            let scale = json["scale"]?.integerValue ?? 0
            guard scale >= 0, scale <= precision else { return nil }
            return .decimal(precision: Int(precision), scale: Int(scale))
        default: return nil
        }
    }

    private mutating func namedType(_ json: JSONValue, kind: String, namespace: String?, depth: Int) throws(ConnectError) -> DatagenType {
        guard let name = json["name"]?.stringValue else { throw Self.invalid("a named type has no name") }
        let fullName = Self.fullName(name, namespace: json["namespace"]?.stringValue ?? namespace)
        let shortName = String(fullName.split(separator: ".").last ?? Substring(fullName))
        let innerNamespace = fullName.contains(".") ? String(fullName[..<(fullName.lastIndex(of: ".") ?? fullName.endIndex)]) : nil
        let doc = json["doc"]?.stringValue
        let hints = json["arg.properties"]
        let result: DatagenType
        switch kind {
        case "enum":
            let symbols = json["symbols"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let schema = DatagenConnectSchemas.enumeration(fullName: fullName, shortName: shortName, symbols: symbols, doc: doc)
            result = try withHints(.enumeration(symbols: symbols), schema: schema, hints: hints, identity: fullName)
        case "fixed":
            let size = Int(json["size"]?.integerValue ?? 0)
            let schema = DatagenConnectSchemas.fixed(fullName: fullName, size: size)
            result = try withHints(.fixed(size: size), schema: schema, hints: hints, identity: fullName)
        default:
            defining.insert(fullName)
            var fields: [DatagenField] = []
            var connectFields: [(name: String, doc: String?, schema: ConnectSchema)] = []
            for field in json["fields"]?.arrayValue ?? [] {
                guard let fieldName = field["name"]?.stringValue, let fieldType = field["type"] else {
                    throw Self.invalid("a field of \(fullName) has no name or type")
                }
                let type = try type(fieldType, namespace: innerNamespace, depth: depth + 1)
                if Self.isNull(type) {
                    throw Self.invalid("the field \(fieldName) of \(fullName) has type null, which Connect cannot represent outside a union")
                }
                fields.append(DatagenField(name: fieldName, type: type))
                connectFields.append((fieldName, field["doc"]?.stringValue, type.connectSchema))
            }
            defining.remove(fullName)
            let schema = DatagenConnectSchemas.record(fullName: fullName, doc: doc, fields: connectFields)
            result = try withHints(.record(fields), schema: schema, hints: hints, identity: fullName)
        }
        named[fullName] = result
        return result
    }

    private func reference(_ name: String, namespace: String?) throws(ConnectError) -> DatagenType {
        let candidates = name.contains(".") || namespace == nil ? [name] : ["\(namespace ?? "").\(name)", name]
        for candidate in candidates {
            if defining.contains(candidate) {
                throw Self.invalid("the record \(candidate) contains itself; Connect schemas cannot be recursive")
            }
            if let type = named[candidate] { return type }
        }
        throw Self.invalid("\"\(name)\" is not a defined name")
    }

    private static func fullName(_ name: String, namespace: String?) -> String {
        name.contains(".") || (namespace ?? "").isEmpty ? name : "\(namespace ?? "").\(name)"
    }

    static func isNull(_ type: DatagenType) -> Bool {
        if case .null = type.kind { return true }
        return false
    }

    /// AvroData's name for a union branch's field: the type's name for records, enums and fixed, else the Avro type.
    private static func unionFieldName(_ type: DatagenType) -> String {
        switch type.kind {
        case .record, .enumeration, .fixed:
            return String(type.identity.split(separator: ".").last ?? Substring(type.identity))
        case .null: return "null"
        case .boolean: return "boolean"
        case .int: return "int"
        case .long: return "long"
        case .float: return "float"
        case .double: return "double"
        case .bytes: return "bytes"
        case .string: return "string"
        case .array: return "array"
        case .map: return "map"
        case .union: return "union"
        }
    }

    static func invalid(_ message: String) -> ConnectError { .config(name: "schema", message: message) }
}

/// Avro's Java parser reads schemas with Jackson's comments allowed; the registry's JSON parser does not.
enum JSONComments {
    /// The text with `//` and `/* */` comments outside strings replaced by spaces.
    static func strip(_ text: String) -> String {
        var output: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                output.append(byte)
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    output.append(bytes[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
                continue
            }
            if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            }
            if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                index += 2
                while index + 1 < bytes.count, !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
                output.append(UInt8(ascii: " "))
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            output.append(byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
