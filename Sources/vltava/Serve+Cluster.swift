import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Logging
import VltavaBroker
import VltavaCluster
import VltavaEtcd
import VltavaStorage

extension Serve {
    /// Cluster mode (`etcd.endpoints` set): joins the cluster named `cluster.name` in etcd, registered with the
    /// broker's listeners at their advertised addresses.
    static func joinCluster(configuration: BrokerConfiguration, proposedClusterId: String, logger: Logger) async throws -> ClusterNode {
        let listeners: [BrokerListener]
        let etcd: EtcdGatewayClient
        do {
            listeners = try configuration.clusterListeners(hostName: hostName())
            etcd = try EtcdGatewayClient(endpoints: configuration.etcdEndpoints)
        } catch {
            throw ValidationError("\(error)")
        }
        let broker = ClusterBroker(nodeId: configuration.nodeId, listeners: listeners, rack: configuration.rack)
        let ttl = (configuration.brokerSessionTimeoutMs + 999) / 1000
        logger.info("joining the cluster", metadata: [
            "cluster": "\(configuration.clusterName)", "etcd": "\(configuration.etcdEndpoints.joined(separator: ","))",
            "leaseTTLSeconds": "\(ttl)",
        ])
        do {
            return try await ClusterNode.join(
                etcd: etcd, clusterName: configuration.clusterName, broker: broker, proposedClusterId: proposedClusterId,
                settings: BrokerMembership.Settings(ttlSeconds: ttl), logger: logger)
        } catch {
            throw ValidationError("cannot join cluster \(configuration.clusterName): \(error)")
        }
    }

    /// This machine's host name, advertised for listeners bound to every address.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
