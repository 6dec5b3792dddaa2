import KafkaProtocol
import NIOCore

/// Copies the records of fetched batches into new batches for another partition, as a replicator (MirrorMaker)
/// writes what it read: each record's attributes, key, value and headers are copied as bytes, and only its offset and
/// timestamp deltas are written anew against the new batch's. The new batches are what a plain producer sends:
/// uncompressed, CreateTime (a LogAppendTime record keeps the broker's time as its timestamp), no producer id, not
/// transactional, offsets from 0, each at most `maximumBatchBytes` (a larger record goes alone). Control batches and
/// records before the requested offset are left out; every source CRC is checked and every record's layout walked,
/// so input that `RecordBatch(decoding:)` would reject fails here too.
public struct RecordBatchRewriter: Sendable {
    /// Consecutive records of a new batch whose source offsets follow each other too: the batch's records
    /// `firstIndex..<firstIndex + count` came from the source offsets `firstOffset..<firstOffset + count`.
    public struct OffsetRun: Sendable, Hashable {
        public var firstOffset: Int64
        public var firstIndex: Int
        public var count: Int

        public init(firstOffset: Int64, firstIndex: Int, count: Int) {
            self.firstOffset = firstOffset
            self.firstIndex = firstIndex
            self.count = count
        }

        /// The source offset of the run's last record.
        public var lastOffset: Int64 { firstOffset + Int64(count) - 1 }
    }

    /// One new batch and where its records came from.
    public struct Batch: Sendable {
        /// The whole encoded batch.
        public var bytes: ByteBuffer
        public var recordCount: Int
        /// The source offsets of its records, in order.
        public var runs: [OffsetRun]
        /// The source offset of its last record.
        public var lastOffset: Int64 { runs.last?.lastOffset ?? -1 }
    }

    public let maximumBatchBytes: Int
    public let maximumDecompressedSize: Int
    /// The batches finished so far.
    public private(set) var batches: [Batch] = []
    private var output = ByteBuffer()
    private var recordCount = 0
    private var baseTimestamp: Int64 = 0
    private var maxTimestamp: Int64 = -1
    private var runs: [OffsetRun] = []
    /// About how many bytes the records still to copy take, to size a new batch's buffer.
    private var capacityHint = 0

    public init(maximumBatchBytes: Int, maximumDecompressedSize: Int = RecordBatch.defaultMaximumDecompressedSize) {
        self.maximumBatchBytes = maximumBatchBytes
        self.maximumDecompressedSize = maximumDecompressedSize
    }

    /// The records copied so far, in finished batches and the one being built.
    public var totalRecords: Int { batches.reduce(recordCount) { $0 + $1.recordCount } }

    /// Copies the records of `fetched` (a fetch answer's record bytes: whole batches, of which a broker may cut the
    /// last short and the first may begin before `requested`) at or after `requested`. Returns where the next fetch
    /// of the partition starts.
    public mutating func append(fetched: ByteBuffer, from requested: Int64) throws(RecordBatchError) -> Int64 {
        var bytes = fetched
        var nextOffset = requested
        while bytes.readableBytes >= RecordBatchHeader.size {
            let header = try RecordBatchHeader(parsing: bytes)
            guard header.totalSize <= bytes.readableBytes else { break }
            let start = bytes.readerIndex
            let checksum = RecordBatchHeader.computeChecksum(bytes, at: start, totalSize: header.totalSize)
            guard checksum == header.crc else { throw .crcMismatch(expected: header.crc, actual: checksum) }
            guard let compression = header.compression else { throw .unsupportedCompressionType(header.compressionCodecID) }
            guard header.recordCount >= 0 else { throw .invalidRecordCount(header.recordCount) }
            bytes.moveReaderIndex(forwardBy: RecordBatchHeader.size)
            // The header was checked to fit: the slice is there.
            guard var records = bytes.readSlice(length: header.totalSize - RecordBatchHeader.size) else { break }
            nextOffset = max(nextOffset, header.lastOffset + 1)
            guard !header.isControl, header.lastOffset >= requested else { continue }
            if compression != .none { records = try compression.decompress(records, maximumSize: maximumDecompressedSize) }
            capacityHint = records.readableBytes + bytes.readableBytes
            let copied = try records.withUnsafeReadableBytes { payload in
                Result { () throws(RecordBatchError) -> Int in try copyRecords(payload, of: header, from: requested) }
            }.get()
            guard copied == Int(header.recordCount) else {
                throw .recordCountMismatch(declared: header.recordCount, decoded: copied)
            }
        }
        return nextOffset
    }

