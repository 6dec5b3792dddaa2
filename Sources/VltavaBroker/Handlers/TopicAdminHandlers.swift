import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// Kafka's `MAX_PARTITIONS_PER_BATCH`: the most partitions one CreateTopics or CreatePartitions may add.
    static let maximumPartitionsPerRequest: Int64 = 10_000
    /// Kafka's `ThrottlingQuotaExceededException` message.
    static let throttlingQuotaMessage = "The throttling quota has been exceeded."

    /// CreateTopics: partitions and replication factor (-1 for the broker defaults; only 1 replica on a single
    /// node), manual assignments onto this node, configs validated by Kafka's rules, and validate-only.
    /// `admit` is asked for each topic's partitions before it is created (`controller_mutation_rate`); a refused
    /// topic gets THROTTLING_QUOTA_EXCEEDED. Validate-only requests do not ask.
    func handleCreateTopics(_ request: CreateTopicsRequest, context: RequestContext,
                            admit: (Int64) -> Bool = { _ in true }) -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        // Kafka's controller refuses a request that would create more than 10 000 partitions, all of it.
        let requested = request.topics.reduce(Int64(0)) { total, topic in
            total + (topic.assignments.isEmpty
                ? Int64(topic.numPartitions == -1 ? configuration.defaultPartitions : max(topic.numPartitions, 0))
                : Int64(topic.assignments.count))
        }
        if requested > Self.maximumPartitionsPerRequest {
            response.topics = request.topics.map { creatable in
                var result = CreateTopicsResponse.CreatableTopicResult(name: creatable.name)
                result.numPartitions = -1
                result.replicationFactor = -1
                result.errorCode = ErrorCode.policyViolation.rawValue
                result.errorMessage = "Excessively large number of partitions per request."
                if context.version < 5 { result.configs = [] }
                return result
            }
            return response
        }
        for creatable in request.topics {
            var result = CreateTopicsResponse.CreatableTopicResult(name: creatable.name)
            result.numPartitions = -1
            result.replicationFactor = -1
            func fail(_ code: ErrorCode, _ message: String) {
                result.errorCode = code.rawValue
                result.errorMessage = message
            }
            let partitions = creatable.assignments.isEmpty
                ? (creatable.numPartitions == -1 ? configuration.defaultPartitions : creatable.numPartitions)
                : Int32(creatable.assignments.count)
            let replicationFactor = creatable.assignments.isEmpty
                ? (creatable.replicationFactor == -1 ? configuration.defaultReplicationFactor : creatable.replicationFactor)
                : Int16(clamping: creatable.assignments[0].brokerIds.count)
            var configs: [String: String] = [:]
            for config in creatable.configs {
                if let value = config.value { configs[config.name] = value }
            }
            if !authorizedOnCluster(context, .create) && !authorized(context, .create, .topic, creatable.name) {
                fail(.topicAuthorizationFailed, "Authorization failed.")
            } else if let problem = Self.topicNameProblem(creatable.name) {
                fail(.invalidTopicException, problem)
            } else if metadata.topic(named: creatable.name) != nil {
                fail(.topicAlreadyExists, "Topic '\(creatable.name)' already exists.")
            } else if partitions < 1 {
                fail(.invalidPartitions, "Number of partitions must be larger than 0.")
            } else if replicationFactor != 1 {
                fail(.invalidReplicationFactor, cluster == nil
                    ? "Replication factor: \(replicationFactor) larger than available brokers: 1."
                    : "Replication factor: \(replicationFactor): this cluster keeps one replica per partition (replication is not built yet).")
            } else if let problem = assignmentProblem(creatable.assignments.map(\.brokerIds)) {
                fail(.invalidReplicaAssignment, problem)
            } else {
                do {
                    try TopicConfigs.validate(configs)
                    if !request.validateOnly {
                        guard admit(Int64(partitions)) else { throw ApiError(.throttlingQuotaExceeded, Self.throttlingQuotaMessage) }
                        _ = try logs.createTopic(name: creatable.name, partitions: partitions, configs: configs,
                                                 replicaAssignment: creatable.assignments.isEmpty ? nil : creatable.assignments.map(\.brokerIds))
                    }
                    result.numPartitions = partitions
                    result.replicationFactor = replicationFactor
                    if let topic = metadata.topic(named: creatable.name) { result.topicId = topic.topicId }
                    let config = LogConfig(overrides: configs, brokerDefaults: logs.defaults)
                    result.configs = TopicConfigs.definitions.map { definition in
                        CreateTopicsResponse.CreatableTopicConfigs(
                            name: definition.name, value: config.value(definition.name), readOnly: false,
                            configSource: configs[definition.name] != nil ? 1 : (logs.defaults[definition.name] != nil ? 4 : 5),
                            isSensitive: false)
                    }
                } catch let error as ApiError {
                    fail(error.code, error.message)
                } catch let StorageError.invalidConfig(name, value, reason) {
                    fail(.invalidConfig, "Invalid value \(value) for configuration \(name): \(reason)")
                } catch StorageError.topicExists {
                    // Another request created it between the check above and this one.
                    fail(.topicAlreadyExists, "Topic '\(creatable.name)' already exists.")
                } catch let error as StorageError where error.isTooManyOpenFiles {
                    fail(.policyViolation, "\(error)")
                } catch {
                    fail(.kafkaStorageError, "\(error)")
                }
            }
            if context.version < 5 { result.configs = [] }
            response.topics.append(result)
        }
        return response
    }

    /// Why manual replica assignments cannot be used: on a single node they must name this node, in a cluster one
    /// live broker each.
    private func assignmentProblem(_ assignments: [[Int32]]) -> String? {
        guard let cluster else {
            return assignments.contains(where: { $0 != [nodeId] }) ? "Replica assignments must name broker \(nodeId) only." : nil
        }
        let live = Set(cluster.liveBrokers().map(\.nodeId))
        if let bad = assignments.first(where: { $0.count != 1 || !live.contains($0[0]) }) {
            return "Replica assignment \(bad) must name one live broker (live: \(live.sorted()))."
        }
        return nil
    }

    /// DeleteTopics: by name, or by topic id from version 6; `admit` is asked for each topic's partitions
    /// (`controller_mutation_rate`).
    func handleDeleteTopics(_ request: DeleteTopicsRequest, context: RequestContext,
                            admit: (Int64) -> Bool = { _ in true }) -> DeleteTopicsResponse {
        var response = DeleteTopicsResponse()
        let wanted: [(name: String?, id: KafkaUUID)] = context.version >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, KafkaUUID.zero) }
        for (name, id) in wanted {
            var result = DeleteTopicsResponse.DeletableTopicResult(name: name, topicId: id)
            let topic = name.flatMap { metadata.topic(named: $0) } ?? (id != .zero ? self.topic(withId: id) : nil)
            if let topic, !authorized(context, .delete, .topic, topic.name) {
                result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                if name == nil { result.name = nil }
            } else if let topic {
                result.name = topic.name
                result.topicId = topic.topicId
                if !configuration.deleteTopicEnable {
                    result.errorCode = ErrorCode.topicDeletionDisabled.rawValue
                } else if !admit(Int64(topic.partitionCount)) {
                    result.errorCode = ErrorCode.throttlingQuotaExceeded.rawValue
                    result.errorMessage = Self.throttlingQuotaMessage
                } else {
                    do {
                        try logs.deleteTopic(name: topic.name)
                    } catch {
                        result.errorCode = ErrorCode.kafkaStorageError.rawValue
                        result.errorMessage = "\(error)"
                    }
                }
            } else {
                result.errorCode = (name == nil ? ErrorCode.unknownTopicId : ErrorCode.unknownTopicOrPartition).rawValue
            }
            if context.version < 6 { result.topicId = .zero }
            response.responses.append(result)
        }
        return response
    }
}
