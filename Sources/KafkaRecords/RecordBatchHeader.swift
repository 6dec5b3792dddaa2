import NIOCore

/// Whether a batch's timestamps are the producer's (`createTime`) or the broker's (`logAppendTime`).
public enum TimestampType: Int8, Hashable, Sendable {
    case createTime = 0
    case logAppendTime = 1
}

/// The 61-byte header of a RecordBatch v2, read without touching the records.
///
/// Layout (big-endian): baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8,
/// crc uint32, attributes int16, lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64,
/// producerId int64, producerEpoch int16, baseSequence int32, recordCount int32. The CRC32C covers the bytes
/// from `attributes` to the end of the batch, so the base offset and leader epoch can change without it.
public struct RecordBatchHeader: Hashable, Sendable {
    /// The size of the header, which is where the records (or their compressed form) begin.
    public static let size = 61
    /// The bytes before and including `batchLength`, which `batchLength` does not count.
    public static let logOverhead = 12
    /// The smallest valid `batchLength`: the header after the length field.
    public static let minimumBatchLength: Int32 = 49

    enum Field {
        static let baseOffset = 0
        static let batchLength = 8
        static let partitionLeaderEpoch = 12
        static let magic = 16
        static let crc = 17
        static let attributes = 21
        static let lastOffsetDelta = 23
        static let baseTimestamp = 27
        static let maxTimestamp = 35
        static let producerId = 43
        static let producerEpoch = 51
        static let baseSequence = 53
        static let recordCount = 57
    }

    enum AttributeBit {
        static let compression: Int16 = 0x07
        static let timestampType: Int16 = 0x08
        static let transactional: Int16 = 0x10
        static let control: Int16 = 0x20
        static let deleteHorizon: Int16 = 0x40
    }

    /// The offset of the batch's first record.
    public var baseOffset: Int64
    /// The bytes after this field to the end of the batch.
    public var batchLength: Int32
    /// The leader epoch when the batch was appended.
    public var partitionLeaderEpoch: Int32
    /// The format version, always 2 here.
    public var magic: Int8
    /// The stored CRC32C of the bytes from `attributes` to the end.
    public var crc: UInt32
    /// Compression, timestamp type, transactional, control and delete-horizon bits.
    public var attributes: Int16
    /// The last offset in the batch minus `baseOffset`.
    public var lastOffsetDelta: Int32
    /// The first record's timestamp, or the delete horizon when `hasDeleteHorizon`.
    public var baseTimestamp: Int64
    /// The largest record timestamp, or the broker's time under LogAppendTime.
    public var maxTimestamp: Int64
    /// The idempotent or transactional producer's id; -1 for other producers.
    public var producerId: Int64
    /// The producer's epoch; -1 without a producer id.
    public var producerEpoch: Int16
    /// The sequence number of the first record; -1 without a producer id.
    public var baseSequence: Int32
    /// The number of records the batch declares.
    public var recordCount: Int32

    /// Reads the header at the reader index of `buffer` (which is not moved). Checks only what the layout
    /// depends on: 61 bytes present, magic 2 and a batch length of at least 49.
    public init(parsing buffer: ByteBuffer) throws(RecordBatchError) {
        try self.init(buffer, at: buffer.readerIndex, available: buffer.readableBytes)
    }

    init(_ buffer: ByteBuffer, at index: Int, available: Int) throws(RecordBatchError) {
        guard available >= Self.size else { throw .truncated(needed: Self.size, available: available) }
        func read<T: FixedWidthInteger>(_ offset: Int, as type: T.Type = T.self) -> T {
            buffer.getInteger(at: index + offset, endianness: .big, as: T.self)!
        }
        magic = read(Field.magic)
        guard magic == 2 else { throw .unsupportedMagic(magic) }
        batchLength = read(Field.batchLength)
        guard batchLength >= Self.minimumBatchLength else { throw .invalidBatchLength(batchLength) }
        baseOffset = read(Field.baseOffset)
        partitionLeaderEpoch = read(Field.partitionLeaderEpoch)
        crc = read(Field.crc)
        attributes = read(Field.attributes)
        lastOffsetDelta = read(Field.lastOffsetDelta)
        baseTimestamp = read(Field.baseTimestamp)
        maxTimestamp = read(Field.maxTimestamp)
        producerId = read(Field.producerId)
        producerEpoch = read(Field.producerEpoch)
        baseSequence = read(Field.baseSequence)
        recordCount = read(Field.recordCount)
    }

