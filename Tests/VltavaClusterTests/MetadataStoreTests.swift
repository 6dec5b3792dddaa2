import KafkaProtocol
import NIOPosix
import Testing
import VltavaCluster
import VltavaEtcd
import VltavaSecurity
import VltavaStorage

@Suite struct MetadataStoreTests {
    let keys = ClusterKeys(clusterName: "test")

    /// Three registered brokers and a store for node 1 and one for node 2, both following etcd.
    func cluster() async throws -> (InMemoryEtcd, EtcdMetadataStore, EtcdMetadataStore) {
        let etcd = InMemoryEtcd()
        for id: Int32 in [1, 2, 3] {
            let membership = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(id), settings: .init(ttlSeconds: 60),
                                              logger: testLogger)
            try await membership.register()
        }
        let one = try await EtcdMetadataStore.open(etcd: etcd, keys: keys, nodeId: 1, proposedClusterId: "first", logger: testLogger)
        let two = try await EtcdMetadataStore.open(etcd: etcd, keys: keys, nodeId: 2, proposedClusterId: "second", logger: testLogger)
        one.startFollowing {}
        two.startFollowing {}
        return (etcd, one, two)
    }

    /// Runs synchronous store calls on a thread that may block, as the broker's request handlers do (blocking the
    /// concurrency pool would starve the etcd calls they wait for).
    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { try work() }
    }

    @Test func placementIsRoundRobin() {
        #expect(PartitionPlacement.roundRobin(partitions: 6, brokers: [1, 2, 3], start: 1) == [[2], [3], [1], [2], [3], [1]])
        #expect(PartitionPlacement.roundRobin(partitions: 2, brokers: [5], start: 0) == [[5], [5]])
    }

    @Test func aTopicsPartitionsAreSpreadOverTheLiveBrokersAndSeenByOthers() async throws {
        let (etcd, one, two) = try await cluster()
        #expect(one.clusterId == "first")
        #expect(two.clusterId == "first")
        #expect(one.liveBrokers().map(\.nodeId) == [1, 2, 3])
        let topic = TopicMetadata(name: "orders", topicId: .random(), partitionCount: 6, configs: ["retention.ms": "1000"])
        try await blocking { try one.createTopic(topic) }
        let stored = try #require(one.topic(named: "orders"))
        let leaders = (0..<6).compactMap { one.leadership(of: TopicPartition(topic: "orders", partition: $0))?.leader }
        #expect(leaders.count == 6)
        #expect(Dictionary(grouping: leaders, by: { $0 }).mapValues(\.count) == [1: 2, 2: 2, 3: 2])
        #expect(stored.replicaAssignment == leaders.map { [$0] })
        let first = try #require(one.leadership(of: TopicPartition(topic: "orders", partition: 0)))
        #expect(first.isr == [first.leader] && first.leaderEpoch == 0)
        #expect(await eventually { two.topic(withId: topic.topicId)?.name == "orders" })
        #expect(await eventually { two.leadership(of: TopicPartition(topic: "orders", partition: 5)) != nil })
        #expect(two.leadsLocally(TopicPartition(topic: "orders", partition: Int32(leaders.firstIndex(of: 2) ?? 0))))

        await #expect(throws: StorageError.self) { try await blocking { try two.createTopic(topic) } }

        try await blocking { try two.updateTopic(TopicMetadata(name: "orders", topicId: topic.topicId, partitionCount: 9, configs: [:])) }
        #expect(await eventually { one.topic(named: "orders")?.partitionCount == 9 && one.topic(named: "orders")?.configs == [:] })
        #expect(one.leadership(of: TopicPartition(topic: "orders", partition: 8)) != nil)

        try await blocking { try one.deleteTopic(named: "orders") }
        #expect(one.topic(named: "orders") == nil)
        #expect(try await etcd.prefix(keys.partitions(of: "orders")).kvs.isEmpty)
        #expect(await eventually { two.topic(named: "orders") == nil && two.leadership(of: TopicPartition(topic: "orders", partition: 0)) == nil })
    }

    @Test func producerIdBlocksAreNeverHandedOutTwice() async throws {
        let (_, one, two) = try await cluster()
        let fromOne = try await blocking { try (0..<3).map { _ in try one.allocateProducerId() } }
        let fromTwo = try await blocking { try two.allocateProducerId() }
        #expect(fromOne == [0, 1, 2])
        #expect(fromTwo == 1000)
    }

    @Test func securityChangesReachTheOtherBrokers() async throws {
        let (_, one, two) = try await cluster()
        let credential = ScramCredential(salt: [1, 2], storedKey: [3], serverKey: [4], iterations: 4096)
        try await blocking {
            try one.alterScramCredentials(upserting: [ScramCredentialChange(user: "alice", mechanism: .sha256, credential: credential)],
                                          deleting: [])
        }
        #expect(await eventually { two.scramCredential(user: "alice", mechanism: .sha256) == credential })
        let acl = AclBinding(resourceType: .topic, resourceName: "orders", patternType: .literal, principal: "User:alice",
                             host: "*", operation: .read, permission: .allow)
        try await blocking { try two.alterAcls(adding: [acl], removing: []) }
        try await blocking { try one.alterAcls(adding: [acl], removing: []) }
        #expect(await eventually { one.acls() == [acl] })
        let entity = try #require(ClientQuotaEntity([.init(type: "user", name: "alice")]))
        try await blocking { try one.alterClientQuotas([ClientQuotaChange(entity: entity, set: [.producerByteRate: 1024])]) }
        #expect(await eventually { two.clientQuotas()[entity]?[.producerByteRate] == 1024 })
    }

    @Test func aStalePartitionStateWriterIsRefused() async throws {
        let (etcd, one, _) = try await cluster()
        try await blocking { try one.createTopic(TopicMetadata(name: "t", topicId: .random(), partitionCount: 1, configs: [:])) }
        let writer = PartitionStateWriter(etcd: etcd, keys: keys)
        let partition = TopicPartition(topic: "t", partition: 0)
        let (state, readRevision) = try #require(try await writer.read(partition))
        var moved = state
        moved.leaderEpoch += 1
        let newRevision = try #require(try await writer.write(moved, of: partition, expectedModRevision: readRevision))
        // A writer still holding the first read loses.
        var stale = state
        stale.leader = 99
        #expect(try await writer.write(stale, of: partition, expectedModRevision: readRevision) == nil)
        #expect(try await writer.read(partition)?.0 == moved)
        #expect(try await writer.write(moved, of: partition, expectedModRevision: newRevision) != nil)
        #expect(await eventually { one.leadership(of: partition)?.leaderEpoch == 1 })
    }
}
