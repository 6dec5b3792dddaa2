import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest local (-4), or the first offset
    /// whose record timestamp is at or after a given time.
    func handleListOffsets(_ request: ListOffsetsRequest, context: RequestContext) -> ListOffsetsResponse {
        var response = ListOffsetsResponse()
        for topicRequest in request.topics {
            var topicResponse = ListOffsetsResponse.ListOffsetsTopicResponse(name: topicRequest.name)
            let describable = authorized(context, .describe, .topic, topicRequest.name)
            for partitionRequest in topicRequest.partitions {
                var partition = ListOffsetsResponse.ListOffsetsPartitionResponse(partitionIndex: partitionRequest.partitionIndex)
                partition.timestamp = -1
                partition.offset = -1
                if !describable {
                    partition.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    topicResponse.partitions.append(partition)
                    continue
                }
                guard let log = logs.log(topic: topicRequest.name, partition: partitionRequest.partitionIndex) else {
                    let elsewhere = ledElsewhere(TopicPartition(topic: topicRequest.name, partition: partitionRequest.partitionIndex))
                    partition.errorCode = (elsewhere != nil ? ErrorCode.notLeaderOrFollower : .unknownTopicOrPartition).rawValue
                    topicResponse.partitions.append(partition)
                    continue
                }
                if context.version >= 4 { partition.leaderEpoch = 0 }
                switch partitionRequest.timestamp {
                case -2, -4:
                    partition.offset = log.logStartOffset
                case -1:
                    // read_committed consumers start at the last stable offset, never inside an open transaction.
                    partition.offset = request.isolationLevel == 1 ? log.lastStableOffset : log.highWatermark
                case -3:
                    if let (timestamp, offset) = log.maxTimestampAndOffset() {
                        partition.timestamp = timestamp
                        partition.offset = offset
                    }
                case let timestamp where timestamp >= 0:
                    do {
                        if let found = try log.offset(forTimestamp: timestamp) {
                            partition.offset = found.offset
                            partition.timestamp = found.timestamp
                        }
                    } catch {
                        partition.errorCode = ErrorCode.kafkaStorageError.rawValue
                    }
                default:
                    partition.errorCode = ErrorCode.invalidRequest.rawValue
                }
                topicResponse.partitions.append(partition)
            }
            response.topics.append(topicResponse)
        }
        return response
    }
}
