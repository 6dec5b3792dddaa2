import SchemaRegistry

/// Connect values ↔ Avro data, as Confluent's `AvroData.fromConnectData` and `toConnectData`. Logical types need
/// no conversion here: Connect's values of Decimal, Date, Time and Timestamp already are the bytes, int and long
/// that Avro's decimal, date, time-millis and timestamp-millis carry.
extension AvroData {
    /// The Avro datum of a Connect value of `schema`, written as `type` (the Avro schema of `schema`, or the
    /// registry's latest schema for the subject when the converter uses it).
    func fromConnectData(_ schema: ConnectSchema, _ type: AvroType, _ value: ConnectValue) throws(ConnectError) -> AvroDatum {
        if value.isNull {
            guard schema.isOptional else { throw .data("Found null value for non-optional schema") }
            switch type.kind {
            case .null: return .null
            case let .union(branches):
                guard let index = branches.firstIndex(where: \.isNull) else {
                    throw .data("A null value cannot be written as the Avro union \(type.jsonText)")
                }
                return .union(branch: index, .null)
            default:
                throw .data("A null value cannot be written as Avro \(type.typeName)")
            }
        }
        if case let .union(branches) = type.kind {
            var memberSchema = schema
            var memberValue = value
            var index: Int?
            if Self.isUnionSchema(schema), case let .structure(structValue) = value {
                // A Connect union holds its value in the one field that is set.
                guard let field = schema.fields.first(where: { !structValue.values[$0.index].isNull }) else {
                    return try fromConnectData(schema, type, .null)
                }
                memberSchema = field.schema
                memberValue = structValue.values[field.index]
                index = branches.firstIndex { !$0.isNull && unionMemberFieldName($0) == field.name }
            }
            guard let branch = index ?? branches.firstIndex(where: { branchFits(memberSchema, $0) }) else {
                throw .data("Not in union \(type.jsonText): \(memberValue.javaClassName)")
            }
            return .union(branch: branch, try fromConnectData(memberSchema, branches[branch], memberValue))
        }
        func mismatch() -> ConnectError { .data("Invalid type for \(schema.type.javaName): \(value.javaClassName)") }
        switch (schema.type, value, type.kind) {
        case let (.int8, .int8(number), .int): return .int(Int32(number))
        case let (.int16, .int16(number), .int): return .int(Int32(number))
        case let (.int32, .int32(number), .int): return .int(number)
        case let (.int64, .int64(number), .long): return .long(number)
        case let (.float32, .float32(number), .float): return .float(number)
        case let (.float64, .float64(number), .double): return .double(number)
        case let (.boolean, .boolean(flag), .boolean): return .boolean(flag)
        case let (.string, .string(text), .string): return .string(text)
        case let (.string, .string(text), .enumeration(enumeration)):
            guard let index = enumeration.symbols.firstIndex(of: text) else {
                throw .data("\(text) is not a symbol of the Avro enum \(enumeration.fullName) (\(enumeration.symbols.joined(separator: ", ")))")
            }
            return .enumSymbol(index: index, symbol: text)
        case let (.bytes, .bytes(bytes), .bytes): return .bytes(bytes)
        case let (.bytes, .bytes(bytes), .fixed(fixed)):
            guard schema.name == ConnectLogical.decimalName, bytes.count < fixed.size else {
                guard bytes.count == fixed.size else {
                    throw .data("\(bytes.count) bytes do not fit the Avro fixed \(fixed.fullName) of size \(fixed.size)")
                }
                return .fixed(bytes)
            }
            // A decimal's unscaled bytes, sign-extended to the fixed size.
            let fill: UInt8 = (bytes.first ?? 0) & 0x80 != 0 ? 0xFF : 0x00
            return .fixed(Array(repeating: fill, count: fixed.size - bytes.count) + bytes)
        case let (.array, .array(elements), .array(items)):
            guard let itemSchema = schema.valueSchema else { throw mismatch() }
            var data: [AvroDatum] = []
            data.reserveCapacity(elements.count)
            for element in elements { data.append(try fromConnectData(itemSchema, items, element)) }
            return .array(data)
        case let (.map, .map(entries), .map(values)):
            guard let valueSchema = schema.valueSchema else { throw mismatch() }
            var data: [AvroMapEntry] = []
            data.reserveCapacity(entries.count)
            for entry in entries {
                guard case let .string(key) = entry.key else {
                    throw .data("Avro map keys must be strings, not \(entry.key.javaClassName)")
                }
                data.append(AvroMapEntry(key: key, value: try fromConnectData(valueSchema, values, entry.value)))
            }
            return .map(data)
        case let (.map, .map(entries), .array(items)):
            guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema, case let .record(entryRecord) = items.kind,
                  let keyType = entryRecord.field(Self.keyField)?.type, let valueType = entryRecord.field(Self.valueField)?.type else {
                throw mismatch()
            }
            var data: [AvroDatum] = []
            data.reserveCapacity(entries.count)
            for entry in entries {
                let key = try fromConnectData(keySchema, keyType, entry.key)
                let value = try fromConnectData(valueSchema, valueType, entry.value)
                data.append(.record(entryRecord.fields.map { $0.name == Self.keyField ? key : value }))
            }
            return .array(data)
        case let (.structure, .structure(structValue), .record(record)):
            guard structValue.schema == schema || structValue.schema.fields == schema.fields else {
                throw .data("Mismatching struct schema")
            }
            var data: [AvroDatum] = []
            data.reserveCapacity(record.fields.count)
            for avroField in record.fields {
                guard let field = schema.fields.first(where: { scrubName($0.name) == avroField.name }) else {
                    guard let defaultValue = avroField.defaultValue else {
                        throw .data("Field \(avroField.name) of the Avro record \(record.fullName) is not in the Connect schema and has no default")
                    }
                    data.append(try Self.datum(ofDefault: defaultValue, avroField.type))
                    continue
                }
                // Kafka's `Struct.get` gives a field's default when its value is null.
                var fieldValue = structValue.values[field.index]
                if fieldValue.isNull, let defaultValue = field.schema.defaultValue { fieldValue = defaultValue }
                data.append(try fromConnectData(field.schema, avroField.type, fieldValue))
            }
            return .record(data)
        default:
            throw mismatch()
        }
    }

