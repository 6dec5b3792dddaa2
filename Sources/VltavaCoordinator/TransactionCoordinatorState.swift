import KafkaProtocol
import VltavaStorage

/// `transaction.*` settings of the coordinator, with Kafka's defaults.
public struct TransactionConfiguration: Sendable {
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for.
    public var maxTimeoutMs: Int32 = 900_000
    /// `transactional.id.expiration.ms`: an id idle this long is forgotten.
    public var idExpirationMs: Int64 = 7 * 24 * 3_600_000
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out transactions are looked for.
    public var abortTimedOutIntervalMs: Int64 = 10_000
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired ids are looked for.
    public var removeExpiredIntervalMs: Int64 = 3_600_000

    public init() {}
}

/// The markers that end a transaction in each of its partitions.
public struct TransactionMarkers: Sendable, Equatable {
    public var transactionalId: String
    public var producerId: Int64
    public var producerEpoch: Int16
    public var commit: Bool
    public var partitions: Set<TopicPartition>

    public init(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, partitions: Set<TopicPartition>) {
        self.transactionalId = transactionalId
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.commit = commit
        self.partitions = partitions
    }
}

/// What the coordinator's owner must do.
public enum TransactionAction: Sendable, Equatable {
    /// Append this metadata (a tombstone when it is `.dead`) to the id's partition of `__transaction_state`, then
    /// report `written(_:)` or `writeFailed(_:)`.
    case write(TransactionMetadata)
    /// Append the markers to every partition of the transaction, then report `markersWritten(_:)`.
    case writeMarkers(TransactionMarkers)
}

/// How a request is answered once the write it started is done.
public enum TransactionReply: Sendable, Equatable {
    /// With the written metadata (InitProducerId: its producer id and epoch).
    case written
    /// With CONCURRENT_TRANSACTIONS: the id's producer was fenced and its transaction is being aborted; the
    /// client retries InitProducerId.
    case concurrentTransactions
}

/// A request's outcome: an answer now, or a write whose completion answers it.
public enum TransactionDecision: Sendable, Equatable {
    case answer(Result<TransactionMetadata, TransactionError>)
    case write(TransactionMetadata, reply: TransactionReply)
}

/// Every transactional id this node coordinates, as a value without I/O (Kafka's TransactionCoordinator and
/// TransactionStateManager logic): the owner feeds it requests, the clock and the records read back from
/// `__transaction_state`, and carries out the writes it asks for. At most one write per id is in flight (its
/// `pending` target); other requests for that id meanwhile get CONCURRENT_TRANSACTIONS, as in Kafka.
public struct TransactionCoordinatorState: Sendable {
    public struct Entry: Sendable, Equatable {
        public var metadata: TransactionMetadata
        /// The metadata being written; it takes effect when the write is done.
        public var pending: TransactionMetadata?
        /// Whether the markers of its Prepare state are being written.
        public var writingMarkers = false
    }

    public let configuration: TransactionConfiguration
    public private(set) var isLoading = true
    public private(set) var entries: [String: Entry] = [:]
    /// Transactional id of each current producer id.
    private var idsByProducer: [Int64: String] = [:]

    public init(configuration: TransactionConfiguration) {
        self.configuration = configuration
    }

    public func metadata(_ transactionalId: String) -> TransactionMetadata? { entries[transactionalId]?.metadata }

    /// The id's metadata for a producer id, if that producer is the id's current one.
    public func metadata(producerId: Int64) -> TransactionMetadata? {
        idsByProducer[producerId].flatMap { entries[$0]?.metadata }
    }

    // MARK: Loading

    /// Applies one record read back from `__transaction_state` (nil: a tombstone).
    public mutating func replay(transactionalId: String, _ metadata: TransactionMetadata?) {
        if let old = entries[transactionalId]?.metadata { forgetProducer(old.producerId, of: transactionalId) }
        if let metadata, metadata.state != .dead {
            entries[transactionalId] = Entry(metadata: metadata)
            idsByProducer[metadata.producerId] = transactionalId
        } else {
            entries[transactionalId] = nil
        }
    }

