import KafkaProtocol
import VltavaSecurity
import VltavaCoordinator
import VltavaStorage

extension Broker {
    /// WriteTxnMarkers: writes COMMIT or ABORT markers into partitions. Kafka's coordinators send it to partition
    /// leaders; administrators send it through `kafka-transactions.sh abort` (or `vltava transactions abort`) to
    /// end a hanging transaction whose coordinator no longer knows it.
    func handleWriteTxnMarkers(_ request: WriteTxnMarkersRequest, context: RequestContext) -> WriteTxnMarkersResponse {
        var response = WriteTxnMarkersResponse()
        guard authorizedOnCluster(context, .clusterAction) else {
            response.markers = request.markers.map { marker in
                .init(producerId: marker.producerId, topics: marker.topics.map { topic in
                    .init(name: topic.name, partitions: topic.partitionIndexes.map {
                        .init(partitionIndex: $0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue)
                    })
                })
            }
            return response
        }
        let now = clock()
        response.markers = request.markers.map { marker in
            let markers = TransactionMarkers(transactionalId: "", producerId: marker.producerId, producerEpoch: marker.producerEpoch,
                                             commit: marker.transactionResult, partitions: [])
            return .init(producerId: marker.producerId, topics: marker.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitionIndexes.map { index in
                    .init(partitionIndex: index, errorCode: transactions.markerWriter.write(
                        markers, to: TopicPartition(topic: topic.name, partition: index),
                        coordinatorEpoch: marker.coordinatorEpoch, nowMs: now).rawValue)
                })
            })
        }
        return response
    }
}
