import SchemaRegistry

/// Reads JSON as a person types it into a Connect value of a schema made from a registry schema, refusing what does
/// not fit with the field's path: a name the schema lacks, a missing required field, an integer out of its type's
/// range or with a fraction, an enum symbol the enum lacks. Structs, arrays and maps are walked here; single values
/// go through `JsonConverter.convertToConnect`, Kafka's reading of a `schemas.enable` payload.
///
/// Unions: an Avro union's Connect struct (`io.confluent.connect.avro.Union`) takes its value as it is (the first
/// member it fits) or as Avro's JSON encoding writes it (`{"string": "x"}`, `{"com.acme.Address": {…}}`), and an
/// optional Avro value may be wrapped so too; a Protobuf oneof (`io.confluent.connect.protobuf.Union.<name>`) takes
/// the member set beside the message's other fields, as Protobuf's JSON mapping writes it; a Protobuf 64-bit
/// integer may be a string of digits, as that mapping writes it too.
struct TypedJSONReader {
    /// The format the Connect schema was read from.
    enum Origin {
        case avro, protobuf
    }

    var origin: Origin
    private let json = JsonConverter()

    init(_ origin: Origin) {
        self.origin = origin
    }

    /// The Connect value of `json` under `schema`; `path` names the field in messages (empty for the whole value).
    func value(_ schema: ConnectSchema, _ json: JSONValue?, at path: String = "") throws(ConnectError) -> ConnectValue {
        guard let json, json != .null else {
            if let defaultValue = schema.defaultValue { return defaultValue }
            if schema.isOptional { return .null }
            throw .data(json == nil ? "\(Self.place(path)) is missing (it is required: \(Self.expected(schema)))"
                                    : "\(Self.place(path)): expected \(Self.expected(schema)), got null")
        }
        if origin == .avro, AvroData.isUnionSchema(schema) { return try union(schema, json, at: path) }
        if origin == .avro, schema.isOptional, let inner = Self.avroWrapped(schema, json) { return try value(schema, inner, at: path) }
        switch schema.type {
        case .structure:
            return try structure(schema, json, at: path)
        case .array:
            guard case let .array(items) = json, let itemSchema = schema.valueSchema else { throw Self.mismatch(schema, json, path) }
            var values: [ConnectValue] = []
            values.reserveCapacity(items.count)
            for (index, item) in items.enumerated() { values.append(try value(itemSchema, item, at: "\(path)[\(index)]")) }
            return .array(values)
        case .map where schema.keySchema?.type ?? .string == .string:
            guard case let .object(members) = json, let valueSchema = schema.valueSchema else { throw Self.mismatch(schema, json, path) }
            var entries: [ConnectMapEntry] = []
            for (name, member) in members {
                entries.append(ConnectMapEntry(key: .string(name), value: try value(valueSchema, member, at: Self.join(path, name))))
            }
            return .map(entries)
        default:
            return try single(schema, json, at: path)
        }
    }

    private func structure(_ schema: ConnectSchema, _ json: JSONValue, at path: String) throws(ConnectError) -> ConnectValue {
        guard case let .object(members) = json else { throw Self.mismatch(schema, json, path) }
        var known = Set<String>()
        var values: [ConnectValue] = []
        values.reserveCapacity(schema.fields.count)
        for field in schema.fields {
            known.insert(field.name)
            if let oneof = field.schema.name, oneof.hasPrefix(ProtobufData.unionPrefix) {
                known.formUnion(field.schema.fields.map(\.name))
                values.append(try protobufOneof(field, members, at: path))
            } else {
                values.append(try value(field.schema, json[field.name], at: Self.join(path, field.name)))
            }
        }
        if let unknown = members.first(where: { !known.contains($0.0) }) {
            let names = schema.fields.flatMap { field in
                field.schema.name?.hasPrefix(ProtobufData.unionPrefix) == true ? field.schema.fields.map(\.name) : [field.name]
            }
            throw .data("\(Self.place(Self.join(path, unknown.0))) is not in the schema (its fields: \(names.joined(separator: ", ")))")
        }
        return .structure(ConnectStruct(schema: schema, values: values))
    }

