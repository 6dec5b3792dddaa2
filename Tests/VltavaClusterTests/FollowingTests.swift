import Logging
import NIOPosix
import Testing
import VltavaCluster
import VltavaEtcd
import VltavaStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct FollowingTests {
    let keys = ClusterKeys(clusterName: "follow")

    func store(_ etcd: InMemoryEtcd, node: Int32) async throws -> EtcdMetadataStore {
        try await EtcdMetadataStore.open(etcd: etcd, keys: keys, nodeId: node, proposedClusterId: "c", logger: testLogger)
    }

    func registerBrokers(_ etcd: InMemoryEtcd, _ ids: [Int32]) async throws {
        for id in ids {
            try await BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(id), settings: .init(ttlSeconds: 60),
                                       logger: testLogger).register()
        }
    }

    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive { try work() }
    }

    @Test func aFollowerReadsEverythingAgainAfterACompaction() async throws {
        let etcd = InMemoryEtcd()
        try await registerBrokers(etcd, [1])
        let one = try await store(etcd, node: 1)
        let two = try await store(etcd, node: 2)
        one.startFollowing {}
        try await blocking { try two.createTopic(TopicMetadata(name: "gone", topicId: .random(), partitionCount: 1, configs: [:])) }
        #expect(await eventually { one.topic(named: "gone") != nil })
        one.stopFollowing()
        try await Task.sleep(for: .milliseconds(50))
        // While it does not follow: a deletion and a creation, then the history they are in is compacted away.
        try await blocking { try two.deleteTopic(named: "gone") }
        try await blocking { try two.createTopic(TopicMetadata(name: "new", topicId: .random(), partitionCount: 2, configs: [:])) }
        let now = try await etcd.get(keys.topic("new"))?.modRevision ?? 0
        try await etcd.compact(revision: now)
        #expect(one.topic(named: "gone") != nil)
        one.startFollowing {}
        #expect(await eventually { one.topic(named: "new")?.partitionCount == 2 && one.topic(named: "gone") == nil })
        #expect(one.leadership(of: TopicPartition(topic: "gone", partition: 0)) == nil)
        #expect(one.leadership(of: TopicPartition(topic: "new", partition: 1))?.leader == 1)
        one.stopFollowing()
    }

    @Test func eachBrokerOpensOnlyThePartitionsItLeads() async throws {
        let etcd = InMemoryEtcd()
        try await registerBrokers(etcd, [1, 2])
        let mine = try await store(etcd, node: 1)
        let other = try await store(etcd, node: 2)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vltava-cluster-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let logs = try await blocking {
            try LogManager(dataDirectory: folder, metadata: mine, logger: testLogger, clock: { 0 },
                           hostsPartition: { mine.leadsLocally($0) })
        }
        mine.startFollowing { logs.reconcileWithMetadata() }
        // Created through the other broker: this one opens its half when it learns of it.
        try await blocking { try other.createTopic(TopicMetadata(name: "spread", topicId: .random(), partitionCount: 4, configs: [:])) }
        #expect(await eventually { (0..<4).filter { logs.log(topic: "spread", partition: $0) != nil }.count == 2 })
        for partition: Int32 in 0..<4 {
            let leads = mine.leadership(of: TopicPartition(topic: "spread", partition: partition))?.leader == 1
            #expect((logs.log(topic: "spread", partition: partition) != nil) == leads)
            #expect(FileManager.default.fileExists(atPath: "\(folder)/spread-\(partition)") == leads)
        }
        // Created here: the same split, opened at once.
        let created = try await blocking { try logs.createTopic(name: "local", partitions: 4, configs: [:]) }
        #expect(created.replicaAssignment?.count == 4)
        #expect((0..<4).filter { logs.log(topic: "local", partition: $0) != nil }.count == 2)
        // Deleted through the other broker: this one deletes its folders.
        try await blocking { try other.deleteTopic(named: "spread") }
        #expect(await eventually { (0..<4).allSatisfy { !FileManager.default.fileExists(atPath: "\(folder)/spread-\($0)") } })
        #expect(logs.log(topic: "spread", partition: 0) == nil && logs.log(topic: "spread", partition: 1) == nil)
        mine.stopFollowing()
        logs.shutdown()
    }
}
