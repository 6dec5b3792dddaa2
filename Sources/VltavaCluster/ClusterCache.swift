import KafkaProtocol
import Logging
import VltavaEtcd
import VltavaStorage

/// The cluster's state as read from etcd: every key under the prefix with its revisions, and what they decode to.
/// Fed by the initial read, the watch that follows it and this node's own writes, in whatever order they arrive:
/// a change is applied only when it is newer than what the cache last saw of that key, so an old event never
/// undoes a newer write.
struct ClusterCache {
    let keys: ClusterKeys
    /// The revision of the last read or event applied.
    private(set) var revision: Int64 = 0
    private(set) var pairs: [[UInt8]: EtcdKeyValue] = [:]
    /// The revision that last changed each key (deletions included).
    private var seen: [[UInt8]: Int64] = [:]
    private(set) var brokers: [Int32: ClusterBroker] = [:]
    private(set) var controller: (nodeId: Int32, epoch: Int64)?
    private(set) var topicsByName: [String: TopicMetadata] = [:]
    private(set) var topicsById: [KafkaUUID: TopicMetadata] = [:]
    private(set) var partitions: [TopicPartition: PartitionLeadership] = [:]

    init(keys: ClusterKeys) {
        self.keys = keys
    }

    /// Replaces everything with a read of the whole prefix at `revision`.
    mutating func reset(to kvs: [EtcdKeyValue], revision: Int64, logger: Logger) {
        let gone = Set(pairs.keys).subtracting(kvs.map(\.key))
        for key in gone { apply(deletionOf: key, at: revision, logger: logger) }
        for kv in kvs { apply(put: kv, logger: logger) }
        self.revision = max(self.revision, revision)
    }

    /// Applies a batch of watch events.
    mutating func apply(_ batch: EtcdWatchBatch, logger: Logger) {
        for event in batch.events {
            switch event.kind {
            case .put: apply(put: event.kv, logger: logger)
            case .delete: apply(deletionOf: event.kv.key, at: event.kv.modRevision, logger: logger)
            }
        }
        revision = max(revision, batch.revision)
    }

    mutating func apply(put kv: EtcdKeyValue, logger: Logger) {
        guard kv.modRevision > seen[kv.key] ?? 0 else { return }
        seen[kv.key] = kv.modRevision
        pairs[kv.key] = kv
        revision = max(revision, kv.modRevision)
        do {
            try decode(kv)
        } catch {
            logger.error("ignoring a value in etcd", metadata: ["error": "\(error)"])
        }
    }

    mutating func apply(deletionOf key: [UInt8], at deletion: Int64, logger: Logger) {
        guard deletion > seen[key] ?? 0 else { return }
        seen[key] = deletion
        revision = max(revision, deletion)
        guard pairs.removeValue(forKey: key) != nil, let entry = keys.entry(key) else { return }
        switch entry {
        case let .broker(nodeId): brokers[nodeId] = nil
        case .controller: controller = nil
        case let .topic(name):
            if let old = topicsByName.removeValue(forKey: name) { topicsById[old.topicId] = nil }
        case let .partition(partition): partitions[partition] = nil
        case .document: break
        }
    }

    private mutating func decode(_ kv: EtcdKeyValue) throws(ClusterError) {
        guard let entry = keys.entry(kv.key) else { return }
        switch entry {
        case let .broker(nodeId):
            let record = try ClusterJSON.decode(BrokerRecord.self, kv.value, key: kv.key)
            brokers[nodeId] = ClusterBroker(nodeId: record.nodeId, listeners: record.listeners, rack: record.rack,
                                            epoch: kv.createRevision)
        case .controller:
            let record = try ClusterJSON.decode(ControllerRecord.self, kv.value, key: kv.key)
            controller = (record.nodeId, kv.createRevision)
        case let .topic(name):
            let topic = try ClusterJSON.decode(TopicMetadata.self, kv.value, key: kv.key)
            if let old = topicsByName[name] { topicsById[old.topicId] = nil }
            topicsByName[name] = topic
            topicsById[topic.topicId] = topic
        case let .partition(partition):
            partitions[partition] = try ClusterJSON.decode(PartitionLeadership.self, kv.value, key: kv.key)
        case .document:
            break
        }
    }
}
