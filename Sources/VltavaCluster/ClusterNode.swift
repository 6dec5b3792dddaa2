import Logging
import NIOConcurrencyHelpers
import NIOPosix
import VltavaEtcd
import VltavaStorage

/// One broker's part of a cluster on etcd: the metadata store its broker reads and writes, and its membership
/// (registration, keepalive, controller election). Started before the logs are opened, so that the broker opens
/// only the partitions it leads.
public final class ClusterNode: Sendable {
    public let store: EtcdMetadataStore
    public let membership: BrokerMembership
    private let reconcileScheduled = NIOLockedValueBox(false)

    /// Connects to etcd, reads the cluster's state and registers the broker; refuses
    /// (`ClusterError.duplicateBroker`) when a live broker holds its node id past the registration wait.
    public static func join(etcd: any EtcdClient, clusterName: String, broker: ClusterBroker, proposedClusterId: String,
                            settings: BrokerMembership.Settings, logger: Logger) async throws(ClusterError) -> ClusterNode {
        let keys = ClusterKeys(clusterName: clusterName)
        let store = try await EtcdMetadataStore.open(etcd: etcd, keys: keys, nodeId: broker.nodeId,
                                                     proposedClusterId: proposedClusterId, logger: logger)
        let membership = BrokerMembership(etcd: etcd, keys: keys, broker: broker, settings: settings, logger: logger)
        try await membership.register()
        // Read again: the registration (and what others did meanwhile) is in the cache before the logs open.
        try await store.readAll()
        return ClusterNode(store: store, membership: membership)
    }

    init(store: EtcdMetadataStore, membership: BrokerMembership) {
        self.store = store
        self.membership = membership
    }

    /// Follows etcd and keeps the broker's open logs in line with what it leads (`reconcile`, run on `pool`, one
    /// run at a time for any number of changes meanwhile), and starts the keepalive and the controller election.
    public func start(pool: NIOThreadPool, reconcile: @escaping @Sendable () -> Void) async {
        store.startFollowing { [reconcileScheduled] in
            let schedule = reconcileScheduled.withLockedValue { scheduled -> Bool in
                defer { scheduled = true }
                return !scheduled
            }
            guard schedule else { return }
            pool.submit { _ in
                reconcileScheduled.withLockedValue { $0 = false }
                reconcile()
            }
        }
        await membership.start()
    }

    /// Stops following etcd and revokes the broker's lease (its registration, and the controller key if it held it,
    /// go at once).
    public func leave() async {
        store.stopFollowing()
        await membership.shutdown()
    }
}
