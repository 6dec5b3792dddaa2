import VltavaClient

/// Connect values as protobuf binary, as Confluent's `fromConnectData` builds the message and protobuf serializes it:
/// fields in field-number order, proto3 scalars at their default value left out (unless `optional`
/// or in a oneof), repeated numbers packed, null values absent.
struct ProtobufValueWriter {
    let pool: ProtobufDescriptorPool

    func message(_ schema: ConnectSchema, _ value: ConnectValue, _ message: ProtobufMessageDescriptor, depth: Int = 0) throws(ConnectError) -> [UInt8] {
        guard depth < 64 else { throw .data("The value is nested more than 64 structs deep") }
        guard case let .structure(structure) = value else { throw .data("Invalid type for STRUCT: \(value.javaClassName)") }
        // Protobuf's serializers write fields by number, whatever order the Connect schema has them in.
        var chunks: [(number: Int, bytes: [UInt8])] = []
        for field in schema.fields {
            var fieldValue = field.index < structure.values.count ? structure.values[field.index] : .null
            if fieldValue.isNull, let defaultValue = field.schema.defaultValue { fieldValue = defaultValue }
            if fieldValue.isNull { continue }
            var target = (field: field, value: fieldValue)
            if field.schema.type == .structure, field.schema.name?.hasPrefix(ProtobufData.unionPrefix) == true {
                guard case let .structure(union) = fieldValue else { throw .data("Invalid type for STRUCT: \(fieldValue.javaClassName)") }
                guard let member = field.schema.fields.first(where: { $0.index < union.values.count && !union.values[$0.index].isNull }) else {
                    continue
                }
                target = (member, union.values[member.index])
            }
            let descriptor = try Self.descriptor(target.field, in: message)
            var writer = ProtobufWriter()
            try write(descriptor, target.field.schema, target.value, into: &writer, depth: depth)
            if !writer.bytes.isEmpty { chunks.append((descriptor.number, writer.bytes)) }
        }
        var bytes: [UInt8] = []
        for chunk in chunks.enumerated().sorted(by: { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }) {
            bytes.append(contentsOf: chunk.element.bytes)
        }
        return bytes
    }

    private static func descriptor(_ field: ConnectField, in message: ProtobufMessageDescriptor) throws(ConnectError) -> ProtobufFieldDescriptor {
        if let found = message.field(named: field.name) { return found }
        if let tag = field.schema.parameter(ProtobufData.tagParameter).flatMap({ Int($0) }),
           let found = message.fields.first(where: { $0.number == tag }) { return found }
        throw .data("The message \(message.fullName) has no field \(field.name)")
    }

    private func write(_ field: ProtobufFieldDescriptor, _ schema: ConnectSchema, _ value: ConnectValue,
                       into writer: inout ProtobufWriter, depth: Int) throws(ConnectError) {
        if field.isRepeated {
            if case let .message(name) = field.kind, let entry = pool.messages[name], schema.type == .map {
                guard case let .map(entries) = value else { throw .data("Invalid type for MAP: \(value.javaClassName)") }
                guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema,
                      let keyField = entry.field(named: "key"), let valueField = entry.field(named: "value") else {
                    throw .data("Map schema did not specify the key and value types")
                }
                for item in entries {
                    var entryWriter = ProtobufWriter()
                    // Map entries carry key and value even at their defaults, as protobuf's own serializers write them.
                    try single(keyField, keySchema, item.key, into: &entryWriter, depth: depth, force: true)
                    try single(valueField, valueSchema, item.value, into: &entryWriter, depth: depth, force: true)
                    writer.lengthDelimited(field.number, entryWriter.bytes)
                }
                return
            }
            guard case let .array(items) = value, let itemSchema = schema.valueSchema else {
                throw .data("Invalid type for ARRAY: \(value.javaClassName)")
            }
            if case let .scalar(scalar) = field.kind, scalar.wireType != .lengthDelimited {
                guard !items.isEmpty else { return }
                var packed = ProtobufWriter()
                for item in items { try Self.scalarValue(scalar, item, into: &packed) }
                writer.lengthDelimited(field.number, packed.bytes)
                return
            }
            for item in items {
                guard !item.isNull else { throw .data("Field \(field.name): protobuf lists cannot hold null") }
                try single(field, itemSchema, item, into: &writer, depth: depth, force: true)
            }
            return
        }
        try single(field, schema, value, into: &writer, depth: depth, force: field.isOptional || field.oneof != nil)
    }

    /// One value of a field; `force` writes a scalar at its default value too.
    private func single(_ field: ProtobufFieldDescriptor, _ schema: ConnectSchema, _ value: ConnectValue,
                        into writer: inout ProtobufWriter, depth: Int, force: Bool) throws(ConnectError) {
        if value.isNull { return }
        switch field.kind {
        case let .scalar(scalar):
            if !force, Self.isDefault(value) { return }
            writer.key(field.number, scalar.wireType)
            if scalar.wireType == .lengthDelimited {
                var inner = ProtobufWriter()
                try Self.scalarValue(scalar, value, into: &inner)
                writer.varint(UInt64(inner.bytes.count))
                writer.append(inner.bytes)
            } else {
                try Self.scalarValue(scalar, value, into: &writer)
            }
        case let .enumeration(name):
            guard case let .string(symbol) = value else { throw .data("Invalid type for enum \(name): \(value.javaClassName)") }
            let number = schema.parameter(ProtobufData.enumParameter + "." + symbol).flatMap { Int($0) }
                ?? pool.enums[name]?.values.first { $0.name == symbol }?.number
            guard let number else { throw .data("\(symbol) is not a symbol of the enum \(name)") }
            if !force, number == 0 { return }
            writer.key(field.number, .varint)
            writer.varint(UInt64(bitPattern: Int64(number)))
        case let .message(name):
            writer.lengthDelimited(field.number, try messageValue(name, schema, value, depth: depth))
        }
    }

