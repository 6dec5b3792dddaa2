import SchemaRegistry

/// Values between Connect and JSON, as Confluent's `JsonSchemaData.fromConnectData`/`toConnectData`.
extension JsonSchemaData {
    /// A Connect value as JSON; nil when nothing is written: a null value of a required schema without a default
    /// (a struct leaves the property out; at the top level the record is a tombstone, as in Confluent).
    func fromConnectData(_ schema: ConnectSchema, _ value: ConnectValue, depth: Int = 0) throws(ConnectError) -> JSONValue? {
        guard depth < 256 else { throw .data("The value is nested more than 256 levels deep") }
        if value.isNull {
            if let defaultValue = schema.defaultValue, !ignoreDefaultForNullables {
                return try fromConnectData(schema, defaultValue, depth: depth + 1)
            }
            return schema.isOptional ? .null : nil
        }
        if let name = schema.name, let logical = try logicalToJson(name: name, schema: schema, value: value) { return logical }
        func mismatch() -> ConnectError { .data("Invalid type for \(schema.type.javaName): \(value.javaClassName)") }
        switch (schema.type, value) {
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
            guard let itemSchema = schema.valueSchema else { throw .data("Array schema did not specify the items type") }
            var list: [JSONValue] = []
            list.reserveCapacity(items.count)
            for item in items { list.append(try fromConnectData(itemSchema, item, depth: depth + 1) ?? .null) }
            return .array(list)
        case let (.map, .map(entries)):
            return try mapToJson(schema, entries, depth: depth)
        case let (.structure, .structure(structure)):
            guard structure.schema == schema else { throw .data("Mismatching schema.") }
            if Self.isOneOf(schema) {
                for field in schema.fields where field.index < structure.values.count && !structure.values[field.index].isNull {
                    return try fromConnectData(field.schema, structure.values[field.index], depth: depth + 1)
                }
                return try fromConnectData(schema, .null, depth: depth + 1)
            }
            var members: [(String, JSONValue)] = []
            for field in schema.fields {
                let fieldValue = field.index < structure.values.count ? structure.values[field.index] : .null
                if let json = try fromConnectData(field.schema, fieldValue, depth: depth + 1) { members.append((field.name, json)) }
            }
            return .object(members)
        default:
            throw mismatch()
        }
    }