    /// Finishes the batch being built and returns every batch.
    public mutating func finish() -> [Batch] {
        closeBatch()
        defer { batches = [] }
        return batches
    }

    /// Walks the records of one batch's payload, copying those at or after `requested`; returns how many it walked.
    private mutating func copyRecords(
        _ payload: UnsafeRawBufferPointer, of header: RecordBatchHeader, from requested: Int64
    ) throws(RecordBatchError) -> Int {
        var reader = RawRecordReader(bytes: payload)
        var index = 0
        while reader.position < payload.count {
            let record: RawRecordReader.Layout
            do {
                record = try reader.readRecord()
            } catch {
                throw .invalidRecord(index: index, fault: error)
            }
            index += 1
            let offset = header.baseOffset &+ Int64(record.offsetDelta)
            guard offset >= requested else { continue }
            let timestamp = header.timestampType == .logAppendTime ? header.maxTimestamp : header.baseTimestamp &+ record.timestampDelta
            let rest = UnsafeRawBufferPointer(rebasing: payload[record.restStart..<record.end])
            try append(attributes: record.attributes, timestamp: timestamp, offset: offset, rest: rest)
        }
        return index
    }

    private mutating func append(
        attributes: UInt8, timestamp: Int64, offset: Int64, rest: UnsafeRawBufferPointer
    ) throws(RecordBatchError) {
        var timestampDelta = timestamp &- baseTimestamp
        var bodySize = 1 + ByteBuffer.kafkaVarlongSize(timestampDelta) + ByteBuffer.kafkaVarintSize(Int32(truncatingIfNeeded: recordCount)) + rest.count
        if recordCount > 0, output.readableBytes + bodySize + 5 > maximumBatchBytes || recordCount == Int(Int32.max) {
            closeBatch()
        }
        if recordCount == 0 {
            let capacity = min(maximumBatchBytes, capacityHint + (64 << 10))
            output = ByteBufferAllocator().buffer(capacity: max(capacity, RecordBatchHeader.size + bodySize + 5))
            output.moveWriterIndex(forwardBy: RecordBatchHeader.size)
            baseTimestamp = timestamp
            maxTimestamp = timestamp
            timestampDelta = 0
            bodySize = 1 + 1 + 1 + rest.count
        }
        guard bodySize <= Int(Int32.max) else { throw .valueOutOfRange("record of \(bodySize) bytes") }
        output.writeKafkaVarint(Int32(bodySize))
        output.writeInteger(attributes)
        output.writeKafkaVarlong(timestampDelta)
        output.writeKafkaVarint(Int32(recordCount))
        output.writeBytes(rest)
        maxTimestamp = max(maxTimestamp, timestamp)
        if let last = runs.indices.last, runs[last].lastOffset &+ 1 == offset {
            runs[last].count += 1
        } else {
            runs.append(OffsetRun(firstOffset: offset, firstIndex: recordCount, count: 1))
        }
        recordCount += 1
    }

