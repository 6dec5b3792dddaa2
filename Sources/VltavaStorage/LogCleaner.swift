import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore

/// The log cleaner's memory limits, with the names and defaults of Kafka's broker settings.
public struct LogCleanerSettings: Sendable, Equatable {
    /// `log.cleaner.dedupe.buffer.size`: the most memory for the map of keys to their newest offsets, 24 bytes a
    /// key (the default, 128 MiB, maps about 5 million keys a pass). When the dirty records hold more keys, a pass
    /// cleans up to the record where the map filled and the next pass goes on from there.
    public var dedupeBufferBytes: Int
    /// `log.cleaner.io.buffer.load.factor`: how full the map gets before it counts as full.
    public var dedupeBufferLoadFactor: Double
    /// `log.cleaner.io.buffer.size`: the memory for reading segments and writing their cleaned copies, half each;
    /// a batch larger than its half is read or written whole.
    public var ioBufferBytes: Int

    public init(dedupeBufferBytes: Int = 128 << 20, dedupeBufferLoadFactor: Double = 0.9, ioBufferBytes: Int = 512 << 10) {
        self.dedupeBufferBytes = dedupeBufferBytes
        self.dedupeBufferLoadFactor = dedupeBufferLoadFactor
        self.ioBufferBytes = ioBufferBytes
    }

    /// The broker properties these settings are read from.
    public static let propertyNames: Set<String> = [
        "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.load.factor", "log.cleaner.io.buffer.size",
    ]

    /// The settings from Kafka broker properties: the defaults where a property is absent, other names ignored.
    public init(properties: [String: String]) throws(StorageError) {
        self.init()
        func bytes(_ name: String, minimum: Int) throws(StorageError) -> Int? {
            guard let value = properties[name] else { return nil }
            guard let number = Int(value.trimmedWhitespace), number >= minimum else {
                throw .invalidConfig(name: name, value: value, reason: "must be an integer of at least \(minimum)")
            }
            return number
        }
        if let value = try bytes("log.cleaner.dedupe.buffer.size", minimum: 2 * OffsetMap.bytesPerEntry) {
            dedupeBufferBytes = value
        }
        if let value = try bytes("log.cleaner.io.buffer.size", minimum: 2 * RecordBatchHeader.size) { ioBufferBytes = value }
        if let value = properties["log.cleaner.io.buffer.load.factor"] {
            guard let factor = Double(value.trimmedWhitespace), factor >= 0.1, factor <= 0.99 else {
                throw .invalidConfig(name: "log.cleaner.io.buffer.load.factor", value: value, reason: "must be between 0.1 and 0.99")
            }
            dedupeBufferLoadFactor = factor
        }
    }
}

/// Compaction of `cleanup.policy=compact` partitions, as Kafka's log cleaner does it: in the closed segments
/// (never the active one) only the newest record of each key is kept, and tombstones (null values) are dropped
/// once `delete.retention.ms` has passed since their segment's newest timestamp. Offsets never change: a
/// rewritten batch keeps its base offset, offset deltas and producer fields. Control batches are kept as they are;
/// the data of aborted transactions goes, and a pass stops at the first transaction still open
/// (`CleanerTransactions`).
///
/// A pass maps the keys of the dirty records (those after the part an earlier pass cleaned) to their newest
/// offsets, in an `OffsetMap` of bounded size, then rewrites every closed segment up to where the map filled,
/// streaming each copy to a `.cleaned` file; the copy's indexes are built before the partition's lock is taken
/// for the swap. Memory stays within the map, the I/O buffers and one batch, whatever the segments' sizes.
enum LogCleaner {
    struct Statistics: Equatable {
        var segmentsRewritten = 0
        var recordsRemoved = 0
        /// How many keys the offset map held, and its size.
        var keysMapped = 0
        var offsetMapBytes = 0
        /// Whether the map filled before the end of the dirty records: another pass goes on from `cleanedUpTo`.
        var mapFilled = false
        /// Every record below this offset was compared with the newest offset of its key.
        var cleanedUpTo: Int64 = 0
        /// The most bytes the writer of a cleaned copy held before writing them out.
        var largestWriteBufferBytes = 0
    }

