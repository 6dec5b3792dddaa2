import KafkaRecords
import NIOCore

/// A producer as the partition knows it (DescribeProducers).
public struct ProducerStateSummary: Hashable, Sendable {
    /// The producer's id.
    public var producerId: Int64
    /// The newest epoch the partition has seen from it (or from a marker for it).
    public var producerEpoch: Int16
    /// The sequence of the producer's last record; -1 when its batches are not known (a new epoch, a marker).
    public var lastSequence: Int32
    /// The newest timestamp of its last batch or marker; -1 when unknown.
    public var lastTimestamp: Int64
    /// The epoch of the coordinator that wrote its last marker; -1 before any.
    public var coordinatorEpoch: Int32
    /// The first offset of its ongoing transaction; -1 when it has none.
    public var currentTransactionStartOffset: Int64
}

extension PartitionLog {
    // MARK: Transactions

    /// The offset up to which every transaction has completed: the first offset of the oldest ongoing transaction
    /// (never below the log start), or the high watermark when none is ongoing. read_committed consumers read up
    /// to it.
    public var lastStableOffset: Int64 { lock.withLock { lastStableOffsetLocked } }

    /// `lastStableOffset`; call with the lock held.
    var lastStableOffsetLocked: Int64 {
        let highWatermark = segments.last!.nextOffset
        guard let firstUnstable = producers.firstUnstableOffset else { return highWatermark }
        return min(max(firstUnstable, logStartOffsetValue), highWatermark)
    }

    /// The ongoing transactions, oldest first: each producer with its epoch and the transaction's first offset.
    public func ongoingTransactions() -> [(producerId: Int64, producerEpoch: Int16, firstOffset: Int64)] {
        lock.withLock {
            producers.ongoingTransactions
                .map { (producerId: $0.key, producerEpoch: producers.producers[$0.key]?.epoch ?? -1, firstOffset: $0.value) }
                .sorted { ($0.firstOffset, $0.producerId) < ($1.firstOffset, $1.producerId) }
        }
    }

    /// Every producer the partition keeps state for, by producer id.
    public func activeProducers() -> [ProducerStateSummary] {
        lock.withLock {
            producers.producers.sorted { $0.key < $1.key }.map { id, entry in
                ProducerStateSummary(
                    producerId: id, producerEpoch: entry.epoch, lastSequence: entry.batches.last?.lastSequence ?? -1,
                    lastTimestamp: entry.lastTimestamp, coordinatorEpoch: entry.coordinatorEpoch,
                    currentTransactionStartOffset: entry.currentTransactionFirstOffset ?? -1)
            }
        }
    }

    /// Appends a COMMIT or ABORT marker for the producer's transaction, as the transaction coordinator asks
    /// (WriteTxnMarkers), through the same path as any append: it is durable like other batches and wakes
    /// long-polling fetches. A marker whose epoch is older than the producer's is refused (`invalidProducerEpoch`).
    public func appendControlMarker(producerId: Int64, producerEpoch: Int16, type: ControlRecordType,
                                    coordinatorEpoch: Int32, nowMs: Int64) throws(AppendError) -> AppendResult {
        let records: ByteBuffer
        let validated: RecordBatchValidator.Result
        do {
            records = try ControlRecord(type: type, coordinatorEpoch: coordinatorEpoch)
                .batch(producerId: producerId, producerEpoch: producerEpoch, timestamp: nowMs).encoded()
            validated = try RecordBatchValidator(origin: .log).validate(records)
        } catch {
            throw .storage(.corrupt("cannot build a transaction marker: \(error)"))
        }
        return try append(records, batches: validated, nowMs: nowMs)
    }

    /// The COMMIT or ABORT marker of a control batch (its first record); nil for anything else.
    static func transactionMarker(in batch: ByteBuffer) -> ControlRecord? {
        var bytes = batch
        // The validator (or recovery) has checked the CRC already.
        guard let decoded = try? RecordBatch(decoding: &bytes, verifiesChecksum: false), decoded.isControl,
              let record = decoded.records.first, let marker = try? ControlRecord(record),
              marker.type == .commit || marker.type == .abort
        else { return nil }
        return marker
    }

