import Testing
@testable import VltavaConnect

@Suite("MirrorMaker 2 records, policies, filters, offset syncs and translation")
struct MirrorMakerTests {
    // Expected bytes follow Kafka's Struct schemas field by field: STRING = INT16 length + UTF-8, INT32/INT64 big-endian.
    @Test func offsetSyncBytesAreKafkas() throws {
        let sync = OffsetSync(topic: "topic1", partition: 2, upstreamOffset: 100, downstreamOffset: 50)
        #expect(try sync.key == [0, 6] + Array("topic1".utf8) + [0, 0, 0, 2])
        #expect(try sync.value == [0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 50])
        #expect(try OffsetSync(key: sync.key, value: sync.value) == sync)
    }

    @Test func checkpointBytesAreKafkas() throws {
        let checkpoint = Checkpoint(group: "g", topic: "A.t", partition: 1, upstreamOffset: 10, downstreamOffset: 7, metadata: "m")
        #expect(try checkpoint.key == [0, 1, 0x67, 0, 3, 0x41, 0x2e, 0x74, 0, 0, 0, 1])
        #expect(try checkpoint.value == [0, 0] + [0, 0, 0, 0, 0, 0, 0, 10] + [0, 0, 0, 0, 0, 0, 0, 7] + [0, 1, 0x6d])
        #expect(try Checkpoint(key: checkpoint.key, value: checkpoint.value) == checkpoint)
    }

    @Test func heartbeatBytesAreKafkas() throws {
        let heartbeat = Heartbeat(sourceClusterAlias: "A", targetClusterAlias: "B", timestamp: 1_700_000_000_000)
        #expect(try heartbeat.key == [0, 1, 0x41, 0, 1, 0x42])
        #expect(try heartbeat.value == [0, 0, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00])
        #expect(try Heartbeat(key: heartbeat.key, value: heartbeat.value) == heartbeat)
    }

    @Test func aStringLongerThanKafkasInt16LengthIsAnErrorNotATruncation() {
        let checkpoint = Checkpoint(group: String(repeating: "g", count: 40_000), topic: "t", partition: 0,
                                    upstreamOffset: 1, downstreamOffset: 1, metadata: "")
        #expect(throws: ConnectError.self) { try checkpoint.key }
        #expect(throws: ConnectError.self) { try Heartbeat(key: [0, 1, 0x41, 0, 1, 0x42], value: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) }
    }

    @Test func truncatedRecordsAreErrorsNotCrashes() {
        #expect(throws: ConnectError.self) { try OffsetSync(key: [0, 9, 0x61], value: []) }
        #expect(throws: ConnectError.self) { try Checkpoint(key: [0, 1, 0x67, 0, 0, 0, 0, 0, 0, 0], value: [0, 1]) }
        #expect(throws: ConnectError.self) { try Heartbeat(key: [0xff, 0xff], value: []) }
    }

    @Test func defaultPolicyPrefixesAndDetectsCycles() throws {
        let policy = ReplicationPolicy()
        #expect(policy.formatRemoteTopic(source: "A", topic: "orders") == "A.orders")
        #expect(policy.topicSource("A.orders") == "A")
        #expect(policy.topicSource("orders") == nil)
        #expect(policy.upstreamTopic("B.A.orders") == "A.orders")
        #expect(policy.originalTopic("B.A.orders") == "orders")
        #expect(policy.isCycle("B.A.orders", target: "A"))
        #expect(policy.isCycle("A.orders", target: "A"))
        #expect(!policy.isCycle("B.orders", target: "A"))
        #expect(policy.offsetSyncsTopic(target: "B") == "mm2-offset-syncs.B.internal")
        #expect(policy.checkpointsTopic(source: "A") == "A.checkpoints.internal")
        #expect(policy.isHeartbeatsTopic("heartbeats") && policy.isHeartbeatsTopic("A.heartbeats"))
        for topic in ["__consumer_offsets", "mm2-offsets.A.internal", "A.checkpoints.internal", "connect-configs-internal", ".hidden"] {
            #expect(policy.isInternalTopic(topic), "\(topic)")
        }
        #expect(!policy.isInternalTopic("A.orders"))
        let underscore = try ReplicationPolicy(config: ["replication.policy.separator": "_"])
        #expect(underscore.formatRemoteTopic(source: "A", topic: "t") == "A_t")
        #expect(underscore.offsetSyncsTopic(target: "B") == "mm2-offset-syncs_B_internal")
    }

    @Test func identityPolicyKeepsNames() throws {
        let policy = try ReplicationPolicy(config: [
            "replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy", "source.cluster.alias": "A"])
        #expect(policy.formatRemoteTopic(source: "A", topic: "orders") == "orders")
        #expect(policy.formatRemoteTopic(source: "A", topic: "heartbeats") == "A.heartbeats")
        #expect(policy.topicSource("orders") == "A")
        #expect(throws: ConnectError.self) { try ReplicationPolicy(config: ["replication.policy.class": "com.example.Mine"]) }
    }