    private func mapToJson(_ schema: ConnectSchema, _ entries: [ConnectMapEntry], depth: Int) throws(ConnectError) -> JSONValue {
        guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema else {
            throw .data("Map schema did not specify the key and value types")
        }
        if keySchema.type == .string && !keySchema.isOptional {
            // As a Java LinkedHashMap: a repeated key keeps its first place and takes the last value.
            var members: [(String, JSONValue)] = []
            var indexes: [String: Int] = [:]
            for entry in entries {
                let key = (try fromConnectData(keySchema, entry.key, depth: depth + 1) ?? .null).javaText
                let value = try fromConnectData(valueSchema, entry.value, depth: depth + 1) ?? .null
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
            var pair: [(String, JSONValue)] = []
            if let key = try fromConnectData(keySchema, entry.key, depth: depth + 1) { pair.append((Self.keyField, key)) }
            if let value = try fromConnectData(valueSchema, entry.value, depth: depth + 1) { pair.append((Self.valueField, value)) }
            pairs.append(.object(pair))
        }
        return .array(pairs)
    }

    /// Decimal as Base64 of its unscaled bytes or as a number (`decimal.format`); Date, Time and Timestamp as their
    /// integers. Nil for names that are not logical types.
    private func logicalToJson(name: String, schema: ConnectSchema, value: ConnectValue) throws(ConnectError) -> JSONValue? {
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

    // MARK: JSON → Connect

    /// A JSON value as a Connect value of `schema`. `json` nil is a missing property: the default, or null (Confluent
    /// reads a missing required property as null too); an explicit JSON null of a required schema is an error.
    func toConnectData(_ schema: ConnectSchema, _ json: JSONValue?, depth: Int = 0) throws(ConnectError) -> ConnectValue {
        guard depth < 256 else { throw .data("The value is nested more than 256 levels deep") }
        guard let json, json != .null else {
            if let defaultValue = schema.defaultValue { return defaultValue }
            if json == nil || schema.isOptional { return .null }
            throw .data("Invalid null value for required \(schema.type.javaName) field")
        }
        if let name = schema.name, let logical = try logicalToConnect(name: name, schema: schema, json: json) { return logical }
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
        case .array:
            guard case let .array(items) = json else { throw mismatch("an array") }
            guard let itemSchema = schema.valueSchema else { throw .data("Array schema did not specify the items type") }
            var values: [ConnectValue] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try toConnectData(itemSchema, item, depth: depth + 1)) }
            return .array(values)
        case .map:
            return try mapToConnect(schema, json, depth: depth)
        case .structure:
            if Self.isOneOf(schema) { return try oneOfToConnect(schema, json, depth: depth) }
            guard case .object = json else {
                throw .data("Structs should be encoded as JSON objects, but found \(json.nodeType)")
            }
            var values: [ConnectValue] = []
            values.reserveCapacity(schema.fields.count)
            for field in schema.fields { values.append(try toConnectData(field.schema, json[field.name], depth: depth + 1)) }
            return .structure(ConnectStruct(schema: schema, values: values))
        }
    }

    private func mapToConnect(_ schema: ConnectSchema, _ json: JSONValue, depth: Int) throws(ConnectError) -> ConnectValue {
        guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema else {
            throw .data("Map schema did not specify the key and value types")
        }
        var entries: [ConnectMapEntry] = []
        if keySchema.type == .string && !keySchema.isOptional {
            guard case let .object(members) = json else {
                throw .data("Maps with string fields should be encoded as JSON objects, but found \(json.nodeType)")
            }
            for (name, member) in members {
                entries.append(ConnectMapEntry(key: .string(name), value: try toConnectData(valueSchema, member, depth: depth + 1)))
            }
            return .map(entries)
        }
        guard case let .array(pairs) = json else {
            throw .data("Maps with non-string fields should be encoded as JSON array of objects, but found \(json.nodeType)")
        }
        for pair in pairs {
            guard case let .object(members) = pair else { throw .data("Found invalid map entry instead of object: \(pair.nodeType)") }
            guard members.count == 2 else { throw .data("Found invalid map entry, expected length 2 but found :\(members.count)") }
            entries.append(ConnectMapEntry(key: try toConnectData(keySchema, pair[Self.keyField], depth: depth + 1),
                                           value: try toConnectData(valueSchema, pair[Self.valueField], depth: depth + 1)))
        }
        return .map(entries)
    }

    /// The member of a oneOf struct the JSON value belongs to: the first whose type the value has, else the struct
    /// member sharing the most property names with it (Confluent's choice).
    private func oneOfToConnect(_ schema: ConnectSchema, _ json: JSONValue, depth: Int) throws(ConnectError) -> ConnectValue {
        var best: (field: ConnectField, score: Int)?
        for field in schema.fields {
            if Self.matchesSimpleType(field.schema, json) {
                return try oneOfValue(schema, field, json, depth: depth)
            }
            let score = Self.structMatchScore(field.schema, json, depth: 0)
            if score > (best?.score ?? 0) { best = (field, score) }
        }
        guard let best else { throw .data("Did not find matching oneof field for data") }
        return try oneOfValue(schema, best.field, json, depth: depth)
    }

    private func oneOfValue(_ schema: ConnectSchema, _ field: ConnectField, _ json: JSONValue, depth: Int) throws(ConnectError) -> ConnectValue {
        var values = [ConnectValue](repeating: .null, count: schema.fields.count)
        values[field.index] = try toConnectData(field.schema, json, depth: depth + 1)
        return .structure(ConnectStruct(schema: schema, values: values))
    }

    private static func matchesSimpleType(_ schema: ConnectSchema, _ json: JSONValue) -> Bool {
        switch (schema.type, json) {
        case (.int8, .number), (.int16, .number), (.int32, .number), (.int64, .number): return JsonConverter.integralValue(json) != nil
        case (.float32, .number), (.float64, .number): return true
        case (.boolean, .bool), (.string, .string), (.array, .array), (.map, .object), (.map, .array): return true
        // A number stands for a Decimal (Jackson reads it as a BigDecimal); a Base64 string is only a string to it.
        case (.bytes, .number): return JsonConverter.integralValue(json) == nil
        default: return false
        }
    }

    private static func structMatchScore(_ schema: ConnectSchema, _ json: JSONValue, depth: Int) -> Int {
        guard schema.type == .structure, case let .object(members) = json, depth < 64 else { return 0 }
        var score = 0
        var seen = Set<String>()
        for (name, member) in members where seen.insert(name).inserted {
            guard let field = schema.field(name) else { continue }
            score += 1 + structMatchScore(field.schema, member, depth: depth + 1)
        }
        return score
    }

    private func logicalToConnect(name: String, schema: ConnectSchema, json: JSONValue) throws(ConnectError) -> ConnectValue? {
        switch name {
        case ConnectLogical.decimalName:
            switch json {
            case let .number(text):
                let scale = try JsonConverter.decimalScale(schema)
                guard let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: Int(scale)),
                      let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) else {
                    throw .data("The number \(text) does not fit the Decimal's scale \(scale)")
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
