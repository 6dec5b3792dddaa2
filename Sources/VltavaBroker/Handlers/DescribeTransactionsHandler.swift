import KafkaProtocol
import VltavaSecurity
import VltavaCoordinator

extension Broker {
    /// DescribeTransactions: each id's state, producer, timeout, start time and partitions.
    func handleDescribeTransactions(_ request: DescribeTransactionsRequest, context: RequestContext) -> DescribeTransactionsResponse {
        var response = DescribeTransactionsResponse()
        response.transactionStates = request.transactionalIds.map { id in
            var described = DescribeTransactionsResponse.TransactionState(transactionalId: id)
            guard authorized(context, .describe, .transactionalId, id) else {
                described.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
                return described
            }
            switch transactions.describe(transactionalId: id) {
            case let .success(metadata):
                described.transactionState = metadata.state.name
                described.transactionTimeoutMs = metadata.timeoutMs
                described.transactionStartTimeMs = metadata.startTimestampMs
                described.producerId = metadata.producerId
                described.producerEpoch = metadata.producerEpoch
                let byTopic = Dictionary(grouping: metadata.partitions, by: \.topic)
                described.topics = byTopic.keys.sorted().filter { authorized(context, .describe, .topic, $0) }.map { topic in
                    .init(topic: topic, partitions: byTopic[topic, default: []].map(\.partition).sorted())
                }
            case let .failure(error):
                described.errorCode = error.errorCode.rawValue
            }
            return described
        }
        return response
    }
}
