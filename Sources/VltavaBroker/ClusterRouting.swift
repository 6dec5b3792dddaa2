import KafkaProtocol
import VltavaCoordinator
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

    /// NOT_COORDINATOR for a request of a group or transactional id another broker of the cluster coordinates (the
    /// leader of its internal-topic partition), as Kafka answers: the client looks the coordinator up again. Nil when
    /// this broker may answer (always on a single node).
    func notCoordinatorResponse(_ request: KafkaRequestBody, apiKey: ApiKey) -> KafkaResponseBody? {
        guard let cluster else { return nil }
        let key: (topic: String, partitions: Int32, id: String)
        switch request {
        case let .joinGroup(request): key = (OffsetsTopic.name, groups.partitionCount, request.groupId)
        case let .syncGroup(request): key = (OffsetsTopic.name, groups.partitionCount, request.groupId)
        case let .heartbeat(request): key = (OffsetsTopic.name, groups.partitionCount, request.groupId)
        case let .leaveGroup(request): key = (OffsetsTopic.name, groups.partitionCount, request.groupId)
        case let .consumerGroupHeartbeat(request): key = (OffsetsTopic.name, groups.partitionCount, request.groupId)
        case let .endTxn(request): key = (TransactionStateTopic.name, transactions.partitionCount, request.transactionalId)
        case let .addOffsetsToTxn(request): key = (TransactionStateTopic.name, transactions.partitionCount, request.transactionalId)
        case let .initProducerId(request):
            guard let id = request.transactionalId, !id.isEmpty else { return nil }
            key = (TransactionStateTopic.name, transactions.partitionCount, id)
        default:
            return nil
        }
        let partition = TopicPartition(topic: key.topic, partition: OffsetsTopic.partition(for: key.id, partitionCount: key.partitions))
        // Before the internal topic exists nobody leads the partition: the coordinator creates it on first use.
        guard let leader = cluster.leadership(of: partition)?.leader, leader != cluster.localNodeId else { return nil }
        return KafkaResponseBody.errorResponse(apiKey: apiKey, errorCode: .notCoordinator)
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
