import VltavaClient

/// Protobuf binary as Connect values of the schema `ProtobufData.toConnectSchema` made, as Confluent's
/// `toConnectData` reads the parsed message: an absent scalar is its default (0, "", false, the enum's first
/// symbol), an absent message, wrapper, `optional` field or oneof is null, absent lists and maps are empty.
struct ProtobufValueReader {
    let pool: ProtobufDescriptorPool

    private enum RawValue {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case lengthDelimited(Range<Int>)
    }

    func message(_ schema: ConnectSchema, _ message: ProtobufMessageDescriptor, _ reader: ProtobufReader, depth: Int = 0) throws(ConnectError) -> ConnectValue {
        guard depth < 64 else { throw .data("The protobuf message is nested more than 64 deep") }
        var reader = reader
        var raw: [Int: [RawValue]] = [:]
        var lastOneofMember: [String: Int] = [:]
        let known = Dictionary(message.fields.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
        while !reader.isAtEnd {
            let (number, wireType) = try reader.key()
            guard let field = known[number] else {
                try reader.skip(wireType)
                continue
            }
            let value: RawValue
            switch wireType {
            case .varint: value = .varint(try reader.varint())
            case .fixed32: value = .fixed32(try reader.fixed32())
            case .fixed64: value = .fixed64(try reader.fixed64())
            case .lengthDelimited: value = .lengthDelimited(try reader.lengthDelimited())
            case .startGroup, .endGroup:
                throw .data("Field \(field.name) of \(message.fullName) is encoded as a group, which is not supported")
            }
            raw[number, default: []].append(value)
            if let oneof = field.oneof { lastOneofMember[oneof] = number }
        }

        var values: [ConnectValue] = []
        values.reserveCapacity(schema.fields.count)
        for field in schema.fields {
            if field.schema.type == .structure, field.schema.name?.hasPrefix(ProtobufData.unionPrefix) == true {
                let oneof = String(field.schema.name?.dropFirst(ProtobufData.unionPrefix.count) ?? "")
                guard let number = lastOneofMember[oneof], let descriptor = known[number],
                      let member = field.schema.field(descriptor.name) else {
                    values.append(.null)
                    continue
                }
                var unionValues = [ConnectValue](repeating: .null, count: field.schema.fields.count)
                unionValues[member.index] = try fieldValue(descriptor, member.schema, raw[number] ?? [], reader, depth: depth)
                values.append(.structure(ConnectStruct(schema: field.schema, values: unionValues)))
                continue
            }
            guard let descriptor = message.field(named: field.name) else {
                values.append(field.schema.defaultValue ?? .null)
                continue
            }
            values.append(try fieldValue(descriptor, field.schema, raw[descriptor.number] ?? [], reader, depth: depth))
        }
        return .structure(ConnectStruct(schema: schema, values: values))
    }

    private func fieldValue(_ field: ProtobufFieldDescriptor, _ schema: ConnectSchema, _ occurrences: [RawValue],
                            _ reader: ProtobufReader, depth: Int) throws(ConnectError) -> ConnectValue {
        if schema.type == .map {
            guard case let .message(name) = field.kind, let entry = pool.messages[name],
                  let keyField = entry.field(named: "key"), let valueField = entry.field(named: "value"),
                  let keySchema = schema.keySchema, let valueSchema = schema.valueSchema else {
                throw .data("Field \(field.name) is not a map in the schema")
            }
            var entries: [ConnectMapEntry] = []
            for occurrence in occurrences {
                guard case let .lengthDelimited(range) = occurrence else { throw .data("Map field \(field.name) is not length-delimited") }
                let decoded = try message(ConnectSchema(type: .structure, fields: [
                    ConnectField(name: "key", index: 0, schema: keySchema), ConnectField(name: "value", index: 1, schema: valueSchema),
                ]), ProtobufMessageDescriptor(fullName: entry.fullName, name: entry.name, fields: [keyField, valueField], oneofs: [],
                                              isMapEntry: true), reader.reader(range), depth: depth + 1)
                guard case let .structure(pair) = decoded else { continue }
                entries.append(ConnectMapEntry(key: pair.values[0], value: pair.values[1]))
            }
            return .map(entries)
        }
        if field.isRepeated {
            guard let itemSchema = schema.valueSchema else { throw .data("Field \(field.name) is not a list in the schema") }
            var items: [ConnectValue] = []
            for occurrence in occurrences {
                if case let .scalar(scalar) = field.kind, scalar.wireType != .lengthDelimited, case let .lengthDelimited(range) = occurrence {
                    var packed = reader.reader(range)
                    while !packed.isAtEnd {
                        let element: RawValue
                        switch scalar.wireType {
                        case .fixed32: element = .fixed32(try packed.fixed32())
                        case .fixed64: element = .fixed64(try packed.fixed64())
                        default: element = .varint(try packed.varint())
                        }
                        items.append(try single(field, itemSchema, element, reader, depth: depth))
                    }
                } else {
                    items.append(try single(field, itemSchema, occurrence, reader, depth: depth))
                }
            }
            return .array(items)
        }
        if let last = occurrences.last { return try single(field, schema, last, reader, depth: depth) }
        if field.isOptional || field.oneof != nil { return .null }
        switch field.kind {
        case .message: return .null
        case let .enumeration(name): return .string(pool.enums[name]?.values.first { $0.number == 0 }?.name ?? pool.enums[name]?.values.first?.name ?? "")
        case .scalar: return Self.defaultValue(schema)
        }
    }

    private static func defaultValue(_ schema: ConnectSchema) -> ConnectValue {
        schema.type.zeroValue ?? .null
    }

    private func single(_ field: ProtobufFieldDescriptor, _ schema: ConnectSchema, _ raw: RawValue,
                        _ reader: ProtobufReader, depth: Int) throws(ConnectError) -> ConnectValue {
        func mismatch() -> ConnectError { .data("Field \(field.name) has the wrong wire type for its protobuf type") }
        switch field.kind {
        case let .enumeration(name):
            guard case let .varint(number) = raw else { throw mismatch() }
            let value = Int64(bitPattern: number)
            let symbol = pool.enums[name]?.values.first { Int64($0.number) == value }?.name
            return .string(symbol ?? String(value))
        case let .scalar(scalar):
            return try Self.scalar(scalar, raw, schema, reader, field: field.name)
        case let .message(name):
            guard case let .lengthDelimited(range) = raw else { throw mismatch() }
            guard let message = pool.messages[name] else { throw .data("The message \(name) is not defined") }
            if schema.type == .structure {
                return try self.message(schema, message, reader.reader(range), depth: depth + 1)
            }
            // A logical type or a wrapper: read the message's fields as numbers, then build the Connect value.
            let flat = ConnectSchema(type: .structure, fields: message.fields.enumerated().map { index, inner in
                ConnectField(name: inner.name, index: index, schema: ProtobufValueReader.plainSchema(inner, wrapped: schema))
            })
            guard case let .structure(parts) = try self.message(flat, message, reader.reader(range), depth: depth + 1) else { return .null }
            return try Self.logical(name, schema, parts)
        }
    }

    /// The schema a field of a logical-type or wrapper message is read with.
    private static func plainSchema(_ field: ProtobufFieldDescriptor, wrapped: ConnectSchema) -> ConnectSchema {
        guard case let .scalar(scalar) = field.kind else { return .optionalString }
        if field.name == "value", scalar != .bytes || wrapped.name != ConnectLogical.decimalName {
            return ConnectSchema(type: wrapped.type)
        }
        switch scalar {
        case .bytes: return .bytes
        case .int64, .uint32: return .int64
        default: return .int32
        }
    }

    private static func logical(_ name: String, _ schema: ConnectSchema, _ parts: ConnectStruct) throws(ConnectError) -> ConnectValue {
        func int(_ field: String) -> Int64 {
            switch parts[field] {
            case let .int32(number)?: return Int64(number)
            case let .int64(number)?: return number
            default: return 0
            }
        }
        switch name {
        case ProtobufData.decimalType:
            guard case let .bytes(unscaled)? = parts["value"] else { return .bytes([]) }
            let expected = Int64(schema.parameter(ConnectLogical.scaleParameter).flatMap { Int32($0) } ?? 0)
            guard int("scale") == expected || unscaled.allSatisfy({ $0 == 0 }) else {
                throw .data("The decimal has scale \(int("scale")), the schema's is \(expected)")
            }
            return .bytes(unscaled)
        case ProtobufData.dateType:
            return .int32(Int32(truncatingIfNeeded: CivilDate.toDays(year: int("year"), month: int("month"), day: int("day"))))
        case ProtobufData.timeType:
            return .int32(Int32(truncatingIfNeeded: int("hours") * 3_600_000 + int("minutes") * 60_000 + int("seconds") * 1000 + int("nanos") / 1_000_000))
        case ProtobufData.timestampType:
            let (millis, overflow) = int("seconds").multipliedReportingOverflow(by: 1000)
            let (total, overflowAgain) = millis.addingReportingOverflow(int("nanos") / 1_000_000)
            guard !overflow, !overflowAgain else { throw .data("The timestamp \(int("seconds")) s does not fit in milliseconds") }
            return .int64(total)
        default:
            return parts["value"] ?? .null
        }
    }

    private static func scalar(_ scalar: ProtobufScalar, _ raw: RawValue, _ schema: ConnectSchema, _ reader: ProtobufReader,
                               field: String) throws(ConnectError) -> ConnectValue {
        func mismatch() -> ConnectError { .data("Field \(field) has the wrong wire type for a protobuf \(scalar.rawValue)") }
        let integer: Int64
        switch (scalar, raw) {
        case let (.float, .fixed32(bits)): return .float32(Float(bitPattern: bits))
        case let (.double, .fixed64(bits)): return .float64(Double(bitPattern: bits))
        case let (.bool, .varint(number)): return .boolean(number != 0)
        case let (.string, .lengthDelimited(range)):
            guard let text = String(validating: reader.slice(range), as: UTF8.self) else {
                throw .data("Field \(field) holds a string that is not valid UTF-8")
            }
            return .string(text)
        case let (.bytes, .lengthDelimited(range)): return .bytes(reader.slice(range))
        case let (.int32, .varint(number)), let (.int64, .varint(number)), let (.uint64, .varint(number)):
            integer = Int64(bitPattern: number)
        case let (.uint32, .varint(number)): integer = Int64(UInt32(truncatingIfNeeded: number))
        case let (.sint32, .varint(number)), let (.sint64, .varint(number)): integer = ProtobufReader.zigZag(number)
        case let (.fixed32, .fixed32(bits)): integer = Int64(bits)
        case let (.sfixed32, .fixed32(bits)): integer = Int64(Int32(bitPattern: bits))
        case let (.fixed64, .fixed64(bits)), let (.sfixed64, .fixed64(bits)): integer = Int64(bitPattern: bits)
        default: throw mismatch()
        }
        switch schema.type {
        case .int8: return .int8(Int8(truncatingIfNeeded: integer))
        case .int16: return .int16(Int16(truncatingIfNeeded: integer))
        case .int32: return .int32(Int32(truncatingIfNeeded: integer))
        default: return .int64(integer)
        }
    }
}
