import Logging
import NIOCore
import KafkaProtocol
import VltavaClient

/// The checkpoint task's state (Kafka's `MirrorCheckpointTask`): its clients, the offset syncs read so far and the
/// last checkpoints of each group. Only the worker's calls of `start`, `poll` and `stop`, one at a time, touch it.
final class MirrorCheckpointer: @unchecked Sendable {
    let config: MirrorConfig
    let groupFilter: MirrorNameFilter
    let source: KafkaClient
    let target: KafkaClient
    let syncsClient: KafkaClient
    let taskIndex: Int
    let taskCount: Int
    let emitCheckpoints: Bool
    let emitInterval: Duration
    let syncGroupOffsets: Bool
    let groupSyncInterval: Duration
    let checkpointsReplicationFactor: Int16
    let logger = Logger(label: "vltava-connect")

    private var store = OffsetSyncStore()
    /// The next offset to read of the offset-syncs topic, and where its end was when the task started.
    private var syncsPosition: Int64?
    private var syncsEndAtStart: Int64?
    private var checkpointsByGroup: [String: [Checkpoint]] = [:]
    private var nextEmit = ContinuousClock.now
    private var nextGroupSync = ContinuousClock.now
    private var checkpointsTopicReady = false

    init(config properties: [String: String]) throws(ConnectError) {
        config = try MirrorConfig.validate(properties)
        groupFilter = try MirrorNameFilter.groups(properties)
        taskIndex = try ConnectConfig.int(properties, "task.index", default: 0, minimum: 0)
        taskCount = try ConnectConfig.int(properties, "task.count", default: 1, minimum: 1)
        emitCheckpoints = try ConnectConfig.boolean(properties, "emit.checkpoints.enabled", default: true)
        emitInterval = .seconds(try config.int("emit.checkpoints.interval.seconds", default: 60, minimum: 0))
        syncGroupOffsets = try ConnectConfig.boolean(properties, "sync.group.offsets.enabled", default: false)
        groupSyncInterval = .seconds(try config.int("sync.group.offsets.interval.seconds", default: 60, minimum: 0))
        checkpointsReplicationFactor = try config.replicationFactor("checkpoints.topic.replication.factor")
        source = try config.sourceClient("checkpoint-source-\(taskIndex)")
        target = try config.targetClient("checkpoint-target-\(taskIndex)")
        syncsClient = try config.offsetSyncsClient("offset-syncs-consumer-\(taskIndex)")
    }

    func close() {
        let clients = [source, target, syncsClient]
        _ = try? MirrorCall.run("closing") { for client in clients { await client.close() } }
    }

    func poll() throws(ConnectError) -> [ConnectRecord] {
        readOffsetSyncs()
        var records: [ConnectRecord] = []
        if store.readToEnd, ContinuousClock.now >= nextEmit {
            records = checkpointGroups()
            nextEmit = ContinuousClock.now + emitInterval
        }
        if syncGroupOffsets, store.readToEnd, ContinuousClock.now >= nextGroupSync {
            commitTranslatedOffsets()
            nextGroupSync = ContinuousClock.now + groupSyncInterval
        }
        if records.isEmpty { mirrorIdleWait() }
        return emitCheckpoints ? records : []
    }

