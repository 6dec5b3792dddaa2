import Logging
import NIOConcurrencyHelpers
import NIOCore
import KafkaProtocol
import KafkaRecords
import VltavaClient

/// The task of `MirrorSourceConnector`: consumes its share of the source's replicated partitions and returns their
/// records for the remote topics, with Kafka's source partition `{"cluster", "partition", "topic"}` and offset
/// `{"offset"}`, so a restarted task resumes after the last record Kafka acknowledged.
public struct MirrorSourceTask: SourceTask {
    private var replicator: MirrorReplicator?
    private var context: SourceTaskContext?

    public init() {}

    public mutating func initialize(_ context: SourceTaskContext) { self.context = context }

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        let replicator = try MirrorReplicator(config: config, offsets: offsets)
        if replicator.emitsOffsetSyncs { context?.listen(replicator.syncs) }
        self.replicator = replicator
    }

    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        try replicator?.poll() ?? []
    }

    /// Records are bytes: with ByteArrayConverter throughout (MirrorMaker's default) the fetched batches are copied
    /// into the batches to produce, and never decoded.
    public var pollsRecordBatches: Bool { true }

    public mutating func pollRecordBatches(maximumBatchBytes: Int) throws(ConnectError) -> [SourceRecordBatch] {
        replicator?.pollRecordBatches(maximumBatchBytes: maximumBatchBytes) ?? []
    }

    public mutating func stop() {
        replicator?.close()
        replicator = nil
    }
}

/// What the worker tells the task about acknowledged records, turned into offset syncs (locked: the worker calls
/// it while the task polls).
final class MirrorOffsetSyncQueue: SourceRecordListener {
    private let writer: NIOLockedValueBox<OffsetSyncWriter>

    init(maxOffsetLag: Int64) { writer = NIOLockedValueBox(OffsetSyncWriter(maxOffsetLag: maxOffsetLag)) }

    func recordsAcknowledged(_ records: [AcknowledgedRecord]) {
        writer.withLockedValue { writer in
            for record in records {
                guard let topic = record.sourcePartition[entry: "topic"]?.stringValue,
                      let partition = record.sourcePartition[entry: "partition"]?.integerValue,
                      let upstream = record.sourceOffset[entry: "offset"]?.integerValue else { continue }
                writer.record(MirrorTopicPartition(topic: topic, partition: Int32(truncatingIfNeeded: partition)),
                              upstream: upstream, downstream: record.offset)
            }
        }
    }

    /// A batch of `source`'s records went to the target from `baseOffset` on, its records in the order of `runs`.
    func batchAcknowledged(_ source: MirrorTopicPartition, runs: [RecordBatchRewriter.OffsetRun], baseOffset: Int64) {
        writer.withLockedValue { writer in
            for run in runs {
                writer.record(source, upstream: run.firstOffset, downstream: baseOffset + Int64(run.firstIndex), count: run.count)
            }
        }
    }

    func offsetsCommitted() { writer.withLockedValue { $0.promoteDelayed() } }

    func takePending() -> [OffsetSync] { writer.withLockedValue { $0.takePending() } }
}

/// The source task's state: its clients, the partitions it replicates and where it is in each. Only the worker's
/// calls of `start`, `poll` and `stop`, one at a time, touch it.
final class MirrorReplicator: @unchecked Sendable {
    let config: MirrorConfig
    let offsets: any SourceOffsetReader
    let source: KafkaClient
    let target: KafkaClient
    let offsetSyncsClient: KafkaClient?
    let topicSync: MirrorTopicSync
    let syncs: MirrorOffsetSyncQueue
    let taskIndex: Int
    let taskCount: Int
    let refreshInterval: Duration
    let configSyncInterval: Duration?
    let offsetSyncsReplicationFactor: Int16
    let logger = Logger(label: "vltava-connect")

    var emitsOffsetSyncs: Bool { offsetSyncsClient != nil }
    /// The next offset to fetch of each assigned partition, by source topic.
    private var positions: [String: [Int32: Int64]] = [:]
    private var sourcePartitions: [MirrorTopicPartition: ConnectValue] = [:]
    private var nextRefresh = ContinuousClock.now
    private var nextConfigSync = ContinuousClock.now
    private var offsetSyncsTopicReady = false