    /// The suffix of a cleaned copy's files until they are swapped in (removed when a log is opened).
    static let temporarySuffix = ".cleaned"

    /// One cleaning pass over `log`'s closed segments. Runs on the maintenance thread; appends, reads, retention
    /// and closing go on meanwhile (a segment that leaves the log is skipped, its copy discarded).
    static func clean(_ log: PartitionLog, nowMs: Int64, settings: LogCleanerSettings = LogCleanerSettings(),
                      logger: Logger) throws -> Statistics {
        let config = log.currentConfig
        guard config.isCompacted, let section = log.cleanableSection() else { return Statistics() }
        let ioBytes = max(RecordBatchHeader.size, settings.ioBufferBytes / 2)
        var map = OffsetMap(memoryBytes: settings.dedupeBufferBytes, loadFactor: settings.dedupeBufferLoadFactor,
                            expectedKeys: section.activeBaseOffset - section.firstDirtyOffset)
        let transactions = try CleanerTransactions.scan(section, log: log, ioBytes: ioBytes)
        let limit = min(section.activeBaseOffset, transactions.firstOpenOffset ?? Int64.max)
        let (end, filled) = try buildOffsetMap(&map, section: section, log: log, ioBytes: ioBytes, limit: limit,
                                               transactions: transactions)
        var statistics = Statistics(keysMapped: map.count, offsetMapBytes: map.memoryBytes, mapFilled: filled, cleanedUpTo: end)

        for segment in section.segments where segment.baseOffset < end {
            let dropTombstones = segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp > config.deleteRetentionMs
            // With no key mapped, no tombstone due and no aborted transaction, nothing in the segment can go.
            if map.isEmpty && !dropTombstones && transactions.isEmpty { continue }
            guard let source = try log.duplicateFile(of: segment) else { continue }
            defer { source.close() }
            let paths = [".log", ".index", ".timeindex"].map {
                LogSegment.path(directory: log.directory, baseOffset: segment.baseOffset, $0, temporarySuffix: temporarySuffix)
            }
            let cleaned: LogSegment
            do {
                // Index files an earlier attempt left would be taken for the copy's.
                for path in paths.dropFirst() { try FileSystem.remove(path) }
                guard let copy = try writeCleanedCopy(
                    of: segment, from: source, to: paths[0], map: map, cleanUpTo: end, dropTombstones: dropTombstones,
                    transactions: transactions, ioBytes: ioBytes)
                else { continue }
                statistics.largestWriteBufferBytes = max(statistics.largestWriteBufferBytes, copy.largestBufferedBytes)
                cleaned = try LogSegment(
                    directory: log.directory, baseOffset: segment.baseOffset, indexIntervalBytes: config.indexIntervalBytes,
                    recover: false, nowMs: segment.createdAtMs, logger: logger, temporarySuffix: temporarySuffix)
                try cleaned.syncIndexes()
                if try log.replace(segment, with: cleaned) {
                    statistics.segmentsRewritten += 1
                    statistics.recordsRemoved += copy.removed
                }
            } catch {
                // Also removed when the log is next opened.
                for path in paths { try? FileSystem.remove(path) }
                throw error
            }
        }
        log.markCleaned(upTo: end)
        if statistics.segmentsRewritten > 0 {
            logger.info("compacted partition", metadata: [
                "partition": "\(log.topic)-\(log.partition)", "segments": "\(statistics.segmentsRewritten)",
                "recordsRemoved": "\(statistics.recordsRemoved)", "cleanedUpTo": "\(end)", "keysMapped": "\(map.count)",
            ])
        }
        return statistics
    }

