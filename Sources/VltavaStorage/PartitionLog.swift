import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Why an append was refused.
public enum AppendError: Error, Equatable, Sendable {
    /// The producer's epoch is older than the partition's (Kafka's INVALID_PRODUCER_EPOCH).
    case invalidProducerEpoch
    /// A gap or reordering in an idempotent producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER).
    case outOfOrderSequence(expected: Int32, received: Int32)
    /// A non-transactional batch from a producer whose transaction is open in this partition (INVALID_TXN_STATE).
    case invalidTxnState(producerId: Int64)
    /// The log cannot be written (KAFKA_STORAGE_ERROR).
    case storage(StorageError)
}

/// Who appends, which decides the producer checks (Kafka's `AppendOrigin`).
public enum AppendOrigin: Sendable {
    /// A producer: idempotent producers' epochs and sequences are checked.
    case client
    /// A coordinator of this broker writing its own records (transactional offset commits), which carry a producer
    /// id and epoch but no sequence: only the epoch is checked (an older one is INVALID_PRODUCER_EPOCH).
    case coordinator
}

/// The outcome of an append.
public struct AppendResult: Equatable, Sendable {
    /// The offset of the first record appended (or, for a retried batch, first appended before).
    public var baseOffset: Int64
    public var lastOffset: Int64
    /// The broker's append time for LogAppendTime topics, -1 otherwise.
    public var logAppendTimeMs: Int64
    public var logStartOffset: Int64
    /// True when every batch was a retry of one already in the log: nothing was written.
    public var isDuplicate: Bool
}

/// A slice of the log to send to a fetching client.
public struct LogReadResult: Sendable {
    /// A duplicate of the segment file's descriptor that the caller owns and must close, or nil if empty.
    public var fileDescriptor: Int32?
    public var position: Int
    public var length: Int
    public var highWatermark: Int64
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    /// The last stable offset when the slice was taken (see `PartitionLog.lastStableOffset`).
    public var lastStableOffset: Int64

    public static func empty(highWatermark: Int64, logStartOffset: Int64, logEndOffset: Int64,
                             lastStableOffset: Int64? = nil) -> LogReadResult {
        LogReadResult(fileDescriptor: nil, position: 0, length: 0, highWatermark: highWatermark,
                      logStartOffset: logStartOffset, logEndOffset: logEndOffset,
                      lastStableOffset: lastStableOffset ?? highWatermark)
    }
}

/// One partition's log on local disk: a folder of segments. Appends go to the last (active) segment,
/// which rolls by size and age; retention deletes whole old segments. Thread-safe.
public final class PartitionLog: @unchecked Sendable {
    public let topic: String
    public let partition: Int32
    public let directory: String
    /// Bytes and records clients produced and fetched, for the broker's metrics.
    public let traffic = PartitionTraffic()
    let logger: Logger
    let lock = NIOLock()
    var segments: [LogSegment]
    private var config: LogConfig
    var producers = ProducerStateManager()
    var logStartOffsetValue: Int64
    private var flushedOffset: Int64
    private var unflushedMessages: Int64 = 0
    private var lastFlushMs: Int64
    private var pendingSegmentsToFlush: [LogSegment] = []
    private var flushWaiters: [(offset: Int64, promise: EventLoopPromise<Void>)] = []
    private var appendListeners: [UInt64: @Sendable (Int) -> Void] = [:]
    private var nextListenerId: UInt64 = 0
    var isClosed = false
    private var firstDirtyOffset: Int64 = 0
    weak var flusher: LogFlusher?
    /// Run between a step taken under the lock and the work that follows it without the lock, so that tests can
    /// race retention, compaction or closing against that work deterministically. Set before the log is used.
    var testHooks = TestHooks()

    struct TestHooks {
        /// After `offset(forTimestamp:)` has found its batch, before it reads the batch.
        var afterTimestampLookup: (@Sendable () -> Void)?
        /// After `flush` has chosen the segments to sync, before it syncs them.
        var beforeFlushSync: (@Sendable () -> Void)?
    }

