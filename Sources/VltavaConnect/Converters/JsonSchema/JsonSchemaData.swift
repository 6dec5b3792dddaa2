import SchemaRegistry

/// Confluent's `io.confluent.connect.json.JsonSchemaData`: the mapping between Connect's schemas and values and JSON
/// Schema documents and JSON values, as Confluent's JsonSchemaConverter does it, so that Vltava and a Java worker
/// read each other's records. Connect's integer and float types are JSON `integer`/`number` marked `connect.type`;
/// bytes are Base64 strings marked `connect.type: bytes`; optional schemas are `oneOf` with `{"type":"null"}`; structs
/// are objects whose properties carry their field position in `connect.index`; maps with required string keys are
/// objects (`additionalProperties` the value schema), other maps arrays of `{"key":…,"value":…}` objects; the Connect
/// name is the `title`, the doc the `description`, version and parameters `connect.version`/`connect.parameters`.
struct JsonSchemaData: Sendable {
    static let namespace = "io.confluent.connect.json"
    static let keyField = "key"
    static let valueField = "value"

    static let connectTypeProperty = "connect.type"
    static let connectVersionProperty = "connect.version"
    static let connectParametersProperty = "connect.parameters"
    static let connectIndexProperty = "connect.index"

    /// A Connect string schema with this parameter stands for a JSON `enum`; its symbols are in
    /// `io.confluent.connect.json.Enum.<symbol>` parameters.
    static let enumParameter = namespace + ".Enum"
    /// The name of the Connect struct that stands for a `oneOf`/`anyOf` of several schemas; its fields are named
    /// `io.confluent.connect.json.OneOf.field.<n>`.
    static let oneOfName = namespace + ".OneOf"
    /// The symbol parameter that stands for a `null` member of an enum.
    static let nullEnumMarker = "<NULL>"

    /// The configuration properties read (Confluent's `JsonSchemaDataConfig`).
    static let objectAdditionalPropertiesConfig = "object.additional.properties"
    static let useOptionalForNonRequiredConfig = "use.optional.for.nonrequired"
    static let decimalFormatConfig = "decimal.format"
    static let flattenSingletonUnionsConfig = "flatten.singleton.unions"
    static let ignoreDefaultForNullablesConfig = "ignore.default.for.nullables"

    /// `object.additional.properties` (default true): when false, struct schemas say `"additionalProperties": false`.
    var allowAdditionalProperties = true
    /// `use.optional.for.nonrequired` (default false): properties missing from `required` read as optional fields.
    var useOptionalForNonRequired = false
    /// `decimal.format` (`BASE64`, the default, or `NUMERIC`): how Decimal values are written, and whether a Decimal
    /// schema is a JSON `string` or `number`.
    var decimalFormat = JsonConverter.DecimalFormat.base64
    /// `flatten.singleton.unions` (default true): a `oneOf` of one schema reads as that schema.
    var flattenSingletonUnions = true
    /// `ignore.default.for.nullables` (default false): a null value of an optional schema with a default is written
    /// as null, not as the default.
    var ignoreDefaultForNullables = false

    init() {}

    init(configs: [String: String]) throws(ConnectError) {
        allowAdditionalProperties = try ConverterConfig.boolean(configs, Self.objectAdditionalPropertiesConfig, default: true)
        useOptionalForNonRequired = try ConverterConfig.boolean(configs, Self.useOptionalForNonRequiredConfig, default: false)
        flattenSingletonUnions = try ConverterConfig.boolean(configs, Self.flattenSingletonUnionsConfig, default: true)
        ignoreDefaultForNullables = try ConverterConfig.boolean(configs, Self.ignoreDefaultForNullablesConfig, default: false)
        if let text = configs[Self.decimalFormatConfig] {
            guard let format = JsonConverter.DecimalFormat(rawValue: String(text.trimmingSpaces).uppercased()) else {
                throw .config(name: Self.decimalFormatConfig, message: "\(text): String must be one of (case insensitive): BASE64, NUMERIC")
            }
            decimalFormat = format
        }
    }

    static func isOneOf(_ schema: ConnectSchema) -> Bool { schema.type == .structure && schema.name == oneOfName }

    /// The `connect.type` of Connect's number types.
    static func connectTypeName(_ kind: ConnectSchema.Kind) -> String? {
        switch kind {
        case .int8, .int16, .int32, .int64, .float32, .float64, .bytes: return kind.rawValue
        case .map: return "map"
        default: return nil
        }
    }

    // MARK: Connect schema → JSON Schema

    /// The JSON Schema document of a Connect schema, as Confluent's `fromConnectSchema` makes it. Members are written
    /// in a fixed order: `type`, `title`, `description`, the type's own keywords, `default`, then the `connect.*`
    /// properties.
    func fromConnectSchema(_ schema: ConnectSchema) throws(ConnectError) -> JSONValue {
        try jsonSchema(schema, index: nil, ignoreOptional: false, depth: 0)
    }

