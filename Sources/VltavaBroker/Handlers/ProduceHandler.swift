import KafkaProtocol
import KafkaRecords
import NIOCore
import VltavaCoordinator
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// Every partition of the request refused with `code`.
    static func refused(_ request: ProduceRequest, _ code: ErrorCode) -> ProduceResponse {
        var response = ProduceResponse()
        response.responses = request.topicData.map { .init(name: $0.name, partitionResponses: refused($0, code)) }
        return response
    }

    static func refused(_ topic: ProduceRequest.TopicProduceData, _ code: ErrorCode) -> [ProduceResponse.PartitionProduceResponse] {
        topic.partitionData.map { .init(index: $0.index, errorCode: code.rawValue, baseOffset: -1) }
    }

    /// Produce: each partition's batches are validated as Kafka's LogValidator does (sizes, magic, CRC, offset
    /// range against record count, no control batches, producer fields, timestamps, keys on compacted topics),
    /// then appended as they came with offsets assigned in place. acks=1 answers after the write, acks=all
    /// after the bytes are fsynced (shared with concurrent appends), acks=0 never.
    func handleProduce(_ request: ProduceRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        guard [0, 1, -1].contains(request.acks) else {
            return context.eventLoop.makeSucceededFuture(.message(.produce(Self.refused(request, .invalidRequiredAcks))))
        }
        if let transactionalId = request.transactionalId, !authorized(context, .write, .transactionalId, transactionalId) {
            return context.eventLoop.makeSucceededFuture(.message(.produce(Self.refused(request, .transactionalIdAuthorizationFailed))))
        }
        let now = clock()
        var response = ProduceResponse()
        var durability: [EventLoopFuture<Void>] = []
        for topicData in request.topicData {
            var topicResponse = ProduceResponse.TopicProduceResponse(name: topicData.name)
            if !authorized(context, .write, .topic, topicData.name) {
                topicResponse.partitionResponses = Self.refused(topicData, .topicAuthorizationFailed)
                response.responses.append(topicResponse)
                continue
            }
            let topic = metadata.topic(named: topicData.name)
            for partitionData in topicData.partitionData {
                var partition = ProduceResponse.PartitionProduceResponse(index: partitionData.index, baseOffset: -1)
                partition.logAppendTimeMs = -1
                partition.logStartOffset = -1
                guard let topic, let log = logs.log(topic: topic.name, partition: partitionData.index) else {
                    partition.errorCode = storageErrorOrUnknown(topicData.name, partitionData.index).rawValue
                    if context.version >= 10, let (leadership, endpoint) = currentLeader(
                        of: TopicPartition(topic: topicData.name, partition: partitionData.index), connection: context.connection) {
                        partition.currentLeader = .init(leaderId: leadership.leader, leaderEpoch: leadership.leaderEpoch)
                        if let endpoint, !response.nodeEndpoints.contains(where: { $0.nodeId == endpoint.nodeId }) {
                            response.nodeEndpoints.append(.init(nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port, rack: endpoint.rack))
                        }
                    }
                    topicResponse.partitionResponses.append(partition)
                    continue
                }
                let records = partitionData.records ?? ByteBuffer()
                let config = log.currentConfig
                let batches: RecordBatchValidator.Result
                do {
                    batches = try ProduceValidator.validate(
                        records, config: config, nowMs: now, topic: topic.name, schemaIds: schemaIdValidator)
                } catch {
                    partition.errorCode = error.errorCode.rawValue
                    partition.errorMessage = error.message
                    partition.recordErrors = error.recordErrors.map { .init(batchIndex: $0.index, batchIndexErrorMessage: $0.message) }
                    topicResponse.partitionResponses.append(partition)
                    logger.debug("produce rejected", metadata: ["partition": "\(topic.name)-\(partitionData.index)", "reason": "\(error.message)"])
                    continue
                }
                if batches.batches.isEmpty {
                    topicResponse.partitionResponses.append(partition)
                    continue
                }
                if let header = batches.batches.first?.header, header.isTransactional,
                   let refusal = transactions.verify(producerId: header.producerId, producerEpoch: header.producerEpoch,
                                                     partition: TopicPartition(topic: topic.name, partition: partitionData.index)) {
                    // KIP-890 verification: a transactional batch must belong to its producer's ongoing
                    // transaction, which must hold this partition.
                    switch refusal {
                    case .producerFenced:
                        partition.errorCode = ErrorCode.invalidProducerEpoch.rawValue
                    case .coordinatorLoadInProgress, .coordinatorNotAvailable, .storage:
                        // Retriable, as Kafka answers a produce whose verification could not reach the coordinator.
                        partition.errorCode = ErrorCode.notEnoughReplicas.rawValue
                    default:
                        partition.errorCode = ErrorCode.invalidTxnState.rawValue
                    }
                    topicResponse.partitionResponses.append(partition)
                    continue
                }
                do {
                    let result = try log.append(records, batches: batches, nowMs: now)
                    if !result.isDuplicate {
                        log.traffic.produced(records: batches.batches.reduce(0) { $0 + Int($1.header.recordCount) }, bytes: records.readableBytes)
                    }
                    partition.baseOffset = result.baseOffset
                    partition.logAppendTimeMs = result.logAppendTimeMs
                    partition.logStartOffset = result.logStartOffset
                    if request.acks == -1 {
                        let promise = context.eventLoop.makePromise(of: Void.self)
                        log.whenDurable(upTo: result.lastOffset + 1, promise: promise)
                        durability.append(promise.futureResult)
                    }
                } catch {
                    partition.errorCode = error.errorCode.rawValue
                    if case let .outOfOrderSequence(expected, received) = error {
                        partition.errorMessage = "Out of order sequence number: expected \(expected), received \(received)"
                    }
                    if case let .invalidTxnState(producerId) = error {
                        partition.errorMessage = "Expected transactional write from producer \(producerId): its transaction is open"
                    }
                    if case let .storage(storageError) = error {
                        logger.error("append failed", metadata: ["partition": "\(topic.name)-\(partitionData.index)", "error": "\(storageError)"])
                    }
                }
                topicResponse.partitionResponses.append(partition)
            }
            response.responses.append(topicResponse)
        }
        if request.acks == 0 {
            // No answer goes out, so the connection never sees these refusals: they are counted here.
            ErrorCodeTally.of(.message(.produce(response))).forEach { code, count in metrics.produceRejected(code, count: count) }
            return context.eventLoop.makeSucceededFuture(.none)
        }
        if durability.isEmpty {
            return context.eventLoop.makeSucceededFuture(.message(.produce(response)))
        }
        let answered = response
        return EventLoopFuture.whenAllComplete(durability, on: context.eventLoop).map { results in
            var response = answered
            if results.contains(where: { if case .failure = $0 { return true } else { return false } }) {
                // An fsync failed: nothing can be promised about these partitions.
                for topicIndex in response.responses.indices {
                    for partitionIndex in response.responses[topicIndex].partitionResponses.indices
                    where response.responses[topicIndex].partitionResponses[partitionIndex].errorCode == 0 {
                        response.responses[topicIndex].partitionResponses[partitionIndex].errorCode = ErrorCode.kafkaStorageError.rawValue
                    }
                }
            }
            return .message(.produce(response))
        }
    }
}