    /// Opens the partition folder, creating it if needed, and recovers it: the active segment is checked batch
    /// by batch and a torn tail truncated; indexes are rebuilt where missing; producer state is restored (and the
    /// transaction index of the segments it is replayed from rebuilt).
    public init(topic: String, partition: Int32, directory: String, config: LogConfig, logStartOffset: Int64 = 0,
                nowMs: Int64, logger: Logger) throws(StorageError) {
        self.topic = topic
        self.partition = partition
        self.directory = directory
        self.config = config
        var logger = logger
        logger[metadataKey: "partition"] = "\(topic)-\(partition)"
        self.logger = logger
        try FileSystem.createDirectory(directory)
        let bases = try FileSystem.list(directory)
            .filter { $0.hasSuffix(".log") }
            .compactMap { Int64($0.dropLast(4)) }
            .sorted()
        var segments: [LogSegment] = []
        for (index, base) in bases.enumerated() {
            let isLast = index == bases.count - 1
            segments.append(try LogSegment(
                directory: directory, baseOffset: base, indexIntervalBytes: config.indexIntervalBytes,
                recover: isLast, nowMs: nowMs, logger: logger))
        }
        if segments.isEmpty {
            segments.append(try LogSegment(
                directory: directory, baseOffset: max(0, logStartOffset), indexIntervalBytes: config.indexIntervalBytes,
                recover: false, nowMs: nowMs, logger: logger))
        }
        for (earlier, later) in zip(segments, segments.dropFirst()) where earlier.nextOffset > later.baseOffset {
            throw .corrupt("segment \(earlier.logPath) overlaps the next segment at offset \(later.baseOffset)")
        }
        self.segments = segments
        self.logStartOffsetValue = max(logStartOffset, segments[0].baseOffset)
        self.flushedOffset = segments.last!.nextOffset
        self.lastFlushMs = nowMs
        try restoreProducerState()
        try removeStaleFiles()
    }

    func snapshotPath(_ offset: Int64) -> String {
        directory + "/" + LogSegment.fileName(offset, ".snapshot")
    }

    /// Removes snapshots and transaction indexes of segments that no longer exist and temporary files of
    /// interrupted writes.
    private func removeStaleFiles() throws(StorageError) {
        let bases = Set(segments.map(\.baseOffset))
        for name in try FileSystem.list(directory) {
            if name.hasSuffix(".snapshot"), let base = Int64(name.dropLast(9)), !bases.contains(base) {
                try FileSystem.remove(directory + "/" + name)
            } else if name.hasSuffix(".txnindex"), let base = Int64(name.dropLast(9)), !bases.contains(base) {
                try FileSystem.remove(directory + "/" + name)
            } else if name.hasSuffix(".tmp") || name.hasSuffix(".cleaned") {
                try FileSystem.remove(directory + "/" + name)
            }
        }
    }

    // MARK: State

    public var logStartOffset: Int64 { lock.withLock { logStartOffsetValue } }
    public var logEndOffset: Int64 { lock.withLock { segments.last!.nextOffset } }
    /// A single node has no followers to wait for: everything appended is committed.
    public var highWatermark: Int64 { logEndOffset }
    public var sizeInBytes: Int { lock.withLock { segments.reduce(0) { $0 + $1.size } } }
    public var segmentCount: Int { lock.withLock { segments.count } }
    public var durableOffset: Int64 { lock.withLock { flushedOffset } }

    public func updateConfig(_ config: LogConfig) {
        lock.withLock { self.config = config }
    }

    public var currentConfig: LogConfig { lock.withLock { config } }

    // MARK: Append