    /// Starts answering requests; transactions found half-way through their markers are finished.
    public mutating func finishLoading() -> [TransactionAction] {
        isLoading = false
        return unfinishedMarkers()
    }

    /// Markers of transactions in PrepareCommit/PrepareAbort that nobody is writing (after a restart, or after a
    /// write failed), now marked as being written.
    private mutating func unfinishedMarkers() -> [TransactionAction] {
        var actions: [TransactionAction] = []
        for id in entries.keys.sorted() {
            guard let entry = entries[id], entry.pending == nil, !entry.writingMarkers,
                  entry.metadata.state == .prepareCommit || entry.metadata.state == .prepareAbort else { continue }
            entries[id]?.writingMarkers = true
            actions.append(.writeMarkers(markers(of: entry.metadata)))
        }
        return actions
    }

    // MARK: Requests

    /// InitProducerId with a transactional id. `newProducerId` is asked for a fresh id when one is needed.
    public mutating func initProducerId(
        transactionalId: String, timeoutMs: Int32, expected: (producerId: Int64, epoch: Int16)?, nowMs: Int64,
        newProducerId: () throws -> Int64
    ) -> TransactionDecision {
        if let refusal = refusal(transactionalId) { return .answer(.failure(refusal)) }
        guard timeoutMs > 0, timeoutMs <= configuration.maxTimeoutMs else { return .answer(.failure(.invalidTransactionTimeout)) }
        let current: TransactionMetadata
        if let existing = entries[transactionalId] {
            if existing.pending != nil { return .answer(.failure(.concurrentTransactions)) }
            current = existing.metadata
        } else {
            guard let id = try? newProducerId() else { return .answer(.failure(.storage)) }
            current = TransactionMetadata(transactionalId: transactionalId, producerId: id, producerEpoch: TransactionMetadata.noProducerEpoch,
                                          timeoutMs: timeoutMs, state: .empty, lastUpdateTimestampMs: nowMs)
            entries[transactionalId] = Entry(metadata: current)
            idsByProducer[id] = transactionalId
        }
        if let expected {
            let valid = current.producerEpoch == TransactionMetadata.noProducerEpoch || expected.producerId == current.producerId
                || (expected.producerId == current.lastProducerId && TransactionMetadata.isEpochExhausted(expected.epoch))
            guard valid else { return .answer(.failure(.producerFenced)) }
        }
        switch current.state {
        case .prepareCommit, .prepareAbort:
            return .answer(.failure(.concurrentTransactions))
        case .empty, .completeCommit, .completeAbort:
            let target: TransactionMetadata
            if current.isEpochExhausted, expected.map({ $0.epoch == current.producerEpoch }) ?? true {
                guard let id = try? newProducerId() else { return .answer(.failure(.storage)) }
                target = current.rotatingProducerId(to: id, timeoutMs: timeoutMs, nowMs: nowMs, recordLastEpoch: expected != nil)
            } else {
                switch current.incrementingEpoch(timeoutMs: timeoutMs, expectedEpoch: expected?.epoch, nowMs: nowMs) {
                case let .success(next): target = next
                case let .failure(error): return .answer(.failure(error))
                }
            }
            return startWrite(target, reply: .written)
        case .ongoing:
            // Fence the producer: its transaction is aborted with a bumped epoch that no client ever gets; the
            // client retries and then gets the next epoch (or a new producer id if this one ran out).
            guard current.producerEpoch < Int16.max else { return .answer(.failure(.producerFenced)) }
            return startWrite(current.fencingEpoch(nowMs: nowMs), reply: .concurrentTransactions)
        case .dead, .prepareEpochFence:
            return .answer(.failure(.concurrentTransactions))
        }
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, with the group's `__consumer_offsets` partition).
    public mutating func addPartitions(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, partitions: Set<TopicPartition>, nowMs: Int64
    ) -> TransactionDecision {
        if let refusal = refusal(transactionalId) { return .answer(.failure(refusal)) }
        guard let entry = entries[transactionalId], entry.metadata.producerId == producerId else {
            return .answer(.failure(.invalidProducerIdMapping))
        }
        let current = entry.metadata
        guard current.producerEpoch == producerEpoch else { return .answer(.failure(.producerFenced)) }
        guard entry.pending == nil, current.state != .prepareCommit, current.state != .prepareAbort else {
            return .answer(.failure(.concurrentTransactions))
        }
        if current.state == .ongoing, partitions.isSubset(of: current.partitions) { return .answer(.success(current)) }
        return startWrite(current.addingPartitions(partitions, nowMs: nowMs), reply: .written)
    }

    /// Whether a produce from this producer to this partition belongs to its ongoing transaction (KIP-890's
    /// verification): nil when it does, else the error for the produce.
    public func verify(producerId: Int64, producerEpoch: Int16, partition: TopicPartition) -> TransactionError? {
        if isLoading { return .coordinatorLoadInProgress }
        guard let id = idsByProducer[producerId], let entry = entries[id] else { return .invalidProducerIdMapping }
        if producerEpoch < entry.metadata.producerEpoch { return .producerFenced }
        guard producerEpoch == entry.metadata.producerEpoch, entry.pending == nil, entry.metadata.state == .ongoing,
              entry.metadata.partitions.contains(partition) else { return .invalidTxnState }
        return nil
    }

    /// EndTxn from the client.
    public mutating func endTransaction(
        transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool, nowMs: Int64
    ) -> TransactionDecision {
        if let refusal = refusal(transactionalId) { return .answer(.failure(refusal)) }
        guard let entry = entries[transactionalId], entry.metadata.producerId == producerId else {
            return .answer(.failure(.invalidProducerIdMapping))
        }
        let current = entry.metadata
        guard producerEpoch == current.producerEpoch else { return .answer(.failure(.producerFenced)) }
        guard entry.pending == nil else { return .answer(.failure(.concurrentTransactions)) }
        switch current.state {
        case .ongoing:
            return startWrite(current.preparing(commit: commit, nowMs: nowMs), reply: .written)
        case .completeCommit:
            return .answer(commit ? .success(current) : .failure(.invalidTxnState))
        case .completeAbort:
            return .answer(commit ? .failure(.invalidTxnState) : .success(current))
        case .prepareCommit:
            return .answer(.failure(commit ? .concurrentTransactions : .invalidTxnState))
        case .prepareAbort:
            return .answer(.failure(commit ? .invalidTxnState : .concurrentTransactions))
        case .empty:
            return .answer(.failure(.invalidTxnState))
        case .dead, .prepareEpochFence:
            return .answer(.failure(.concurrentTransactions))
        }
    }

    /// An administrator's abort of an ongoing transaction (`vltava transactions abort`): fenced and aborted as a
    /// timeout would.
    public mutating func forceAbort(transactionalId: String, nowMs: Int64) -> TransactionDecision {
        if let refusal = refusal(transactionalId) { return .answer(.failure(refusal)) }
        guard let entry = entries[transactionalId] else { return .answer(.failure(.transactionalIdNotFound)) }
        guard entry.pending == nil else { return .answer(.failure(.concurrentTransactions)) }
        guard entry.metadata.state == .ongoing else { return .answer(.failure(.invalidTxnState)) }
        return startWrite(entry.metadata.fencingEpoch(nowMs: nowMs), reply: .written)
    }

    // MARK: Progress of writes

    /// A write asked for is on disk: it takes effect; a PrepareCommit/PrepareAbort goes on to its markers.
    public mutating func written(_ target: TransactionMetadata) -> [TransactionAction] {
        let id = target.transactionalId
        guard var entry = entries[id], entry.pending == target else { return [] }
        if entry.metadata.producerId != target.producerId { forgetProducer(entry.metadata.producerId, of: id) }
        if target.state == .dead {
            entries[id] = nil
            forgetProducer(target.producerId, of: id)
            return []
        }
        entry.metadata = target
        entry.pending = nil
        entries[id] = entry
        idsByProducer[target.producerId] = id
        if target.state == .prepareCommit || target.state == .prepareAbort {
            entries[id]?.writingMarkers = true
            return [.writeMarkers(markers(of: target))]
        }
        return []
    }

    /// A write asked for failed: nothing changes (the request that asked for it gets an error). A fresh id whose
    /// first write failed is forgotten.
    public mutating func writeFailed(_ target: TransactionMetadata) {
        let id = target.transactionalId
        guard var entry = entries[id], entry.pending == target else { return }
        entry.pending = nil
        if entry.metadata.producerEpoch == TransactionMetadata.noProducerEpoch {
            entries[id] = nil
            forgetProducer(entry.metadata.producerId, of: id)
            return
        }
        entries[id] = entry
    }

    /// Every marker of the id's transaction is written: CompleteCommit/CompleteAbort is written next.
    public mutating func markersWritten(transactionalId: String, nowMs: Int64) -> [TransactionAction] {
        guard let entry = entries[transactionalId], entry.pending == nil, entry.writingMarkers,
              entry.metadata.state == .prepareCommit || entry.metadata.state == .prepareAbort else { return [] }
        let target = entry.metadata.completing(nowMs: nowMs)
        entries[transactionalId]?.writingMarkers = false
        entries[transactionalId]?.pending = target
        return [.write(target)]
    }

    /// Writing the markers failed: the transaction stays in its Prepare state and the next `expire` tries again.
    public mutating func markersFailed(transactionalId: String) {
        entries[transactionalId]?.writingMarkers = false
    }

    // MARK: Timers

    /// Transactions ongoing for longer than their timeout are aborted with their producer fenced; ids idle for
    /// longer than `transactional.id.expiration.ms` are removed (when `expireIds`); markers that failed are tried
    /// again.
    public mutating func expire(nowMs: Int64, expireIds: Bool) -> [TransactionAction] {
        var actions = unfinishedMarkers()
        for id in entries.keys.sorted() {
            guard let entry = entries[id], entry.pending == nil else { continue }
            let metadata = entry.metadata
            if metadata.state == .ongoing, metadata.startTimestampMs + Int64(metadata.timeoutMs) < nowMs,
               metadata.producerEpoch < Int16.max {
                let target = metadata.fencingEpoch(nowMs: nowMs)
                entries[id]?.pending = target
                actions.append(.write(target))
            } else if expireIds, metadata.state.isIdle,
                      metadata.lastUpdateTimestampMs + configuration.idExpirationMs <= nowMs {
                let target = metadata.dying(nowMs: nowMs)
                entries[id]?.pending = target
                actions.append(.write(target))
            }
        }
        return actions
    }

    // MARK: Listing

    /// ListTransactions: every id (not being removed) whose state and producer id pass the filters (empty: any)
    /// and whose transaction has run for at least `minimumDurationMs` (-1: any).
    public func list(states: Set<TransactionState>, producerIds: Set<Int64>, minimumDurationMs: Int64, nowMs: Int64)
        -> [TransactionMetadata] {
        entries.values.map(\.metadata).filter { metadata in
            metadata.state != .dead
                && (states.isEmpty || states.contains(metadata.state))
                && (producerIds.isEmpty || producerIds.contains(metadata.producerId))
                && (minimumDurationMs < 0 || (metadata.startTimestampMs >= 0 && nowMs - metadata.startTimestampMs >= minimumDurationMs))
        }.sorted { $0.transactionalId < $1.transactionalId }
    }

    // MARK: Helpers

    private mutating func forgetProducer(_ producerId: Int64, of transactionalId: String) {
        if idsByProducer[producerId] == transactionalId { idsByProducer[producerId] = nil }
    }

    private func refusal(_ transactionalId: String) -> TransactionError? {
        // The id must fit the int16-length string of its `__transaction_state` key.
        if transactionalId.isEmpty || transactionalId.utf8.count > Int(Int16.max) { return .invalidRequest }
        if isLoading { return .coordinatorLoadInProgress }
        return nil
    }

    private mutating func startWrite(_ target: TransactionMetadata, reply: TransactionReply) -> TransactionDecision {
        entries[target.transactionalId]?.pending = target
        return .write(target, reply: reply)
    }

    private func markers(of metadata: TransactionMetadata) -> TransactionMarkers {
        TransactionMarkers(transactionalId: metadata.transactionalId, producerId: metadata.producerId,
                           producerEpoch: metadata.producerEpoch, commit: metadata.state == .prepareCommit,
                           partitions: metadata.partitions)
    }
}
