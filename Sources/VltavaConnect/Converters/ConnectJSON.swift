import SchemaRegistry

/// The JSON forms of Connect's primitive and logical values that Kafka's `JsonConverter` and Confluent's
/// `JsonSchemaConverter` share: numbers as Java writes them, bytes in Base64, Decimal as Base64 or a number,
/// Date/Time as int32 and Timestamp as int64.
enum ConnectJSON {
    /// A primitive value as JSON; nil when `type` is not a primitive or the value is not of that type.
    static func primitiveToJson(_ type: ConnectSchema.Kind, _ value: ConnectValue) -> JSONValue? {
        switch (type, value) {
        case let (.int8, .int8(number)): return .integer(number)
        case let (.int16, .int16(number)): return .integer(number)
        case let (.int32, .int32(number)): return .integer(number)
        case let (.int64, .int64(number)): return .integer(number)
        case let (.float32, .float32(number)):
            return number.isFinite ? .number(JavaNumberText.float(number)) : .string(JavaNumberText.float(number))
        case let (.float64, .float64(number)):
            return number.isFinite ? .number(JavaNumberText.double(number)) : .string(JavaNumberText.double(number))
        case let (.boolean, .boolean(flag)): return .bool(flag)
        case let (.string, .string(text)): return .string(text)
        case let (.bytes, .bytes(bytes)): return .string(Base64.encode(bytes))
        default: return nil
        }
    }

    /// A JSON value as a primitive of `schema` (arrays, maps and structs are the converters' own).
    static func primitiveToConnect(_ schema: ConnectSchema, _ json: JSONValue) throws(ConnectError) -> ConnectValue {
        func mismatch(_ expected: String) -> ConnectError {
            .data("Invalid value for \(schema.type.javaName) field: expected \(expected) but found \(json.nodeType)")
        }
        switch schema.type {
        case .boolean:
            guard case let .bool(flag) = json else { throw mismatch("a boolean") }
            return .boolean(flag)
        case .int8, .int16, .int32, .int64:
            guard let number = JsonConverter.javaLongValue(json) else { throw mismatch("a number") }
            switch schema.type {
            case .int8: return .int8(Int8(truncatingIfNeeded: number))
            case .int16: return .int16(Int16(truncatingIfNeeded: number))
            case .int32: return .int32(Int32(truncatingIfNeeded: number))
            default: return .int64(number)
            }
        case .float32:
            guard let number = JsonConverter.floatingText(json).flatMap({ Float($0) }) else { throw mismatch("a number") }
            return .float32(number)
        case .float64:
            guard let number = JsonConverter.floatingText(json).flatMap({ Double($0) }) else { throw mismatch("a number") }
            return .float64(number)
        case .bytes:
            guard case let .string(text) = json else { throw mismatch("a Base64 string") }
            guard let bytes = Base64.decode(text) else { throw .data("Invalid bytes field") }
            return .bytes(bytes)
        case .string:
            guard case let .string(text) = json else { throw mismatch("a string") }
            return .string(text)
        case .array, .map, .structure:
            throw .data("\(schema.type.javaName) is not a primitive type")
        }
    }

    /// A logical value (by the schema's name) as JSON; nil for a schema that is not one of Connect's logical types.
    static func logicalToJson(name: String, schema: ConnectSchema, value: ConnectValue,
                              decimalFormat: JsonConverter.DecimalFormat) throws(ConnectError) -> JSONValue? {
        switch name {
        case ConnectLogical.decimalName:
            guard case let .bytes(bytes) = value else {
                throw .data("Invalid type for Decimal, expected the unscaled bytes but was \(value.javaClassName)")
            }
            if decimalFormat == .base64 { return .string(Base64.encode(bytes)) }
            let scale = try JsonConverter.decimalScale(schema)
            guard let digits = DecimalBytes.decimalString(twosComplement: bytes) else { throw .data("Invalid bytes for Decimal field") }
            return .number(JavaNumberText.bigDecimal(unscaled: digits, scale: Int(scale)))
        case ConnectLogical.dateName, ConnectLogical.timeName:
            guard case let .int32(number) = value else {
                throw .data("Invalid type for \(name == ConnectLogical.dateName ? "Date" : "Time"), expected int32 but was \(value.javaClassName)")
            }
            return .integer(number)
        case ConnectLogical.timestampName:
            guard case let .int64(number) = value else {
                throw .data("Invalid type for Timestamp, expected int64 but was \(value.javaClassName)")
            }
            return .integer(number)
        default:
            return nil
        }
    }

    /// A JSON value as a logical value of `schema` (by its name); nil for a schema that is not a logical type.
    static func logicalToConnect(name: String, schema: ConnectSchema, json: JSONValue) throws(ConnectError) -> ConnectValue? {
        switch name {
        case ConnectLogical.decimalName:
            switch json {
            case let .number(text):
                let scale = try JsonConverter.decimalScale(schema)
                guard let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: Int(scale)),
                      let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) else {
                    throw .data("BigDecimal has mismatching scale value for given Decimal schema")
                }
                return .bytes(bytes)
            case let .string(text):
                guard let bytes = Base64.decode(text), !bytes.isEmpty else { throw .data("Invalid bytes for Decimal field") }
                return .bytes(DecimalBytes.minimal(bytes))
            default:
                throw .data("Invalid type for Decimal, underlying representation should be numeric or bytes but was \(json.nodeType)")
            }
        case ConnectLogical.dateName, ConnectLogical.timeName:
            guard let number = JsonConverter.integralValue(json), let value = Int32(exactly: number) else {
                let logicalName = name == ConnectLogical.dateName ? "Date" : "Time"
                throw .data("Invalid type for \(logicalName), underlying representation should be integer but was \(json.nodeType)")
            }
            return .int32(value)
        case ConnectLogical.timestampName:
            guard let number = JsonConverter.integralValue(json) else {
                throw .data("Invalid type for Timestamp, underlying representation should be integral but was \(json.nodeType)")
            }
            return .int64(number)
        default:
            return nil
        }
    }
}