    /// A oneof's union struct: its member given beside the other fields, or the union's own field as an object.
    private func protobufOneof(_ field: ConnectField, _ members: [(String, JSONValue)], at path: String) throws(ConnectError) -> ConnectValue {
        let union = field.schema
        var given = members.filter { name, member in member != .null && union.fields.contains { $0.name == name } }
        if let wrapper = members.first(where: { $0.0 == field.name })?.1, wrapper != .null {
            guard case let .object(inner) = wrapper else { throw Self.mismatch(union, wrapper, Self.join(path, field.name)) }
            given += inner.filter { $0.1 != .null }
        }
        guard !given.isEmpty else { return .null }
        guard given.count == 1, let (name, member) = given.first, let memberField = union.field(name) else {
            throw .data("\(Self.place(path)): only one of \(union.fields.map(\.name).joined(separator: ", ")) "
                        + "may be set (they are one oneof), got \(given.map(\.0).joined(separator: ", "))")
        }
        var values = [ConnectValue](repeating: .null, count: union.fields.count)
        values[memberField.index] = try value(memberField.schema, member, at: Self.join(path, name))
        return .structure(ConnectStruct(schema: union, values: values))
    }

    /// An Avro union's struct with the one member `json` is: named (`{"string": "x"}`), or the first it fits.
    private func union(_ schema: ConnectSchema, _ json: JSONValue, at path: String) throws(ConnectError) -> ConnectValue {
        func holding(_ member: ConnectField, _ memberValue: ConnectValue) -> ConnectValue {
            var values = [ConnectValue](repeating: .null, count: schema.fields.count)
            values[member.index] = memberValue
            return .structure(ConnectStruct(schema: schema, values: values))
        }
        if case let .object(members) = json, members.count == 1, let (name, inner) = members.first,
           let member = schema.fields.first(where: { $0.name == name || $0.schema.name == name }) {
            return holding(member, try value(member.schema, inner, at: path))
        }
        for member in schema.fields {
            if let memberValue = try? value(member.schema, json, at: path) { return holding(member, memberValue) }
        }
        let choices = schema.fields.map { Self.expected($0.schema) }.joined(separator: "; or ")
        throw .data("\(Self.place(path)): expected one of: \(choices); got \(Self.shown(json))")
    }

    /// The value inside Avro's JSON encoding of an optional value (`{"string": "x"}`, `{"int": 3}`), when it is one.
    private static func avroWrapped(_ schema: ConnectSchema, _ json: JSONValue) -> JSONValue? {
        guard schema.type != .map, case let .object(members) = json, members.count == 1, let (name, inner) = members.first else {
            return nil
        }
        if schema.type == .structure {
            guard let fullName = schema.name, name == fullName || fullName.hasSuffix("." + name), schema.field(name) == nil else { return nil }
            return inner
        }
        let typeName = AvroData.isEnumSchema(schema) || AvroData.isFixedSchema(schema) ? schema.name : avroTypeName(schema)
        return name == typeName || (schema.name.map { $0.hasSuffix("." + name) } ?? false) ? inner : nil
    }

    /// The Avro type a Connect schema of Avro origin was read from, by its logical type when it has one.
    private static func avroTypeName(_ schema: ConnectSchema) -> String {
        switch schema.name {
        case ConnectLogical.decimalName: return "bytes"
        case ConnectLogical.dateName, ConnectLogical.timeName: return "int"
        case ConnectLogical.timestampName: return "long"
        default: return AvroData.avroTypeName(of: schema.type)
        }
    }

    /// A value that is neither struct, array nor string-keyed map: checked by `fits`, then read by Kafka's reading.
    private func single(_ schema: ConnectSchema, _ json: JSONValue, at path: String) throws(ConnectError) -> ConnectValue {
        var json = json
        if origin == .protobuf, schema.type == .int64, case let .string(text) = json, Int64(text) != nil { json = .number(text) }
        // A decimal typed as text ("12.50") is read as the number it spells, not as Base64.
        if schema.name == ConnectLogical.decimalName, case let .string(text) = json, Self.isDecimalText(text) {
            json = .number(text)
        }
        guard Self.fits(schema, json) else { throw Self.mismatch(schema, json, path) }
        do {
            return try self.json.convertToConnect(schema, json)
        } catch {
            throw .data("\(Self.mismatch(schema, json, path)) (\(error))")
        }
    }

