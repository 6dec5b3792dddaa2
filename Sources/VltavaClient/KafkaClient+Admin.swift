import KafkaProtocol
import NIOCore

extension KafkaClient {
    /// Sends an admin request to the controller when the metadata names one, else to any broker; a
    /// NOT_CONTROLLER answer (checked by `isNotController`) refreshes the metadata and tries once more.
    private func sendToController<Request: KafkaRequestMessage>(
        _ request: Request, timeout: TimeAmount? = nil, isNotController: (Request.Response) -> Bool
    ) async throws(KafkaClientError) -> Request.Response {
        var metadata: ClusterMetadata
        if let known = self.metadata {
            metadata = known
        } else {
            metadata = try await refreshMetadata(topics: [])
        }
        for attempt in 0..<2 {
            let controller = metadata.broker(id: metadata.controllerId)?.nodeId
            let response = try await send(request, to: controller, timeout: timeout)
            if attempt == 0, isNotController(response) {
                metadata = try await refreshMetadata(topics: [])
                continue
            }
            return response
        }
        throw .broker(code: .notController, message: nil, resource: nil)
    }

    /// Creates topics; throws the first topic's error, naming the code (e.g. TOPIC_ALREADY_EXISTS).
    @discardableResult
    public func createTopics(
        _ topics: [NewTopic], validateOnly: Bool = false, timeout: TimeAmount = .seconds(30)
    ) async throws(KafkaClientError) -> [CreatedTopic] {
        let request = CreateTopicsRequest(
            topics: topics.map { topic in
                CreateTopicsRequest.CreatableTopic(
                    name: topic.name, numPartitions: topic.partitions, replicationFactor: topic.replicationFactor,
                    configs: topic.configs.map { .init(name: $0.name, value: $0.value) })
            },
            timeoutMs: Int32(timeout.nanoseconds / 1_000_000), validateOnly: validateOnly)
        let response = try await sendToController(request, timeout: timeout + .seconds(5)) {
            $0.topics.contains { $0.errorCode == ErrorCode.notController.rawValue }
        }
        var created: [CreatedTopic] = []
        for result in response.topics {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: result.name)
            created.append(CreatedTopic(
                name: result.name, topicId: result.topicId, partitions: result.numPartitions,
                replicationFactor: result.replicationFactor))
        }
        return created
    }

    /// Deletes topics by name; throws the first topic's error.
    public func deleteTopics(_ names: [String], timeout: TimeAmount = .seconds(30)) async throws(KafkaClientError) {
        let connection = try await anyConnection()
        let version = try connection.negotiatedVersion(DeleteTopicsRequest.self)
        var request = DeleteTopicsRequest(timeoutMs: Int32(timeout.nanoseconds / 1_000_000))
        // v6 names topics in `topics` (by name or id); earlier versions in `topicNames`.
        if version >= 6 {
            request.topics = names.map { DeleteTopicsRequest.DeleteTopicState(name: $0, topicId: .zero) }
        } else {
            request.topicNames = names
        }
        let response = try await sendToController(request, timeout: timeout + .seconds(5)) {
            $0.responses.contains { $0.errorCode == ErrorCode.notController.rawValue }
        }
        for result in response.responses {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: result.name)
        }
    }

    /// The names of the cluster's topics, sorted; internal topics only when asked for.
    public func listTopics(includeInternal: Bool = false) async throws(KafkaClientError) -> [String] {
        try await refreshMetadata(topics: nil).topics
            .filter { includeInternal || !$0.isInternal }
            .map(\.name)
    }

    /// Describes topics (all non-internal ones when `names` is nil) with their configs.
    public func describeTopics(_ names: [String]? = nil) async throws(KafkaClientError) -> [TopicDescription] {
        let metadata = try await refreshMetadata(topics: names)
        var topics = metadata.topics.filter { names != nil || !$0.isInternal }
        if let names {
            topics = try names.map { (name) throws(KafkaClientError) in
                guard let topic = metadata.topic(named: name) else {
                    throw .broker(code: .unknownTopicOrPartition, message: nil, resource: name)
                }
                try KafkaClientError.check(topic.errorCode.rawValue, resource: name)
                return topic
            }
        }
        guard !topics.isEmpty else { return [] }
        // A broker without DescribeConfigs still has partitions to show.
        guard try await anyConnection().version(of: DescribeConfigsRequest.self) != nil else {
            return topics.map { TopicDescription(topic: $0, configs: []) }
        }
        let configs = try await describeConfigs(topics.map { .topic($0.name) })
        return topics.map { TopicDescription(topic: $0, configs: configs[.topic($0.name)] ?? []) }
    }

    /// The configs of each resource; throws the first resource's error.
    public func describeConfigs(_ resources: [ConfigResource]) async throws(KafkaClientError) -> [ConfigResource: [ConfigEntry]] {
        let request = DescribeConfigsRequest(resources: resources.map {
            DescribeConfigsRequest.DescribeConfigsResource(
                resourceType: $0.resourceType, resourceName: $0.resourceName, configurationKeys: nil)
        })
        let response = try await send(request, to: resources.first?.owningBroker)
        var result: [ConfigResource: [ConfigEntry]] = [:]
        for described in response.results {
            let resource: ConfigResource = described.resourceType == 4
                ? .broker(Int32(described.resourceName) ?? -1) : .topic(described.resourceName)
            try KafkaClientError.check(described.errorCode, message: described.errorMessage, resource: "\(resource)")
            result[resource] = described.configs.map { config in
                var source = ConfigEntry.Source(rawValue: config.configSource) ?? .unknown
                if config.configSource == -1 {
                    // DescribeConfigs v0 has no source, only whether the value is the default.
                    source = config.isDefault ? .defaultConfig : .dynamicTopicConfig
                }
                return ConfigEntry(
                    name: config.name, value: config.value, source: source, isReadOnly: config.readOnly,
                    isSensitive: config.isSensitive)
            }
        }
        return result
    }

    /// Raises a topic's partition count to `totalCount`.
    public func createPartitions(
        topic: String, totalCount: Int32, validateOnly: Bool = false, timeout: TimeAmount = .seconds(30)
    ) async throws(KafkaClientError) {
        let request = CreatePartitionsRequest(
            topics: [.init(name: topic, count: totalCount, assignments: nil)],
            timeoutMs: Int32(timeout.nanoseconds / 1_000_000), validateOnly: validateOnly)
        let response = try await sendToController(request, timeout: timeout + .seconds(5)) {
            $0.results.contains { $0.errorCode == ErrorCode.notController.rawValue }
        }
        for result in response.results {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: result.name)
        }
    }

    /// Changes some configs of a resource, leaving the others as they are (IncrementalAlterConfigs).
    public func incrementalAlterConfigs(
        _ resource: ConfigResource, _ alterations: [ConfigAlteration], validateOnly: Bool = false
    ) async throws(KafkaClientError) {
        let request = IncrementalAlterConfigsRequest(
            resources: [.init(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                configs: alterations.map {
                    .init(name: $0.name, configOperation: $0.operation.rawValue,
                          value: $0.operation == .delete ? nil : $0.value)
                })],
            validateOnly: validateOnly)
        let response = try await send(request, to: resource.owningBroker)
        for result in response.responses {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "\(resource)")
        }
    }

    /// Replaces all dynamic configs of a resource with `configs` (the older AlterConfigs API).
    public func alterConfigs(
        _ resource: ConfigResource, _ configs: [ConfigAssignment], validateOnly: Bool = false
    ) async throws(KafkaClientError) {
        let request = AlterConfigsRequest(
            resources: [.init(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                configs: configs.map { .init(name: $0.name, value: $0.value) })],
            validateOnly: validateOnly)
        let response = try await send(request, to: resource.owningBroker)
        for result in response.responses {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "\(resource)")
        }
    }

    /// Sets configs of a resource: with IncrementalAlterConfigs when the broker has it, else by reading the
    /// current dynamic configs and writing them back with the changes through AlterConfigs.
    public func setConfigs(_ resource: ConfigResource, _ configs: [ConfigAssignment]) async throws(KafkaClientError) {
        if try await anyConnection().version(of: IncrementalAlterConfigsRequest.self) != nil {
            try await incrementalAlterConfigs(resource, configs.map { ConfigAlteration(name: $0.name, value: $0.value) })
            return
        }
        let current = try await describeConfigs([resource])[resource] ?? []
        var merged = current
            .filter { $0.source == .dynamicTopicConfig || $0.source == .dynamicBrokerConfig }
            .compactMap { entry in entry.value.map { ConfigAssignment(name: entry.name, value: $0) } }
        for config in configs {
            merged.removeAll { $0.name == config.name }
            merged.append(config)
        }
        try await alterConfigs(resource, merged)
    }

    /// The cluster's id, controller and brokers: DescribeCluster when the broker has it, else Metadata.
    public func describeCluster() async throws(KafkaClientError) -> ClusterDescription {
        if try await anyConnection().version(of: DescribeClusterRequest.self) != nil {
            let response = try await send(DescribeClusterRequest())
            try KafkaClientError.check(response.errorCode, message: response.errorMessage)
            return ClusterDescription(
                clusterId: response.clusterId, controllerId: response.controllerId,
                brokers: response.brokers.map {
                    .init(nodeId: $0.brokerId, address: BrokerAddress(host: $0.host, port: Int($0.port)), rack: $0.rack)
                }.sorted { $0.nodeId < $1.nodeId })
        }
        let metadata = try await refreshMetadata(topics: [])
        return ClusterDescription(clusterId: metadata.clusterId, controllerId: metadata.controllerId, brokers: metadata.brokers)
    }
}
