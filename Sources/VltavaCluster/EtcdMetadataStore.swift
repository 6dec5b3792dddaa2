import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import VltavaEtcd
import VltavaSecurity
import VltavaStorage

/// The cluster's metadata kept in etcd (cluster mode): topics with their replica assignments, partition
/// leadership, producer id blocks, SCRAM credentials, ACLs and client quotas under `/vltava/<cluster>/`. Reads
/// are answered from an in-memory cache fed by a watch of the prefix from the revision of the first read (read
/// again after a compaction); writes are etcd transactions guarded by the revisions the cache holds, applied to
/// the cache as soon as etcd has taken them. The protocol is synchronous, so each write blocks its thread — the
/// broker's request-handler pool — for at most `timeout`.
public final class EtcdMetadataStore: ClusterMetadataStore, ClusterView, @unchecked Sendable {
    let etcd: any EtcdClient
    public let keys: ClusterKeys
    public let localNodeId: Int32
    let timeout: Duration
    let logger: Logger
    public let clusterId: String
    private let lock = NIOLock()
    private var cache: ClusterCache
    /// Serializes this node's producer id allocation.
    let producerIdLock = NIOLock()
    var producerIdBlock: (next: Int64, limit: Int64) = (0, 0)
    private let following = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Reads the cluster's state (creating its cluster id with `proposedClusterId` when it has none yet).
    public static func open(etcd: any EtcdClient, keys: ClusterKeys, nodeId: Int32, proposedClusterId: String,
                            timeout: Duration = .seconds(6), logger: Logger) async throws(ClusterError) -> EtcdMetadataStore {
        let created: EtcdTxnResult
        do {
            created = try await etcd.txn(
                compare: [EtcdCompare(key: keys.clusterId, .createRevision(0), .equal)],
                success: [.put(key: keys.clusterId, value: Array(proposedClusterId.utf8))],
                failure: [.range(key: keys.clusterId)])
        } catch {
            throw .etcd(error)
        }
        var clusterId = proposedClusterId
        if !created.succeeded, case let .range(existing)? = created.responses.first, let kv = existing.kvs.first {
            clusterId = kv.valueText
        }
        let store = EtcdMetadataStore(etcd: etcd, keys: keys, nodeId: nodeId, clusterId: clusterId, timeout: timeout, logger: logger)
        try await store.readAll()
        return store
    }

    init(etcd: any EtcdClient, keys: ClusterKeys, nodeId: Int32, clusterId: String, timeout: Duration, logger: Logger) {
        self.etcd = etcd
        self.keys = keys
        self.localNodeId = nodeId
        self.clusterId = clusterId
        self.timeout = timeout
        self.logger = logger
        self.cache = ClusterCache(keys: keys)
    }

    /// Reads the whole prefix into the cache.
    func readAll() async throws(ClusterError) {
        let result: EtcdRangeResult
        do {
            result = try await etcd.prefix(Array(keys.prefix.utf8))
        } catch {
            throw .etcd(error)
        }
        lock.withLock { cache.reset(to: result.kvs, revision: result.revision, logger: logger) }
    }