    /// Maps the key of every record from the first dirty offset up to `limit` to its newest offset (records of
    /// aborted transactions left out), until a new key finds the map full. Returns the offset up to which the log
    /// can be cleaned: that record's, or `limit` when every key fitted.
    private static func buildOffsetMap(_ map: inout OffsetMap, section: PartitionLog.CleanableSection, log: PartitionLog,
                                       ioBytes: Int, limit: Int64, transactions: CleanerTransactions)
        throws -> (end: Int64, filled: Bool) {
        for (index, segment) in section.segments.enumerated() {
            let segmentEnd = index + 1 < section.segments.count ? section.segments[index + 1].baseOffset : section.activeBaseOffset
            guard segmentEnd > section.firstDirtyOffset, let file = try log.duplicateFile(of: segment) else { continue }
            defer { file.close() }
            var reader = SegmentBatchReader(file: file, size: segment.size, chunkSize: ioBytes)
            while let (_, header, bytes) = try reader.next() {
                if header.baseOffset >= limit { return (limit, false) }
                guard !header.isControl, header.lastOffset >= section.firstDirtyOffset, !transactions.isAborted(header)
                else { continue }
                var input = bytes
                let batch = try RecordBatch(decoding: &input)
                for record in batch.records {
                    let offset = batch.baseOffset + Int64(record.offsetDelta)
                    guard offset >= section.firstDirtyOffset, let key = record.key else { continue }
                    if !map.put(OffsetMap.KeyHash(key), offset: offset) { return (offset, true) }
                }
            }
        }
        return (limit, false)
    }

    /// Writes the records of `segment` that stay to `path`, as they are produced. Nil, and nothing written,
    /// when every record stays. Batches before the first change are copied as they are once one is found.
    private static func writeCleanedCopy(
        of segment: LogSegment, from source: SystemFile, to path: String, map: OffsetMap, cleanUpTo end: Int64,
        dropTombstones: Bool, transactions: CleanerTransactions, ioBytes: Int
    ) throws -> (removed: Int, largestBufferedBytes: Int)? {
        var reader = SegmentBatchReader(file: source, size: segment.size, chunkSize: ioBytes)
        var writer: CleanedSegmentWriter?
        var removed = 0
        while let (position, header, bytes) = try reader.next() {
            // Records from `end` on were not compared with the map's keys, so they stay (as in Kafka, where a record
            // past the map's latest offset is kept): a tombstone among them may still hide an older value there.
            guard !header.isControl, header.baseOffset < end else {
                try writer?.append(bytes)
                continue
            }
            var input = bytes
            let batch = try RecordBatch(decoding: &input)
            let aborted = transactions.isAborted(header)
            let kept = aborted ? [] : batch.records.filter { record in
                let offset = batch.baseOffset + Int64(record.offsetDelta)
                guard offset < end, let key = record.key else { return true }
                if let newest = map.offset(of: OffsetMap.KeyHash(key)), newest > offset { return false }
                return !(dropTombstones && record.value == nil)
            }
            if kept.count == batch.records.count {
                try writer?.append(bytes)
                continue
            }
            removed += batch.records.count - kept.count
            if writer == nil {
                writer = try CleanedSegmentWriter(path: path, bufferBytes: ioBytes)
                try writer?.copy(from: source, length: position)
            }
            if !kept.isEmpty {
                var cleaned = batch
                cleaned.records = kept
                try writer?.append(cleaned)
            }
        }
        guard var writer else { return nil }
        try writer.finish()
        return (removed, writer.largestBufferedBytes)
    }
}

/// Reads a segment file's batches in order through a buffer of `chunkSize` bytes; a larger batch is read alone.
struct SegmentBatchReader {
    private let file: SystemFile
    private let end: Int
    private let chunkSize: Int
    private var chunk = ByteBuffer()
    private var chunkStart = 0
    private var position = 0

