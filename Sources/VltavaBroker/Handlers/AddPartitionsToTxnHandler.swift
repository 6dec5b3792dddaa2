import KafkaProtocol
import VltavaSecurity
import NIOCore
import VltavaCoordinator
import VltavaStorage

extension Broker {
    /// AddPartitionsToTxn v0-v3 (a client adding partitions to its transaction). Partitions that do not exist
    /// fail with UNKNOWN_TOPIC_OR_PARTITION and the rest with OPERATION_NOT_ATTEMPTED, as in Kafka; otherwise
    /// every partition gets the coordinator's answer.
    func handleAddPartitionsToTxn(_ request: AddPartitionsToTxnRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let version = context.version
        var partitions: Set<TopicPartition> = []
        var unknown: Set<TopicPartition> = []
        for topic in request.v3AndBelowTopics {
            let known = metadata.topic(named: topic.name)
            for partition in topic.partitions {
                let topicPartition = TopicPartition(topic: topic.name, partition: partition)
                if let known, partition >= 0, partition < known.partitionCount {
                    partitions.insert(topicPartition)
                } else {
                    unknown.insert(topicPartition)
                }
            }
        }
        @Sendable func respond(_ error: (TopicPartition) -> Int16) -> BrokerResponse {
            var response = AddPartitionsToTxnResponse()
            response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { topic in
                AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult(
                    name: topic.name,
                    resultsByPartition: topic.partitions.map { partition in
                        .init(partitionIndex: partition, partitionErrorCode: error(TopicPartition(topic: topic.name, partition: partition)))
                    })
            }
            return .message(.addPartitionsToTxn(response))
        }
        if !authorized(context, .write, .transactionalId, request.v3AndBelowTransactionalId) {
            return context.eventLoop.makeSucceededFuture(respond { _ in ErrorCode.transactionalIdAuthorizationFailed.rawValue })
        }
        let unwritable = Set(request.v3AndBelowTopics.map(\.name).filter { !authorized(context, .write, .topic, $0) })
        if !unwritable.isEmpty {
            return context.eventLoop.makeSucceededFuture(respond { partition in
                unwritable.contains(partition.topic) ? ErrorCode.topicAuthorizationFailed.rawValue : ErrorCode.operationNotAttempted.rawValue
            })
        }
        if !unknown.isEmpty {
            return context.eventLoop.makeSucceededFuture(respond { partition in
                unknown.contains(partition) ? ErrorCode.unknownTopicOrPartition.rawValue : ErrorCode.operationNotAttempted.rawValue
            })
        }
        return transactions.addPartitions(
            transactionalId: request.v3AndBelowTransactionalId, producerId: request.v3AndBelowProducerId,
            producerEpoch: request.v3AndBelowProducerEpoch, partitions: partitions, eventLoop: context.eventLoop
        ).map { error in
            let code = error.map { Self.transactionErrorCode($0, fencedBelowVersion: 2, version: version) } ?? 0
            return respond { _ in code }
        }
    }
}