    /// Appends validated client batches. The bytes are written as they came, in one gathered write, each batch
    /// behind a new 16-byte head holding its assigned base offset (the CRC does not cover it) and leader epoch;
    /// the request's buffer is not copied. Under LogAppendTime a batch is copied to be stamped (its CRC changes).
    /// Idempotent producers' sequences are checked first: a retried batch is answered with its original
    /// offsets and not written again. A transactional batch begins its producer's transaction; a control batch (a
    /// COMMIT or ABORT marker, which only the broker writes) ends it, and an aborted one goes to the active
    /// segment's transaction index. A coordinator's batches only have their producer epoch checked.
    public func append(_ records: ByteBuffer, batches validated: RecordBatchValidator.Result, nowMs: Int64,
                       origin: AppendOrigin = .client) throws(AppendError) -> AppendResult {
        var listeners: [@Sendable (Int) -> Void] = []
        var forceFlush = false
        var written = 0
        let result: AppendResult = try lock.withTypedLock { () throws(AppendError) -> AppendResult in
            if isClosed { throw .storage(.closed) }
            var batches: [BatchLocation] = []
            var offset = segments.last!.nextOffset
            var pendingProducers = producers
            var duplicate: (Int64, Int64)?
            var aborted: [AbortedTransaction] = []
            // New heads (or whole stamped batches) go to `rewritten`; the rest is taken from `records` as it is.
            var rewritten = ByteBuffer()
            var pieces: [SystemFile.GatherPiece] = []
            var appendedBytes = 0
            for validatedBatch in validated.batches {
                let header = validatedBatch.header
                let position = records.readerIndex + validatedBatch.position
                let count = Int64(header.lastOffsetDelta) + 1
                let timestamp = config.usesLogAppendTime ? nowMs : header.maxTimestamp
                if header.isControl {
                    guard header.producerId >= 0, header.isTransactional,
                          let marker = Self.transactionMarker(in: records.getSlice(at: position, length: header.totalSize)!)
                    else { throw .storage(.corrupt("control batch at offset \(offset) is not a transaction marker")) }
                    guard pendingProducers.acceptsMarker(producerId: header.producerId, epoch: header.producerEpoch) else {
                        throw .invalidProducerEpoch
                    }
                    if let transaction = pendingProducers.completeTransaction(
                        producerId: header.producerId, epoch: header.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch,
                        isAbort: marker.type == .abort, offset: offset, timestamp: timestamp) {
                        aborted.append(transaction)
                    }
                } else if header.producerId >= 0 {
                    // Kafka's "Expected transactional write from producer": once a producer's transaction is open
                    // here, its plain batches would land inside it (and vanish with its abort).
                    if !header.isTransactional, pendingProducers.ongoingTransactions[header.producerId] != nil {
                        throw .invalidTxnState(producerId: header.producerId)
                    }
                    let lastSequence = ProducerStateManager.lastSequence(first: header.baseSequence, recordCount: count)
                    let check = origin == .coordinator
                        ? pendingProducers.checkEpoch(producerId: header.producerId, epoch: header.producerEpoch)
                        : pendingProducers.check(producerId: header.producerId, epoch: header.producerEpoch,
                                                 firstSequence: header.baseSequence, lastSequence: lastSequence)
                    switch check {
                    case .append:
                        pendingProducers.update(producerId: header.producerId, epoch: header.producerEpoch, batch: .init(
                            firstSequence: header.baseSequence, lastSequence: lastSequence,
                            firstOffset: offset, lastOffset: offset + count - 1),
                            isTransactional: header.isTransactional, timestamp: timestamp)
                    case let .duplicate(first, last):
                        duplicate = (first, last)
                        continue
                    case .invalidEpoch:
                        throw .invalidProducerEpoch
                    case let .outOfOrder(expected, received):
                        throw .outOfOrderSequence(expected: expected, received: received)
                    }
                }
                if config.usesLogAppendTime {
                    var batch = records.getSlice(at: position, length: header.totalSize)!
                    RecordBatchHeader.setLogAppendTime(nowMs, in: &batch, at: batch.readerIndex)
                    RecordBatchHeader.setBaseOffset(offset, in: &batch, at: batch.readerIndex)
                    RecordBatchHeader.setPartitionLeaderEpoch(0, in: &batch, at: batch.readerIndex)
                    pieces.append(.init(inFirst: true, offset: rewritten.writerIndex, length: header.totalSize))
                    rewritten.writeBuffer(&batch)
                } else {
                    let headLength = Self.rewrittenHeadLength
                    pieces.append(.init(inFirst: true, offset: rewritten.writerIndex, length: headLength))
                    rewritten.writeInteger(offset, endianness: .big)
                    rewritten.writeInteger(header.batchLength, endianness: .big)
                    rewritten.writeInteger(Int32(0), endianness: .big)
                    pieces.append(.init(inFirst: false, offset: validatedBatch.position + headLength,
                                        length: header.totalSize - headLength))
                }
                batches.append(BatchLocation(
                    position: appendedBytes, size: header.totalSize, baseOffset: offset,
                    lastOffset: offset + count - 1, maxTimestamp: timestamp,
                    isTransactional: header.isTransactional, isControl: header.isControl))
                appendedBytes += header.totalSize
                offset += count
            }
            if batches.isEmpty, let (first, last) = duplicate {
                return AppendResult(baseOffset: first, lastOffset: last, logAppendTimeMs: -1,
                                    logStartOffset: logStartOffsetValue, isDuplicate: true)
            }
            guard batches.count > 0 else { throw .storage(.corrupt("empty append")) }
            do throws(StorageError) {
                try rollIfNeeded(incomingBytes: appendedBytes, nowMs: nowMs)
                try segments.last!.append(gathering: pieces, from: rewritten, records, batches: batches)
            } catch {
                throw .storage(error)
            }
            producers = pendingProducers
            do throws(StorageError) {
                // Written after the batches: a crash in between leaves the active segment, whose index is rebuilt.
                for transaction in aborted { try segments.last!.transactionIndex.append(transaction) }
            } catch {
                throw .storage(error)
            }
            unflushedMessages += batches.reduce(0) { $0 + ($1.lastOffset - $1.baseOffset + 1) }
            forceFlush = unflushedMessages >= config.flushMessages || nowMs - lastFlushMs >= config.flushMs
            listeners = Array(appendListeners.values)
            written = appendedBytes
            return AppendResult(
                baseOffset: batches[0].baseOffset, lastOffset: batches.last!.lastOffset,
                logAppendTimeMs: config.usesLogAppendTime ? nowMs : -1,
                logStartOffset: logStartOffsetValue, isDuplicate: false)
        }
        if !result.isDuplicate {
            if forceFlush { flusher?.schedule(self) }
            for listener in listeners { listener(written) }
        }
        return result
    }

