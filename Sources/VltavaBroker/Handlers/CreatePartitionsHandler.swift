import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// CreatePartitions: raises a topic's partition count, with Kafka's checks and messages; manual assignments
    /// must give one replica list per new partition, each naming this node only.
    /// `admit` is asked for the partitions each topic adds (`controller_mutation_rate`); a refused topic gets
    /// THROTTLING_QUOTA_EXCEEDED.
    func handleCreatePartitions(_ request: CreatePartitionsRequest, context: RequestContext,
                                admit: (Int64) -> Bool = { _ in true }) -> CreatePartitionsResponse {
        var response = CreatePartitionsResponse()
        var seen: [String: Int] = [:]
        for topic in request.topics { seen[topic.name, default: 0] += 1 }
        let added = request.topics.reduce(Int64(0)) { total, topic in
            total + max(0, Int64(topic.count) - Int64(metadata.topic(named: topic.name)?.partitionCount ?? topic.count))
        }
        for topic in request.topics {
            var result = CreatePartitionsResponse.CreatePartitionsTopicResult(name: topic.name)
            let problem: ApiError?
            if !authorized(context, .alter, .topic, topic.name) {
                problem = ApiError(.topicAuthorizationFailed, "Authorization failed.")
            } else if added > Self.maximumPartitionsPerRequest {
                problem = ApiError(.policyViolation, "Excessively large number of partitions per request.")
            } else if seen[topic.name, default: 0] > 1 {
                problem = ApiError(.invalidRequest, "Duplicate topic name.")
            } else {
                problem = createPartitions(topic, validateOnly: request.validateOnly, admit: admit)
            }
            if let problem {
                result.errorCode = problem.code.rawValue
                result.errorMessage = problem.message
            }
            response.results.append(result)
        }
        return response
    }

    private func createPartitions(_ request: CreatePartitionsRequest.CreatePartitionsTopic, validateOnly: Bool,
                                  admit: (Int64) -> Bool) -> ApiError? {
        guard let topic = metadata.topic(named: request.name) else {
            return ApiError(.unknownTopicOrPartition, "The topic '\(request.name)' does not exist.")
        }
        let current = topic.partitionCount
        if request.count == current {
            return ApiError(.invalidPartitions, "Topic already has \(current) partition(s).")
        }
        if request.count < current {
            return ApiError(.invalidPartitions,
                            "The topic \(topic.name) currently has \(current) partition(s); \(request.count) would not be an increase.")
        }
        if let assignments = request.assignments {
            let added = request.count - current
            if assignments.count != Int(added) {
                return ApiError(.invalidReplicaAssignment,
                                "Attempted to add \(added) additional partition(s), but only \(assignments.count) assignment(s) were specified.")
            }
            for assignment in assignments {
                if let unknown = assignment.brokerIds.first(where: { $0 != nodeId }) {
                    return ApiError(.invalidReplicaAssignment,
                                    "The manual partition assignment includes broker \(unknown), but no such broker is registered.")
                }
                if assignment.brokerIds.count != 1 {
                    return ApiError(.invalidReplicaAssignment,
                                    "The manual partition assignment includes a partition with \(assignment.brokerIds.count) replica(s), "
                                        + "but this is not consistent with previous partitions, which have 1 replica(s).")
                }
            }
        }
        if validateOnly { return nil }
        guard admit(Int64(request.count - current)) else { return ApiError(.throttlingQuotaExceeded, Self.throttlingQuotaMessage) }
        do {
            try logs.addPartitions(topic: topic.name, count: request.count)
            return nil
        } catch let error as StorageError where error.isTooManyOpenFiles {
            return ApiError(.policyViolation, "\(error)")
        } catch {
            return ApiError(.kafkaStorageError, "\(error)")
        }
    }
}
