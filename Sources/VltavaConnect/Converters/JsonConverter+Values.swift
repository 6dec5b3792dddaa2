import SchemaRegistry

/// The payload half of the envelope, as Kafka's `convertToJson`/`convertToConnect` write and read it.
extension JsonConverter {
    /// A value as JSON, following its schema, or its own kind when there is none.
    func convertToJson(_ schema: ConnectSchema?, _ value: ConnectValue) throws(ConnectError) -> JSONValue {
        if value.isNull {
            guard let schema else { return .null }
            if let defaultValue = schema.defaultValue, replaceNullWithDefault { return try convertToJson(schema, defaultValue) }
            if schema.isOptional { return .null }
            throw .data("Conversion error: null value for field that is required and has no default value")
        }
        if let schema, let name = schema.name, let logical = try logicalToJson(name: name, schema: schema, value: value) {
            return logical
        }
        let kind = schema?.type ?? value.inferredType ?? .string
        func mismatch() -> ConnectError {
            .data("Invalid type for \(schema?.type.javaName ?? "unknown schema"): \(value.javaClassName)")
        }
        switch (kind, value) {
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
        case let (.array, .array(items)):
            var list: [JSONValue] = []
            list.reserveCapacity(items.count)
            for item in items { list.append(try convertToJson(schema?.valueSchema, item)) }
            return .array(list)
        case let (.map, .map(entries)):
            return try mapToJson(schema, entries)
        case let (.structure, .structure(structure)):
            guard let schema, structure.schema == schema else { throw .data("Mismatching schema.") }
            var members: [(String, JSONValue)] = []
            for field in schema.fields {
                let fieldValue = field.index < structure.values.count ? structure.values[field.index] : .null
                members.append((field.name, try convertToJson(field.schema, fieldValue)))
            }
            return .object(members)
        default:
            throw mismatch()
        }
    }

    /// Maps with string keys (or, without a schema, whose keys are all strings) as objects; others as arrays of
    /// `[key, value]` pairs.
    private func mapToJson(_ schema: ConnectSchema?, _ entries: [ConnectMapEntry]) throws(ConnectError) -> JSONValue {
        let objectMode: Bool
        if let schema {
            guard let keySchema = schema.keySchema else { throw .data("Map schema did not specify the key type") }
            objectMode = keySchema.type == .string
        } else {
            objectMode = entries.allSatisfy { if case .string = $0.key { return true } else { return false } }
        }
        if objectMode {
            // As a Java LinkedHashMap: a repeated key keeps its first place and takes the last value.
            var members: [(String, JSONValue)] = []
            var indexes: [String: Int] = [:]
            for entry in entries {
                let key = try convertToJson(schema?.keySchema, entry.key).javaText
                let value = try convertToJson(schema?.valueSchema, entry.value)
                if let index = indexes[key] {
                    members[index].1 = value
                } else {
                    indexes[key] = members.count
                    members.append((key, value))
                }
            }
            return .object(members)
        }
        var pairs: [JSONValue] = []
        for entry in entries {
            pairs.append(.array([try convertToJson(schema?.keySchema, entry.key), try convertToJson(schema?.valueSchema, entry.value)]))
        }
        return .array(pairs)
    }

