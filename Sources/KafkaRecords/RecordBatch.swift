import NIOCore

/// A whole RecordBatch v2 with its records: built by producers and tools, decoded by consumers and by the
/// broker when it must look inside (compaction, timestamps). The hot append path uses `RecordBatchValidator`
/// and never builds one.
public struct RecordBatch: Hashable, Sendable {
    /// The largest decompressed payload accepted by default: 64 MiB.
    public static let defaultMaximumDecompressedSize = 64 << 20

    /// The first record's offset (zero from producers; the broker assigns it).
    public var baseOffset: Int64
    /// The leader epoch when the batch was appended; -1 from producers.
    public var partitionLeaderEpoch: Int32
    /// How the records are compressed.
    public var compression: CompressionCodec
    /// Whose clock the timestamps come from.
    public var timestampType: TimestampType
    /// Whether the batch belongs to a transaction.
    public var isTransactional: Bool
    /// Whether the batch holds control records (transaction markers).
    public var isControl: Bool
    /// Whether `baseTimestamp` is the delete horizon set by compaction.
    public var hasDeleteHorizon: Bool
    /// The last offset delta; nil when encoding derives it from the records (the largest offset delta).
    public var lastOffsetDelta: Int32?
    /// The timestamp the records' deltas count from.
    public var baseTimestamp: Int64
    /// The largest timestamp; nil when encoding derives it from the records (-1 when there are none).
    public var maxTimestamp: Int64?
    /// -1 when the producer is neither idempotent nor transactional.
    public var producerId: Int64
    /// The producer's epoch; -1 without a producer id.
    public var producerEpoch: Int16
    /// The idempotent sequence number of the first record; -1 without a producer id.
    public var baseSequence: Int32
    /// The records, in offset order.
    public var records: [Record]

    /// A batch from its fields; the defaults are those of a plain, non-idempotent producer.
    public init(
        baseOffset: Int64 = 0, partitionLeaderEpoch: Int32 = -1, compression: CompressionCodec = .none,
        timestampType: TimestampType = .createTime, isTransactional: Bool = false, isControl: Bool = false,
        hasDeleteHorizon: Bool = false, lastOffsetDelta: Int32? = nil, baseTimestamp: Int64,
        maxTimestamp: Int64? = nil, producerId: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1,
        records: [Record]
    ) {
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.compression = compression
        self.timestampType = timestampType
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.hasDeleteHorizon = hasDeleteHorizon
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.records = records
    }

    // MARK: Encoding

    /// Appends the batch, compressed as `compression` says and with its CRC32C, to `buffer`.
    public func encode(into buffer: inout ByteBuffer, compressionLevel: Int? = nil) throws(RecordBatchError) {
        guard records.count <= Int(Int32.max) else { throw .valueOutOfRange("\(records.count) records") }
        let start = buffer.writerIndex
        var derivedLastOffsetDelta: Int32 = 0
        var largestTimestampDelta: Int64?
        for index in records.indices {
            derivedLastOffsetDelta = index == 0 ? records[index].offsetDelta : max(derivedLastOffsetDelta, records[index].offsetDelta)
            largestTimestampDelta = max(largestTimestampDelta ?? .min, records[index].timestampDelta)
        }
        let derivedMaxTimestamp = largestTimestampDelta.map { baseTimestamp &+ $0 } ?? -1
        buffer.writeInteger(baseOffset, endianness: .big)
        buffer.writeInteger(Int32(0), endianness: .big)  // batchLength, set below
        buffer.writeInteger(partitionLeaderEpoch, endianness: .big)
        buffer.writeInteger(Int8(2))
        buffer.writeInteger(UInt32(0), endianness: .big)  // crc, set below
        buffer.writeInteger(RecordBatchHeader.attributes(
            compression: compression, timestampType: timestampType, isTransactional: isTransactional,
            isControl: isControl, hasDeleteHorizon: hasDeleteHorizon), endianness: .big)
        buffer.writeInteger(lastOffsetDelta ?? derivedLastOffsetDelta, endianness: .big)
        buffer.writeInteger(baseTimestamp, endianness: .big)
        buffer.writeInteger(maxTimestamp ?? derivedMaxTimestamp, endianness: .big)
        buffer.writeInteger(producerId, endianness: .big)
        buffer.writeInteger(producerEpoch, endianness: .big)
        buffer.writeInteger(baseSequence, endianness: .big)
        buffer.writeInteger(Int32(records.count), endianness: .big)
        // By index: iterating would copy each record (a retain and release of each of its buffers).
        if compression == .none {
            for index in records.indices { records[index].write(to: &buffer) }
        } else {
            var uncompressed = ByteBufferAllocator().buffer(capacity: recordsSize)
            for index in records.indices { records[index].write(to: &uncompressed) }
            var compressed = try compression.compress(uncompressed, level: compressionLevel)
            buffer.writeBuffer(&compressed)
        }
        let batchLength = buffer.writerIndex - start - RecordBatchHeader.logOverhead
        guard batchLength <= Int(Int32.max) else { throw .valueOutOfRange("batch of \(batchLength) bytes") }
        buffer.setInteger(Int32(batchLength), at: start + RecordBatchHeader.Field.batchLength, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &buffer, at: start)
    }

