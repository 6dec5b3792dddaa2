/// Avro's binary encoding (the specification's "Binary Encoding"): ints and longs as zig-zag varints, floats and
/// doubles little-endian, bytes and strings length-prefixed, arrays and maps as counted blocks ended by a zero
/// count, unions as the branch index then the value. Writes blocks as Avro's Java `BinaryEncoder` does (one block
/// of all items, then 0, no block when empty).
enum AvroBinary {
    static func encode(_ datum: AvroDatum, as type: AvroType, into output: inout [UInt8]) throws(AvroError) {
        switch (type.kind, datum) {
        case (.null, .null):
            break
        case let (.boolean, .boolean(value)):
            output.append(value ? 1 : 0)
        case let (.int, .int(value)):
            writeLong(Int64(value), into: &output)
        case let (.long, .long(value)):
            writeLong(value, into: &output)
        case let (.float, .float(value)):
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 32, by: 8) { output.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        case let (.double, .double(value)):
            let bits = value.bitPattern
            for shift in stride(from: 0, to: 64, by: 8) { output.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case let (.bytes, .bytes(bytes)):
            writeLong(Int64(bytes.count), into: &output)
            output += bytes
        case let (.string, .string(text)):
            writeLong(Int64(text.utf8.count), into: &output)
            output += text.utf8
        case let (.fixed(fixed), .fixed(bytes)):
            guard bytes.count == fixed.size else {
                throw AvroError("a value of the Avro fixed \(fixed.fullName) has \(bytes.count) bytes, not \(fixed.size)")
            }
            output += bytes
        case let (.enumeration(enumeration), .enumSymbol(index, _)):
            guard enumeration.symbols.indices.contains(index) else {
                throw AvroError("symbol \(index) is not one of the Avro enum \(enumeration.fullName)")
            }
            writeLong(Int64(index), into: &output)
        case let (.array(items), .array(elements)):
            if !elements.isEmpty {
                writeLong(Int64(elements.count), into: &output)
                for element in elements { try encode(element, as: items, into: &output) }
            }
            output.append(0)
        case let (.map(values), .map(entries)):
            if !entries.isEmpty {
                writeLong(Int64(entries.count), into: &output)
                for entry in entries {
                    writeLong(Int64(entry.key.utf8.count), into: &output)
                    output += entry.key.utf8
                    try encode(entry.value, as: values, into: &output)
                }
            }
            output.append(0)
        case let (.record(record), .record(values)):
            guard values.count == record.fields.count else {
                throw AvroError("a value of the Avro record \(record.fullName) has \(values.count) fields, not \(record.fields.count)")
            }
            for (field, value) in zip(record.fields, values) { try encode(value, as: field.type, into: &output) }
        case let (.union(branches), .union(branch, value)):
            guard branches.indices.contains(branch) else { throw AvroError("union branch \(branch) does not exist") }
            writeLong(Int64(branch), into: &output)
            try encode(value, as: branches[branch], into: &output)
        default:
            throw AvroError("a \(datum.kindName) value cannot be written as Avro \(type.typeName)")
        }
    }

    static func writeLong(_ value: Int64, into output: inout [UInt8]) {
        var zigZag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while zigZag >= 0x80 {
            output.append(UInt8(zigZag & 0x7F) | 0x80)
            zigZag >>= 7
        }
        output.append(UInt8(zigZag))
    }

    /// Reads one datum of `type`; the whole of `bytes` from `reader`'s position must be used by the caller's
    /// choice (the converter refuses trailing bytes).
    static func decode(_ type: AvroType, from reader: inout AvroBinaryReader) throws(AvroError) -> AvroDatum {
        reader.depth += 1
        defer { reader.depth -= 1 }
        guard reader.depth <= 64 else { throw AvroError("Avro data nested deeper than 64") }
        switch type.kind {
        case .null: return .null
        case .boolean:
            let byte = try reader.byte()
            guard byte <= 1 else { throw AvroError("invalid Avro boolean byte \(byte)") }
            return .boolean(byte == 1)
        case .int: return .int(try reader.int())
        case .long: return .long(try reader.long())
        case .float:
            var bits: UInt32 = 0
            for (index, byte) in try reader.bytes(4).enumerated() { bits |= UInt32(byte) << UInt32(8 * index) }
            return .float(Float(bitPattern: bits))
        case .double:
            var bits: UInt64 = 0
            for (index, byte) in try reader.bytes(8).enumerated() { bits |= UInt64(byte) << UInt64(8 * index) }
            return .double(Double(bitPattern: bits))
        case .bytes: return .bytes(try reader.lengthPrefixed())
        case .string: return .string(String(decoding: try reader.lengthPrefixed(), as: UTF8.self))
        case let .fixed(fixed): return .fixed(try reader.bytes(fixed.size))
        case let .enumeration(enumeration):
            let index = try reader.int()
            guard index >= 0, Int(index) < enumeration.symbols.count else {
                throw AvroError("symbol index \(index) is out of the Avro enum \(enumeration.fullName)")
            }
            return .enumSymbol(index: Int(index), symbol: enumeration.symbols[Int(index)])
        case let .array(items):
            var elements: [AvroDatum] = []
            try reader.blocks(itemsMayBeEmpty: items.isZeroWidth) { (reader: inout AvroBinaryReader) throws(AvroError) in
                elements.append(try decode(items, from: &reader))
            }
            return .array(elements)
        case let .map(values):
            var entries: [AvroMapEntry] = []
            try reader.blocks(itemsMayBeEmpty: false) { (reader: inout AvroBinaryReader) throws(AvroError) in
                let key = String(decoding: try reader.lengthPrefixed(), as: UTF8.self)
                entries.append(AvroMapEntry(key: key, value: try decode(values, from: &reader)))
            }
            return .map(entries)
        case let .record(record):
            var values: [AvroDatum] = []
            values.reserveCapacity(record.fields.count)
            for field in record.fields { values.append(try decode(field.type, from: &reader)) }
            return .record(values)
        case let .union(branches):
            let index = try reader.int()
            guard index >= 0, Int(index) < branches.count else {
                throw AvroError("union branch \(index) is out of an Avro union of \(branches.count) types")
            }
            return .union(branch: Int(index), try decode(branches[Int(index)], from: &reader))
        case let .recursiveReference(name):
            throw AvroError("the recursive Avro type \(name) is not supported")
        }
    }
}

/// A cursor over Avro binary data that refuses to read past the end.
struct AvroBinaryReader {
    let bytes: [UInt8]
    var position: Int
    var depth = 0
    /// Items of types that take no bytes (null, empty records) still cost memory: their number is bounded.
    static let maximumZeroWidthItems = 1 << 20

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func byte() throws(AvroError) -> UInt8 {
        guard position < bytes.count else { throw AvroError("the Avro data ends too early") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bytes(_ count: Int) throws(AvroError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw AvroError("the Avro data ends too early") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func long() throws(AvroError) -> Int64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte()
            guard shift < 64, shift < 63 || byte & 0x7E == 0 else { throw AvroError("invalid Avro long encoding") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    mutating func int() throws(AvroError) -> Int32 {
        let value = try long()
        guard let int = Int32(exactly: value) else { throw AvroError("invalid Avro int encoding") }
        return int
    }

    mutating func lengthPrefixed() throws(AvroError) -> [UInt8] {
        let length = try long()
        guard length >= 0 else { throw AvroError("negative Avro length \(length)") }
        guard length <= remaining else { throw AvroError("the Avro data ends too early") }
        return try bytes(Int(length))
    }

    /// Reads counted blocks until the zero count, calling `item` once per item.
    mutating func blocks(itemsMayBeEmpty: Bool,
                         _ item: (inout AvroBinaryReader) throws(AvroError) -> Void) throws(AvroError) {
        var total = 0
        while true {
            var count = try long()
            if count == 0 { return }
            if count < 0 {
                count = count == Int64.min ? count : -count
                _ = try long()
            }
            guard count > 0 else { throw AvroError("invalid Avro block count") }
            // Every item of a type that takes bytes takes at least one.
            guard itemsMayBeEmpty || count <= Int64(remaining) else { throw AvroError("the Avro data ends too early") }
            total += Int(count)
            guard total <= Self.maximumZeroWidthItems || !itemsMayBeEmpty else {
                throw AvroError("an Avro array has more than \(Self.maximumZeroWidthItems) empty items")
            }
            for _ in 0..<count { try item(&self) }
        }
    }
}

extension AvroType {
    /// Whether values of the type take no bytes at all.
    var isZeroWidth: Bool {
        switch kind {
        case .null: return true
        case let .fixed(fixed): return fixed.size == 0
        case let .record(record): return record.fields.allSatisfy(\.type.isZeroWidth)
        default: return false
        }
    }
}

extension AvroDatum {
    var kindName: String {
        switch self {
        case .null: return "null"
        case .boolean: return "boolean"
        case .int: return "int"
        case .long: return "long"
        case .float: return "float"
        case .double: return "double"
        case .bytes: return "bytes"
        case .string: return "string"
        case .array: return "array"
        case .map: return "map"
        case .record: return "record"
        case .enumSymbol: return "enum"
        case .fixed: return "fixed"
        case .union: return "union"
        }
    }
}