    /// A logical type's value, which travels as its physical value: Decimal bytes as Base64 or a number, Date,
    /// Time and Timestamp as their integers. Nil for names that are not logical types.
    private func logicalToJson(name: String, schema: ConnectSchema, value: ConnectValue) throws(ConnectError) -> JSONValue? {
        switch name {
        case ConnectLogical.decimalName:
            guard case let .bytes(bytes) = value else {
                throw .data("Invalid type for Decimal, expected the unscaled bytes but was \(value.javaClassName)")
            }
            let scale = try Self.decimalScale(schema)
            switch decimalFormat {
            case .base64:
                return .string(Base64.encode(bytes))
            case .numeric:
                guard let digits = DecimalBytes.decimalString(twosComplement: bytes) else {
                    throw .data("Invalid bytes for Decimal field")
                }
                return .number(JavaNumberText.bigDecimal(unscaled: digits, scale: Int(scale)))
            }
        case ConnectLogical.dateName, ConnectLogical.timeName:
            guard case let .int32(number) = value else {
                let logicalName = name == ConnectLogical.dateName ? "Date" : "Time"
                throw .data("Invalid type for \(logicalName), expected int32 but was \(value.javaClassName)")
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

    /// A Decimal schema's `scale` parameter.
    static func decimalScale(_ schema: ConnectSchema) throws(ConnectError) -> Int32 {
        guard let text = schema.parameter(ConnectLogical.scaleParameter) else {
            throw .data("Invalid Decimal schema: scale parameter not found.")
        }
        guard let scale = Int32(text) else { throw .data("Invalid scale for Decimal logical type: \(text)") }
        return scale
    }

    /// A JSON value as a Connect value of `schema`; without a schema, inferred from the JSON (integers as int64,
    /// other numbers as float64, objects as maps with string keys). `json` nil is a missing value.
    func convertToConnect(_ schema: ConnectSchema?, _ json: JSONValue?) throws(ConnectError) -> ConnectValue {
        guard let schema else { return try schemalessToConnect(json) }
        guard let json, json != .null else {
            if let defaultValue = schema.defaultValue, replaceNullWithDefault { return defaultValue }
            if schema.isOptional { return .null }
            throw .data("Invalid null value for required \(schema.type.javaName) field")
        }
        if let name = schema.name, let logical = try logicalToConnect(name: name, schema: schema, json: json) {
            return logical
        }
        func mismatch(_ expected: String) -> ConnectError {
            .data("Invalid value for \(schema.type.javaName) field: expected \(expected) but found \(json.nodeType)")
        }
        switch schema.type {
        case .boolean:
            guard case let .bool(flag) = json else { throw mismatch("a boolean") }
            return .boolean(flag)
        case .int8, .int16, .int32, .int64:
            guard let number = Self.javaLongValue(json) else { throw mismatch("a number") }
            switch schema.type {
            case .int8: return .int8(Int8(truncatingIfNeeded: number))
            case .int16: return .int16(Int16(truncatingIfNeeded: number))
            case .int32: return .int32(Int32(truncatingIfNeeded: number))
            default: return .int64(number)
            }
        case .float32:
            guard let number = Self.floatingText(json).flatMap({ Float($0) }) else { throw mismatch("a number") }
            return .float32(number)
        case .float64:
            guard let number = Self.floatingText(json).flatMap({ Double($0) }) else { throw mismatch("a number") }
            return .float64(number)
        case .bytes:
            guard case let .string(text) = json else { throw mismatch("a Base64 string") }
            guard let bytes = Base64.decode(text) else { throw .data("Invalid bytes field") }
            return .bytes(bytes)
        case .string:
            guard case let .string(text) = json else { throw mismatch("a string") }
            return .string(text)
        case .array:
            guard case let .array(items) = json else { throw mismatch("an array") }
            var values: [ConnectValue] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try convertToConnect(schema.valueSchema, item)) }
            return .array(values)
        case .map:
            return try mapToConnect(schema, json)
        case .structure:
            guard case .object = json else {
                throw .data("Structs should be encoded as JSON objects, but found \(json.nodeType)")
            }
            var values: [ConnectValue] = []
            values.reserveCapacity(schema.fields.count)
            for field in schema.fields { values.append(try convertToConnect(field.schema, json[field.name])) }
            return .structure(ConnectStruct(schema: schema, values: values))
        }
    }

    private func schemalessToConnect(_ json: JSONValue?) throws(ConnectError) -> ConnectValue {
        switch json {
        case nil, .null?: return .null
        case let .bool(flag)?: return .boolean(flag)
        case let .number(text)?:
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                guard let number = Double(text) else { throw .data("Invalid number \(text)") }
                return .float64(number)
            }
            guard let number = Int64(text) else { throw .data("Numeric value (\(text)) out of range of long") }
            return .int64(number)
        case let .string(text)?: return .string(text)
        case let .array(items)?:
            var values: [ConnectValue] = []
            for item in items { values.append(try schemalessToConnect(item)) }
            return .array(values)
        case let .object(members)?:
            var entries: [ConnectMapEntry] = []
            for (name, member) in members { entries.append(ConnectMapEntry(key: .string(name), value: try schemalessToConnect(member))) }
            return .map(entries)
        }
    }