    init(config properties: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        config = try MirrorConfig.validate(properties)
        self.offsets = offsets
        taskIndex = try ConnectConfig.int(properties, "task.index", default: 0, minimum: 0)
        taskCount = try ConnectConfig.int(properties, "task.count", default: 1, minimum: 1)
        let refreshSeconds = try config.int("refresh.topics.interval.seconds", default: 600, minimum: 0)
        refreshInterval = .seconds(refreshSeconds)
        let syncEnabled = try ConnectConfig.boolean(properties, "sync.topic.configs.enabled", default: true)
        let configSeconds = try config.int("sync.topic.configs.interval.seconds", default: 600, minimum: 0)
        configSyncInterval = syncEnabled && taskIndex == 0 ? .seconds(configSeconds) : nil
        let maxOffsetLag = try config.int("offset.lag.max", default: 100, minimum: 0)
        syncs = MirrorOffsetSyncQueue(maxOffsetLag: Int64(maxOffsetLag))
        offsetSyncsReplicationFactor = try config.replicationFactor("offset-syncs.topic.replication.factor")
        let replicationFactor = try ConnectConfig.int(properties, "replication.factor", default: 2, minimum: -1)
        source = try config.sourceClient("replication-consumer-\(taskIndex)")
        target = try config.targetClient("replication-admin-\(taskIndex)")
        let emitSyncs = try ConnectConfig.boolean(properties, "emit.offset-syncs.enabled", default: true)
        offsetSyncsClient = emitSyncs ? try config.offsetSyncsClient("offset-syncs-producer-\(taskIndex)") : nil
        topicSync = MirrorTopicSync(source: source, target: target, replicationFactor: Int16(clamping: replicationFactor),
                                    configs: syncEnabled ? try MirrorTopicConfigs(properties) : nil)
    }

    /// Sends the offset syncs still due (the worker flushed the task's offsets just before, which made the waiting
    /// ones due too), then closes the clients: a task stopped right after its records were acknowledged would
    /// otherwise leave the target without a sync for them.
    func close() {
        sendOffsetSyncs()
        let clients = [source, target] + (offsetSyncsClient.map { [$0] } ?? [])
        _ = try? MirrorCall.run("closing") { for client in clients { await client.close() } }
    }

    func poll() throws(ConnectError) -> [ConnectRecord] {
        var records: [ConnectRecord] = []
        fetchAssigned { (fetched) -> Int64? in
            let decoded: (records: [ConsumedRecord], nextOffset: Int64)
            do {
                decoded = try KafkaClient.decodeFetchedRecords(
                    fetched.records, topic: fetched.source.topic, partition: fetched.source.partition, from: fetched.requested)
            } catch {
                logger.warning("cannot read fetched records", metadata: ["partition": "\(fetched.source)", "error": "\(error)"])
                return nil
            }
            records.reserveCapacity(records.count + decoded.records.count)
            for record in decoded.records {
                records.append(Self.connectRecord(record, remote: fetched.remote, sourcePartition: fetched.sourcePartition))
            }
            return decoded.nextOffset
        }
        return records
    }

    /// As `poll`, the fetched batches copied into batches for the remote partitions (see `RecordBatchRewriter`),
    /// with the source offset of each batch's last record; where each record went becomes offset syncs.
    func pollRecordBatches(maximumBatchBytes: Int) -> [SourceRecordBatch] {
        var batches: [SourceRecordBatch] = []
        let syncs = emitsOffsetSyncs ? self.syncs : nil
        fetchAssigned { (fetched) -> Int64? in
            var rewriter = RecordBatchRewriter(maximumBatchBytes: maximumBatchBytes)
            let nextOffset: Int64
            do {
                nextOffset = try rewriter.append(fetched: fetched.records ?? ByteBuffer(), from: fetched.requested)
            } catch {
                logger.warning("cannot read fetched records", metadata: ["partition": "\(fetched.source)", "error": "\(error)"])
                return nil
            }
            let source = fetched.source
            for batch in rewriter.finish() {
                let runs = batch.runs
                var acknowledged: (@Sendable (Int64) -> Void)?
                if let syncs {
                    acknowledged = { baseOffset in syncs.batchAcknowledged(source, runs: runs, baseOffset: baseOffset) }
                }
                batches.append(SourceRecordBatch(
                    topic: fetched.remote,
                    batch: EncodedRecordBatch(partition: source.partition, bytes: batch.bytes, recordCount: batch.recordCount),
                    sourcePartition: fetched.sourcePartition, sourceOffset: Self.sourceOffset(batch.lastOffset),
                    acknowledged: acknowledged))
            }
            return nextOffset
        }
        return batches
    }

