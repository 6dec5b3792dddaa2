import SchemaRegistry

/// Turns the JSON values of an `options` hint into Connect values of their type, when the schema is read, so a
/// wrong option is a configuration error rather than a failing task.
enum DatagenOptionValues {
    static func value(_ json: JSONValue, of type: DatagenType, depth: Int = 0) throws(ConnectError) -> ConnectValue {
        guard depth < 64 else { throw mismatch(json, type) }
        switch type.kind {
        case .null:
            guard json == .null else { throw mismatch(json, type) }
            return .null
        case .boolean:
            guard let flag = json.boolValue else { throw mismatch(json, type) }
            return .boolean(flag)
        case .int:
            guard let number = json.integerValue, let value = Int32(exactly: number) else { throw mismatch(json, type) }
            return .int32(value)
        case .long:
            guard let number = json.integerValue else { throw mismatch(json, type) }
            return .int64(number)
        case .float:
            guard let number = json.doubleValue else { throw mismatch(json, type) }
            return .float32(Float(number))
        case .double:
            guard let number = json.doubleValue else { throw mismatch(json, type) }
            return .float64(number)
        case .bytes:
            if case let .decimal(_, scale)? = type.logical, case let .number(text) = json,
               let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: scale),
               let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) {
                return .bytes(bytes)
            }
            guard let text = json.stringValue else { throw mismatch(json, type) }
            return .bytes(Array(text.utf8))
        case .string:
            guard let text = json.stringValue else { throw mismatch(json, type) }
            return .string(text)
        case let .enumeration(symbols):
            guard let text = json.stringValue, symbols.contains(text) else { throw mismatch(json, type) }
            return .string(text)
        case let .fixed(size):
            guard let text = json.stringValue, text.utf8.count == size else { throw mismatch(json, type) }
            return .bytes(Array(text.utf8))
        case let .array(items):
            guard let elements = json.arrayValue else { throw mismatch(json, type) }
            var values: [ConnectValue] = []
            for element in elements { values.append(try value(element, of: items, depth: depth + 1)) }
            return .array(values)
        case let .map(valueType, _):
            guard let members = json.objectValue else { throw mismatch(json, type) }
            var entries: [ConnectMapEntry] = []
            for (key, member) in members {
                entries.append(ConnectMapEntry(key: .string(key), value: try value(member, of: valueType, depth: depth + 1)))
            }
            return .map(entries)
        case let .record(fields):
            guard json.isObject else { throw mismatch(json, type) }
            var values: [ConnectValue] = []
            for field in fields {
                if let member = json[field.name] {
                    values.append(try value(member, of: field.type, depth: depth + 1))
                } else if field.type.connectSchema.isOptional {
                    values.append(.null)
                } else {
                    throw DatagenSchemaReader.invalid("an option of \(type.connectSchema.name ?? "the record") has no value for the field \(field.name)")
                }
            }
            return .structure(ConnectStruct(schema: type.connectSchema, values: values))
        case let .union(branches):
            for (index, branch) in branches.enumerated() {
                guard let converted = try? value(json, of: branch, depth: depth + 1) else { continue }
                return unionValue(converted, branch: index, of: type)
            }
            throw mismatch(json, type)
        }
    }

    /// A branch's value as the union's Connect value: itself for an optional type, else a struct with that
    /// branch's field set.
    static func unionValue(_ value: ConnectValue, branch: Int, of union: DatagenType) -> ConnectValue {
        guard case let .union(branches) = union.kind else { return value }
        if DatagenSchemaReader.isNull(branches[branch]) { return .null }
        let schema = union.connectSchema
        guard schema.type == .structure, schema.name == DatagenConnectSchemas.unionName else { return value }
        let fieldIndex = branches[..<branch].filter { !DatagenSchemaReader.isNull($0) }.count
        var values = [ConnectValue](repeating: .null, count: schema.fields.count)
        if fieldIndex < values.count { values[fieldIndex] = value }
        return .structure(ConnectStruct(schema: schema, values: values))
    }

    private static func mismatch(_ json: JSONValue, _ type: DatagenType) -> ConnectError {
        DatagenSchemaReader.invalid("the option \(json.serialized.prefix(100)) does not fit the type \(type.identity.prefix(100))")
    }
}