    private func mapToConnect(_ schema: ConnectSchema, _ json: JSONValue) throws(ConnectError) -> ConnectValue {
        var entries: [ConnectMapEntry] = []
        if schema.keySchema?.type ?? .string == .string {
            guard case let .object(members) = json else {
                throw .data("Maps with string fields should be encoded as JSON objects, but found \(json.nodeType)")
            }
            for (name, member) in members {
                entries.append(ConnectMapEntry(key: .string(name), value: try convertToConnect(schema.valueSchema, member)))
            }
            return .map(entries)
        }
        guard case let .array(pairs) = json else {
            throw .data("Maps with non-string fields should be encoded as JSON array of tuples, but found \(json.nodeType)")
        }
        for pair in pairs {
            guard case let .array(items) = pair else {
                throw .data("Found invalid map entry instead of array tuple: \(pair.nodeType)")
            }
            guard items.count == 2 else { throw .data("Found invalid map entry, expected length 2 but found :\(items.count)") }
            entries.append(ConnectMapEntry(key: try convertToConnect(schema.keySchema, items[0]),
                                           value: try convertToConnect(schema.valueSchema, items[1])))
        }
        return .map(entries)
    }

    private func logicalToConnect(name: String, schema: ConnectSchema, json: JSONValue) throws(ConnectError) -> ConnectValue? {
        switch name {
        case ConnectLogical.decimalName:
            let scale = try Self.decimalScale(schema)
            switch json {
            case let .number(text):
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
            guard let number = Self.integralValue(json), let value = Int32(exactly: number) else {
                let logicalName = name == ConnectLogical.dateName ? "Date" : "Time"
                throw .data("Invalid type for \(logicalName), underlying representation should be integer but was \(json.nodeType)")
            }
            return .int32(value)
        case ConnectLogical.timestampName:
            guard let number = Self.integralValue(json) else {
                throw .data("Invalid type for Timestamp, underlying representation should be integral but was \(json.nodeType)")
            }
            return .int64(number)
        default:
            return nil
        }
    }

    /// A JSON number as Java's `JsonNode.longValue()` gives it: integers exactly, fractions truncated toward zero.
    static func javaLongValue(_ json: JSONValue) -> Int64? {
        if let number = integralValue(json) { return number }
        guard let number = json.doubleValue, number.isFinite, let truncated = Int64(exactly: number.rounded(.towardZero)) else { return nil }
        return truncated
    }

    /// The text of a number, or of the strings Kafka writes for floats that are not finite.
    static func floatingText(_ json: JSONValue) -> String? {
        switch json {
        case let .number(text): return text
        case let .string(text) where ["NaN", "Infinity", "-Infinity"].contains(text): return text == "Infinity" ? "inf" : text == "-Infinity" ? "-inf" : "nan"
        default: return nil
        }
    }
}

extension JSONValue {
    /// Jackson's `JsonNodeType` name, used in Kafka's messages.
    var nodeType: String {
        switch self {
        case .null: return "NULL"
        case .bool: return "BOOLEAN"
        case .number: return "NUMBER"
        case .string: return "STRING"
        case .array: return "ARRAY"
        case .object: return "OBJECT"
        }
    }

    /// Jackson's `asText()`: a string's text, a number's or boolean's text, "null", and "" for containers.
    var javaText: String {
        switch self {
        case .null: return "null"
        case let .bool(flag): return flag ? "true" : "false"
        case let .number(text): return text
        case let .string(text): return text
        case .array, .object: return ""
        }
    }
}