    /// Whether a branch of a union is the one Avro's writer would pick for a value of `schema`.
    private func branchFits(_ schema: ConnectSchema, _ branch: AvroType) -> Bool {
        switch (schema.type, branch.kind) {
        case (.int8, .int), (.int16, .int), (.int32, .int), (.int64, .long), (.float32, .float), (.float64, .double),
             (.boolean, .boolean), (.string, .string), (.bytes, .bytes), (.array, .array), (.map, .map):
            return true
        case (.string, .enumeration): return enhancedSchemaSupport && Self.isEnumSchema(schema)
        case (.bytes, .fixed): return Self.isFixedSchema(schema)
        case (.map, .array(let items)): return items.fullName != nil
        case let (.structure, .record(record)):
            let expected = scrubFullName(schema.name)
            return expected == nil ? record.fullName.hasPrefix(Self.defaultSchemaFullName) : record.fullName == expected
        default: return false
        }
    }

    /// The datum of a field default in Avro's JSON form (for a field of the latest schema that Connect lacks).
    static func datum(ofDefault json: JSONValue, _ type: AvroType) throws(ConnectError) -> AvroDatum {
        func invalid() -> ConnectError { .data("Invalid default \(json.serialized.prefix(100)) for Avro \(type.typeName)") }
        switch type.kind {
        case .null: return .null
        case .boolean: guard let flag = json.boolValue else { throw invalid() }; return .boolean(flag)
        case .int: guard let number = json.integerValue, let int = Int32(exactly: number) else { throw invalid() }; return .int(int)
        case .long: guard let number = json.integerValue else { throw invalid() }; return .long(number)
        case .float: guard let number = json.doubleValue else { throw invalid() }; return .float(Float(number))
        case .double: guard let number = json.doubleValue else { throw invalid() }; return .double(number)
        case .string: guard let text = json.stringValue else { throw invalid() }; return .string(text)
        case .bytes: guard let text = json.stringValue, let bytes = latin1Bytes(text) else { throw invalid() }; return .bytes(bytes)
        case .fixed: guard let text = json.stringValue, let bytes = latin1Bytes(text) else { throw invalid() }; return .fixed(bytes)
        case let .enumeration(enumeration):
            guard let symbol = json.stringValue, let index = enumeration.symbols.firstIndex(of: symbol) else { throw invalid() }
            return .enumSymbol(index: index, symbol: symbol)
        case let .array(items):
            guard let elements = json.arrayValue else { throw invalid() }
            var data: [AvroDatum] = []
            for element in elements { data.append(try datum(ofDefault: element, items)) }
            return .array(data)
        case let .map(values):
            guard let members = json.objectValue else { throw invalid() }
            var data: [AvroMapEntry] = []
            for (key, member) in members { data.append(AvroMapEntry(key: key, value: try datum(ofDefault: member, values))) }
            return .map(data)
        case let .record(record):
            guard json.isObject else { throw invalid() }
            var data: [AvroDatum] = []
            for field in record.fields {
                guard let member = json[field.name] ?? field.defaultValue else { throw invalid() }
                data.append(try datum(ofDefault: member, field.type))
            }
            return .record(data)
        case let .union(branches):
            guard let first = branches.first else { throw invalid() }
            return .union(branch: 0, try datum(ofDefault: json, first))
        case .recursiveReference:
            throw invalid()
        }
    }