    /// One partition's answer to a fetch.
    struct FetchedAnswer {
        var source: MirrorTopicPartition
        var sourcePartition: ConnectValue
        var remote: String
        var requested: Int64
        var records: ByteBuffer?
    }

    /// Refreshes the assignment when due, sends the offset syncs due, then fetches every assigned partition once
    /// (one Fetch per topic and leader) and hands each partition's answer to `take`, which returns where the
    /// partition's next fetch starts (nil: where it started this time).
    private func fetchAssigned(_ take: (FetchedAnswer) -> Int64?) {
        if ContinuousClock.now >= nextRefresh {
            refreshAssignment()
            nextRefresh = ContinuousClock.now + refreshInterval
        }
        sendOffsetSyncs()
        if positions.isEmpty {
            mirrorIdleWait()
            return
        }
        let wait: TimeAmount = positions.count == 1 ? .milliseconds(200) : .milliseconds(20)
        for (topic, topicPositions) in positions.sorted(by: { $0.key < $1.key }) {
            let fetched: [FetchedRecordBatches]
            do {
                let source = self.source
                fetched = try MirrorCall.run("fetching \(topic) from \(config.sourceAlias)") {
                    try await source.fetchRecordBatches(topic: topic, offsets: topicPositions, maxWait: wait)
                }
            } catch {
                logger.warning("mirror fetch failed", metadata: ["topic": "\(topic)", "error": "\(error)"])
                resetPositions(of: topic)
                continue
            }
            let remote = config.policy.formatRemoteTopic(source: config.sourceAlias, topic: topic)
            for answer in fetched {
                guard let requested = topicPositions[answer.partition] else { continue }
                let key = MirrorTopicPartition(topic: topic, partition: answer.partition)
                let sourcePartition = sourcePartitions[key] ?? Self.sourcePartition(key, cluster: config.sourceAlias)
                let next = take(FetchedAnswer(
                    source: key, sourcePartition: sourcePartition, remote: remote, requested: requested, records: answer.records))
                if let next { positions[topic]?[answer.partition] = next }
            }
        }
    }

    /// Kafka's `MirrorSourceTask.convertRecord`: bytes kept as they are, partition and timestamp kept.
    static func connectRecord(_ record: ConsumedRecord, remote: String, sourcePartition: ConnectValue) -> ConnectRecord {
        ConnectRecord(
            topic: remote, kafkaPartition: record.partition, keySchema: .optionalBytes, key: record.key.map(Self.bytes) ?? .null,
            valueSchema: .optionalBytes, value: record.value.map(Self.bytes) ?? .null, timestamp: record.timestamp,
            headers: record.headers.map { ConnectHeader(key: $0.key, schema: .optionalBytes, value: $0.value.map(Self.bytes) ?? .null) },
            sourcePartition: sourcePartition, sourceOffset: sourceOffset(record.offset))
    }

    /// Kafka's MirrorMaker source offset: `{"offset": n}`.
    static func sourceOffset(_ offset: Int64) -> ConnectValue { .map([.init(key: .string("offset"), value: .int64(offset))]) }

    private static func bytes(_ buffer: ByteBuffer) -> ConnectValue { .bytes(Array(buffer.readableBytesView)) }

    static func sourcePartition(_ partition: MirrorTopicPartition, cluster: String) -> ConnectValue {
        .map([.init(key: .string("cluster"), value: .string(cluster)), .init(key: .string("partition"), value: .int32(partition.partition)),
              .init(key: .string("topic"), value: .string(partition.topic))])
    }