    private func jsonSchema(_ schema: ConnectSchema, index: Int?, ignoreOptional: Bool, depth: Int) throws(ConnectError) -> JSONValue {
        guard depth < 256 else { throw .data("The Connect schema is nested more than 256 levels deep") }
        var members: [(String, JSONValue)] = []
        var properties: [(String, JSONValue)] = []
        let indexMember: [(String, JSONValue)] = index.map { [(Self.connectIndexProperty, .integer($0))] } ?? []

        switch schema.type {
        case .int8, .int16, .int32, .int64:
            members.append(("type", .string("integer")))
        case .float32, .float64:
            members.append(("type", .string("number")))
        case .boolean:
            members.append(("type", .string("boolean")))
        case .string:
            if let symbols = Self.enumSymbols(schema) {
                members.append(("enum", .array(symbols.map { $0.map(JSONValue.string) ?? .null })))
            } else {
                members.append(("type", .string("string")))
            }
        case .bytes:
            let numeric = schema.name == ConnectLogical.decimalName && decimalFormat == .numeric
            members.append(("type", .string(numeric ? "number" : "string")))
        case .array:
            guard let items = schema.valueSchema else { throw .data("Array schema did not specify the items type") }
            members.append(("type", .string("array")))
            members.append(("items", try jsonSchema(items, index: nil, ignoreOptional: false, depth: depth + 1)))
        case .map:
            guard let keys = schema.keySchema, let values = schema.valueSchema else {
                throw .data("Map schema did not specify the key and value types")
            }
            if keys.type == .string && !keys.isOptional {
                members.append(("type", .string("object")))
                members.append(("additionalProperties", try jsonSchema(values, index: nil, ignoreOptional: false, depth: depth + 1)))
            } else {
                let entry: JSONValue = .object([
                    ("type", .string("object")),
                    ("properties", .object([
                        (Self.keyField, try jsonSchema(keys, index: 0, ignoreOptional: false, depth: depth + 1)),
                        (Self.valueField, try jsonSchema(values, index: 1, ignoreOptional: false, depth: depth + 1)),
                    ])),
                ])
                members.append(("type", .string("array")))
                members.append(("items", entry))
            }
        case .structure:
            if Self.isOneOf(schema) {
                var choices: [JSONValue] = schema.isOptional ? [.object([("type", .string("null"))])] : []
                for field in schema.fields {
                    choices.append(try jsonSchema(Self.nonOptional(field.schema), index: field.index, ignoreOptional: true, depth: depth + 1))
                }
                return .object([("oneOf", .array(choices))] + indexMember)
            }
            if schema.isOptional {
                // Confluent wraps the whole struct, with its title and properties, in the oneOf.
                let inner = try jsonSchema(Self.nonOptional(schema), index: nil, ignoreOptional: false, depth: depth + 1)
                return .object([("oneOf", .array([.object([("type", .string("null"))]), inner]))] + indexMember)
            }
            var fieldSchemas: [(String, JSONValue)] = []
            for field in schema.fields {
                fieldSchemas.append((field.name, try jsonSchema(field.schema, index: field.index, ignoreOptional: false, depth: depth + 1)))
            }
            members.append(("type", .string("object")))
            members.append(("properties", .object(fieldSchemas)))
            if !allowAdditionalProperties { members.append(("additionalProperties", .bool(false))) }
        }

        if let typeName = Self.connectTypeName(schema.type) { properties.append((Self.connectTypeProperty, .string(typeName))) }
        var head: [(String, JSONValue)] = []
        if let type = members.first(where: { $0.0 == "type" }) { head.append(type) }
        if let name = schema.name { head.append(("title", .string(name))) }
        if let doc = schema.doc { head.append(("description", .string(doc))) }
        var node = head + members.filter { $0.0 != "type" }
        if let defaultValue = schema.defaultValue, let json = try fromConnectData(schema.with(defaultValue: .some(nil)), defaultValue) {
            node.append(("default", json))
        }
        if let version = schema.version { properties.append((Self.connectVersionProperty, .integer(version))) }
        let parameters = (schema.parameters ?? []).filter { !$0.0.hasPrefix(Self.namespace) }
        if !parameters.isEmpty {
            properties.append((Self.connectParametersProperty, .object(parameters.map { ($0.0, .string($0.1)) })))
        }
        if schema.isOptional && !ignoreOptional {
            let inner = JSONValue.object(node + properties)
            return .object([("oneOf", .array([.object([("type", .string("null"))]), inner]))] + indexMember)
        }
        return .object(node + indexMember + properties)
    }

    /// The symbols of a Connect string schema that stands for a JSON enum (nil for `null`), or nil for a plain string.
    static func enumSymbols(_ schema: ConnectSchema) -> [String?]? {
        guard let parameters = schema.parameters, parameters.contains(where: { $0.0 == enumParameter }) else { return nil }
        let prefix = enumParameter + "."
        return parameters.filter { $0.0.hasPrefix(prefix) }.map { entry -> String? in
            let symbol = String(entry.0.dropFirst(prefix.count))
            return symbol == nullEnumMarker ? nil : symbol
        }
    }

    /// The schema made required, everything else kept.
    static func nonOptional(_ schema: ConnectSchema) -> ConnectSchema {
        schema.isOptional ? schema.with(isOptional: false) : schema
    }
}