    /// Base offset, batch length and partition leader epoch: the part of a batch's head an append rewrites.
    static let rewrittenHeadLength = 16

    private func rollIfNeeded(incomingBytes: Int, nowMs: Int64) throws(StorageError) {
        let active = segments.last!
        guard active.size > 0 else { return }
        let full = active.size + incomingBytes > config.segmentBytes
        let old = nowMs - active.createdAtMs >= config.segmentMs
        let offsetsOverflow = active.nextOffset - active.baseOffset > Int64(Int32.max) - Int64(incomingBytes)
        guard full || old || offsetsOverflow else { return }
        let segment = try LogSegment(
            directory: directory, baseOffset: active.nextOffset, indexIntervalBytes: config.indexIntervalBytes,
            recover: false, nowMs: nowMs, logger: logger)
        try FileSystem.writeAtomically(Array(producers.snapshot().readableBytesView), to: snapshotPath(segment.baseOffset))
        if active.nextOffset > flushedOffset { pendingSegmentsToFlush.append(active) }
        segments.append(segment)
        logger.debug("rolled segment", metadata: ["baseOffset": "\(segment.baseOffset)"])
    }

    // MARK: Durability

    /// Completes `promise` once every offset below `offset` is on disk; asks the flusher for an fsync.
    /// Waiters that arrive while an fsync runs share the next one (group commit).
    public func whenDurable(upTo offset: Int64, promise: EventLoopPromise<Void>) {
        let done = lock.withLock { () -> Bool in
            if flushedOffset >= offset { return true }
            flushWaiters.append((offset, promise))
            return false
        }
        if done {
            promise.succeed()
        } else if let flusher {
            flusher.schedule(self)
        } else {
            do {
                try flush()
            } catch {
                promise.fail(error)
            }
        }
    }

    /// Writes everything appended so far to disk and wakes the waiters it satisfies. Once the log is closed it
    /// fails, and so do its waiters, with `closed`.
    public func flush(nowMs: Int64 = 0) throws(StorageError) {
        // The target is read before the fsync: only what was written by then is known to be covered by it. The
        // files are synced through duplicated descriptors, as retention or compaction may close a segment
        // (and its descriptor number be reused) once the lock is released.
        var failure: StorageError?
        let (toSync, target, hook) = lock.withLock { () -> ([SystemFile], Int64, (@Sendable () -> Void)?) in
            if isClosed {
                failure = .closed
                return ([], flushedOffset, nil)
            }
            let end = segments.last!.nextOffset
            var pending = pendingSegmentsToFlush
            if end > flushedOffset { pending.append(segments.last!) }
            var files: [SystemFile] = []
            for segment in pending {
                do throws(StorageError) {
                    files.append(try segment.duplicateFile())
                } catch {
                    failure = error
                    for file in files { file.close() }
                    return ([], end, nil)
                }
            }
            pendingSegmentsToFlush.removeAll()
            return (files, end, testHooks.beforeFlushSync)
        }
        hook?()
        for file in toSync {
            if failure == nil {
                do throws(StorageError) { try file.sync() } catch { failure = error }
            }
            file.close()
        }
        let ready = lock.withLock { () -> [EventLoopPromise<Void>] in
            if failure == nil, target > flushedOffset {
                flushedOffset = target
                unflushedMessages = 0
                if nowMs > 0 { lastFlushMs = nowMs }
            }
            let satisfied = flushWaiters.filter { $0.offset <= flushedOffset || failure != nil }
            flushWaiters.removeAll { $0.offset <= flushedOffset || failure != nil }
            return satisfied.map(\.promise)
        }
        for promise in ready {
            if let failure { promise.fail(failure) } else { promise.succeed() }
        }
        if let failure { throw failure }
    }

