import KafkaProtocol
import VltavaCoordinator
import VltavaStorage

extension Broker {
    /// WriteTxnMarkers: writes COMMIT or ABORT markers into partitions. Kafka's coordinators send it to partition
    /// leaders; administrators send it through `kafka-transactions.sh abort` (or `vltava transactions abort`) to
    /// end a hanging transaction whose coordinator no longer knows it.
    func handleWriteTxnMarkers(_ request: WriteTxnMarkersRequest, context: RequestContext) -> WriteTxnMarkersResponse {
        var response = WriteTxnMarkersResponse()
        let now = clock()
        response.markers = request.markers.map { marker in
            let markers = TransactionMarkers(transactionalId: "", producerId: marker.producerId, producerEpoch: marker.producerEpoch,
                                             commit: marker.transactionResult, partitions: [])
            return .init(producerId: marker.producerId, topics: marker.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitionIndexes.map { index in
                    .init(partitionIndex: index, errorCode: writeMarker(markers, coordinatorEpoch: marker.coordinatorEpoch,
                                                                        topic: topic.name, partition: index, nowMs: now).rawValue)
                })
            })
        }
        return response
    }

    private func writeMarker(_ markers: TransactionMarkers, coordinatorEpoch: Int32, topic: String, partition: Int32,
                             nowMs: Int64) -> ErrorCode {
        if markers.producerId < 0 { return .invalidRequest }
        if topic == OffsetsTopic.name {
            return groups.completeTransaction(offsetsPartition: partition, producerId: markers.producerId,
                                              producerEpoch: markers.producerEpoch, commit: markers.commit,
                                              coordinatorEpoch: coordinatorEpoch)
        }
        guard let log = logs.log(topic: topic, partition: partition) else { return storageErrorOrUnknown(topic, partition) }
        do {
            _ = try log.appendControlMarker(producerId: markers.producerId, producerEpoch: markers.producerEpoch,
                                            type: markers.commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch, nowMs: nowMs)
            return .none
        } catch {
            if case let .storage(storageError) = error {
                logger.error("cannot write a transaction marker", metadata: [
                    "partition": "\(topic)-\(partition)", "error": "\(storageError)",
                ])
            }
            return error.errorCode
        }
    }
}
