/// Protobuf's wire types (the low three bits of a field's key).
enum ProtobufWireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Writes protobuf's binary encoding.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func append(_ payload: [UInt8]) {
        bytes.append(contentsOf: payload)
    }

    mutating func key(_ number: Int, _ wireType: ProtobufWireType) {
        varint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    mutating func fixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func fixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func lengthDelimited(_ number: Int, _ payload: [UInt8]) {
        key(number, .lengthDelimited)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}

/// Reads protobuf's binary encoding from a slice of bytes; every read checks the bounds.
struct ProtobufReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        position = start
        self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { position >= end }

    mutating func varint() throws(ConnectError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw .data("The protobuf bytes end inside a varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw .data("A protobuf varint is longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// The next field's number and wire type.
    mutating func key() throws(ConnectError) -> (number: Int, wireType: ProtobufWireType) {
        let key = try varint()
        guard let wireType = ProtobufWireType(rawValue: UInt8(key & 7)) else {
            throw .data("Invalid protobuf wire type \(key & 7) at byte \(position)")
        }
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw .data("Invalid protobuf field number \(number)") }
        return (Int(number), wireType)
    }

    mutating func fixed32() throws(ConnectError) -> UInt32 {
        guard end - position >= 4 else { throw .data("The protobuf bytes end inside a 32-bit value") }
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[position + index]) << UInt32(8 * index) }
        position += 4
        return value
    }

    mutating func fixed64() throws(ConnectError) -> UInt64 {
        guard end - position >= 8 else { throw .data("The protobuf bytes end inside a 64-bit value") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[position + index]) << UInt64(8 * index) }
        position += 8
        return value
    }

    /// The bounds of a length-delimited value, skipped over.
    mutating func lengthDelimited() throws(ConnectError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - position) else {
            throw .data("A protobuf length-delimited field claims \(length) bytes; \(end - position) remain")
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    func slice(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }

    func reader(_ range: Range<Int>) -> ProtobufReader { ProtobufReader(bytes, from: range.lowerBound, to: range.upperBound) }

    /// Skips a value of a field that is not read (unknown fields are ignored, as protobuf does).
    mutating func skip(_ wireType: ProtobufWireType, depth: Int = 0) throws(ConnectError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        case .startGroup:
            guard depth < 64 else { throw .data("Protobuf groups nested too deeply") }
            while true {
                let (_, inner) = try key()
                if inner == .endGroup { return }
                try skip(inner, depth: depth + 1)
            }
        case .endGroup: throw .data("Unexpected protobuf end-group at byte \(position)")
        }
    }

    static func zigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}

/// Confluent's message indexes, between the schema id and the protobuf payload: which message of the schema's file
/// the record holds, as the path of indexes through nested messages (`[0]` is the file's first message). Written as
/// a zig-zag varint count then zig-zag varint indexes; `[0]` alone as the single byte 0.
enum ProtobufMessageIndexes {
    static func encode(_ indexes: [Int]) -> [UInt8] {
        var writer = ProtobufWriter()
        if indexes == [0] {
            writer.varint(0)
            return writer.bytes
        }
        writer.varint(ProtobufWriter.zigZag(Int64(indexes.count)))
        for index in indexes { writer.varint(ProtobufWriter.zigZag(Int64(index))) }
        return writer.bytes
    }

    /// The indexes at the start of `reader`, which is left at the protobuf payload.
    static func decode(_ reader: inout ProtobufReader) throws(ConnectError) -> [Int] {
        let count = ProtobufReader.zigZag(try reader.varint())
        if count == 0 { return [0] }
        guard count > 0, count <= 100 else { throw .data("Invalid message index count \(count) (the record's message indexes are corrupt)") }
        var indexes: [Int] = []
        for _ in 0..<count {
            let index = ProtobufReader.zigZag(try reader.varint())
            guard index >= 0, index < Int64(Int32.max) else { throw .data("Invalid message index \(index)") }
            indexes.append(Int(index))
        }
        return indexes
    }
}