    /// The whole batch's size in bytes, header included.
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    /// The offset of the batch's last record (which compaction may have removed).
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    /// The codec id in attribute bits 0-2; values above 4 are not defined by Kafka.
    public var compressionCodecID: Int8 { Int8(attributes & AttributeBit.compression) }
    /// The codec, or nil when the id is not one Kafka defines.
    public var compression: CompressionCodec? { CompressionCodec(rawValue: compressionCodecID) }
    /// Whose clock `maxTimestamp` and the record timestamps come from.
    public var timestampType: TimestampType {
        attributes & AttributeBit.timestampType != 0 ? .logAppendTime : .createTime
    }
    /// Whether the batch belongs to a transaction.
    public var isTransactional: Bool { attributes & AttributeBit.transactional != 0 }
    /// Whether the batch holds control records (transaction markers) instead of data.
    public var isControl: Bool { attributes & AttributeBit.control != 0 }
    /// Whether `baseTimestamp` holds the delete horizon set by compaction.
    public var hasDeleteHorizon: Bool { attributes & AttributeBit.deleteHorizon != 0 }
    /// Whether the batch was written by an idempotent or transactional producer.
    public var hasProducerId: Bool { producerId >= 0 }

    static func attributes(
        compression: CompressionCodec, timestampType: TimestampType, isTransactional: Bool, isControl: Bool,
        hasDeleteHorizon: Bool
    ) -> Int16 {
        var attributes = Int16(compression.rawValue)
        if timestampType == .logAppendTime { attributes |= AttributeBit.timestampType }
        if isTransactional { attributes |= AttributeBit.transactional }
        if isControl { attributes |= AttributeBit.control }
        if hasDeleteHorizon { attributes |= AttributeBit.deleteHorizon }
        return attributes
    }
}

// MARK: Checksums and in-place edits

extension RecordBatchHeader {
    /// The CRC32C the batch should carry: over its bytes from `attributes` to the end.
    /// `batch` holds exactly one whole batch in its readable bytes.
    public static func computeChecksum(_ batch: ByteBuffer) -> UInt32 {
        computeChecksum(batch, at: batch.readerIndex, totalSize: batch.readableBytes)
    }

    static func computeChecksum(_ buffer: ByteBuffer, at index: Int, totalSize: Int) -> UInt32 {
        buffer.withUnsafeReadableBytes { bytes in
            let start = index - buffer.readerIndex + Field.attributes
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[start..<(index - buffer.readerIndex + totalSize)]))
        }
    }

    /// Whether the single whole batch in `batch`'s readable bytes carries the right CRC32C.
    public static func checksumMatches(_ batch: ByteBuffer) -> Bool {
        guard batch.readableBytes >= size,
              let stored = batch.getInteger(at: batch.readerIndex + Field.crc, endianness: .big, as: UInt32.self)
        else { return false }
        return stored == computeChecksum(batch)
    }

    /// Sets the base offset of the batch that starts at `index`. The CRC does not cover it: nothing else changes.
    public static func setBaseOffset(_ baseOffset: Int64, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(baseOffset, at: index + Field.baseOffset, endianness: .big)
    }

    /// Sets the partition leader epoch of the batch that starts at `index`; the CRC does not cover it either.
    public static func setPartitionLeaderEpoch(_ epoch: Int32, in buffer: inout ByteBuffer, at index: Int) {
        buffer.setInteger(epoch, at: index + Field.partitionLeaderEpoch, endianness: .big)
    }

    /// Stamps the batch that starts at `index` with the broker's time, as for `message.timestamp.type=LogAppendTime`:
    /// sets the timestamp type bit and `maxTimestamp`, then recomputes the CRC (both are covered by it).
    /// The batch must be whole and already parsed; its records' deltas are left as they came, as Kafka does.
    public static func setLogAppendTime(_ timestamp: Int64, in buffer: inout ByteBuffer, at index: Int) {
        setMaxTimestamp(timestamp, timestampType: .logAppendTime, in: &buffer, at: index)
    }

    /// Sets `maxTimestamp` and the timestamp type of the batch at `index` and recomputes its CRC.
    public static func setMaxTimestamp(
        _ timestamp: Int64, timestampType: TimestampType, in buffer: inout ByteBuffer, at index: Int
    ) {
        var attributes = buffer.getInteger(at: index + Field.attributes, endianness: .big, as: Int16.self)!
        attributes &= ~AttributeBit.timestampType
        if timestampType == .logAppendTime { attributes |= AttributeBit.timestampType }
        buffer.setInteger(attributes, at: index + Field.attributes, endianness: .big)
        buffer.setInteger(timestamp, at: index + Field.maxTimestamp, endianness: .big)
        updateChecksum(in: &buffer, at: index)
    }

    /// Recomputes and stores the CRC of the whole batch that starts at `index`.
    public static func updateChecksum(in buffer: inout ByteBuffer, at index: Int) {
        let batchLength = buffer.getInteger(at: index + Field.batchLength, endianness: .big, as: Int32.self)!
        let checksum = computeChecksum(buffer, at: index, totalSize: Int(batchLength) + logOverhead)
        buffer.setInteger(checksum, at: index + Field.crc, endianness: .big)
    }
}
