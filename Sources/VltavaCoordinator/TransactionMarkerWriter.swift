import KafkaProtocol
import Logging
import VltavaStorage

extension AppendError {
    /// Kafka's error code for a refused append.
    public var errorCode: ErrorCode {
        switch self {
        case .invalidProducerEpoch: return .invalidProducerEpoch
        case .outOfOrderSequence: return .outOfOrderSequenceNumber
        case .invalidTxnState: return .invalidTxnState
        case .storage: return .kafkaStorageError
        }
    }
}

/// Writes the COMMIT or ABORT marker of a transaction into one partition: a data partition through its log, a
/// `__consumer_offsets` partition through the group coordinator (which applies or drops the producer's pending
/// offsets there). The transaction coordinator and WriteTxnMarkers (`kafka-transactions.sh abort`) both write
/// through it.
public struct TransactionMarkerWriter: Sendable {
    let logs: LogManager
    let groups: GroupCoordinator
    let logger: Logger

    public init(logs: LogManager, groups: GroupCoordinator, logger: Logger) {
        self.logs = logs
        self.groups = groups
        self.logger = logger
    }

    /// The marker's outcome as Kafka's error code: NONE, UNKNOWN_TOPIC_OR_PARTITION (the partition is gone),
    /// INVALID_PRODUCER_EPOCH (a newer epoch of the producer wrote there), or a storage error.
    public func write(_ markers: TransactionMarkers, to partition: TopicPartition, coordinatorEpoch: Int32, nowMs: Int64) -> ErrorCode {
        if markers.producerId < 0 { return .invalidRequest }
        if partition.topic == OffsetsTopic.name {
            return groups.completeTransaction(offsetsPartition: partition.partition, producerId: markers.producerId,
                                              producerEpoch: markers.producerEpoch, commit: markers.commit,
                                              coordinatorEpoch: coordinatorEpoch)
        }
        guard let log = logs.log(for: partition) else {
            return logs.isOffline(partition) ? .kafkaStorageError : .unknownTopicOrPartition
        }
        do {
            _ = try log.appendControlMarker(producerId: markers.producerId, producerEpoch: markers.producerEpoch,
                                            type: markers.commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch,
                                            nowMs: nowMs)
            return .none
        } catch {
            if case let .storage(storageError) = error {
                logger.error("cannot write a transaction marker", metadata: ["partition": "\(partition)", "error": "\(storageError)"])
            }
            return error.errorCode
        }
    }
}
