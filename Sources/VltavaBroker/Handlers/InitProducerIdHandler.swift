import KafkaProtocol
import VltavaSecurity
import NIOCore
import VltavaCoordinator

extension Broker {
    /// InitProducerId. Without a transactional id: a fresh producer id with epoch 0 for an idempotent producer, or,
    /// when it asks to bump its epoch after an error (KIP-360), the same id with the next epoch. With one: the
    /// transaction coordinator's answer (the id's producer with a bumped epoch; an ongoing transaction of a
    /// previous producer with that id is aborted first, answered CONCURRENT_TRANSACTIONS until it is).
    func handleInitProducerId(_ request: InitProducerIdRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        var response = InitProducerIdResponse(producerId: -1, producerEpoch: -1)
        if let transactionalId = request.transactionalId, !authorized(context, .write, .transactionalId, transactionalId) {
            response.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.initProducerId(response)))
        }
        if request.transactionalId == nil, !authorizedIdempotentWrite(context) {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.initProducerId(response)))
        }
        if let transactionalId = request.transactionalId {
            let expected = request.producerId >= 0 && request.producerEpoch >= 0
                ? (producerId: request.producerId, epoch: request.producerEpoch) : nil
            let version = context.version
            return transactions.initProducerId(transactionalId: transactionalId, timeoutMs: request.transactionTimeoutMs,
                                               expected: expected, eventLoop: context.eventLoop).map { result in
                switch result {
                case let .success(metadata):
                    response.producerId = metadata.producerId
                    response.producerEpoch = metadata.producerEpoch
                case let .failure(error):
                    response.errorCode = Self.transactionErrorCode(error, fencedBelowVersion: 4, version: version)
                }
                return .message(.initProducerId(response))
            }
        }
        if request.producerId >= 0, request.producerEpoch >= 0, request.producerEpoch < Int16.max - 1 {
            response.producerId = request.producerId
            response.producerEpoch = request.producerEpoch + 1
            return context.eventLoop.makeSucceededFuture(.message(.initProducerId(response)))
        }
        do {
            response.producerId = try metadata.allocateProducerId()
            response.producerEpoch = 0
        } catch {
            logger.error("cannot allocate a producer id", metadata: ["error": "\(error)"])
            response.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return context.eventLoop.makeSucceededFuture(.message(.initProducerId(response)))
    }

    /// The error code of a coordinator refusal for a request of `version`: clients older than the version that
    /// introduced PRODUCER_FENCED get INVALID_PRODUCER_EPOCH instead, as Kafka answers them.
    static func transactionErrorCode(_ error: TransactionError, fencedBelowVersion: Int16, version: Int16) -> Int16 {
        if error == .producerFenced, version < fencedBelowVersion { return ErrorCode.invalidProducerEpoch.rawValue }
        return error.errorCode.rawValue
    }
}