    /// Looks up the source's topics, takes this task's share of their partitions, and makes sure their remote
    /// topics exist with as many partitions before any record of them is returned.
    private func refreshAssignment() {
        let source = self.source
        let metadata: ClusterMetadata
        do {
            metadata = try MirrorCall.run("listing the topics of \(config.sourceAlias)") { try await source.refreshMetadata() }
        } catch {
            logger.warning("cannot list the source's topics", metadata: ["cluster": "\(config.sourceAlias)", "error": "\(error)"])
            return
        }
        let syncConfigs = configSyncInterval != nil && ContinuousClock.now >= nextConfigSync
        for topic in metadata.topics where topic.errorCode == .none && !topic.isInternal && config.shouldReplicate(topic: topic.name) {
            let mine = topic.partitions.map(\.partition).filter {
                mirrorTaskIndex(of: "\(topic.name)-\($0)", tasks: taskCount) == taskIndex
            }
            let remote = config.policy.formatRemoteTopic(source: config.sourceAlias, topic: topic.name)
            let known = positions[topic.name] ?? [:]
            let sync = topicSync
            let name = topic.name
            let count = Int32(topic.partitions.count)
            do {
                if mine.contains(where: { known[$0] == nil }) || syncConfigs && taskIndex == 0 {
                    try MirrorCall.run("creating \(remote)") { try await sync.ensureRemoteTopic(source: name, remote: remote, partitions: count) }
                }
                if syncConfigs, taskIndex == 0 {
                    try MirrorCall.run("copying the configs of \(name)") { try await sync.syncConfigs(source: name, remote: remote) }
                }
            } catch {
                logger.warning("cannot prepare the remote topic", metadata: ["topic": "\(remote)", "error": "\(error)"])
                continue
            }
            for partition in mine where known[partition] == nil {
                let key = MirrorTopicPartition(topic: topic.name, partition: partition)
                let sourcePartition = Self.sourcePartition(key, cluster: config.sourceAlias)
                sourcePartitions[key] = sourcePartition
                // Kafka's MirrorSourceTask.loadOffset: after the last acknowledged record, else from the start.
                let stored = offsets.offset(for: sourcePartition)?[entry: "offset"]?.integerValue
                positions[topic.name, default: [:]][partition] = stored.map { $0 + 1 } ?? -1
            }
        }
        if syncConfigs, let interval = configSyncInterval { nextConfigSync = ContinuousClock.now + interval }
        resolveEarliest()
    }

    /// Partitions without a stored offset (-1), or whose offset fell out of the log, start at the log start.
    private func resolveEarliest() {
        for (topic, topicPositions) in positions {
            let unknown = topicPositions.filter { $0.value < 0 }.map(\.key)
            guard !unknown.isEmpty else { continue }
            let source = self.source
            guard let earliest = try? MirrorCall.run("listing offsets", {
                try await source.listOffsets(topic: topic, partitions: unknown, spec: .earliest)
            }) else { continue }
            for (partition, offset) in earliest { positions[topic]?[partition] = offset }
        }
    }

    /// After a failed fetch (an offset out of range, a leader gone), each partition's position is checked against
    /// the log: kept when still inside, else moved to the log start (Kafka's consumer with auto.offset.reset=earliest).
    private func resetPositions(of topic: String) {
        guard let topicPositions = positions[topic] else { return }
        let source = self.source
        let partitions = Array(topicPositions.keys)
        guard let earliest = try? MirrorCall.run("listing offsets", {
            try await source.listOffsets(topic: topic, partitions: partitions, spec: .earliest)
        }), let latest = try? MirrorCall.run("listing offsets", {
            try await source.listOffsets(topic: topic, partitions: partitions, spec: .latest)
        }) else { return }
        for (partition, position) in topicPositions {
            guard let start = earliest[partition], let end = latest[partition] else { continue }
            if position < start || position > end { positions[topic]?[partition] = start }
        }
    }

    /// Writes the offset syncs that are due to partition 0 of the offset-syncs topic.
    private func sendOffsetSyncs() {
        guard let client = offsetSyncsClient else { return }
        let due = syncs.takePending()
        guard !due.isEmpty else { return }
        let topic = config.offsetSyncsTopic
        let replicationFactor = offsetSyncsReplicationFactor
        let ready = offsetSyncsTopicReady
        do {
            try MirrorCall.run("writing offset syncs to \(topic)") {
                if !ready { try await MirrorTopicSync.ensureInternalTopic(client, name: topic, replicationFactor: replicationFactor) }
                let records = try due.map { ProducerRecord(key: ByteBuffer(bytes: try $0.key), value: ByteBuffer(bytes: try $0.value)) }
                try await client.produce(topic: topic, records: records, partition: 0, acks: .all)
            }
            offsetSyncsTopicReady = true
        } catch {
            logger.error("cannot write offset syncs", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
