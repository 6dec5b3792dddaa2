import SchemaRegistry

/// The schema half of the envelope, as Kafka's `asJsonSchema`/`asConnectSchema` write and read it.
extension JsonConverter {
    /// Connect's type names in the envelope: `float` and `double` for float32 and float64, the rest as the type.
    static func jsonTypeName(_ kind: ConnectSchema.Kind) -> String {
        switch kind {
        case .float32: return "float"
        case .float64: return "double"
        default: return kind.rawValue
        }
    }

    static func kind(jsonTypeName name: String) -> ConnectSchema.Kind? {
        switch name {
        case "float": return .float32
        case "double": return .float64
        case "float32", "float64": return nil
        default: return ConnectSchema.Kind(rawValue: name)
        }
    }

    /// A schema as JSON, members in Kafka's order: `type`; `items`, `keys` and `values`, or `fields` (each field's
    /// schema followed by its `field` name); `optional`; then `name`, `version`, `doc`, `parameters` when set; and
    /// `default` last.
    public func asJsonSchema(_ schema: ConnectSchema?) throws(ConnectError) -> JSONValue? {
        guard let schema else { return nil }
        var members: [(String, JSONValue)] = [("type", .string(Self.jsonTypeName(schema.type)))]
        switch schema.type {
        case .array:
            members.append(("items", try asJsonSchema(schema.valueSchema) ?? .null))
        case .map:
            members.append(("keys", try asJsonSchema(schema.keySchema) ?? .null))
            members.append(("values", try asJsonSchema(schema.valueSchema) ?? .null))
        case .structure:
            var fields: [JSONValue] = []
            for field in schema.fields {
                guard case var .object(fieldMembers)? = try asJsonSchema(field.schema) else { continue }
                fieldMembers.append(("field", .string(field.name)))
                fields.append(.object(fieldMembers))
            }
            members.append(("fields", .array(fields)))
        default:
            break
        }
        members.append(("optional", .bool(schema.isOptional)))
        if let name = schema.name { members.append(("name", .string(name))) }
        if let version = schema.version { members.append(("version", .integer(version))) }
        if let doc = schema.doc { members.append(("doc", .string(doc))) }
        if let parameters = schema.parameters {
            members.append(("parameters", .object(parameters.map { ($0.0, .string($0.1)) })))
        }
        if let defaultValue = schema.defaultValue {
            members.append(("default", try convertToJson(schema, defaultValue)))
        }
        return .object(members)
    }

    /// A schema read from the envelope; nil for JSON null (a schemaless payload).
    public func asConnectSchema(_ json: JSONValue) throws(ConnectError) -> ConnectSchema? {
        if case .null = json { return nil }
        guard let typeName = json["type"]?.stringValue else { throw .data("Schema must contain 'type' field") }
        guard let kind = Self.kind(jsonTypeName: typeName) else { throw .data("Unknown schema type: \(typeName)") }
        var keySchema: ConnectSchema?
        var valueSchema: ConnectSchema?
        var fields: [ConnectField] = []
        switch kind {
        case .array:
            guard let items = json["items"], let itemSchema = try asConnectSchema(items) else {
                throw .data("Array schema did not specify the element type")
            }
            valueSchema = itemSchema
        case .map:
            guard let keys = json["keys"], let keysSchema = try asConnectSchema(keys) else {
                throw .data("Map schema did not specify the key type")
            }
            guard let values = json["values"], let valuesSchema = try asConnectSchema(values) else {
                throw .data("Map schema did not specify the value type")
            }
            keySchema = keysSchema
            valueSchema = valuesSchema
        case .structure:
            guard let fieldsJson = json["fields"]?.arrayValue else {
                throw .data("Struct schema's \"fields\" argument is not an array.")
            }
            for fieldJson in fieldsJson {
                guard let name = fieldJson["field"]?.stringValue else {
                    throw .data("Struct schema's field name not specified properly")
                }
                guard !fields.contains(where: { $0.name == name }) else {
                    throw .data("Cannot create field because of field name duplication \(name)")
                }
                guard let fieldSchema = try asConnectSchema(fieldJson) else {
                    throw .data("Struct schema's field name not specified properly")
                }
                fields.append(ConnectField(name: name, index: fields.count, schema: fieldSchema))
            }
        default:
            break
        }
        let version = json["version"].flatMap { Self.integralValue($0) }.map { Int32(truncatingIfNeeded: $0) }
        var parameters: [(String, String)]?
        if let members = json["parameters"]?.objectValue {
            var list: [(String, String)] = []
            for (name, value) in members {
                guard let text = value.stringValue else { throw .data("Schema parameters must have string values.") }
                list.append((name, text))
            }
            parameters = list
        }
        let schema = ConnectSchema(type: kind, isOptional: json["optional"]?.boolValue == true, name: json["name"]?.stringValue,
                                   version: version, doc: json["doc"]?.stringValue, parameters: parameters, fields: fields,
                                   keySchema: keySchema, valueSchema: valueSchema)
        guard let defaultJson = json["default"] else { return schema }
        let defaultValue = try convertToConnect(schema, defaultJson)
        if defaultValue.isNull { return schema }
        return ConnectSchema(type: kind, isOptional: schema.isOptional, defaultValue: defaultValue, name: schema.name,
                             version: version, doc: schema.doc, parameters: parameters, fields: fields,
                             keySchema: keySchema, valueSchema: valueSchema)
    }

    /// The value of a JSON integer (Jackson's "integral number": no fraction or exponent), when it fits in 64 bits.
    static func integralValue(_ json: JSONValue) -> Int64? {
        guard case let .number(text) = json, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int64(text)
    }
}
