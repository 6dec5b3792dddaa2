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
        if let schema, let name = schema.name, let logical = try ConnectJSON.logicalToJson(name: name, schema: schema, value: value, decimalFormat: decimalFormat) {
            return logical
        }
        let kind = schema?.type ?? value.inferredType ?? .string
        func mismatch() -> ConnectError {
            .data("Invalid type for \(schema?.type.javaName ?? "unknown schema"): \(value.javaClassName)")
        }
        if let primitive = ConnectJSON.primitiveToJson(kind, value) { return primitive }
        switch (kind, value) {
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
        if let name = schema.name, let logical = try ConnectJSON.logicalToConnect(name: name, schema: schema, json: json) {
            return logical
        }
        func mismatch(_ expected: String) -> ConnectError {
            .data("Invalid value for \(schema.type.javaName) field: expected \(expected) but found \(json.nodeType)")
        }
        switch schema.type {
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
        default:
            return try ConnectJSON.primitiveToConnect(schema, json)
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