    /// The Connect value of an Avro datum read with `type`, for the Connect schema made from `type`.
    func toConnectData(_ schema: ConnectSchema, _ type: AvroType, _ datum: AvroDatum) throws(ConnectError) -> ConnectValue {
        if case let .union(branch, inner) = datum {
            guard case let .union(branches) = type.kind, branches.indices.contains(branch) else {
                throw .data("Avro union data does not fit the schema \(type.typeName)")
            }
            let branchType = branches[branch]
            if Self.isUnionSchema(schema), !inner.isNullDatum {
                let fieldName = unionMemberFieldName(branchType)
                guard let field = schema.field(fieldName) else { throw .data("Did not find matching union field for data") }
                var structValue = ConnectStruct(schema: schema, values: Array(repeating: .null, count: schema.fields.count))
                structValue[field.name] = try toConnectData(field.schema, branchType, inner)
                return .structure(structValue)
            }
            return try toConnectData(schema, branchType, inner)
        }
        func mismatch() -> ConnectError { .data("Invalid type for \(schema.type.javaName): Avro \(datum.kindName)") }
        switch (schema.type, datum) {
        case (_, .null):
            guard schema.isOptional else { throw .data("Found null value for non-optional schema") }
            return .null
        case let (.int8, .int(number)): return .int8(Int8(truncatingIfNeeded: number))
        case let (.int16, .int(number)): return .int16(Int16(truncatingIfNeeded: number))
        case let (.int32, .int(number)): return .int32(number)
        case let (.int64, .long(number)): return .int64(number)
        case let (.float32, .float(number)): return .float32(number)
        case let (.float64, .double(number)): return .float64(number)
        case let (.boolean, .boolean(flag)): return .boolean(flag)
        case let (.string, .string(text)): return .string(text)
        case let (.string, .enumSymbol(_, symbol)): return .string(symbol)
        case let (.bytes, .bytes(bytes)), let (.bytes, .fixed(bytes)): return .bytes(bytes)
        case let (.array, .array(elements)):
            guard let itemSchema = schema.valueSchema, case let .array(items) = type.kind else { throw mismatch() }
            var values: [ConnectValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try toConnectData(itemSchema, items, element)) }
            return .array(values)
        case let (.map, .map(entries)):
            guard let valueSchema = schema.valueSchema, case let .map(valueType) = type.kind else { throw mismatch() }
            var values: [ConnectMapEntry] = []
            values.reserveCapacity(entries.count)
            for entry in entries {
                values.append(ConnectMapEntry(key: .string(entry.key), value: try toConnectData(valueSchema, valueType, entry.value)))
            }
            return .map(values)
        case let (.map, .array(elements)):
            guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema, case let .array(items) = type.kind,
                  case let .record(entryRecord) = items.kind,
                  let keyIndex = entryRecord.fields.firstIndex(where: { $0.name == Self.keyField }),
                  let valueIndex = entryRecord.fields.firstIndex(where: { $0.name == Self.valueField }) else { throw mismatch() }
            var values: [ConnectMapEntry] = []
            values.reserveCapacity(elements.count)
            for element in elements {
                guard case let .record(pair) = element, pair.count == entryRecord.fields.count else { throw mismatch() }
                values.append(ConnectMapEntry(
                    key: try toConnectData(keySchema, entryRecord.fields[keyIndex].type, pair[keyIndex]),
                    value: try toConnectData(valueSchema, entryRecord.fields[valueIndex].type, pair[valueIndex])))
            }
            return .map(values)
        case let (.structure, .record(fieldData)):
            guard case let .record(record) = type.kind, fieldData.count == record.fields.count else { throw mismatch() }
            var values = Array(repeating: ConnectValue.null, count: schema.fields.count)
            for field in schema.fields {
                guard let index = record.fields.firstIndex(where: { $0.name == scrubName(field.name) }) else {
                    throw .data("The Avro record \(record.fullName) has no field \(field.name)")
                }
                values[field.index] = try toConnectData(field.schema, record.fields[index].type, fieldData[index])
            }
            return .structure(ConnectStruct(schema: schema, values: values))
        default:
            throw mismatch()
        }
    }
}

extension AvroDatum {
    var isNullDatum: Bool { if case .null = self { return true } else { return false } }
}