    /// True when `flush.ms` has passed since the last fsync and data is waiting.
    func isFlushDue(nowMs: Int64) -> Bool {
        lock.withLock { unflushedMessages > 0 && nowMs - lastFlushMs >= config.flushMs }
    }

    // MARK: Appends listeners (long-polling fetches)

    /// Registers a callback run after every append, with the bytes appended, until removed.
    public func addAppendListener(_ listener: @escaping @Sendable (Int) -> Void) -> UInt64 {
        lock.withLock {
            nextListenerId += 1
            appendListeners[nextListenerId] = listener
            return nextListenerId
        }
    }

    public func removeAppendListener(_ id: UInt64) {
        _ = lock.withLock { appendListeners.removeValue(forKey: id) }
    }

    // MARK: Retention and deletion

    /// Moves the log start to `offset` (DeleteRecords), deleting segments wholly below it. Returns the new start.
    public func deleteRecords(before offset: Int64) throws(StorageError) -> Int64 {
        try lock.withTypedLock { () throws(StorageError) -> Int64 in
            if isClosed { throw .closed }
            let end = segments.last!.nextOffset
            guard offset <= end else {
                throw .offsetOutOfRange(requested: offset, logStartOffset: logStartOffsetValue, logEndOffset: end)
            }
            if offset > logStartOffsetValue { logStartOffsetValue = offset }
            try deleteSegments { segment, next in next != nil && next!.baseOffset <= logStartOffsetValue }
            return logStartOffsetValue
        }
    }

    /// Deletes old segments by `retention.ms` and `retention.bytes`; never the active one. Returns how many went.
    /// Nothing goes once the log is closed: its folder may already hold a new log of a re-created topic.
    @discardableResult
    public func applyRetention(nowMs: Int64) throws(StorageError) -> Int {
        try lock.withTypedLock { () throws(StorageError) -> Int in
            guard !isClosed, config.isDeletePolicy else { return 0 }
            let retentionMs = config.retentionMs
            let retentionBytes = config.retentionBytes
            var excess = retentionBytes >= 0 ? Int64(segments.reduce(0) { $0 + $1.size }) - retentionBytes : 0
            let removed = try deleteSegments { segment, next in
                guard next != nil else { return false }
                if retentionMs >= 0, segment.maxTimestamp >= 0, nowMs - segment.maxTimestamp > retentionMs { return true }
                if retentionMs >= 0, segment.maxTimestamp < 0, segment.size > 0, nowMs - segment.createdAtMs > retentionMs { return true }
                if excess >= Int64(segment.size) {
                    excess -= Int64(segment.size)
                    return true
                }
                return false
            }
            if removed > 0 {
                logStartOffsetValue = max(logStartOffsetValue, segments[0].baseOffset)
                logger.info("retention deleted segments", metadata: ["segments": "\(removed)", "logStartOffset": "\(logStartOffsetValue)"])
            }
            return removed
        }
    }

    /// Deletes leading segments while `shouldDelete(segment, nextSegment)` holds. Call with the lock held.
    @discardableResult
    private func deleteSegments(_ shouldDelete: (LogSegment, LogSegment?) -> Bool) throws(StorageError) -> Int {
        var removed = 0
        while segments.count > 1, shouldDelete(segments[0], segments[1]) {
            let segment = segments.removeFirst()
            pendingSegmentsToFlush.removeAll { $0 === segment }
            try segment.delete()
            try FileSystem.remove(snapshotPath(segment.baseOffset))
            removed += 1
        }
        return removed
    }

