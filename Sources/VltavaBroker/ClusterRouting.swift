import KafkaProtocol
import VltavaStorage

/// Cluster mode in the handlers: who leads a partition, where the other brokers are.
extension Broker {
    /// The partition's leadership when the cluster knows it and another broker leads it (or nobody does).
    func ledElsewhere(_ partition: TopicPartition) -> PartitionLeadership? {
        guard let cluster, let leadership = cluster.leadership(of: partition), leadership.leader != cluster.localNodeId else {
            return nil
        }
        return leadership
    }

    /// A broker as clients reach it on one listener.
    struct BrokerEndpoint {
        var nodeId: Int32
        var host: String
        var port: Int32
        var rack: String?
    }

    /// The brokers to tell a client about, at their address on the listener it came in on: this node alone on a
    /// single node, the live brokers in a cluster (one without that listener is left out, as Kafka does).
    func brokerEndpoints(for connection: ConnectionContext) -> [BrokerEndpoint] {
        guard let cluster else {
            let endpoint = advertisedEndpoint(for: connection)
            return [BrokerEndpoint(nodeId: nodeId, host: endpoint.host, port: endpoint.port, rack: nil)]
        }
        return cluster.liveBrokers().compactMap { broker in
            guard let listener = broker.listener(named: connection.listenerName) else { return nil }
            return BrokerEndpoint(nodeId: broker.nodeId, host: listener.host, port: listener.port, rack: broker.rack)
        }
    }

    /// The controller's node id for clients: this node on a single node, -1 while a cluster has none.
    var controllerNodeId: Int32 {
        guard let cluster else { return nodeId }
        return cluster.controllerId() ?? -1
    }

    /// Reads the ACLs and client quotas from the metadata store again (in a cluster, after another broker changed
    /// them).
    public func reloadSecurityMetadata() {
        authorization.reload(metadata.acls())
        quotas.replace(metadata.clientQuotas())
    }

    /// The leader of a partition another broker leads, with its address, for KIP-951's fields of Produce and Fetch
    /// answers (the client goes there without asking Metadata first).
    func currentLeader(of partition: TopicPartition, connection: ConnectionContext) -> (PartitionLeadership, BrokerEndpoint?)? {
        guard let leadership = ledElsewhere(partition) else { return nil }
        return (leadership, brokerEndpoints(for: connection).first { $0.nodeId == leadership.leader })
    }
}

extension BrokerConfiguration {
    /// The listeners a broker registers in a cluster, with their security protocols: each broker listener at its
    /// advertised address, else at its own, a wildcard host replaced by `hostName`.
    public func clusterListeners(hostName: String) throws(ConfigurationError) -> [BrokerListener] {
        try brokerListeners.map { (listener) throws(ConfigurationError) in
            let advertised = advertisedListeners.first { $0.name == listener.name }
            var host = advertised?.host ?? listener.host
            if ["", "0.0.0.0", "::"].contains(host) { host = hostName }
            return BrokerListener(name: listener.name, host: host, port: Int32(advertised?.port ?? listener.port),
                                  securityProtocol: try securityProtocol(of: listener).rawValue)
        }
    }
}
