#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import Synchronization
import VltavaStorage

/// Runs `TransactionCoordinatorState` for the broker: writes the transitions it asks for to `__transaction_state`
/// (waiting for the disk where Kafka would wait for the replicas), writes the COMMIT/ABORT markers into each
/// partition of a finishing transaction, reloads the state at start-up (finishing transactions that were
/// half-way through their markers), and aborts timed-out transactions from a timer. Thread-safe.
///
/// A transaction's end runs: PrepareCommit/PrepareAbort written and synced (the decision is durable), markers
/// appended to every partition, CompleteCommit/CompleteAbort appended; EndTxn is answered after the last step, so
/// the producer's next transaction never waits behind markers still being written.
public final class TransactionCoordinator: Sendable {
    private let state: Mutex<TransactionCoordinatorState>
    private let logs: LogManager
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let offload: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// Writes markers into partitions (also WriteTxnMarkers' way in).
    public let markerWriter: TransactionMarkerWriter
    private let timers = Mutex<[RepeatedTask]>([])
    /// The partition count of `__transaction_state` (read from the topic when it exists).
    public let partitionCount: Int32
    /// Set (to 1) in the environment of a test broker: transactions stop after their PrepareCommit/PrepareAbort
    /// record, as if the broker died before writing markers (a restart without it finishes them).
    static let pausesBeforeMarkers = getenv("VLTAVA_FAULT_PAUSE_BEFORE_MARKERS").map { String(cString: $0) == "1" } ?? false

    /// The epoch written in markers: the single node always coordinates every partition.
    public static let coordinatorEpoch: Int32 = 0

    /// `offload` runs disk work off the event loops (the request-handler pool's submit).
    public init(logs: LogManager, groups: GroupCoordinator, configuration: TransactionConfiguration, logger: Logger,
                clock: @escaping @Sendable () -> Int64,
                offload: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.logs = logs
        self.markerWriter = TransactionMarkerWriter(logs: logs, groups: groups, logger: logger)
        self.logger = logger
        self.clock = clock
        self.offload = offload
        self.state = Mutex(TransactionCoordinatorState(configuration: configuration))
        self.partitionCount = max(1, logs.metadata.topic(named: TransactionStateTopic.name)?.partitionCount
            ?? TransactionStateTopic.defaultPartitionCount)
    }

    public var configuration: TransactionConfiguration { state.withLock { $0.configuration } }

    // MARK: Lifecycle

    /// Reads `__transaction_state` back (blocking; run it off the event loops), then serves requests and finishes
    /// the transactions that were writing their markers when the broker stopped.
    public func load(eventLoop: EventLoop) {
        let started = clock()
        var records = 0
        var loaded: [(String, TransactionMetadata?)] = []
        if logs.metadata.topic(named: TransactionStateTopic.name) != nil {
            for partition in 0..<partitionCount {
                guard let log = logs.log(topic: TransactionStateTopic.name, partition: partition) else { continue }
                InternalTopicReader.forEachRecord(of: log, logger: logger) { batch, record, _ in
                    guard !batch.isControl, let key = record.key else { return }
                    let value = record.value
                    records += 1
                    do {
                        if let decoded = try TransactionStateTopic.decode(key: key, value: value) {
                            loaded.append((decoded.transactionalId, decoded.metadata))
                        }
                    } catch {
                        logger.error("skipping an unreadable __transaction_state record", metadata: [
                            "partition": "\(partition)", "error": "\(error)",
                        ])
                    }
                }
            }
        }
        let (actions, count) = state.withLock { state -> ([TransactionAction], Int) in
            for (id, metadata) in loaded { state.replay(transactionalId: id, metadata) }
            return (state.finishLoading(), state.entries.count)
        }
        logger.info("transactions loaded", metadata: [
            "records": "\(records)", "transactionalIds": "\(count)", "completing": "\(actions.count)", "ms": "\(clock() - started)",
        ])
        if !actions.isEmpty { _ = perform(actions, eventLoop: eventLoop) }
    }