    // MARK: Compaction

    /// The closed segments (all but the active one), which compaction may rewrite.
    func closedSegments() -> [LogSegment] {
        lock.withLock { isClosed ? [] : Array(segments.dropLast()) }
    }

    /// What a cleaning pass works on.
    struct CleanableSection {
        /// The closed segments, oldest first.
        var segments: [LogSegment]
        /// The active segment's base offset: compaction stops before it.
        var activeBaseOffset: Int64
        /// Kafka's first dirty offset: the keys of the records below it were mapped by earlier passes, and every
        /// older record of those keys removed.
        var firstDirtyOffset: Int64
        /// Compaction stops before it too: the records of ongoing transactions are not cleaned.
        var lastStableOffset: Int64
        /// Each segment's `transactionCleanupDueMs`.
        var transactionCleanupDueMs: [Int64?]
    }

    /// The closed segments and where their dirty part starts; nil when there are none.
    func cleanableSection() -> CleanableSection? {
        lock.withLock {
            guard !isClosed, segments.count > 1 else { return nil }
            let closed = Array(segments.dropLast())
            return CleanableSection(
                segments: closed, activeBaseOffset: segments.last!.baseOffset,
                firstDirtyOffset: max(firstDirtyOffset, segments[0].baseOffset), lastStableOffset: lastStableOffsetLocked,
                transactionCleanupDueMs: closed.map(\.transactionCleanupDueMs))
        }
    }

    /// Records that a cleaning pass has cleaned the log with the keys of every record below `offset`. Kept in
    /// memory only: after a restart the cleaner starts again from the log start, which costs work, not correctness.
    func markCleaned(upTo offset: Int64) {
        lock.withLock { firstDirtyOffset = max(firstDirtyOffset, offset) }
    }

    /// `segment`'s log file on a descriptor the caller owns, or nil when the segment is no longer in the log.
    func duplicateFile(of segment: LogSegment) throws(StorageError) -> SystemFile? {
        try lock.withTypedLock { () throws(StorageError) -> SystemFile? in
            guard !isClosed, segments.contains(where: { $0 === segment }) else { return nil }
            return try segment.duplicateFile()
        }
    }

    /// Puts `cleaned`, a compacted copy of `old` opened under temporary names with its indexes built and synced,
    /// in place of `old`. False, and the copy removed, when `old` is no longer a closed segment of the log. Only
    /// the renames and the swap happen under the lock. The old indexes are removed before the log file is renamed
    /// and the new ones renamed after it, so a crash between the steps leaves indexes to rebuild, never stale ones.
    /// The transaction index, which cannot be rebuilt from a closed segment, replaces the old one first: it drops
    /// only entries whose aborted records were already gone, so it also serves the old log file.
    func replace(_ old: LogSegment, with cleaned: LogSegment) throws(StorageError) -> Bool {
        var swapped = false
        defer {
            // Leftover copies are also removed when the log is next opened.
            if !swapped { try? cleaned.delete() }
        }
        try lock.withTypedLock { () throws(StorageError) in
            guard !isClosed, let index = segments.firstIndex(where: { $0 === old }), index < segments.count - 1 else { return }
            try cleaned.renameTransactionIndex()
            try old.removeIndexFiles()
            try cleaned.renameLogFile()
            segments[index] = cleaned
            swapped = true
            pendingSegmentsToFlush.removeAll { $0 === old }
            old.close()
            try cleaned.renameIndexFiles()
        }
        if swapped { try FileSystem.syncDirectory(directory) }
        return swapped
    }

    /// Flushes and closes the files; later calls fail with `closed`.
    public func close() {
        try? flush()
        lock.withLock {
            isClosed = true
            for segment in segments { segment.close() }
        }
    }

    /// Closes the log and removes its folder.
    public func delete() throws(StorageError) {
        let waiters = lock.withLock { () -> [EventLoopPromise<Void>] in
            isClosed = true
            for segment in segments { segment.close() }
            let waiting = flushWaiters.map(\.promise)
            flushWaiters.removeAll()
            return waiting
        }
        for promise in waiters { promise.fail(StorageError.closed) }
        try FileSystem.removeTree(directory)
    }
}
