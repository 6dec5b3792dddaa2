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
/// rewritten batch keeps its base offset, offset deltas and producer fields.
///
/// Transactions are cleaned as Kafka cleans them: nothing at or after the last stable offset is touched; the
/// batches of aborted transactions (known from the transaction indexes) are removed and never mapped; a COMMIT or
/// ABORT marker stays while a pass still reads records of its transaction, then gets a delete horizon
/// (`delete.retention.ms` from then, in its base timestamp) and goes in the first pass after it. A cleaned copy's
/// transaction index keeps the entries whose aborted records the pass found, as Kafka's does.
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
        /// Batches of aborted transactions removed.
        var abortedBatchesRemoved = 0
        /// COMMIT and ABORT markers removed.
        var markersRemoved = 0
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
        let cleanableEnd = min(section.activeBaseOffset, section.lastStableOffset)
        var map = OffsetMap(memoryBytes: settings.dedupeBufferBytes, loadFactor: settings.dedupeBufferLoadFactor,
                            expectedKeys: cleanableEnd - section.firstDirtyOffset)
        let (end, filled) = try buildOffsetMap(&map, section: section, upTo: cleanableEnd, log: log, ioBytes: ioBytes)
        var statistics = Statistics(keysMapped: map.count, offsetMapBytes: map.memoryBytes, mapFilled: filled, cleanedUpTo: end)
        // Markers are decided only while every segment before them was read in this pass: a record of their
        // transaction may be in any of them.
        let transactionWorkDue = zip(section.segments, section.transactionCleanupDueMs).contains { segment, due in
            segment.baseOffset < end && due.map { $0 <= nowMs } ?? false
        }
        var transactions = CleaningTransactionState()
        var everySegmentRead = true

        for (index, segment) in section.segments.enumerated() where segment.baseOffset < end {
            let segmentEnd = index + 1 < section.segments.count ? section.segments[index + 1].baseOffset : section.activeBaseOffset
            let dropTombstones = segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp > config.deleteRetentionMs
            // With no key mapped, no tombstone and no transaction work due, nothing in the segment can go.
            if map.isEmpty && !dropTombstones && !transactionWorkDue {
                everySegmentRead = false
                continue
            }
            guard let aborted = try abortedTransactions(of: log, from: segment.baseOffset, upTo: segmentEnd),
                  let indexed = try log.abortedTransactions(indexedIn: segment), let source = try log.duplicateFile(of: segment)
            else { continue }
            transactions.add(aborted)
            defer { source.close() }
            let paths = [".log", ".index", ".timeindex", ".txnindex"].map {
                LogSegment.path(directory: log.directory, baseOffset: segment.baseOffset, $0, temporarySuffix: temporarySuffix)
            }
            let cleaned: LogSegment
            do {
                // Index files an earlier attempt left would be taken for the copy's.
                for path in paths.dropFirst() { try FileSystem.remove(path) }
                let copy = try writeCleanedCopy(
                    of: segment, from: source, to: paths[0], map: map, cleanUpTo: end, dropTombstones: dropTombstones,
                    transactions: &transactions, decidesMarkers: everySegmentRead,
                    horizon: (now: nowMs, retentionMs: config.deleteRetentionMs), ioBytes: ioBytes)
                guard copy.written else {
                    log.setTransactionCleanupDue(segment, atMs: copy.transactionCleanupDueMs)
                    continue
                }
                statistics.largestWriteBufferBytes = max(statistics.largestWriteBufferBytes, copy.largestBufferedBytes)
                try TransactionIndex.write(indexed.filter { !copy.indexEntriesDropped.contains($0.lastOffset) }, to: paths[3])
                cleaned = try LogSegment(
                    directory: log.directory, baseOffset: segment.baseOffset, indexIntervalBytes: config.indexIntervalBytes,
                    recover: false, nowMs: segment.createdAtMs, logger: logger, temporarySuffix: temporarySuffix)
                cleaned.transactionCleanupDueMs = copy.transactionCleanupDueMs
                try cleaned.syncIndexes()
                if try log.replace(segment, with: cleaned) {
                    statistics.segmentsRewritten += 1
                    statistics.recordsRemoved += copy.removed
                    statistics.abortedBatchesRemoved += copy.abortedBatchesRemoved
                    statistics.markersRemoved += copy.markersRemoved
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

    /// Maps the key of every record from the first dirty offset up to `limit` (the active segment's base or the
    /// last stable offset) to its newest offset, until a new key finds the map full; records of aborted transactions
    /// are left out. Returns the offset up to which the log can be cleaned: that record's, or `limit` when every
    /// key fitted.
    private static func buildOffsetMap(_ map: inout OffsetMap, section: PartitionLog.CleanableSection, upTo limit: Int64,
                                       log: PartitionLog, ioBytes: Int) throws -> (end: Int64, filled: Bool) {
        guard section.firstDirtyOffset < limit else { return (limit, false) }
        var transactions = CleaningTransactionState()
        for (index, segment) in section.segments.enumerated() where segment.baseOffset < limit {
            let segmentEnd = index + 1 < section.segments.count ? section.segments[index + 1].baseOffset : section.activeBaseOffset
            guard segmentEnd > section.firstDirtyOffset, let file = try log.duplicateFile(of: segment) else { continue }
            defer { file.close() }
            guard let aborted = try abortedTransactions(
                of: log, from: max(segment.baseOffset, section.firstDirtyOffset), upTo: min(segmentEnd, limit))
            else { continue }
            transactions.add(aborted)
            var reader = SegmentBatchReader(file: file, size: segment.size, chunkSize: ioBytes)
            while let (_, header, bytes) = try reader.next() {
                guard header.baseOffset < limit else { return (limit, false) }
                if header.isControl {
                    transactions.passMarker(header)
                    continue
                }
                guard header.lastOffset >= section.firstDirtyOffset, transactions.abortedTransaction(of: header) == nil
                else { continue }
                var input = bytes
                let batch = try RecordBatch(decoding: &input)
                for record in batch.records {
                    let offset = batch.baseOffset + Int64(record.offsetDelta)
                    guard offset >= section.firstDirtyOffset, offset < limit, let key = record.key else { continue }
                    if !map.put(OffsetMap.KeyHash(key), offset: offset) { return (offset, true) }
                }
            }
        }
        return (limit, false)
    }

    /// The log's aborted transactions in the range; nil once the log is closed (the pass then has nothing to do).
    private static func abortedTransactions(of log: PartitionLog, from start: Int64, upTo end: Int64) throws(StorageError)
        -> [AbortedTransaction]? {
        do {
            return try log.abortedTransactions(from: start, upTo: end)
        } catch {
            if error == .closed { return nil }
            throw error
        }
    }

    /// What writing a cleaned copy of a segment did.
    struct CleanedCopy {
        /// False when nothing in the segment changed: no copy was written.
        var written = false
        var removed = 0
        var abortedBatchesRemoved = 0
        var markersRemoved = 0
        var largestBufferedBytes = 0
        /// The markers (offsets) of aborted transactions whose index entries the copy no longer needs.
        var indexEntriesDropped: Set<Int64> = []
        /// When the segment next has transaction work (see `LogSegment.transactionCleanupDueMs`).
        var transactionCleanupDueMs: Int64?

        mutating func due(at time: Int64) {
            transactionCleanupDueMs = min(transactionCleanupDueMs ?? time, time)
        }
    }

    /// Writes the records of `segment` that stay to `path`, as they are produced; nothing when every record and
    /// marker stays as it is. Batches before the first change are copied as they are once one is found.
    private static func writeCleanedCopy(
        of segment: LogSegment, from source: SystemFile, to path: String, map: OffsetMap, cleanUpTo end: Int64,
        dropTombstones: Bool, transactions: inout CleaningTransactionState, decidesMarkers: Bool,
        horizon: (now: Int64, retentionMs: Int64), ioBytes: Int
    ) throws -> CleanedCopy {
        var reader = SegmentBatchReader(file: source, size: segment.size, chunkSize: ioBytes)
        var writer: CleanedSegmentWriter?
        var copy = CleanedCopy()
        func startWriter(at position: Int) throws {
            guard writer == nil else { return }
            writer = try CleanedSegmentWriter(path: path, bufferBytes: ioBytes)
            try writer?.copy(from: source, length: position)
        }
        while let (position, header, bytes) = try reader.next() {
            // Records from `end` on were not compared with the map's keys, so they stay (as in Kafka, where a record
            // past the map's latest offset is kept): a tombstone among them may still hide an older value there.
            guard header.baseOffset < end else {
                if header.isTransactional { copy.due(at: 0) }
                try writer?.append(bytes)
                continue
            }
            if header.isControl {
                let marker = PartitionLog.transactionMarker(in: bytes)
                guard decidesMarkers else {
                    copy.due(at: 0)
                    try writer?.append(bytes)
                    continue
                }
                let (decision, keepsIndexEntry) = transactions.readControlBatch(header, marker: marker, nowMs: horizon.now)
                if !keepsIndexEntry, marker?.type == .abort { copy.indexEntriesDropped.insert(header.baseOffset) }
                switch decision {
                case .keep:
                    if header.hasDeleteHorizon {
                        copy.due(at: header.baseTimestamp)
                    } else if marker?.type == .abort {
                        // Its records go in this pass: the next one can start its delete horizon.
                        copy.due(at: 0)
                    }
                    try writer?.append(bytes)
                case .setDeleteHorizon:
                    let deleteHorizon = horizon.now > Int64.max - horizon.retentionMs ? Int64.max : horizon.now + horizon.retentionMs
                    var input = bytes
                    var batch = try RecordBatch(decoding: &input, verifiesChecksum: false)
                    batch.hasDeleteHorizon = true
                    batch.baseTimestamp = deleteHorizon
                    copy.due(at: deleteHorizon)
                    try startWriter(at: position)
                    try writer?.append(batch)
                case .remove:
                    copy.markersRemoved += 1
                    try startWriter(at: position)
                }
                continue
            }
            if transactions.readDataBatch(header) {
                copy.abortedBatchesRemoved += 1
                copy.removed += Int(header.recordCount)
                try startWriter(at: position)
                continue
            }
            var input = bytes
            let batch = try RecordBatch(decoding: &input)
            let kept = batch.records.filter { record in
                let offset = batch.baseOffset + Int64(record.offsetDelta)
                guard offset < end, let key = record.key else { return true }
                if let newest = map.offset(of: OffsetMap.KeyHash(key)), newest > offset { return false }
                return !(dropTombstones && record.value == nil)
            }
            if kept.count == batch.records.count {
                try writer?.append(bytes)
                continue
            }
            copy.removed += batch.records.count - kept.count
            try startWriter(at: position)
            if !kept.isEmpty {
                var cleaned = batch
                cleaned.records = kept
                try writer?.append(cleaned)
            }
        }
        guard var writer else { return copy }
        try writer.finish()
        copy.written = true
        copy.largestBufferedBytes = writer.largestBufferedBytes
        return copy
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
