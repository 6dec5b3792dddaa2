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
        if let name = schema.name, let logical = try ConnectJSON.logicalToJson(name: name, schema: schema, value: value, decimalFormat: decimalFormat) { return logical }
        func mismatch() -> ConnectError { .data("Invalid type for \(schema.type.javaName): \(value.javaClassName)") }
        if let primitive = ConnectJSON.primitiveToJson(schema.type, value) { return primitive }
        switch (schema.type, value) {
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
        if let name = schema.name, let logical = try ConnectJSON.logicalToConnect(name: name, schema: schema, json: json) { return logical }
        func mismatch(_ expected: String) -> ConnectError {
            .data("Invalid value for \(schema.type.javaName) field: expected \(expected) but found \(json.nodeType)")
        }
        switch schema.type {
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
        default:
            return try ConnectJSON.primitiveToConnect(schema, json)
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

}