    /// Reads the offset syncs written since the last poll into the store; the first time, up to the end the topic
    /// had then, after which translation may start (Kafka's `OffsetSyncStore.start`).
    private func readOffsetSyncs() {
        let topic = config.offsetSyncsTopic
        let client = syncsClient
        do {
            if syncsPosition == nil {
                let bounds = try MirrorCall.run("looking up \(topic)") { () async throws -> (Int64, Int64)? in
                    guard try await client.refreshMetadata(topics: [topic]).topic(named: topic)?.errorCode == ErrorCode.none else { return nil }
                    let start = try await client.listOffsets(topic: topic, partitions: [0], spec: .earliest)[0] ?? 0
                    let end = try await client.listOffsets(topic: topic, partitions: [0], spec: .latest)[0] ?? 0
                    return (start, end)
                }
                guard let (start, end) = bounds else {
                    store.markReadToEnd()  // no syncs written yet: nothing to wait for
                    return
                }
                (syncsPosition, syncsEndAtStart) = (start, end)
            }
            while let position = syncsPosition {
                let fetched = try MirrorCall.run("reading \(topic)") {
                    try await client.fetch(topic: topic, offsets: [0: position], maxWait: .milliseconds(0))
                }
                guard let partition = fetched.first else { break }
                for record in partition.records {
                    guard let key = record.key, let value = record.value,
                          let sync = try? OffsetSync(key: Array(key.readableBytesView), value: Array(value.readableBytesView)) else { continue }
                    store.handle(sync)
                }
                syncsPosition = partition.nextOffset
                if let end = syncsEndAtStart, partition.nextOffset >= end {
                    store.markReadToEnd()
                    syncsEndAtStart = nil
                }
                if partition.records.isEmpty || partition.nextOffset >= partition.highWatermark { break }
            }
            if syncsEndAtStart == nil { store.markReadToEnd() }
        } catch {
            syncsPosition = nil  // a topic created since, or a log start moved: looked up again next time
            logger.warning("cannot read offset syncs", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }

    /// Checkpoints of this task's groups: their committed offsets on the source, translated.
    private func checkpointGroups() -> [ConnectRecord] {
        let source = self.source
        let groups: [String]
        do {
            groups = try MirrorCall.run("listing the groups of \(config.sourceAlias)") { try await source.listGroups().map(\.groupId) }
        } catch {
            logger.warning("cannot list consumer groups", metadata: ["cluster": "\(config.sourceAlias)", "error": "\(error)"])
            return []
        }
        let mine = groups.filter { groupFilter.accepts($0) && mirrorTaskIndex(of: $0, tasks: taskCount) == taskIndex }.sorted()
        let now = WallClock.milliseconds()
        var records: [ConnectRecord] = []
        for group in mine {
            guard let committed = try? MirrorCall.run("reading offsets of \(group)", { try await source.committedOffsets(group: group) }) else { continue }
            let checkpoints = MirrorCheckpointer.checkpoints(group: group, committed: committed, store: store, config: config)
            checkpointsByGroup[group] = checkpoints
            for checkpoint in checkpoints {
                let key: [UInt8], value: [UInt8]
                do {
                    (key, value) = (try checkpoint.key, try checkpoint.value)
                } catch {
                    logger.warning("cannot write a checkpoint", metadata: ["group": "\(group)", "error": "\(error)"])
                    continue
                }
                records.append(ConnectRecord(
                    topic: config.checkpointsTopic, kafkaPartition: 0, keySchema: .bytes, key: .bytes(key),
                    valueSchema: .bytes, value: .bytes(value), timestamp: now,
                    sourcePartition: checkpoint.sourcePartition, sourceOffset: .map([.init(key: .string("offset"), value: .int64(0))])))
            }
        }
        if !records.isEmpty, emitCheckpoints, !checkpointsTopicReady {
            let target = self.target
            let topic = config.checkpointsTopic
            let replicationFactor = checkpointsReplicationFactor
            do {
                try MirrorCall.run("creating \(topic)") {
                    try await MirrorTopicSync.ensureInternalTopic(target, name: topic, replicationFactor: replicationFactor)
                }
                checkpointsTopicReady = true
            } catch {
                logger.warning("cannot create the checkpoints topic", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
        }
        return records
    }

    /// Kafka's `checkpointsForGroup`: partitions of topics the filter accepts, with an offset sync, translated to a
    /// target offset of at least 0.
    static func checkpoints(group: String, committed: [String: [Int32: Int64]], store: OffsetSyncStore,
                            config: MirrorConfig) -> [Checkpoint] {
        var checkpoints: [Checkpoint] = []
        for (topic, partitions) in committed.sorted(by: { $0.key < $1.key }) where config.topicFilter.accepts(topic) {
            for (partition, upstream) in partitions.sorted(by: { $0.key < $1.key }) {
                guard let downstream = store.translateDownstream(.init(topic: topic, partition: partition), upstreamOffset: upstream),
                      downstream >= 0 else { continue }
                checkpoints.append(Checkpoint(
                    group: group, topic: config.policy.formatRemoteTopic(source: config.sourceAlias, topic: topic),
                    partition: partition, upstreamOffset: upstream, downstreamOffset: downstream, metadata: ""))
            }
        }
        return checkpoints
    }

    /// Kafka's `syncGroupOffset`: for groups with no active member on the target (empty, or not there at all),
    /// commits each translated offset that is ahead of what the group has committed there.
    private func commitTranslatedOffsets() {
        let target = self.target
        for (group, checkpoints) in checkpointsByGroup where !checkpoints.isEmpty {
            do {
                try MirrorCall.run("committing offsets of \(group) on \(config.targetAlias)") {
                    let state = try await target.describeGroup(group).state
                    guard state == "Empty" || state == "Dead" else { return }
                    let current = try await target.committedOffsets(group: group)
                    var commits: [String: [Int32: Int64]] = [:]
                    for checkpoint in checkpoints {
                        if let committed = current[checkpoint.topic]?[checkpoint.partition], committed >= checkpoint.downstreamOffset { continue }
                        commits[checkpoint.topic, default: [:]][checkpoint.partition] = checkpoint.downstreamOffset
                    }
                    for (topic, offsets) in commits { try await target.commitOffsets(group: group, topic: topic, offsets: offsets) }
                }
            } catch {
                logger.warning("cannot sync group offsets", metadata: ["group": "\(group)", "error": "\(error)"])
            }
        }
    }
}
