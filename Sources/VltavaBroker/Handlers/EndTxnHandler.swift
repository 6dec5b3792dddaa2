import KafkaProtocol
import VltavaSecurity
import NIOCore
import VltavaCoordinator

extension Broker {
    /// EndTxn v0-v4: commits or aborts the transaction; answered once its markers are written.
    func handleEndTxn(_ request: EndTxnRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let version = context.version
        guard authorized(context, .write, .transactionalId, request.transactionalId) else {
            return context.eventLoop.makeSucceededFuture(.message(.endTxn(EndTxnResponse(errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue))))
        }
        return transactions.endTransaction(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            commit: request.committed, eventLoop: context.eventLoop
        ).map { error in
            var response = EndTxnResponse()
            response.errorCode = error.map { Self.transactionErrorCode($0, fencedBelowVersion: 2, version: version) } ?? 0
            return .message(.endTxn(response))
        }
    }
}
