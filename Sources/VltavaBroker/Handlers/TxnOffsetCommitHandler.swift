import KafkaProtocol
import VltavaSecurity
import NIOCore
import VltavaCoordinator
import VltavaStorage

extension Broker {
    /// TxnOffsetCommit v0-v3 (transaction version 1): a transactional producer's offsets for a group, written to
    /// `__consumer_offsets` in its transaction and committed or dropped when the transaction ends. Partitions of
    /// topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers them; v3 adds the member id,
    /// generation and instance id that KIP-447 checks against the group's.
    func handleTxnOffsetCommit(_ request: TxnOffsetCommitRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let refusal: ErrorCode? = !authorized(context, .write, .transactionalId, request.transactionalId) ? .transactionalIdAuthorizationFailed
            : !authorized(context, .read, .group, request.groupId) ? .groupAuthorizationFailed : nil
        if let refusal {
            var response = TxnOffsetCommitResponse()
            response.topics = request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refusal.rawValue) })
            }
            return context.eventLoop.makeSucceededFuture(.message(.txnOffsetCommit(response)))
        }
        let now = clock()
        var commits: [(TopicPartition, CommittedOffset)] = []
        var unknown: Set<TopicPartition> = []
        var unauthorized: Set<String> = []
        for topic in request.topics {
            if !authorized(context, .read, .topic, topic.name) {
                unauthorized.insert(topic.name)
                continue
            }
            let partitionCount = metadata.topic(named: topic.name)?.partitionCount ?? 0
            for partition in topic.partitions {
                let key = TopicPartition(topic: topic.name, partition: partition.partitionIndex)
                guard (0..<partitionCount).contains(partition.partitionIndex) else {
                    unknown.insert(key)
                    continue
                }
                commits.append((key, CommittedOffset(
                    offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch,
                    metadata: partition.committedMetadata ?? "", commitTimestampMs: now)))
            }
        }
        let refused = unknown
        let refusedTopics = unauthorized
        return groups.commitTransactionalOffsets(
            group: request.groupId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            memberId: request.memberId, generationId: request.generationId, groupInstanceId: request.groupInstanceId,
            offsets: commits, eventLoop: context.eventLoop
        ).map { errors in
            var response = TxnOffsetCommitResponse()
            response.topics = request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { partition in
                    .init(partitionIndex: partition.partitionIndex, errorCode: refusedTopics.contains(topic.name)
                        ? ErrorCode.topicAuthorizationFailed.rawValue
                        : Self.commitErrorCode(TopicPartition(topic: topic.name, partition: partition.partitionIndex),
                                               refused: refused, errors: errors).rawValue)
                })
            }
            return .message(.txnOffsetCommit(response))
        }
    }
}