    /// Follows etcd's changes from the cache's revision on, calling `onChange` after each batch applied (from a
    /// task: hand disk work to a thread that may block). Watches again after a lost connection and reads again
    /// after a compaction.
    public func startFollowing(onChange: @escaping @Sendable () -> Void) {
        let task = Task { [self] in
            while !Task.isCancelled {
                let start = lock.withLock { cache.revision } + 1
                do {
                    let watch = try await etcd.watch(prefix: Array(keys.prefix.utf8), startRevision: start)
                    for try await batch in watch {
                        lock.withLock { cache.apply(batch, logger: logger) }
                        onChange()
                    }
                } catch EtcdError.watchCompacted {
                    logger.notice("etcd compacted the history the watch needed: reading the cluster state again")
                    do {
                        try await readAll()
                        onChange()
                    } catch {
                        logger.warning("cannot read the cluster state", metadata: ["error": "\(error)"])
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("the watch of the cluster state ended; watching again", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        following.withLockedValue { $0 = task }
    }

    /// Stops following etcd.
    public func stopFollowing() {
        following.withLockedValue { $0?.cancel() }
    }

    // MARK: ClusterView

    public func liveBrokers() -> [ClusterBroker] {
        lock.withLock { cache.brokers.values.sorted { $0.nodeId < $1.nodeId } }
    }

    public func controllerId() -> Int32? {
        lock.withLock { cache.controller?.nodeId }
    }

    /// The controller's epoch, 0 while there is none.
    public func controllerEpoch() -> Int64 {
        lock.withLock { cache.controller?.epoch ?? 0 }
    }

    public func leadership(of partition: TopicPartition) -> PartitionLeadership? {
        lock.withLock { cache.partitions[partition] }
    }

    /// The newest pair of a key as the cache knows it.
    func cached(_ key: [UInt8]) -> EtcdKeyValue? {
        lock.withLock { cache.pairs[key] }
    }

    // MARK: Topics

    public func topics() -> [TopicMetadata] {
        lock.withLock { Array(cache.topicsByName.values) }
    }

    public func topic(named name: String) -> TopicMetadata? {
        lock.withLock { cache.topicsByName[name] }
    }

    public func topic(withId id: KafkaUUID) -> TopicMetadata? {
        lock.withLock { cache.topicsById[id] }
    }

    /// Creates the topic and the leadership of each partition in one transaction that holds only if no topic of
    /// this name exists. Without a replica assignment, each partition is given a leader among the live brokers,
    /// round robin from a random one (`PartitionPlacement`).
    public func createTopic(_ topic: TopicMetadata) throws(StorageError) {
        var topic = topic
        if topic.replicaAssignment == nil {
            let brokers = liveBrokers().map(\.nodeId)
            guard !brokers.isEmpty else { throw .metadataUnavailable("no live broker to place the partitions of \(topic.name) on") }
            topic.replicaAssignment = PartitionPlacement.roundRobin(
                partitions: Int(topic.partitionCount), brokers: brokers, start: Int.random(in: 0..<brokers.count))
        }
        let key = keys.topic(topic.name)
        let puts: [EtcdOperation] = [.put(key: key, value: ClusterJSON.encode(topic))] + partitionStates(of: topic, from: 0)
        let result = try run("creating topic \(topic.name)") { [etcd] () async throws(EtcdError) in
            try await etcd.txn(compare: [EtcdCompare(key: key, .createRevision(0), .equal)], success: puts, failure: [])
        }
        guard result.succeeded else { throw .topicExists(topic.name) }
        applyOwn(puts, at: result.revision)
    }

    /// Deletes the topic and its partitions' leadership.
    public func deleteTopic(named name: String) throws(StorageError) {
        let key = keys.topic(name)
        for _ in 0..<5 {
            guard let current = cached(key) else { return }
            let partitionPrefix = keys.partitions(of: name)
            let result = try run("deleting topic \(name)") { [etcd] () async throws(EtcdError) in
                try await etcd.txn(compare: [EtcdCompare(key: key, .modRevision(current.modRevision), .equal)],
                                   success: [.delete(key: key), .delete(key: partitionPrefix, rangeEnd: EtcdKeys.prefixEnd(partitionPrefix))],
                                   failure: [.range(key: key)])
            }
            if result.succeeded {
                let partitions = lock.withLock { cache.partitions.keys.filter { $0.topic == name } }
                lock.withLock {
                    cache.apply(deletionOf: key, at: result.revision, logger: logger)
                    for partition in partitions { cache.apply(deletionOf: keys.partition(partition), at: result.revision, logger: logger) }
                }
                return
            }
            refresh(from: result, key: key)
        }
        throw .metadataUnavailable("topic \(name) kept changing while it was being deleted")
    }

    /// Replaces the topic's configs and partition count; partitions added get a leader round robin after the last
    /// one's.
    public func updateTopic(_ topic: TopicMetadata) throws(StorageError) {
        let key = keys.topic(topic.name)
        for _ in 0..<5 {
            guard let current = cached(key), var stored = self.topic(named: topic.name) else { return }
            let oldCount = stored.partitionCount
            stored.configs = topic.configs
            var operations: [EtcdOperation] = []
            if topic.partitionCount > oldCount {
                let brokers = liveBrokers().map(\.nodeId)
                guard !brokers.isEmpty else { throw .metadataUnavailable("no live broker to place new partitions of \(topic.name) on") }
                var assignment = stored.replicaAssignment ?? []
                let last = assignment.last?.first.flatMap { brokers.firstIndex(of: $0) } ?? -1
                assignment += PartitionPlacement.roundRobin(
                    partitions: Int(topic.partitionCount - oldCount), brokers: brokers, start: (last + 1) % brokers.count)
                stored.replicaAssignment = assignment
                stored.partitionCount = topic.partitionCount
                operations = partitionStates(of: stored, from: oldCount)
            }
            operations.insert(.put(key: key, value: ClusterJSON.encode(stored)), at: 0)
            let puts = operations
            let result = try run("changing topic \(topic.name)") { [etcd] () async throws(EtcdError) in
                try await etcd.txn(compare: [EtcdCompare(key: key, .modRevision(current.modRevision), .equal)],
                                   success: puts, failure: [.range(key: key)])
            }
            if result.succeeded {
                applyOwn(puts, at: result.revision)
                return
            }
            refresh(from: result, key: key)
        }
        throw .metadataUnavailable("topic \(topic.name) kept changing while it was being changed")
    }

    /// The puts of the partitions' first leadership (leader epoch 0, ISR the leader alone), from `first` on.
    private func partitionStates(of topic: TopicMetadata, from first: Int32) -> [EtcdOperation] {
        let controllerEpoch = controllerEpoch()
        return (first..<topic.partitionCount).map { index in
            let leader = topic.replicaAssignment?[Int(index)].first ?? -1
            let state = PartitionLeadership(leader: leader, leaderEpoch: 0, isr: leader >= 0 ? [leader] : [],
                                            controllerEpoch: controllerEpoch)
            return .put(key: keys.partition(TopicPartition(topic: topic.name, partition: index)), value: ClusterJSON.encode(state))
        }
    }

    // MARK: Writing

    /// Runs an etcd call for a synchronous caller, turning its failure into the storage layer's error.
    func run<Value: Sendable>(_ operation: String, _ work: @escaping @Sendable () async throws(EtcdError) -> Value)
        throws(StorageError) -> Value {
        do {
            return try BlockingEtcd.wait(operation: operation, timeout: timeout, work)
        } catch {
            throw .metadataUnavailable("\(operation): \(error)")
        }
    }

    /// Puts this node wrote at `revision`, applied to the cache at once (the watch brings them again later).
    func applyOwn(_ operations: [EtcdOperation], at revision: Int64) {
        lock.withLock {
            for case let .put(key, value, lease, _) in operations {
                let old = cache.pairs[key]
                cache.apply(put: EtcdKeyValue(key: key, value: value, createRevision: old?.createRevision ?? revision,
                                              modRevision: revision, version: (old?.version ?? 0) + 1, lease: lease),
                            logger: logger)
            }
        }
    }

    /// After a transaction lost its guard: what its failure branch read of `key`, into the cache (its absence a
    /// deletion).
    func refresh(from result: EtcdTxnResult, key: [UInt8]) {
        lock.withLock {
            var found = false
            for case let .range(range) in result.responses {
                for kv in range.kvs where kv.key == key {
                    found = true
                    cache.apply(put: kv, logger: logger)
                }
            }
            if !found { cache.apply(deletionOf: key, at: result.revision, logger: logger) }
        }
    }
}