    /// Writes the header of the batch being built, which then joins `batches`.
    private mutating func closeBatch() {
        guard recordCount > 0 else { return }
        let start = output.readerIndex
        let batchLength = Int32(truncatingIfNeeded: output.readableBytes - RecordBatchHeader.logOverhead)
        output.setInteger(Int64(0), at: start + RecordBatchHeader.Field.baseOffset, endianness: .big)
        output.setInteger(batchLength, at: start + RecordBatchHeader.Field.batchLength, endianness: .big)
        output.setInteger(Int32(-1), at: start + RecordBatchHeader.Field.partitionLeaderEpoch, endianness: .big)
        output.setInteger(Int8(2), at: start + RecordBatchHeader.Field.magic)
        output.setInteger(Int16(0), at: start + RecordBatchHeader.Field.attributes, endianness: .big)
        output.setInteger(Int32(recordCount - 1), at: start + RecordBatchHeader.Field.lastOffsetDelta, endianness: .big)
        output.setInteger(baseTimestamp, at: start + RecordBatchHeader.Field.baseTimestamp, endianness: .big)
        output.setInteger(maxTimestamp, at: start + RecordBatchHeader.Field.maxTimestamp, endianness: .big)
        output.setInteger(Int64(-1), at: start + RecordBatchHeader.Field.producerId, endianness: .big)
        output.setInteger(Int16(-1), at: start + RecordBatchHeader.Field.producerEpoch, endianness: .big)
        output.setInteger(Int32(-1), at: start + RecordBatchHeader.Field.baseSequence, endianness: .big)
        output.setInteger(Int32(recordCount), at: start + RecordBatchHeader.Field.recordCount, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &output, at: start)
        batches.append(Batch(bytes: output, recordCount: recordCount, runs: runs))
        output = ByteBuffer()
        recordCount = 0
        runs = []
    }
}

/// Reads the layout of v2 records in place (see `Record`): where each field is, not copies of them.
/// Deliberately apart from `Record.read` and ByteBuffer's varint readers: walking the records through ByteBuffer
/// slices (one retain and release per field) made the mirror's CPU per record 40 % higher (0.52-0.64 -> 0.75-0.90 us,
/// scripts/bench-mirror --records 5000000), so the walk reads the payload's bytes in place with the same checks.
struct RawRecordReader {
    /// One record: its header fields, and where the bytes after its offset delta (key, value, headers) are.
    struct Layout {
        var attributes: UInt8
        var timestampDelta: Int64
        var offsetDelta: Int32
        var restStart: Int
        var end: Int
    }

    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func readRecord() throws(RecordBatchError.RecordFault) -> Layout {
        let length = try readLength(end: bytes.count)
        let end = position + length
        guard position < end else { throw .truncated }
        let attributes = bytes[position]
        position += 1
        let timestampDelta = try readVarlong(end: end)
        let offsetDelta = try readVarint(end: end)
        let restStart = position
        try skipNullableBytes(end: end)  // key
        try skipNullableBytes(end: end)  // value
        let headerCount = try readVarint(end: end)
        guard headerCount >= 0 else { throw .negativeLength(Int64(headerCount)) }
        guard Int(headerCount) <= (end - position) / 2 else {
            throw .lengthExceedsRemaining(length: Int64(headerCount), remaining: end - position)
        }
        for _ in 0..<headerCount {
            position += try readLength(end: end)
            try skipNullableBytes(end: end)
        }
        guard position == end else { throw .trailingBytes(end - position) }
        return Layout(attributes: attributes, timestampDelta: timestampDelta, offsetDelta: offsetDelta, restStart: restStart, end: end)
    }

    private mutating func skipNullableBytes(end: Int) throws(RecordBatchError.RecordFault) {
        let length = try readVarint(end: end)
        if length == -1 { return }
        position += try checked(length, end: end)
    }

    /// A non-negative varint length that fits before `end`.
    private mutating func readLength(end: Int) throws(RecordBatchError.RecordFault) -> Int {
        try checked(try readVarint(end: end), end: end)
    }

    private func checked(_ length: Int32, end: Int) throws(RecordBatchError.RecordFault) -> Int {
        guard length >= 0 else { throw .negativeLength(Int64(length)) }
        guard Int(length) <= end - position else { throw .lengthExceedsRemaining(length: Int64(length), remaining: end - position) }
        return Int(length)
    }

    private mutating func readVarint(end: Int) throws(RecordBatchError.RecordFault) -> Int32 {
        let raw = try readUnsigned(maximumBytes: 5, end: end)
        guard raw <= UInt64(UInt32.max) else { throw .varintTooLong }
        let value = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    private mutating func readVarlong(end: Int) throws(RecordBatchError.RecordFault) -> Int64 {
        let raw = try readUnsigned(maximumBytes: 10, end: end)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    private mutating func readUnsigned(maximumBytes: Int, end: Int) throws(RecordBatchError.RecordFault) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maximumBytes {
            guard position < end else { throw .truncated }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw .varintTooLong
    }
}
