#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import Synchronization
import VltavaStorage

/// Runs `GroupCoordinatorState` for the broker: holds the promises of JoinGroup and SyncGroup requests that wait
/// for a rebalance, appends the records the state asks for to `__consumer_offsets`, reloads them at start-up, and
/// drives session timeouts and offset expiry from an event loop timer. Thread-safe.
///
/// The groups are split into one shard per `__consumer_offsets` partition, as Kafka's coordinator runtime does,
/// each with its own lock: requests for groups of different partitions never wait for each other, and a group's
/// records reach its partition in the order of its events.
public final class GroupCoordinator: Sendable {
    struct Core: Sendable {
        var state: GroupCoordinatorState
        var joinPromises: [ResponseWaiter: EventLoopPromise<JoinOutcome>] = [:]
        var syncPromises: [ResponseWaiter: EventLoopPromise<SyncOutcome>] = [:]
        var nextWaiter: ResponseWaiter = 1
    }

    final class Shard: Sendable {
        private let core: Mutex<Core>
        init(configuration: GroupConfiguration) { core = Mutex(Core(state: GroupCoordinatorState(configuration: configuration))) }

        func locked<Result: Sendable>(_ body: (inout Core) -> Result) -> Result {
            core.withLock { core in body(&core) }
        }
    }

    let shards: [Shard]
    private let timers = Mutex<[RepeatedTask]>([])
    let logs: LogManager
    let logger: Logger
    let clock: @Sendable () -> Int64
    /// The partition count of `__consumer_offsets` (read from the topic when it exists).
    public let partitionCount: Int32

    public init(logs: LogManager, configuration: GroupConfiguration, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.logs = logs
        self.logger = logger
        self.clock = clock
        let count = max(1, logs.metadata.topic(named: OffsetsTopic.name)?.partitionCount ?? OffsetsTopic.defaultPartitionCount)
        self.partitionCount = count
        self.shards = (0..<Int(count)).map { _ in Shard(configuration: configuration) }
    }

    func shard(_ groupId: String) -> Shard {
        shards[Int(OffsetsTopic.partition(for: groupId, partitionCount: partitionCount))]
    }

    /// Whether `__consumer_offsets` is still being read back.
    public var isLoading: Bool { shards.contains { $0.locked { $0.state.isLoading } } }

    // MARK: Lifecycle

    /// Reads `__consumer_offsets` back into memory (blocking; run it off the event loops), then serves requests:
    /// each partition's groups as soon as that partition is read. Offsets of a transactional batch stay pending
    /// until their producer's marker further on (COMMIT applies them, ABORT drops them); those of a transaction
    /// with no marker yet stay pending after the load, for the transaction coordinator to end.
    public func load() {
        let started = clock()
        var records = 0
        let exists = logs.metadata.topic(named: OffsetsTopic.name) != nil
        for partition in 0..<partitionCount {
            let log = exists ? logs.log(topic: OffsetsTopic.name, partition: partition) : nil
            let entries = log.map(readEntries(of:)) ?? []
            records += entries.count
            let now = clock()
            shards[Int(partition)].locked { core in
                for entry in entries {
                    switch entry {
                    case let .record(record, offset, producerId):
                        core.state.replay(record, recordOffset: offset, producerId: producerId)
                    case let .marker(producerId, commit):
                        core.state.completeTransaction(producerId: producerId, commit: commit)
                    }
                }
                core.state.finishLoading(nowMs: now)
            }
        }
        let groupCount = shards.reduce(0) { total, shard in total + shard.locked { $0.state.groups.count } }
        logger.info("groups loaded", metadata: ["records": "\(records)", "groups": "\(groupCount)", "ms": "\(clock() - started)"])
    }

    /// What the reload replays, in log order.
    private enum LoadedEntry {
        /// A record at its offset; `producerId` is the producer's for a transactional batch, else -1.
        case record(OffsetsTopicEntry, offset: Int64, producerId: Int64)
        /// A transaction marker.
        case marker(producerId: Int64, commit: Bool)
    }

