import KafkaProtocol
import NIOCore

/// A header of a record: a string key and nullable bytes.
public struct RecordHeader: Hashable, Sendable {
    /// The header name.
    public var key: String
    /// The header value; nil for null.
    public var value: ByteBuffer?

    /// A header with a name and nullable bytes.
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

/// One record of a v2 batch as it is on the wire: its offset and timestamp are deltas from the batch's.
///
/// Layout: length varint, attributes int8, timestampDelta varlong, offsetDelta varint, key (varint length,
/// -1 for null), value (same), header count varint, then each header's key (varint length, UTF-8) and value
/// (varint length, -1 for null).
public struct Record: Hashable, Sendable {
    /// Unused by Kafka so far; kept as read.
    public var attributes: Int8
    /// Milliseconds after the batch's base timestamp.
    public var timestampDelta: Int64
    /// The record's offset minus the batch's base offset.
    public var offsetDelta: Int32
    /// The key; nil for a null key.
    public var key: ByteBuffer?
    /// The value; nil for a null value (a tombstone in a compacted topic).
    public var value: ByteBuffer?
    /// Headers in the order they were written; names may repeat.
    public var headers: [RecordHeader]

    /// A record at an offset and timestamp delta within its batch.
    public init(
        offsetDelta: Int32, timestampDelta: Int64 = 0, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader] = [], attributes: Int8 = 0
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// The smallest encoded record: a one-byte length and six one-byte fields.
    static let minimumSize = 7

    /// The size of the fields after the length prefix.
    var bodySize: Int {
        var size = 1 + ByteBuffer.kafkaVarlongSize(timestampDelta) + ByteBuffer.kafkaVarintSize(offsetDelta)
        size += Self.nullableBytesSize(key) + Self.nullableBytesSize(value)
        size += ByteBuffer.kafkaVarintSize(Int32(truncatingIfNeeded: headers.count))
        for header in headers {
            let keyLength = header.key.utf8.count
            size += ByteBuffer.kafkaVarintSize(Int32(truncatingIfNeeded: keyLength)) + keyLength
            size += Self.nullableBytesSize(header.value)
        }
        return size
    }

    private static func nullableBytesSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        return ByteBuffer.kafkaVarintSize(Int32(truncatingIfNeeded: bytes.readableBytes)) + bytes.readableBytes
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeKafkaVarint(Int32(truncatingIfNeeded: bodySize))
        buffer.writeInteger(attributes)
        buffer.writeKafkaVarlong(timestampDelta)
        buffer.writeKafkaVarint(offsetDelta)
        Self.writeNullableBytes(key, to: &buffer)
        Self.writeNullableBytes(value, to: &buffer)
        buffer.writeKafkaVarint(Int32(truncatingIfNeeded: headers.count))
        for header in headers {
            buffer.writeKafkaVarint(Int32(truncatingIfNeeded: header.key.utf8.count))
            buffer.writeString(header.key)
            Self.writeNullableBytes(header.value, to: &buffer)
        }
    }

    private static func writeNullableBytes(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard let bytes else {
            buffer.writeKafkaVarint(-1)
            return
        }
        buffer.writeKafkaVarint(Int32(truncatingIfNeeded: bytes.readableBytes))
        buffer.writeImmutableBuffer(bytes)
    }

    /// Reads one record; key, value and header values are slices of `buffer`, not copies.
    /// Every length is checked against the bytes left before anything is read or allocated.
    static func read(from buffer: inout ByteBuffer, index: Int) throws(RecordBatchError) -> Record {
        do throws(RecordBatchError.RecordFault) {
            let length = try readLength(from: &buffer)
            var body = buffer.readSlice(length: length)!
            guard let attributes = body.readInteger(as: Int8.self) else { throw .truncated }
            let timestampDelta = try varint { () throws(KafkaProtocolError) in try body.readKafkaVarlong() }
            let offsetDelta = try varint { () throws(KafkaProtocolError) in try body.readKafkaVarint() }
            let key = try readNullableBytes(from: &body)
            let value = try readNullableBytes(from: &body)
            let headerCount = try varint { () throws(KafkaProtocolError) in try body.readKafkaVarint() }
            guard headerCount >= 0 else { throw .negativeLength(Int64(headerCount)) }
            // Each header takes at least two bytes (two one-byte lengths).
            guard Int(headerCount) <= body.readableBytes / 2 else {
                throw .lengthExceedsRemaining(length: Int64(headerCount), remaining: body.readableBytes)
            }
            var headers: [RecordHeader] = []
            headers.reserveCapacity(Int(headerCount))
            for _ in 0..<headerCount {
                let keyLength = try readLength(from: &body)
                let headerKey = body.readString(length: keyLength)!
                headers.append(RecordHeader(key: headerKey, value: try readNullableBytes(from: &body)))
            }
            guard body.readableBytes == 0 else { throw .trailingBytes(body.readableBytes) }
            return Record(
                offsetDelta: offsetDelta, timestampDelta: timestampDelta, key: key, value: value, headers: headers,
                attributes: attributes)
        } catch {
            throw .invalidRecord(index: index, fault: error)
        }
    }

    private static func varint<T>(
        _ read: () throws(KafkaProtocolError) -> T
    ) throws(RecordBatchError.RecordFault) -> T {
        do {
            return try read()
        } catch .varintTooLong {
            throw .varintTooLong
        } catch {
            throw .truncated
        }
    }

    /// A non-negative varint length that fits in the bytes left.
    private static func readLength(from buffer: inout ByteBuffer) throws(RecordBatchError.RecordFault) -> Int {
        try checked(try varint { () throws(KafkaProtocolError) in try buffer.readKafkaVarint() }, in: buffer)
    }

    private static func checked(_ length: Int32, in buffer: ByteBuffer) throws(RecordBatchError.RecordFault) -> Int {
        guard length >= 0 else { throw .negativeLength(Int64(length)) }
        guard Int(length) <= buffer.readableBytes else {
            throw .lengthExceedsRemaining(length: Int64(length), remaining: buffer.readableBytes)
        }
        return Int(length)
    }

    private static func readNullableBytes(from buffer: inout ByteBuffer) throws(RecordBatchError.RecordFault) -> ByteBuffer? {
        let length = try varint { () throws(KafkaProtocolError) in try buffer.readKafkaVarint() }
        if length == -1 { return nil }
        return buffer.readSlice(length: try checked(length, in: buffer))!
    }
}