    /// The aborted transactions whose offsets, from first batch to marker, meet `[startOffset, endOffset)`: what a
    /// read_committed fetch of that range returns, so that consumers drop those producers' records. Read from the
    /// transaction indexes from the segment holding `startOffset` on, until an entry shows that every transaction
    /// begun before `endOffset` was complete (its last stable offset reaches `endOffset`), as Kafka does. The files
    /// are read without the lock, through duplicated descriptors, one segment at a time: retention may delete
    /// segments meanwhile.
    public func abortedTransactions(from startOffset: Int64, upTo endOffset: Int64) throws(StorageError) -> [AbortedTransaction] {
        guard startOffset < endOffset else { return [] }
        var found: [AbortedTransaction] = []
        // The base offset of the segment read last.
        var after: Int64?
        while true {
            let next = try lock.withTypedLock { () throws(StorageError) -> (file: SystemFile, size: Int, base: Int64)? in
                if isClosed { throw .closed }
                var index = segmentIndex(containing: after.map { $0 + 1 } ?? startOffset)
                if let after, segments[index].baseOffset <= after { index += 1 }
                while index < segments.count {
                    if let (file, size) = try segments[index].transactionIndex.duplicateFile() {
                        return (file, size, segments[index].baseOffset)
                    }
                    index += 1
                }
                return nil
            }
            guard let (file, size, base) = next else { return found }
            defer { file.close() }
            after = base
            let entries = TransactionIndex.decodeAll(try file.read(at: 0, length: size))
            for entry in entries {
                if entry.overlaps(from: startOffset, upTo: endOffset) { found.append(entry) }
                if entry.lastStableOffset >= endOffset { return found }
            }
        }
    }

    // MARK: Recovery

    /// Restores the producers from the snapshot at the base of the newest segment that has a readable one (the
    /// active segment's, unless it was lost), then replays the batches from there. The transaction indexes of
    /// the replayed segments are rebuilt on the way: after a crash, the active segment's may lack its tail or have
    /// a torn one.
    func restoreProducerState() throws(StorageError) {
        var first = segments.count - 1
        var restored = ProducerStateManager()
        while true {
            let path = snapshotPath(segments[first].baseOffset)
            if FileSystem.exists(path), let state = ProducerStateManager(snapshot: ByteBuffer(bytes: try FileSystem.readAll(path))) {
                restored = state
                break
            }
            if first == 0 { break }
            first -= 1
        }
        producers = restored
        for segment in segments[first...] {
            try segment.transactionIndex.truncate(from: segment.baseOffset)
            try segment.scanBatches(from: 0, verifyChecksums: false) { location throws(StorageError) in
                try replay(location, of: segment)
                return true
            }
        }
    }

    private func replay(_ location: BatchLocation, of segment: LogSegment) throws(StorageError) {
        guard location.producerId >= 0 else { return }
        if location.isControl {
            guard let marker = Self.transactionMarker(in: try segment.file.read(at: location.position, length: location.size))
            else { return }
            if let aborted = producers.completeTransaction(
                producerId: location.producerId, epoch: location.producerEpoch, coordinatorEpoch: marker.coordinatorEpoch,
                isAbort: marker.type == .abort, offset: location.baseOffset, timestamp: location.maxTimestamp) {
                try segment.transactionIndex.append(aborted)
            }
            return
        }
        let count = location.lastOffset - location.baseOffset + 1
        producers.update(producerId: location.producerId, epoch: location.producerEpoch, batch: .init(
            firstSequence: location.baseSequence,
            lastSequence: ProducerStateManager.lastSequence(first: location.baseSequence, recordCount: count),
            firstOffset: location.baseOffset, lastOffset: location.lastOffset),
            isTransactional: location.isTransactional, timestamp: location.maxTimestamp)
    }

    // MARK: Compaction

    /// The aborted transactions of `segment` (its transaction index), nil when it is no longer in the log.
    func abortedTransactions(indexedIn segment: LogSegment) throws(StorageError) -> [AbortedTransaction]? {
        try lock.withTypedLock { () throws(StorageError) -> [AbortedTransaction]? in
            guard !isClosed, segments.contains(where: { $0 === segment }) else { return nil }
            return try segment.transactionIndex.entries()
        }
    }

    /// Records when compaction next has transaction work in `segment` (see `LogSegment.transactionCleanupDueMs`).
    func setTransactionCleanupDue(_ segment: LogSegment, atMs due: Int64?) {
        lock.withLock { segment.transactionCleanupDueMs = due }
    }
}
