import KafkaProtocol
import VltavaSecurity
import NIOCore
import VltavaCoordinator
import VltavaStorage

extension Broker {
    /// AddOffsetsToTxn: the group's partition of `__consumer_offsets` joins the transaction, so that its
    /// TxnOffsetCommit is committed or dropped with the transaction's markers.
    func handleAddOffsetsToTxn(_ request: AddOffsetsToTxnRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        let version = context.version
        var response = AddOffsetsToTxnResponse()
        if !authorized(context, .write, .transactionalId, request.transactionalId) {
            response.errorCode = ErrorCode.transactionalIdAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.addOffsetsToTxn(response)))
        }
        if !authorized(context, .read, .group, request.groupId) {
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.addOffsetsToTxn(response)))
        }
        if request.groupId.isEmpty || request.groupId.utf8.count > OffsetsTopic.maximumStringBytes {
            response.errorCode = ErrorCode.invalidGroupId.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.addOffsetsToTxn(response)))
        }
        let partition = TopicPartition(
            topic: OffsetsTopic.name, partition: OffsetsTopic.partition(for: request.groupId, partitionCount: groups.partitionCount))
        return transactions.addPartitions(
            transactionalId: request.transactionalId, producerId: request.producerId, producerEpoch: request.producerEpoch,
            partitions: [partition], eventLoop: context.eventLoop
        ).map { error in
            response.errorCode = error.map { Self.transactionErrorCode($0, fencedBelowVersion: 2, version: version) } ?? 0
            return .message(.addOffsetsToTxn(response))
        }
    }
}