/// Kafka's LogValidator checks of a produce request's batches, done without decompressing them unless the
/// topic needs every record looked at (compacted topics, schema validation).
enum ProduceValidator {
    struct Failure: Error {
        var errorCode: ErrorCode
        var message: String
        /// The records that made the batch fail, by their index in the batch, with why (Produce v8+ `RecordErrors`):
        /// clients fail those with INVALID_RECORD and the batch's others as part of a rejected batch.
        var recordErrors: [(index: Int32, message: String)] = []

        init(errorCode: ErrorCode, message: String) {
            self.errorCode = errorCode
            self.message = message
        }

        /// Kafka's failure for records refused one by one (LogValidator's `processRecordErrors`).
        init(recordErrors: [(index: Int32, message: String)]) {
            errorCode = .invalidRecord
            let shown = recordErrors.prefix(3).map { "RecordError(batchIndex=\($0.index), message='\($0.message)')" }
            message = "One or more records have been rejected due to \(recordErrors.count) record errors in total, and only "
                + "showing the first three errors at most: [\(shown.joined(separator: ", "))]"
            self.recordErrors = recordErrors
        }
    }

    /// Validates the batches and returns them for the append. With schema validation on, every non-null key
    /// or value (as the topic's configs ask) must carry Confluent's framing with an id `schemaIds` knows for
    /// the subject `{topic}-key` / `{topic}-value`; without `schemaIds` such records are refused.
    static func validate(
        _ records: ByteBuffer, config: LogConfig, nowMs: Int64, topic: String = "", schemaIds: (any SchemaIdValidator)? = nil
    ) throws(Failure) -> RecordBatchValidator.Result {
        let result: RecordBatchValidator.Result
        do {
            result = try RecordBatchValidator(origin: .client).validate(records)
        } catch {
            throw Failure(errorCode: error.kafkaErrorCode, message: "\(error)")
        }
        for batch in result.batches {
            let header = batch.header
            if header.totalSize > config.maxMessageBytes {
                throw Failure(errorCode: .messageTooLarge,
                              message: "batch of \(header.totalSize) bytes exceeds max.message.bytes \(config.maxMessageBytes)")
            }
            if header.producerId >= 0 && header.baseSequence < 0 {
                throw Failure(errorCode: .invalidRecord, message: "idempotent batch without a base sequence")
            }
            if !config.usesLogAppendTime {
                let before = config.messageTimestampBeforeMaxMs
                let after = config.messageTimestampAfterMaxMs
                let (earliest, underflow) = nowMs.subtractingReportingOverflow(before)
                let (latest, overflow) = nowMs.addingReportingOverflow(after)
                if (!underflow && header.baseTimestamp < earliest) || (!overflow && header.maxTimestamp > latest) {
                    throw Failure(errorCode: .invalidTimestamp,
                                  message: "timestamp \(header.maxTimestamp) outside the allowed range of the broker time \(nowMs)")
                }
            }
            if config.isCompacted || config.keySchemaValidation || config.valueSchemaValidation {
                let decoded: [DecodedRecord]
                do throws(RecordBatchError) {
                    let bytes = records.getSlice(at: records.readerIndex + batch.position, length: header.totalSize)!
                    decoded = try RecordBatch.decodeRecords(bytes, maximumDecompressedSize: max(config.maxMessageBytes * 4, 16 << 20))
                } catch {
                    throw Failure(errorCode: error.kafkaErrorCode, message: "\(error)")
                }
                var recordErrors: [(index: Int32, message: String)] = []
                for (index, record) in decoded.enumerated() where !record.isControl {
                    let batchIndex = Int32(truncatingIfNeeded: index)
                    if config.isCompacted, record.key == nil {
                        recordErrors.append((batchIndex, "Compacted topic cannot accept message without key in topic partition \(topic)."))
                        continue
                    }
                    if config.keySchemaValidation,
                        let problem = SchemaFraming.problem(record.key, subject: "\(topic)-key", validator: schemaIds) {
                        recordErrors.append((batchIndex, "Key of the record at offset delta \(record.record.offsetDelta) \(problem)"))
                        continue
                    }
                    if config.valueSchemaValidation,
                        let problem = SchemaFraming.problem(record.value, subject: "\(topic)-value", validator: schemaIds) {
                        recordErrors.append((batchIndex, "Value of the record at offset delta \(record.record.offsetDelta) \(problem)"))
                    }
                }
                if !recordErrors.isEmpty { throw Failure(recordErrors: recordErrors) }
            }
        }
        return result
    }
}