    private func messageValue(_ name: String, _ schema: ConnectSchema, _ value: ConnectValue, depth: Int) throws(ConnectError) -> [UInt8] {
        var inner = ProtobufWriter()
        func int(_ number: Int, _ int: Int64) {
            guard int != 0 else { return }
            inner.key(number, .varint)
            inner.varint(UInt64(bitPattern: int))
        }
        switch (name, value) {
        case let (ProtobufData.decimalType, .bytes(unscaled)):
            if !unscaled.isEmpty { inner.lengthDelimited(1, unscaled) }
            let digits = DecimalBytes.decimalString(twosComplement: unscaled) ?? "0"
            int(2, Int64(max(1, digits.filter(\.isNumber).drop { $0 == "0" }.count)))
            int(3, Int64(schema.parameter(ConnectLogical.scaleParameter).flatMap { Int32($0) } ?? 0))
        case let (ProtobufData.dateType, .int32(days)):
            let (year, month, day) = CivilDate.fromDays(Int64(days))
            int(1, year)
            int(2, month)
            int(3, day)
        case let (ProtobufData.timeType, .int32(millis)):
            guard millis >= 0, millis <= 86_400_000 else {
                throw .data("Time values must use number of millis greater than 0 and less than 86400000")
            }
            int(1, Int64(millis / 3_600_000))
            int(2, Int64(millis / 60_000 % 60))
            int(3, Int64(millis / 1000 % 60))
            int(4, Int64(millis % 1000) * 1_000_000)
        case let (ProtobufData.timestampType, .int64(millis)):
            let (seconds, rest) = millis.quotientAndRemainder(dividingBy: 1000)
            let adjust = rest < 0 ? Int64(1) : 0
            int(1, seconds - adjust)
            int(2, (rest + adjust * 1000) * 1_000_000)
        default:
            guard let message = pool.messages[name] else { throw .data("The message \(name) is not defined") }
            if schema.type != .structure, let wrapped = message.field(named: "value") {
                try single(wrapped, schema, value, into: &inner, depth: depth, force: false)
            } else {
                return try self.message(schema, value, message, depth: depth + 1)
            }
        }
        return inner.bytes
    }

    private static func isDefault(_ value: ConnectValue) -> Bool {
        switch value {
        case let .int8(number): return number == 0
        case let .int16(number): return number == 0
        case let .int32(number): return number == 0
        case let .int64(number): return number == 0
        case let .float32(number): return number.bitPattern == 0
        case let .float64(number): return number.bitPattern == 0
        case let .boolean(flag): return !flag
        case let .string(text): return text.isEmpty
        case let .bytes(bytes): return bytes.isEmpty
        default: return false
        }
    }

    private static func scalarValue(_ scalar: ProtobufScalar, _ value: ConnectValue, into writer: inout ProtobufWriter) throws(ConnectError) {
        func mismatch() -> ConnectError { .data("Invalid value \(value.javaClassName) for a protobuf \(scalar.rawValue) field") }
        let integer: Int64?
        switch value {
        case let .int8(number): integer = Int64(number)
        case let .int16(number): integer = Int64(number)
        case let .int32(number): integer = Int64(number)
        case let .int64(number): integer = number
        default: integer = nil
        }
        switch scalar {
        case .int32, .int64, .uint32, .uint64:
            guard let integer else { throw mismatch() }
            writer.varint(scalar == .uint32 ? UInt64(UInt32(truncatingIfNeeded: integer)) : UInt64(bitPattern: integer))
        case .sint32, .sint64:
            guard let integer else { throw mismatch() }
            writer.varint(ProtobufWriter.zigZag(integer))
        case .fixed32, .sfixed32:
            guard let integer else { throw mismatch() }
            writer.fixed32(UInt32(truncatingIfNeeded: integer))
        case .fixed64, .sfixed64:
            guard let integer else { throw mismatch() }
            writer.fixed64(UInt64(bitPattern: integer))
        case .float:
            guard case let .float32(number) = value else { throw mismatch() }
            writer.fixed32(number.bitPattern)
        case .double:
            guard case let .float64(number) = value else { throw mismatch() }
            writer.fixed64(number.bitPattern)
        case .bool:
            guard case let .boolean(flag) = value else { throw mismatch() }
            writer.varint(flag ? 1 : 0)
        case .string:
            guard case let .string(text) = value else { throw mismatch() }
            writer.append(Array(text.utf8))
        case .bytes:
            guard case let .bytes(bytes) = value else { throw mismatch() }
            writer.append(bytes)
        }
    }
}