    /// Starts the timers on `eventLoop`: timed-out transactions every `transaction.abort.timed.out...` interval,
    /// expired transactional ids every `transaction.remove.expired...` interval; the work runs through `offload`.
    public func startTimers(on eventLoop: EventLoop) {
        let configuration = self.configuration
        var lastIdExpiry = clock()
        let abortInterval = max(10, configuration.abortTimedOutIntervalMs)
        let task = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(abortInterval), delay: .milliseconds(abortInterval)) {
            [self] _ in
            let now = clock()
            let expireIds = now - lastIdExpiry >= configuration.removeExpiredIntervalMs
            if expireIds { lastIdExpiry = now }
            offload {
                let actions = self.state.withLock { $0.expire(nowMs: now, expireIds: expireIds) }
                for action in actions {
                    if case let .write(target) = action, target.state == .prepareAbort {
                        self.logger.info("aborting a transaction that passed its timeout", metadata: [
                            "transactionalId": "\(target.transactionalId)", "producerId": "\(target.producerId)",
                            "timeoutMs": "\(target.timeoutMs)",
                        ])
                    }
                }
                _ = self.perform(actions, eventLoop: eventLoop)
            }
        }
        timers.withLock { $0.append(task) }
    }

    public func stopTimers() {
        let stopped = timers.withLock { timers in
            defer { timers = [] }
            return timers
        }
        for timer in stopped { timer.cancel() }
    }

    // MARK: Requests

    /// InitProducerId with a transactional id: the producer id and epoch to use.
    public func initProducerId(transactionalId: String, timeoutMs: Int32, expected: (producerId: Int64, epoch: Int16)?,
                               eventLoop: EventLoop) -> EventLoopFuture<Result<TransactionMetadata, TransactionError>> {
        let now = clock()
        let decision = state.withLock { state in
            state.initProducerId(transactionalId: transactionalId, timeoutMs: timeoutMs, expected: expected, nowMs: now,
                                 newProducerId: { try self.logs.metadata.allocateProducerId() })
        }
        return run(decision, eventLoop: eventLoop)
    }

    /// AddPartitionsToTxn.
    public func addPartitions(transactionalId: String, producerId: Int64, producerEpoch: Int16,
                              partitions: Set<TopicPartition>, eventLoop: EventLoop) -> EventLoopFuture<TransactionError?> {
        let now = clock()
        let decision = state.withLock { state in
            state.addPartitions(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                partitions: partitions, nowMs: now)
        }
        return run(decision, eventLoop: eventLoop).map(Self.failure)
    }

    /// EndTxn.
    public func endTransaction(transactionalId: String, producerId: Int64, producerEpoch: Int16, commit: Bool,
                               eventLoop: EventLoop) -> EventLoopFuture<TransactionError?> {
        let now = clock()
        let decision = state.withLock { state in
            state.endTransaction(transactionalId: transactionalId, producerId: producerId, producerEpoch: producerEpoch,
                                 commit: commit, nowMs: now)
        }
        return run(decision, eventLoop: eventLoop).map(Self.failure)
    }

    /// Aborts an ongoing transaction and fences its producer (an administrator's abort of a hanging transaction).
    public func abort(transactionalId: String, eventLoop: EventLoop) -> EventLoopFuture<TransactionError?> {
        let now = clock()
        let decision = state.withLock { $0.forceAbort(transactionalId: transactionalId, nowMs: now) }
        return run(decision, eventLoop: eventLoop).map(Self.failure)
    }

    /// Whether a transactional produce belongs to its producer's ongoing transaction (nil: it does).
    public func verify(producerId: Int64, producerEpoch: Int16, partition: TopicPartition) -> TransactionError? {
        state.withLock { $0.verify(producerId: producerId, producerEpoch: producerEpoch, partition: partition) }
    }

    /// DescribeTransactions of one id.
    public func describe(transactionalId: String) -> Result<TransactionMetadata, TransactionError> {
        state.withLock { state in
            if transactionalId.isEmpty { return .failure(.invalidRequest) }
            if state.isLoading { return .failure(.coordinatorLoadInProgress) }
            guard let metadata = state.metadata(transactionalId), metadata.state != .dead else {
                return .failure(.transactionalIdNotFound)
            }
            return .success(metadata)
        }
    }

    /// ListTransactions.
    public func list(states: Set<TransactionState>, producerIds: Set<Int64>, minimumDurationMs: Int64)
        -> Result<[TransactionMetadata], TransactionError> {
        let now = clock()
        return state.withLock { state in
            if state.isLoading { return .failure(.coordinatorLoadInProgress) }
            return .success(state.list(states: states, producerIds: producerIds, minimumDurationMs: minimumDurationMs, nowMs: now))
        }
    }

    // MARK: Carrying out

    private static func failure(_ result: Result<TransactionMetadata, TransactionError>) -> TransactionError? {
        if case let .failure(error) = result { return error }
        return nil
    }

    private func run(_ decision: TransactionDecision, eventLoop: EventLoop)
        -> EventLoopFuture<Result<TransactionMetadata, TransactionError>> {
        switch decision {
        case let .answer(result):
            return eventLoop.makeSucceededFuture(result)
        case let .write(target, reply):
            return perform([.write(target)], eventLoop: eventLoop).map { () -> Result<TransactionMetadata, TransactionError> in
                reply == .concurrentTransactions ? .failure(.concurrentTransactions) : .success(target)
            }.recover { error in
                .failure(error as? TransactionError ?? .storage)
            }
        }
    }

    /// Carries out the actions and everything that follows from them; the future completes when all are done.
    private func perform(_ actions: [TransactionAction], eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let futures = actions.map { action -> EventLoopFuture<Void> in
            switch action {
            case let .write(target):
                return write(target, eventLoop: eventLoop)
            case let .writeMarkers(markers):
                return writeMarkers(markers, eventLoop: eventLoop)
            }
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }

    /// Appends `target`; once it is on disk (synced, except for CompleteCommit/CompleteAbort, which a restart can
    /// redo from the synced Prepare record, and Ongoing, whose sync comes before the producer's own), applies it and
    /// carries out what follows.
    private func write(_ target: TransactionMetadata, eventLoop: EventLoop) -> EventLoopFuture<Void> {
        let appended: (log: PartitionLog, end: Int64)
        do {
            appended = try append(target)
        } catch {
            logger.error("cannot write to __transaction_state", metadata: [
                "transactionalId": "\(target.transactionalId)", "state": "\(target.state.name)", "error": "\(error)",
            ])
            state.withLock { $0.writeFailed(target) }
            return eventLoop.makeFailedFuture(TransactionError.storage)
        }
        let onDisk: EventLoopFuture<Void>
        let promise = eventLoop.makePromise(of: Void.self)
        appended.log.whenDurable(upTo: appended.end, promise: promise)
        switch target.state {
        case .completeCommit, .completeAbort:
            // A restart redoes them from the synced Prepare record.
            promise.futureResult.whenFailure { _ in }
            onDisk = eventLoop.makeSucceededFuture(())
        case .ongoing:
            // AddPartitionsToTxn: the sync is asked for but not awaited. The flusher syncs logs in the order they ask,
            // so the record is on disk no later than the producer's acks=all records for those partitions, which
            // are what could otherwise be left in a transaction the coordinator forgot; a kill -9 loses neither.
            promise.futureResult.whenFailure { error in
                self.logger.error("cannot sync __transaction_state", metadata: [
                    "transactionalId": "\(target.transactionalId)", "error": "\(error)",
                ])
            }
            onDisk = eventLoop.makeSucceededFuture(())
        default:
            onDisk = promise.futureResult
        }
        return onDisk.flatMapError { error in
            self.logger.error("cannot sync __transaction_state", metadata: [
                "transactionalId": "\(target.transactionalId)", "error": "\(error)",
            ])
            self.state.withLock { $0.writeFailed(target) }
            return eventLoop.makeFailedFuture(TransactionError.storage)
        }.flatMap {
            let actions = self.state.withLock { $0.written(target) }
            if actions.isEmpty { return eventLoop.makeSucceededFuture(()) }
            let followUps = self.onPool(eventLoop) { self.perform(actions, eventLoop: eventLoop) }
            if target.state == .prepareCommit || target.state == .prepareAbort {
                // The decision is on disk: markers that cannot be written now are written by the timer later, and
                // the EndTxn that asked succeeded (its producer meets CONCURRENT_TRANSACTIONS until then).
                return followUps.recover { _ in () }
            }
            return followUps
        }
    }

    /// Appends the markers to every partition of the transaction, then records the transaction as complete. A
    /// failed append leaves the transaction in its Prepare state; the timer tries again.
    private func writeMarkers(_ markers: TransactionMarkers, eventLoop: EventLoop) -> EventLoopFuture<Void> {
        if Self.pausesBeforeMarkers {
            // Fault injection for the crash tests: the decision is on disk, the markers never come.
            logger.warning("VLTAVA_FAULT_PAUSE_BEFORE_MARKERS is set: not writing the markers", metadata: [
                "transactionalId": "\(markers.transactionalId)",
            ])
            return eventLoop.makePromise(of: Void.self).futureResult
        }
        let now = clock()
        for partition in markers.partitions.sorted(by: { ($0.topic, $0.partition) < ($1.topic, $1.partition) }) {
            switch markerWriter.write(markers, to: partition, coordinatorEpoch: Self.coordinatorEpoch, nowMs: now) {
            case .none, .unknownTopicOrPartition:
                // A partition whose topic was deleted needs no marker.
                continue
            case .invalidProducerEpoch:
                // A newer epoch of the producer already wrote there: this transaction's records are fenced and
                // the partition needs no marker from it (Kafka's marker handler gives up on it too).
                logger.warning("transaction marker refused: the partition has seen a newer producer epoch", metadata: [
                    "transactionalId": "\(markers.transactionalId)", "partition": "\(partition)",
                ])
            case let code:
                logger.error("cannot write a transaction marker; will retry", metadata: [
                    "transactionalId": "\(markers.transactionalId)", "partition": "\(partition)", "error": "\(code.name)",
                ])
                state.withLock { $0.markersFailed(transactionalId: markers.transactionalId) }
                return eventLoop.makeFailedFuture(TransactionError.storage)
            }
        }
        let actions = state.withLock { $0.markersWritten(transactionalId: markers.transactionalId, nowMs: now) }
        return perform(actions, eventLoop: eventLoop)
    }

    /// Appends one record of `__transaction_state`, creating the topic on first use.
    private func append(_ target: TransactionMetadata) throws -> (log: PartitionLog, end: Int64) {
        _ = try logs.ensureTopic(name: TransactionStateTopic.name, partitions: partitionCount, configs: TransactionStateTopic.topicConfigs)
        let partition = TransactionStateTopic.partition(for: target.transactionalId, partitionCount: partitionCount)
        guard let log = logs.log(topic: TransactionStateTopic.name, partition: partition) else {
            throw StorageError.invalidMetadata("no log for \(TransactionStateTopic.name)-\(partition)")
        }
        let record = try TransactionStateTopic.record(target)
        let now = clock()
        let bytes = try RecordBatch(baseTimestamp: now, records: [Record(offsetDelta: 0, key: record.key, value: record.value)]).encoded()
        let validated = try RecordBatchValidator(origin: .client).validate(bytes)
        let result = try log.append(bytes, batches: validated, nowMs: now)
        return (log, result.lastOffset + 1)
    }

    /// Runs `body` on the request-handler pool and forwards its future.
    private func onPool(_ eventLoop: EventLoop, _ body: @escaping @Sendable () -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        offload { body().cascade(to: promise) }
        return promise.futureResult
    }
}