    /// The bytes of the records, encoded, uncompressed (each length prefix counted at its largest).
    var recordsSize: Int {
        var size = 0
        for index in records.indices { size += records[index].bodySize + 5 }
        return size
    }

    /// The encoded batch in a buffer of its own.
    public func encoded(compressionLevel: Int? = nil) throws(RecordBatchError) -> ByteBuffer {
        // Uncompressed, the batch is exactly this long: one allocation, no growth.
        var buffer = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + (compression == .none ? recordsSize : records.count * 32))
        try encode(into: &buffer, compressionLevel: compressionLevel)
        return buffer
    }

    // MARK: Decoding

    /// Reads one whole batch from `buffer`, moving its reader index past it. Checks the CRC (unless told
    /// not to), decompresses with at most `maximumDecompressedSize` bytes of output, and requires the header's
    /// record count to equal the records found. Keys and values are slices of `buffer` or of the
    /// decompressed bytes.
    public init(
        decoding buffer: inout ByteBuffer, maximumDecompressedSize: Int = RecordBatch.defaultMaximumDecompressedSize,
        verifiesChecksum: Bool = true
    ) throws(RecordBatchError) {
        let header = try RecordBatchHeader(parsing: buffer)
        guard header.totalSize <= buffer.readableBytes else {
            throw .truncated(needed: header.totalSize, available: buffer.readableBytes)
        }
        var batch = buffer.getSlice(at: buffer.readerIndex, length: header.totalSize)!
        if verifiesChecksum {
            let actual = RecordBatchHeader.computeChecksum(batch)
            guard actual == header.crc else { throw .crcMismatch(expected: header.crc, actual: actual) }
        }
        guard let compression = header.compression else {
            throw .unsupportedCompressionType(header.compressionCodecID)
        }
        guard header.recordCount >= 0 else { throw .invalidRecordCount(header.recordCount) }
        batch.moveReaderIndex(forwardBy: RecordBatchHeader.size)
        var payload = try compression.decompress(batch, maximumSize: maximumDecompressedSize)
        var records: [Record] = []
        records.reserveCapacity(min(Int(header.recordCount), payload.readableBytes / Record.minimumSize))
        while payload.readableBytes > 0 {
            records.append(try Record.read(from: &payload, index: records.count))
        }
        guard records.count == Int(header.recordCount) else {
            throw .recordCountMismatch(declared: header.recordCount, decoded: records.count)
        }
        buffer.moveReaderIndex(forwardBy: header.totalSize)
        self.init(
            baseOffset: header.baseOffset, partitionLeaderEpoch: header.partitionLeaderEpoch, compression: compression,
            timestampType: header.timestampType, isTransactional: header.isTransactional, isControl: header.isControl,
            hasDeleteHorizon: header.hasDeleteHorizon, lastOffsetDelta: header.lastOffsetDelta,
            baseTimestamp: header.baseTimestamp, maxTimestamp: header.maxTimestamp, producerId: header.producerId,
            producerEpoch: header.producerEpoch, baseSequence: header.baseSequence, records: records)
    }

    /// Decodes every batch in `bytes` into records with absolute offsets and timestamps.
    public static func decodeRecords(
        _ bytes: ByteBuffer, maximumDecompressedSize: Int = RecordBatch.defaultMaximumDecompressedSize
    ) throws(RecordBatchError) -> [DecodedRecord] {
        var bytes = bytes
        var decoded: [DecodedRecord] = []
        while bytes.readableBytes > 0 {
            let batch = try RecordBatch(decoding: &bytes, maximumDecompressedSize: maximumDecompressedSize)
            for record in batch.records {
                decoded.append(DecodedRecord(
                    offset: batch.baseOffset + Int64(record.offsetDelta),
                    timestamp: batch.timestamp(of: record), isControl: batch.isControl, record: record))
            }
        }
        return decoded
    }

    /// A record's absolute timestamp: the batch's `maxTimestamp` under LogAppendTime, else base plus delta.
    public func timestamp(of record: Record) -> Int64 {
        if timestampType == .logAppendTime, let maxTimestamp { return maxTimestamp }
        return baseTimestamp &+ record.timestampDelta
    }
}

/// A record with the absolute offset and timestamp it has in its partition.
public struct DecodedRecord: Hashable, Sendable {
    /// The record's offset in its partition.
    public var offset: Int64
    /// The record's timestamp in milliseconds since the epoch.
    public var timestamp: Int64
    /// Whether the record is a control record (a transaction marker) rather than data.
    public var isControl: Bool
    /// The record as it is in its batch.
    public var record: Record

    /// The record's key.
    public var key: ByteBuffer? { record.key }
    /// The record's value.
    public var value: ByteBuffer? { record.value }
    /// The record's headers.
    public var headers: [RecordHeader] { record.headers }
}