    @Test func topicAndGroupFiltersAreKafkasDefaults() throws {
        let topics = try MirrorNameFilter.topics([:])
        #expect(topics.accepts("orders"))
        for excluded in ["x.internal", "x-internal", "y.replica", "__consumer_offsets"] { #expect(!topics.accepts(excluded)) }
        let listed = try MirrorNameFilter.topics(["topics": "orders.*, pay"])
        #expect(listed.accepts("orders-eu") && listed.accepts("pay") && !listed.accepts("payments"))
        let groups = try MirrorNameFilter.groups([:])
        #expect(groups.accepts("billing") && !groups.accepts("console-consumer-123") && !groups.accepts("connect-sink"))
        #expect(throws: ConnectError.self) { try MirrorNameFilter.topics(["topics": "(unclosed"]) }
        let configs = try MirrorTopicConfigs([:])
        #expect(configs.shouldCopy("retention.ms") && configs.shouldCopy("cleanup.policy"))
        #expect(!configs.shouldCopy("min.insync.replicas") && !configs.shouldCopy("message.timestamp.type"))
    }

    @Test func sourceConnectorSkipsCyclesAndInternalTopics() throws {
        let config = try MirrorConfig(["source.cluster.alias": "A", "target.cluster.alias": "B"])
        #expect(config.shouldReplicate(topic: "orders"))
        #expect(config.shouldReplicate(topic: "C.orders"))
        #expect(!config.shouldReplicate(topic: "B.orders"))
        #expect(!config.shouldReplicate(topic: "mm2-offset-syncs.B.internal"))
        #expect(config.shouldReplicate(topic: "heartbeats"))
    }

    @Test func offsetSyncsAreWrittenAsKafkasWriterDecides() {
        var writer = OffsetSyncWriter(maxOffsetLag: 10)
        let partition = MirrorTopicPartition(topic: "t", partition: 0)
        writer.record(partition, upstream: 0, downstream: 0)
        writer.record(partition, upstream: 1, downstream: 1)
        #expect(writer.takePending().map(\.upstreamOffset) == [0])
        writer.promoteDelayed()
        #expect(writer.takePending().map(\.upstreamOffset) == [1])
        writer.record(partition, upstream: 5, downstream: 2)  // records 2...4 skipped upstream: sync at once
        #expect(writer.takePending().map(\.downstreamOffset) == [2])
        for step in Int64(1)...10 { writer.record(partition, upstream: 5 + step, downstream: 2 + step) }
        #expect(writer.takePending().isEmpty)
        writer.record(partition, upstream: 16, downstream: 13)  // 13 - (2 + 1) >= 10: too stale
        #expect(writer.takePending().map(\.downstreamOffset) == [13])
        writer.record(partition, upstream: 17, downstream: 4)  // the target went back: sync at once
        #expect(writer.takePending().map(\.downstreamOffset) == [4])
        for step in Int64(1)...25 { writer.record(partition, upstream: 17 + step, downstream: 4 + step) }
        #expect(writer.takePending().map(\.downstreamOffset) == [15, 26])  // every due sync, not only the last
    }

    @Test func translationNeverSkipsAndWaitsForTheFirstRead() {
        var store = OffsetSyncStore()
        let partition = MirrorTopicPartition(topic: "t", partition: 0)
        store.handle(OffsetSync(topic: "t", partition: 0, upstreamOffset: 0, downstreamOffset: 0))
        #expect(store.translateDownstream(partition, upstreamOffset: 0) == nil)
        store.markReadToEnd()
        #expect(store.translateDownstream(partition, upstreamOffset: 0) == 0)
        #expect(store.translateDownstream(partition, upstreamOffset: 5) == 1)
        store.handle(OffsetSync(topic: "t", partition: 0, upstreamOffset: 100, downstreamOffset: 200))
        #expect(store.translateDownstream(partition, upstreamOffset: 100) == 200)
        #expect(store.translateDownstream(partition, upstreamOffset: 150) == 201)
        #expect(store.translateDownstream(partition, upstreamOffset: 50) == 1)  // the older sync is kept
        #expect(store.translateDownstream(.init(topic: "t", partition: 1), upstreamOffset: 5) == nil)
        store.handle(OffsetSync(topic: "t", partition: 0, upstreamOffset: 10, downstreamOffset: 300))  // upstream went back
        #expect(store.translateDownstream(partition, upstreamOffset: 5) == -1)
    }

    @Test func checkpointsTranslateOnlyAcceptedTopicsWithSyncs() throws {
        var store = OffsetSyncStore()
        store.markReadToEnd()
        store.handle(OffsetSync(topic: "orders", partition: 0, upstreamOffset: 20, downstreamOffset: 20))
        let config = try MirrorConfig(["source.cluster.alias": "A", "target.cluster.alias": "B", "topics": "orders"])
        let checkpoints = MirrorCheckpointer.checkpoints(
            group: "g", committed: ["orders": [0: 30, 1: 5], "other": [0: 3]], store: store, config: config)
        #expect(checkpoints == [Checkpoint(group: "g", topic: "A.orders", partition: 0, upstreamOffset: 30, downstreamOffset: 21, metadata: "")])
    }

    @Test func tasksSplitNamesStably() {
        #expect(mirrorTaskIndex(of: "t-0", tasks: 1) == 0)
        let spread = Set((0..<50).map { mirrorTaskIndex(of: "t-\($0)", tasks: 3) })
        #expect(spread == [0, 1, 2])
        #expect(mirrorTaskIndex(of: "orders-7", tasks: 4) == mirrorTaskIndex(of: "orders-7", tasks: 4))
    }
}
