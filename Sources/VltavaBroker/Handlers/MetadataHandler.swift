import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// The address clients should use for this node on the listener a request came in on.
    func advertisedEndpoint(for connection: ConnectionContext) -> (host: String, port: Int32) {
        if let advertised = configuration.advertisedListeners.first(where: { $0.name == connection.listenerName }) {
            return (advertised.host, Int32(advertised.port))
        }
        return (connection.localHost, Int32(connection.localPort))
    }

    /// Metadata: this node as the only broker, leader of every partition; topics asked for are auto-created
    /// when the broker and the request allow it (and the principal may CREATE them). With ACLs, a listing of every
    /// topic leaves out those the principal may not DESCRIBE, and such a topic asked for by name gets
    /// TOPIC_AUTHORIZATION_FAILED.
    func handleMetadata(_ request: MetadataRequest, context: RequestContext) -> MetadataResponse {
        var response = MetadataResponse()
        response.brokers = brokerEndpoints(for: context.connection).map {
            MetadataResponse.MetadataResponseBroker(nodeId: $0.nodeId, host: $0.host, port: $0.port, rack: $0.rack)
        }
        response.clusterId = metadata.clusterId
        response.controllerId = controllerNodeId
        if request.includeClusterAuthorizedOperations && context.version >= 8 && context.version <= 10 {
            response.clusterAuthorizedOperations = authorizedOperations(context, .cluster, clusterResourceName, among: Self.clusterOperations)
        }
        response.topics = metadataTopics(request, context: context)
        if request.includeTopicAuthorizedOperations && context.version >= 8 {
            for index in response.topics.indices where response.topics[index].errorCode == 0 {
                response.topics[index].topicAuthorizedOperations = authorizedOperations(
                    context, .topic, response.topics[index].name ?? "", among: Self.topicOperations)
            }
        }
        return response
    }

    private func metadataTopics(_ request: MetadataRequest, context: RequestContext) -> [MetadataResponse.MetadataResponseTopic] {
        // Version 0 has no null topic list: an empty one means every topic.
        guard let requestedTopics = request.topics, context.version > 0 || !requestedTopics.isEmpty else {
            return metadata.topics().filter { authorized(context, .describe, .topic, $0.name) }
                .sorted { $0.name < $1.name }.map { describe($0) }
        }
        let allowCreate = context.version < 4 || request.allowAutoTopicCreation
        // Auto-creation adds at most as many partitions per request as CreateTopics may.
        var creationBudget = Self.maximumPartitionsPerRequest
        var topics: [MetadataResponse.MetadataResponseTopic] = []
        // Each topic once, as Kafka does (it takes the request's topics as a set): a topic named 100 000 times must not
        // make an answer of gigabytes.
        var seenNames: Set<String> = []
        var seenIds: Set<KafkaUUID> = []
        for requested in requestedTopics {
            if let name = requested.name, !name.isEmpty {
                guard seenNames.insert(name).inserted else { continue }
            } else if !seenIds.insert(requested.topicId).inserted {
                continue
            }
            var name = requested.name
            // The Java client asks for topics by id with an empty name, not a null one: the id decides, as in Kafka.
            if requested.topicId != .zero, name == nil || name == "" {
                name = topic(withId: requested.topicId)?.name
                if name == nil {
                    topics.append(.init(errorCode: ErrorCode.unknownTopicId.rawValue, name: nil, topicId: requested.topicId))
                    continue
                }
            }
            guard let name else { continue }
            if !authorized(context, .describe, .topic, name) {
                topics.append(.init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name))
            } else if Self.topicNameProblem(name) != nil {
                topics.append(.init(errorCode: ErrorCode.invalidTopicException.rawValue, name: name))
            } else if let topic = metadata.topic(named: name) {
                topics.append(describe(topic))
            } else if allowCreate && (authorizedOnCluster(context, .create) || authorized(context, .create, .topic, name)),
                      let created = autoCreateTopic(name, budget: &creationBudget) {
                topics.append(describe(created))
            } else {
                topics.append(.init(errorCode: ErrorCode.unknownTopicOrPartition.rawValue, name: name))
            }
        }
        return topics
    }

    private func describe(_ topic: TopicMetadata) -> MetadataResponse.MetadataResponseTopic {
        if let cluster { return describe(topic, in: cluster) }
        return MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: topic.name, topicId: topic.topicId, isInternal: topic.name.hasPrefix("__"),
            partitions: (0..<topic.partitionCount).map { partition in
                let offline = logs.isOffline(TopicPartition(topic: topic.name, partition: partition))
                return MetadataResponse.MetadataResponsePartition(
                    errorCode: offline ? ErrorCode.kafkaStorageError.rawValue : 0, partitionIndex: partition,
                    leaderId: nodeId, leaderEpoch: 0, replicaNodes: [nodeId], isrNodes: offline ? [] : [nodeId],
                    offlineReplicas: offline ? [nodeId] : [])
            })
    }

    /// A topic in a cluster: each partition's leader, replicas and ISR as etcd holds them; a partition whose leader
    /// is not live is LEADER_NOT_AVAILABLE with leader -1 and its dead replicas offline.
    private func describe(_ topic: TopicMetadata, in cluster: any ClusterView) -> MetadataResponse.MetadataResponseTopic {
        let live = Set(cluster.liveBrokers().map(\.nodeId))
        return MetadataResponse.MetadataResponseTopic(
            errorCode: 0, name: topic.name, topicId: topic.topicId, isInternal: topic.name.hasPrefix("__"),
            partitions: (0..<topic.partitionCount).map { partition in
                let key = TopicPartition(topic: topic.name, partition: partition)
                guard let leadership = cluster.leadership(of: key) else {
                    return MetadataResponse.MetadataResponsePartition(
                        errorCode: ErrorCode.leaderNotAvailable.rawValue, partitionIndex: partition, leaderId: -1, leaderEpoch: -1)
                }
                let replicas = topic.replicaAssignment.flatMap { $0.indices.contains(Int(partition)) ? $0[Int(partition)] : nil }
                    ?? [leadership.leader]
                let leaderLive = live.contains(leadership.leader)
                let storageOffline = leadership.leader == cluster.localNodeId && logs.isOffline(key)
                let errorCode: ErrorCode? = !leaderLive ? .leaderNotAvailable : storageOffline ? .kafkaStorageError : nil
                return MetadataResponse.MetadataResponsePartition(
                    errorCode: errorCode?.rawValue ?? 0, partitionIndex: partition, leaderId: leaderLive ? leadership.leader : -1,
                    leaderEpoch: leadership.leaderEpoch, replicaNodes: replicas,
                    isrNodes: leadership.isr.filter { live.contains($0) && !storageOffline },
                    offlineReplicas: replicas.filter { !live.contains($0) || (storageOffline && $0 == leadership.leader) })
            })
    }
}
