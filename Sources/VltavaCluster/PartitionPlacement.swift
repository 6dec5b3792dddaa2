import VltavaEtcd
import VltavaStorage

/// Where new partitions go: one replica each for now, leaders round robin over the live brokers.
public enum PartitionPlacement {
    /// The replicas of `partitions` new partitions: partition i on `brokers[(start + i) % count]`.
    public static func roundRobin(partitions: Int, brokers: [Int32], start: Int) -> [[Int32]] {
        guard !brokers.isEmpty else { return Array(repeating: [], count: partitions) }
        return (0..<partitions).map { [brokers[(start + $0) % brokers.count]] }
    }
}

/// Changes of one partition's leadership, only by compare-and-swap on the mod revision the writer read: a writer
/// that read an older state (a controller that lost its place, a broker that was paused) is refused.
public struct PartitionStateWriter: Sendable {
    let etcd: any EtcdClient
    let keys: ClusterKeys

    public init(etcd: any EtcdClient, keys: ClusterKeys) {
        self.etcd = etcd
        self.keys = keys
    }

    /// The partition's leadership and the mod revision to guard a change with; nil when it has none.
    public func read(_ partition: TopicPartition) async throws(ClusterError) -> (PartitionLeadership, modRevision: Int64)? {
        let key = keys.partition(partition)
        let kv: EtcdKeyValue?
        do {
            kv = try await etcd.get(key)
        } catch {
            throw .etcd(error)
        }
        guard let kv else { return nil }
        return (try ClusterJSON.decode(PartitionLeadership.self, kv.value, key: key), kv.modRevision)
    }

    /// Writes `state` if the partition's leadership is still at `expectedModRevision`; the new mod revision, or nil
    /// when another writer changed it first.
    public func write(_ state: PartitionLeadership, of partition: TopicPartition, expectedModRevision: Int64)
        async throws(ClusterError) -> Int64? {
        let key = keys.partition(partition)
        let result: EtcdTxnResult
        do {
            result = try await etcd.txn(compare: [EtcdCompare(key: key, .modRevision(expectedModRevision), .equal)],
                                        success: [.put(key: key, value: ClusterJSON.encode(state))], failure: [])
        } catch {
            throw .etcd(error)
        }
        return result.succeeded ? result.revision : nil
    }
}
