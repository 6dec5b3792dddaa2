import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// DescribeProducers: the producers each partition has seen, with the start offset of their open transaction
    /// (what `kafka-transactions.sh describe-producers` and `find-hanging` read).
    func handleDescribeProducers(_ request: DescribeProducersRequest, context: RequestContext) -> DescribeProducersResponse {
        var response = DescribeProducersResponse()
        response.topics = request.topics.map { topic in
            let readable = authorized(context, .read, .topic, topic.name)
            return DescribeProducersResponse.TopicResponse(name: topic.name, partitions: topic.partitionIndexes.map { index in
                var partition = DescribeProducersResponse.PartitionResponse(partitionIndex: index)
                guard readable else {
                    partition.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return partition
                }
                guard let log = logs.log(topic: topic.name, partition: index) else {
                    partition.errorCode = storageErrorOrUnknown(topic.name, index).rawValue
                    return partition
                }
                partition.activeProducers = log.activeProducers().map { producer in
                    .init(producerId: producer.producerId, producerEpoch: Int32(producer.producerEpoch),
                          lastSequence: producer.lastSequence, lastTimestamp: producer.lastTimestamp,
                          coordinatorEpoch: producer.coordinatorEpoch, currentTxnStartOffset: producer.currentTransactionStartOffset)
                }
                return partition
            })
        }
        return response
    }
}
