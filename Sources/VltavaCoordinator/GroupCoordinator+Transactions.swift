import KafkaProtocol
import KafkaRecords
import NIOCore
import VltavaStorage

extension GroupCoordinator {
    /// TxnOffsetCommit (transaction version 1): writes the offsets to the group's `__consumer_offsets` partition as
    /// a transactional batch of the producer and keeps them pending, invisible to OffsetFetch, until the
    /// transaction coordinator ends the transaction with `completeTransaction`. The future completes once the
    /// records are on disk, with an error code per partition: the checks of `GroupCoordinatorState
    /// .commitTransactionalOffsets`, INVALID_PRODUCER_EPOCH when the partition has seen a newer epoch of the
    /// producer, COORDINATOR_NOT_AVAILABLE when the write fails.
    public func commitTransactionalOffsets(
        group: String, producerId: Int64, producerEpoch: Int16, memberId: String, generationId: Int32,
        groupInstanceId: String?, offsets: [(TopicPartition, CommittedOffset)], eventLoop: EventLoop
    ) -> EventLoopFuture<[TopicPartition: ErrorCode]> {
        var errors: [TopicPartition: ErrorCode] = [:]
        let result = run(shard(group)) { state, now in
            let outcome = state.commitTransactionalOffsets(
                group: group, producerId: producerId, producerEpoch: producerEpoch, memberId: memberId,
                generationId: generationId, groupInstanceId: groupInstanceId, offsets: offsets, nowMs: now)
            errors = outcome.errors
            return outcome.actions
        }
        return answerWhenDurable(errors, result, eventLoop: eventLoop)
    }

    /// Ends a transaction that added offsets (AddOffsetsToTxn) on `__consumer_offsets` partition
    /// `offsetsPartition`: appends the COMMIT or ABORT marker of the producer there, then makes the producer's
    /// pending offsets in every group of that partition the committed ones (commit; a group's partition keeps a
    /// committed offset whose record is later) or drops them (abort). Blocks until the marker is on disk; run it off
    /// the event loops. Returns NONE, or: UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist,
    /// COORDINATOR_LOAD_IN_PROGRESS while the partition is read back (nothing written: retry),
    /// INVALID_PRODUCER_EPOCH when the partition has seen a newer epoch of the producer, KAFKA_STORAGE_ERROR when
    /// the marker cannot be written or synced.
    public func completeTransaction(offsetsPartition: Int32, producerId: Int64, producerEpoch: Int16, commit: Bool,
                                    coordinatorEpoch: Int32) -> ErrorCode {
        guard offsetsPartition >= 0, offsetsPartition < partitionCount else { return .unknownTopicOrPartition }
        guard producerId >= 0 else { return .invalidRequest }
        let now = clock()
        let marker = ControlRecord(type: commit ? .commit : .abort, coordinatorEpoch: coordinatorEpoch)
        let appended = shards[Int(offsetsPartition)].locked { core -> (ErrorCode, PartitionLog?) in
            if core.state.isLoading { return (.coordinatorLoadInProgress, nil) }
            guard let log = offsetsLog(partition: offsetsPartition) else { return (.kafkaStorageError, nil) }
            do {
                let bytes = try marker.batch(producerId: producerId, producerEpoch: producerEpoch, timestamp: now).encoded()
                let validated = try RecordBatchValidator(origin: .log).validate(bytes)
                _ = try log.append(bytes, batches: validated, nowMs: now, origin: .coordinator)
            } catch AppendError.invalidProducerEpoch {
                return (.invalidProducerEpoch, nil)
            } catch {
                logger.error("cannot write a transaction marker to __consumer_offsets", metadata: [
                    "partition": "\(offsetsPartition)", "producerId": "\(producerId)", "error": "\(error)",
                ])
                return (.kafkaStorageError, nil)
            }
            core.state.completeTransaction(producerId: producerId, commit: commit)
            return (.none, log)
        }
        guard appended.0 == .none, let log = appended.1 else { return appended.0 }
        do {
            try log.flush(nowMs: now)
        } catch {
            logger.error("cannot sync a transaction marker of __consumer_offsets", metadata: [
                "partition": "\(offsetsPartition)", "producerId": "\(producerId)", "error": "\(error)",
            ])
            return .kafkaStorageError
        }
        return .none
    }
}
