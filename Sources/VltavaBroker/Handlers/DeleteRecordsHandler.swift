import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// DeleteRecords: moves each partition's log start (its low watermark) up to the offset asked for, -1 meaning
    /// the high watermark. As in Kafka, an offset past the high watermark is OFFSET_OUT_OF_RANGE, one below the
    /// log start changes nothing, and a topic whose cleanup policy lacks `delete` refuses with POLICY_VIOLATION.
    func handleDeleteRecords(_ request: DeleteRecordsRequest, context: RequestContext) -> DeleteRecordsResponse {
        var response = DeleteRecordsResponse()
        for topic in request.topics {
            var topicResult = DeleteRecordsResponse.DeleteRecordsTopicResult(name: topic.name)
            let config = metadata.topic(named: topic.name).map { logs.config(forTopic: $0) }
            let deletable = authorized(context, .delete, .topic, topic.name)
            for partition in topic.partitions {
                var result = DeleteRecordsResponse.DeleteRecordsPartitionResult(partitionIndex: partition.partitionIndex, lowWatermark: -1)
                if !deletable {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                } else if let config, let log = logs.log(topic: topic.name, partition: partition.partitionIndex) {
                    let offset = partition.offset == -1 ? log.highWatermark : partition.offset
                    if !config.value("cleanup.policy").lowercased().contains("delete") {
                        result.errorCode = ErrorCode.policyViolation.rawValue
                    } else if offset < 0 || offset > log.highWatermark {
                        result.errorCode = ErrorCode.offsetOutOfRange.rawValue
                    } else {
                        do {
                            result.lowWatermark = try logs.deleteRecords(
                                TopicPartition(topic: topic.name, partition: partition.partitionIndex), before: offset)
                        } catch StorageError.offsetOutOfRange {
                            result.errorCode = ErrorCode.offsetOutOfRange.rawValue
                        } catch {
                            logger.error("delete records failed", metadata: [
                                "partition": "\(topic.name)-\(partition.partitionIndex)", "error": "\(error)",
                            ])
                            result.errorCode = ErrorCode.kafkaStorageError.rawValue
                        }
                    }
                } else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                }
                topicResult.partitions.append(result)
            }
            response.topics.append(topicResult)
        }
        return response
    }
}
