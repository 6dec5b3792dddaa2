import SchemaRegistry

/// Default values between Connect and Avro's JSON form of defaults (bytes as ISO-8859-1 text, maps with other than
/// string keys as arrays of `[key, value]` pairs, records as objects), as Confluent's `defaultValueFromConnect` and
/// `defaultValueFromAvro`.
extension AvroData {
    func defaultValueFromConnect(_ schema: ConnectSchema, _ value: ConnectValue) throws(ConnectError) -> JSONValue {
        func mismatch() -> ConnectError {
            .data("Invalid type used for default value of \(schema.type.javaName) field: \(value.javaClassName)")
        }
        switch (schema.type, value) {
        case (_, .null): return .null
        case let (.int8, .int8(number)): return .integer(number)
        case let (.int16, .int16(number)): return .integer(number)
        case let (.int32, .int32(number)): return .integer(number)
        case let (.int64, .int64(number)): return .integer(number)
        case let (.float32, .float32(number)): return .number(JavaNumberText.float(number))
        case let (.float64, .float64(number)): return .number(JavaNumberText.double(number))
        case let (.boolean, .boolean(flag)): return .bool(flag)
        case let (.string, .string(text)): return .string(text)
        case let (.bytes, .bytes(bytes)): return .string(Self.latin1(bytes))
        case let (.array, .array(elements)):
            guard let items = schema.valueSchema else { throw mismatch() }
            var array: [JSONValue] = []
            for element in elements { array.append(try defaultValueFromConnect(items, element)) }
            return .array(array)
        case let (.map, .map(entries)):
            guard let keys = schema.keySchema, let values = schema.valueSchema else { throw mismatch() }
            if keys.type == .string, !keys.isOptional || allowOptionalMapKeys {
                var members: [(String, JSONValue)] = []
                for entry in entries {
                    guard case let .string(key) = entry.key else { throw mismatch() }
                    members.append((key, try defaultValueFromConnect(values, entry.value)))
                }
                return .object(members)
            }
            var pairs: [JSONValue] = []
            for entry in entries {
                pairs.append(.array([try defaultValueFromConnect(keys, entry.key), try defaultValueFromConnect(values, entry.value)]))
            }
            return .array(pairs)
        case let (.structure, .structure(structValue)):
            var members: [(String, JSONValue)] = []
            for field in schema.fields {
                let fieldDefault = try defaultValueFromConnect(field.schema, structValue.values[field.index])
                if Self.isUnionSchema(schema) { return fieldDefault }
                members.append((scrubName(field.name), fieldDefault))
            }
            return .object(members)
        default:
            throw mismatch()
        }
    }

    /// A Connect default from Avro's JSON form; nil when it does not fit (Confluent ignores such a default).
    func defaultValueFromAvro(_ schema: ConnectSchema, _ type: AvroType, _ json: JSONValue) -> ConnectValue? {
        if json == .null { return .null }
        switch type.kind {
        case .int:
            guard let number = json.integerValue else { return nil }
            switch schema.type {
            case .int8: return Int8(exactly: number).map { .int8($0) }
            case .int16: return Int16(exactly: number).map { .int16($0) }
            case .int32: return Int32(exactly: number).map { .int32($0) }
            default: return nil
            }
        case .long:
            guard schema.type == .int64, let number = json.integerValue else { return nil }
            return .int64(number)
        case .float:
            guard schema.type == .float32, let number = json.doubleValue else { return nil }
            return .float32(Float(number))
        case .double:
            guard schema.type == .float64, let number = json.doubleValue else { return nil }
            return .float64(number)
        case .boolean:
            guard schema.type == .boolean, let flag = json.boolValue else { return nil }
            return .boolean(flag)
        case .null:
            return .null
        case .string, .enumeration:
            guard schema.type == .string, let text = json.stringValue else { return nil }
            return .string(text)
        case .bytes, .fixed:
            guard schema.type == .bytes, let text = json.stringValue, let bytes = Self.latin1Bytes(text) else { return nil }
            return .bytes(bytes)
        case let .array(items):
            guard let elements = json.arrayValue else { return nil }
            if schema.type == .map, let keys = schema.keySchema, let values = schema.valueSchema,
               case let .record(entry) = items.kind, let keyType = entry.field(Self.keyField)?.type,
               let valueType = entry.field(Self.valueField)?.type {
                // A map with other than string keys: Confluent writes `[key, value]` pairs; Avro's own form of a
                // record default is an object with the two fields.
                var converted: [ConnectMapEntry] = []
                for element in elements {
                    let pair = element.arrayValue ?? [element[Self.keyField] ?? .null, element[Self.valueField] ?? .null]
                    guard pair.count == 2, let key = defaultValueFromAvro(keys, keyType, pair[0]),
                          let value = defaultValueFromAvro(values, valueType, pair[1]) else { return nil }
                    converted.append(ConnectMapEntry(key: key, value: value))
                }
                return .map(converted)
            }
            guard schema.type == .array, let itemSchema = schema.valueSchema else { return nil }
            var converted: [ConnectValue] = []
            for element in elements {
                guard let value = defaultValueFromAvro(itemSchema, items, element) else { return nil }
                converted.append(value)
            }
            return .array(converted)
        case let .map(values):
            guard schema.type == .map, let valueSchema = schema.valueSchema, let members = json.objectValue else { return nil }
            var converted: [ConnectMapEntry] = []
            for (key, member) in members {
                guard let value = defaultValueFromAvro(valueSchema, values, member) else { return nil }
                converted.append(ConnectMapEntry(key: .string(key), value: value))
            }
            return .map(converted)
        case let .record(record):
            guard schema.type == .structure, json.isObject else { return nil }
            var structValue = ConnectStruct(schema: schema)
            for avroField in record.fields {
                guard let field = schema.field(avroField.name) else { return nil }
                let member = json[avroField.name] ?? .null
                guard let value = defaultValueFromAvro(field.schema, avroField.type, member) else { return nil }
                structValue[field.name] = value
            }
            return .structure(structValue)
        case .union, .recursiveReference:
            return nil
        }
    }

    /// Bytes as the text of their ISO-8859-1 characters (Avro's JSON form of bytes).
    static func latin1(_ bytes: [UInt8]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return text
    }

    /// The bytes of ISO-8859-1 text; nil when a character is beyond U+00FF.
    static func latin1Bytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else { return nil }
            bytes.append(UInt8(scalar.value))
        }
        return bytes
    }
}