    private func readEntries(of log: PartitionLog) -> [LoadedEntry] {
        var entries: [LoadedEntry] = []
        InternalTopicReader.forEachRecord(of: log, logger: logger) { batch, record, offset in
            let producerId = batch.isTransactional ? batch.producerId : -1
            if batch.isControl {
                // Markers of other types (none exist yet) end nothing.
                guard producerId >= 0, let marker = try? ControlRecord(record),
                      marker.type == .commit || marker.type == .abort else { return }
                entries.append(.marker(producerId: producerId, commit: marker.type == .commit))
            } else if let key = record.key, let entry = try OffsetsTopic.decode(key: key, value: record.value) {
                entries.append(.record(entry, offset: offset, producerId: producerId))
            }
        }
        return entries
    }

    /// Starts the timers on `eventLoop`: group deadlines every 100 ms, offset expiry every `expiryIntervalMs`.
    /// The timers fire on `eventLoop` and hand their work (which writes to disk) to `offload` when one is given,
    /// a thread pool's submit, say; else they run it on the event loop.
    public func startTimers(on eventLoop: EventLoop, offload: (@Sendable (@escaping @Sendable () -> Void) -> Void)? = nil,
                            expiryIntervalMs: Int64 = 600_000) {
        let tick = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [self] _ in
            if let offload { offload { self.tickAll() } } else { tickAll() }
        }
        let expiry = eventLoop.scheduleRepeatedTask(
            initialDelay: .milliseconds(expiryIntervalMs), delay: .milliseconds(expiryIntervalMs)
        ) { [self] _ in
            if let offload { offload { self.expireAll() } } else { expireAll() }
        }
        timers.withLock { $0 += [tick, expiry] }
    }

    private func tickAll() {
        for shard in shards { run(shard) { state, now in state.tick(nowMs: now) } }
    }

    private func expireAll() {
        for shard in shards { run(shard) { state, now in state.expireOffsets(nowMs: now) } }
    }

    public func stopTimers() {
        let stopped = timers.withLock { timers in
            defer { timers = [] }
            return timers
        }
        for timer in stopped { timer.cancel() }
    }

    // MARK: Requests

    /// JoinGroup; the future completes when the group can answer (possibly after a rebalance).
    public func join(group: String, _ request: JoinRequest, eventLoop: EventLoop) -> EventLoopFuture<JoinOutcome> {
        let promise = eventLoop.makePromise(of: JoinOutcome.self)
        run(shard(group)) { state, now, core in
            var held = request
            held.waiter = core.nextWaiter
            core.nextWaiter += 1
            core.joinPromises[held.waiter] = promise
            return state.join(group: group, held, nowMs: now)
        }
        return promise.futureResult
    }

    /// SyncGroup; the future completes when the leader's assignment arrives (or the rebalance fails).
    public func sync(group: String, _ request: SyncRequest, eventLoop: EventLoop) -> EventLoopFuture<SyncOutcome> {
        let promise = eventLoop.makePromise(of: SyncOutcome.self)
        run(shard(group)) { state, now, core in
            var held = request
            held.waiter = core.nextWaiter
            core.nextWaiter += 1
            core.syncPromises[held.waiter] = promise
            return state.sync(group: group, held, nowMs: now)
        }
        return promise.futureResult
    }

    public func heartbeat(group: String, memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode {
        let now = clock()
        return shard(group).locked {
            $0.state.heartbeat(group: group, memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, nowMs: now)
        }
    }

    public func leave(group: String, members: [LeavingMember]) -> (error: ErrorCode, memberErrors: [ErrorCode]) {
        var result: (ErrorCode, [ErrorCode]) = (.none, [])
        run(shard(group)) { state, now in
            let outcome = state.leave(group: group, members, nowMs: now)
            result = (outcome.error, outcome.memberErrors)
            return outcome.actions
        }
        return result
    }

    /// OffsetCommit; the future completes once the offsets are on disk (fsynced, shared with other writers), so
    /// an acknowledged commit survives any restart. A failed write or fsync turns into an error code, and a
    /// failed write leaves no offset of the request in memory.
    public func commitOffsets(
        group: String, memberId: String, groupInstanceId: String?, generationId: Int32,
        offsets: [(TopicPartition, CommittedOffset)], eventLoop: EventLoop
    ) -> EventLoopFuture<[TopicPartition: ErrorCode]> {
        var errors: [TopicPartition: ErrorCode] = [:]
        let result = run(shard(group)) { state, now in
            let outcome = state.commitOffsets(group: group, memberId: memberId, groupInstanceId: groupInstanceId,
                                              generationId: generationId, offsets: offsets, nowMs: now)
            errors = outcome.errors
            return outcome.actions
        }
        return answerWhenDurable(errors, result, eventLoop: eventLoop)
    }

    /// The answer to an offset commit once its writes are on disk: the partitions that were accepted get the
    /// write's error when it failed (COORDINATOR_NOT_AVAILABLE, or INVALID_PRODUCER_EPOCH for a fenced producer).
    func answerWhenDurable(_ errors: [TopicPartition: ErrorCode], _ result: RunResult, eventLoop: EventLoop)
        -> EventLoopFuture<[TopicPartition: ErrorCode]> {
        whenDurable(result, eventLoop: eventLoop).map { failure in
            guard let failure else { return errors }
            return errors.mapValues { $0 == ErrorCode.none ? failure : $0 }
        }
    }

    /// Completes once an event's writes are on disk: nil, or the error of the write or fsync that failed (the
    /// write's own, else COORDINATOR_NOT_AVAILABLE).
    func whenDurable(_ result: RunResult, eventLoop: EventLoop) -> EventLoopFuture<ErrorCode?> {
        if let failure = result.failure { return eventLoop.makeSucceededFuture(failure) }
        if result.writes.isEmpty { return eventLoop.makeSucceededFuture(nil) }
        let flushed = result.writes.map { log, end in
            let promise = eventLoop.makePromise(of: Void.self)
            log.whenDurable(upTo: end, promise: promise)
            return promise.futureResult
        }
        return EventLoopFuture.andAllSucceed(flushed, on: eventLoop)
            .map { nil }
            .recover { _ in .coordinatorNotAvailable }
    }

    /// OffsetFetch: the committed offsets; with `requireStable`, partitions with offsets of an open transaction
    /// are `unstable` instead (UNSTABLE_OFFSET_COMMIT).
    public func fetchOffsets(group: String, partitions: [TopicPartition]?, requireStable: Bool = false,
                             member: (id: String?, epoch: Int32)? = nil)
        -> (error: ErrorCode, offsets: [TopicPartition: CommittedOffset], unstable: Set<TopicPartition>) {
        shard(group).locked {
            $0.state.fetchOffsets(group: group, partitions: partitions, requireStable: requireStable, member: member)
        }
    }

    public func deleteOffsets(group: String, partitions: [TopicPartition])
        -> (error: ErrorCode, partitionErrors: [TopicPartition: ErrorCode]) {
        var result: (ErrorCode, [TopicPartition: ErrorCode]) = (.none, [:])
        run(shard(group)) { state, now in
            let subscribed = state.groups[group].flatMap(Self.subscribedTopics)
            let outcome = state.deleteOffsets(group: group, partitions: partitions, subscribedTopics: subscribed)
            result = (outcome.error, outcome.partitionErrors)
            return outcome.actions
        }
        return result
    }

    /// The topics a consumer group's members subscribe to; nil when the group is not a consumer group.
    static func subscribedTopics(of group: ClassicGroup) -> Set<String>? {
        guard group.protocolType == "consumer" else { return nil }
        var topics: Set<String> = []
        for member in group.members {
            var metadata = member.metadata(for: group.protocolName)
            guard let version = try? metadata.readKafkaInt16(),
                  let subscription = try? ConsumerProtocolSubscription(from: &metadata, version: min(max(version, 0), ConsumerProtocolSubscription.validVersions.upperBound))
            else { continue }
            topics.formUnion(subscription.topics)
        }
        return topics
    }

    /// Every group of every shard (COORDINATOR_LOAD_IN_PROGRESS while a shard is still loading).
    public func listGroups(statesFilter: [String]) -> (error: ErrorCode, groups: [GroupListing]) {
        var listed: [GroupListing] = []
        for shard in shards {
            let (error, groups) = shard.locked { $0.state.listGroups(statesFilter: statesFilter) }
            if error != .none { return (error, []) }
            listed += groups
        }
        return (.none, listed.sorted { $0.groupId < $1.groupId })
    }

    public func describe(group: String) -> (error: ErrorCode, group: ClassicGroup?) {
        shard(group).locked { $0.state.describe(group: group) }
    }

    /// A consumer group (KIP-848) as ConsumerGroupDescribe shows it.
    public func describeConsumerGroup(_ group: String) -> (error: ErrorCode, group: ConsumerGroup?) {
        shard(group).locked { $0.state.describeConsumerGroup(group) }
    }

    /// The consumer group of this id, if the group is one (DescribeGroups shows it in classic terms).
    public func consumerGroup(_ group: String) -> ConsumerGroup? {
        shard(group).locked { $0.state.consumerGroups[group] }
    }

    /// ConsumerGroupHeartbeat; the future completes once the group's records are on disk (a failed write answers
    /// COORDINATOR_NOT_AVAILABLE and leaves the group as it was).
    public func consumerHeartbeat(group: String, _ request: ConsumerHeartbeat, version: Int16, eventLoop: EventLoop)
        -> EventLoopFuture<ConsumerHeartbeatOutcome> {
        let topics = consumerGroupTopics()
        var outcome = ConsumerHeartbeatOutcome()
        let result = run(shard(group)) { state, now in
            let (answer, actions) = state.consumerHeartbeat(group: group, request, version: version, topics: topics, nowMs: now)
            outcome = answer
            return actions
        }
        let answer = outcome
        return whenDurable(result, eventLoop: eventLoop).map { failure in
            guard failure != nil else { return answer }
            return ConsumerHeartbeatOutcome(errorCode: .coordinatorNotAvailable, errorMessage: "The group's records could not be written.")
        }
    }

    /// The cluster's topics by name, as consumer groups see them (internal ones left out).
    func consumerGroupTopics() -> [String: SubscribedTopic] {
        var topics: [String: SubscribedTopic] = [:]
        for topic in logs.metadata.topics() where !TopicRegex.internalTopics.contains(topic.name) {
            topics[topic.name] = SubscribedTopic(topicId: topic.topicId, name: topic.name, partitionCount: topic.partitionCount)
        }
        return topics
    }

    public func deleteGroups(_ groups: [String]) -> [String: ErrorCode] {
        var byShard: [Int: [String]] = [:]
        for group in groups {
            byShard[Int(OffsetsTopic.partition(for: group, partitionCount: partitionCount)), default: []].append(group)
        }
        var errors: [String: ErrorCode] = [:]
        for (index, names) in byShard {
            var outcomeErrors: [String: ErrorCode] = [:]
            run(shards[index]) { state, now in
                let outcome = state.deleteGroups(names, nowMs: now)
                outcomeErrors = outcome.errors
                return outcome.actions
            }
            errors.merge(outcomeErrors) { first, _ in first }
        }
        return errors
    }

    // MARK: Running actions

    /// Runs an event under the shard's lock, writes the records it asks for (still under the lock, so a group's
    /// records reach the log in the order of its events), then completes promises outside it. Returns the error of
    /// a write that failed and what was written.
    @discardableResult
    func run(_ shard: Shard, _ event: (inout GroupCoordinatorState, Int64) -> [CoordinatorAction]) -> RunResult {
        run(shard) { state, now, _ in event(&state, now) }
    }

    @discardableResult
    func run(_ shard: Shard, _ event: (inout GroupCoordinatorState, Int64, inout Core) -> [CoordinatorAction]) -> RunResult {
        let now = clock()
        var joins: [(EventLoopPromise<JoinOutcome>, JoinOutcome)] = []
        var syncs: [(EventLoopPromise<SyncOutcome>, SyncOutcome)] = []
        var failure: ErrorCode?
        var durable: [(PartitionLog, Int64)] = []
        shard.locked { core in
            // Moved out and back so that the state is uniquely referenced while the event mutates it (no copy).
            var state = core.state
            core.state = GroupCoordinatorState(configuration: state.configuration)
            let actions = event(&state, now, &core)
            core.state = state
            for action in actions {
                switch action {
                case let .answerJoin(waiter, outcome):
                    if let promise = core.joinPromises.removeValue(forKey: waiter) { joins.append((promise, outcome)) }
                case let .answerSync(waiter, outcome):
                    if let promise = core.syncPromises.removeValue(forKey: waiter) { syncs.append((promise, outcome)) }
                case let .write(group, entries):
                    switch write(group: group, entries, nowMs: now) {
                    case .nothing: break
                    case let .written(log, first, end):
                        core.state.written(entries, firstOffset: first)
                        durable.append((log, end))
                    case let .failed(code):
                        core.state.writeFailed(group: group)
                        failure = code
                    }
                case let .writeTransactional(group, producerId, producerEpoch, entries):
                    switch write(group: group, entries, producer: (producerId, producerEpoch), nowMs: now) {
                    case .nothing: break
                    case let .written(log, first, end):
                        core.state.writtenTransactional(entries, producerId: producerId, firstOffset: first)
                        durable.append((log, end))
                    case let .failed(code):
                        core.state.writeFailed(group: group)
                        failure = code
                    }
                }
            }
            core.state.consumerGroupUndo = nil
        }
        for (promise, outcome) in joins { promise.succeed(outcome) }
        for (promise, outcome) in syncs { promise.succeed(outcome) }
        return RunResult(failure: failure, writes: durable)
    }

    /// What running an event did: the error of a write that failed, and the logs and end offsets it wrote.
    struct RunResult {
        var failure: ErrorCode?
        var writes: [(PartitionLog, Int64)]
    }

    private enum WriteResult {
        case nothing
        case written(PartitionLog, firstOffset: Int64, endOffset: Int64)
        case failed(ErrorCode)
    }

    /// The log of a `__consumer_offsets` partition, creating the topic on first use; nil (logged) when it cannot.
    func offsetsLog(partition: Int32) -> PartitionLog? {
        do {
            _ = try logs.ensureTopic(name: OffsetsTopic.name, partitions: partitionCount, configs: OffsetsTopic.topicConfigs)
        } catch {
            logger.error("cannot create __consumer_offsets", metadata: ["error": "\(error)"])
            return nil
        }
        guard let log = logs.log(topic: OffsetsTopic.name, partition: partition) else {
            logger.error("no log for __consumer_offsets partition", metadata: ["partition": "\(partition)"])
            return nil
        }
        return log
    }

    /// Appends the records as one batch to the group's partition, creating `__consumer_offsets` on first use; with
    /// a producer, as a transactional batch of that producer id and epoch (an older epoch than the partition's is
    /// INVALID_PRODUCER_EPOCH, as in Kafka).
    private func write(group: String, _ entries: [OffsetsTopicEntry], producer: (id: Int64, epoch: Int16)? = nil,
                       nowMs: Int64) -> WriteResult {
        guard !entries.isEmpty else { return .nothing }
        let partition = OffsetsTopic.partition(for: group, partitionCount: partitionCount)
        guard let log = offsetsLog(partition: partition) else { return .failed(.coordinatorNotAvailable) }
        do {
            var records: [Record] = []
            records.reserveCapacity(entries.count)
            for (index, entry) in entries.enumerated() {
                let encoded: (key: ByteBuffer, value: ByteBuffer?)
                switch entry {
                case let .offsetCommit(group, topicPartition, offset):
                    encoded = try OffsetsTopic.offsetCommitRecord(group: group, topicPartition, offset)
                case let .groupMetadata(group, metadata):
                    encoded = try OffsetsTopic.groupMetadataRecord(group: group, metadata)
                case let .consumerGroup(record):
                    encoded = try OffsetsTopic.consumerGroupRecord(record)
                }
                records.append(Record(offsetDelta: Int32(truncatingIfNeeded: index), key: encoded.key, value: encoded.value))
            }
            let batch = RecordBatch(isTransactional: producer != nil, baseTimestamp: nowMs, producerId: producer?.id ?? -1,
                                    producerEpoch: producer?.epoch ?? -1, records: records)
            let bytes = try batch.encoded()
            let validated = try RecordBatchValidator(origin: .client).validate(bytes)
            let result = try log.append(bytes, batches: validated, nowMs: nowMs, origin: .coordinator)
            return .written(log, firstOffset: result.baseOffset, endOffset: result.lastOffset + 1)
        } catch AppendError.invalidProducerEpoch {
            return .failed(.invalidProducerEpoch)
        } catch {
            logger.error("cannot write to __consumer_offsets", metadata: ["group": "\(group)", "error": "\(error)"])
            return .failed(.coordinatorNotAvailable)
        }
    }
}