    init(file: SystemFile, size: Int, chunkSize: Int) {
        self.file = file
        self.end = size
        self.chunkSize = max(chunkSize, RecordBatchHeader.size)
    }

    /// The next batch: its position in the file, its header and its bytes (a slice of the buffer); nil at the end.
    mutating func next() throws(StorageError) -> (position: Int, header: RecordBatchHeader, bytes: ByteBuffer)? {
        guard position < end else { return nil }
        if position + RecordBatchHeader.size > chunkStart + chunk.readableBytes { try fill(length: chunkSize) }
        guard chunkStart + chunk.readableBytes - position >= RecordBatchHeader.size else {
            throw .corrupt("\(file.path) at position \(position): \(end - position) trailing bytes, less than a batch header")
        }
        let header: RecordBatchHeader
        do {
            header = try RecordBatchHeader(parsing: chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: RecordBatchHeader.size)!)
        } catch {
            throw .corrupt("\(file.path) at position \(position): \(error)")
        }
        let size = header.totalSize
        if position + size > chunkStart + chunk.readableBytes { try fill(length: max(chunkSize, size)) }
        guard position + size <= chunkStart + chunk.readableBytes else {
            throw .corrupt("\(file.path) at position \(position): batch of \(size) bytes runs past the end of the file")
        }
        let bytes = chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: size)!
        defer { position += size }
        return (position, header, bytes)
    }

    private mutating func fill(length: Int) throws(StorageError) {
        chunk = try file.read(at: position, length: min(length, end - position))
        chunkStart = position
    }
}

/// Writes a cleaned copy of a segment as its batches come, through a buffer written out whenever it holds
/// `bufferBytes`, so that the copy is never held in memory whole.
struct CleanedSegmentWriter {
    private let file: SystemFile
    private let bufferBytes: Int
    private var buffer: ByteBuffer
    private var written = 0
    /// The most bytes the buffer held (a statistic for tests).
    private(set) var largestBufferedBytes = 0

    /// Creates (or empties) the file at `path`.
    init(path: String, bufferBytes: Int) throws(StorageError) {
        self.file = try SystemFile(path: path, create: true)
        self.bufferBytes = max(1, bufferBytes)
        self.buffer = ByteBufferAllocator().buffer(capacity: self.bufferBytes)
        try file.truncate(to: 0)
    }

    /// Copies the first `length` bytes of `source` as they are, `bufferBytes` at a time.
    mutating func copy(from source: SystemFile, length: Int) throws(StorageError) {
        while written < length {
            let chunk = try source.read(at: written, length: min(bufferBytes, length - written))
            guard chunk.readableBytes > 0 else { throw .corrupt("\(source.path) ends before position \(length)") }
            largestBufferedBytes = max(largestBufferedBytes, chunk.readableBytes)
            try file.write(chunk, at: written)
            written += chunk.readableBytes
        }
    }

    /// Appends a batch as it is.
    mutating func append(_ batch: ByteBuffer) throws(StorageError) {
        var batch = batch
        buffer.writeBuffer(&batch)
        try writeIfFull()
    }

    /// Appends a batch encoded anew (with a new CRC).
    mutating func append(_ batch: RecordBatch) throws {
        try batch.encode(into: &buffer)
        try writeIfFull()
    }

    /// Writes what is buffered, makes the file durable and closes it.
    mutating func finish() throws(StorageError) {
        try writeBuffer()
        try file.sync()
        file.close()
    }

    private mutating func writeIfFull() throws(StorageError) {
        largestBufferedBytes = max(largestBufferedBytes, buffer.readableBytes)
        if buffer.readableBytes >= bufferBytes { try writeBuffer() }
    }

    private mutating func writeBuffer() throws(StorageError) {
        guard buffer.readableBytes > 0 else { return }
        try file.write(buffer, at: written)
        written += buffer.readableBytes
        buffer.clear()
    }
}
