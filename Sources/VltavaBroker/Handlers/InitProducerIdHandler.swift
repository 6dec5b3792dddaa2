import KafkaProtocol

extension Broker {
    /// InitProducerId for idempotent producers: a fresh producer id with epoch 0, or, when a producer asks to
    /// bump its epoch after an error (KIP-360), the same id with the next epoch. Transactions are not served.
    func handleInitProducerId(_ request: InitProducerIdRequest, context: RequestContext) -> InitProducerIdResponse {
        var response = InitProducerIdResponse(producerId: -1, producerEpoch: -1)
        if request.transactionalId != nil {
            logger.info("transactional producer refused: transactions are not supported", metadata: [
                "transactionalId": "\(request.transactionalId ?? "")",
            ])
            response.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
            return response
        }
        if request.producerId >= 0, request.producerEpoch >= 0, request.producerEpoch < Int16.max - 1 {
            response.producerId = request.producerId
            response.producerEpoch = request.producerEpoch + 1
            return response
        }
        do {
            response.producerId = try metadata.allocateProducerId()
            response.producerEpoch = 0
        } catch {
            logger.error("cannot allocate a producer id", metadata: ["error": "\(error)"])
            response.errorCode = ErrorCode.kafkaStorageError.rawValue
        }
        return response
    }
}