    /// Whether the JSON is of the kind the schema's values are written as: checked here because Kafka's reading
    /// truncates `3.5` to `3`, wraps an int32 that overflows, and says only which JSON kind it found.
    private static func fits(_ schema: ConnectSchema, _ json: JSONValue) -> Bool {
        if let symbols = enumSymbols(schema) {
            guard case let .string(symbol) = json else { return false }
            return symbols.contains(symbol)
        }
        switch schema.name {
        case ConnectLogical.decimalName:
            if case .number = json { return true }
            if case .string = json { return true }
            return false
        case ConnectLogical.dateName, ConnectLogical.timeName:
            return JsonConverter.integralValue(json).flatMap { Int32(exactly: $0) } != nil
        case ConnectLogical.timestampName:
            return JsonConverter.integralValue(json) != nil
        default:
            break
        }
        switch schema.type {
        case .int8, .int16, .int32, .int64:
            guard let number = JsonConverter.integralValue(json), let range = integerRange(schema.type) else { return false }
            return range.contains(number)
        case .float32, .float64: return JsonConverter.floatingText(json) != nil
        case .boolean: return json.boolValue != nil
        case .string, .bytes: return json.stringValue != nil
        case .array, .map, .structure: return true
        }
    }

    private static func isDecimalText(_ text: String) -> Bool {
        let digits = text.drop { $0 == "-" || $0 == "+" }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        return !digits.isEmpty && parts.count <= 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    private static func integerRange(_ kind: ConnectSchema.Kind) -> ClosedRange<Int64>? {
        switch kind {
        case .int8: return Int64(Int8.min)...Int64(Int8.max)
        case .int16: return Int64(Int16.min)...Int64(Int16.max)
        case .int32: return Int64(Int32.min)...Int64(Int32.max)
        case .int64: return Int64.min...Int64.max
        default: return nil
        }
    }

    /// The symbols of an enum read from Avro or Protobuf (string schemas listing them as `<enum parameter>.<symbol>`).
    private static func enumSymbols(_ schema: ConnectSchema) -> [String]? {
        guard schema.type == .string else { return nil }
        for parameter in [AvroData.enumParameter, ProtobufData.enumParameter] where schema.parameter(parameter) != nil {
            let prefix = parameter + "."
            return (schema.parameters ?? []).compactMap { $0.0.hasPrefix(prefix) ? String($0.0.dropFirst(prefix.count)) : nil }
        }
        return nil
    }

    /// What a value of `schema` is, in plain words.
    static func expected(_ schema: ConnectSchema) -> String {
        if let symbols = enumSymbols(schema) { return "one of " + symbols.map { "\"\($0)\"" }.joined(separator: ", ") }
        switch schema.name {
        case ConnectLogical.decimalName: return "a decimal number"
        case ConnectLogical.dateName: return "a date as days since 1970-01-01 (an integer)"
        case ConnectLogical.timeName: return "a time of day in milliseconds (an integer)"
        case ConnectLogical.timestampName: return "a timestamp in milliseconds since 1970 (an integer)"
        default: break
        }
        switch schema.type {
        case .int8, .int16, .int32:
            let range = integerRange(schema.type) ?? 0...0
            return "an integer from \(range.lowerBound) to \(range.upperBound)"
        case .int64: return "an integer"
        case .float32, .float64: return "a number"
        case .boolean: return "true or false"
        case .string: return "a string"
        case .bytes: return "bytes in Base64"
        case .array: return "an array"
        case .map, .structure: return "an object"
        }
    }

    private static func mismatch(_ schema: ConnectSchema, _ json: JSONValue, _ path: String) -> ConnectError {
        .data("\(place(path)): expected \(expected(schema)), got \(shown(json))")
    }

    /// The JSON as typed, cut when long.
    static func shown(_ json: JSONValue) -> String {
        let text = json.serialized
        return text.count > 60 ? text.prefix(60) + "…" : text
    }

    static func place(_ path: String) -> String { path.isEmpty ? "the value" : "field '\(path)'" }

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : path + "." + name }
}
