import KafkaProtocol
import VltavaSecurity
import VltavaCoordinator

extension Broker {
    /// ListTransactions: the ids whose state, producer id and (v1) running time pass the filters; state names
    /// this broker does not know come back in `UnknownStateFilters`, as in Kafka.
    func handleListTransactions(_ request: ListTransactionsRequest, context: RequestContext) -> ListTransactionsResponse {
        var response = ListTransactionsResponse()
        var states: Set<TransactionState> = []
        for name in request.stateFilters {
            if let state = TransactionState(name: name) { states.insert(state) } else { response.unknownStateFilters.append(name) }
        }
        // Only unknown states asked for: nothing can match.
        if !request.stateFilters.isEmpty && states.isEmpty { return response }
        switch transactions.list(states: states, producerIds: Set(request.producerIdFilters),
                                 minimumDurationMs: context.version >= 1 ? request.durationFilter : -1) {
        case let .success(listed):
            response.transactionStates = listed.filter { authorized(context, .describe, .transactionalId, $0.transactionalId) }.map {
                .init(transactionalId: $0.transactionalId, producerId: $0.producerId, transactionState: $0.state.name)
            }
        case let .failure(error):
            response.errorCode = error.errorCode.rawValue
        }
        return response
    }
}
