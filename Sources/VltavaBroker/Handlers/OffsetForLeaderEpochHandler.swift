import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// OffsetForLeaderEpoch: every batch this node writes carries partition leader epoch 0, and Metadata reports
    /// leader epoch 0, so the leader-epoch cache of each partition is the single entry (0, log start). Answers
    /// follow Kafka's `LeaderEpochFileCache.endOffsetFor`: the current epoch 0 ends at the log end; an
    /// undefined (-1) or later epoch has no end offset (-1, -1); an epoch before 0 ends where epoch 0 starts.
    /// A current leader epoch above 0 is UNKNOWN_LEADER_EPOCH, below 0 (other than -1, "none") FENCED_LEADER_EPOCH.
    func handleOffsetForLeaderEpoch(_ request: OffsetForLeaderEpochRequest, context: RequestContext) -> OffsetForLeaderEpochResponse {
        var response = OffsetForLeaderEpochResponse()
        for topic in request.topics {
            var topicResult = OffsetForLeaderEpochResponse.OffsetForLeaderTopicResult(topic: topic.topic)
            let describable = authorized(context, .describe, .topic, topic.topic)
            for partition in topic.partitions {
                var result = OffsetForLeaderEpochResponse.EpochEndOffset(partition: partition.partition)
                let currentLeaderEpoch = context.version >= 2 ? partition.currentLeaderEpoch : -1
                if !describable {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                } else if let log = logs.log(topic: topic.topic, partition: partition.partition) {
                    if currentLeaderEpoch > 0 {
                        result.errorCode = ErrorCode.unknownLeaderEpoch.rawValue
                    } else if currentLeaderEpoch < -1 {
                        result.errorCode = ErrorCode.fencedLeaderEpoch.rawValue
                    } else if partition.leaderEpoch == 0 {
                        result.leaderEpoch = 0
                        result.endOffset = log.logEndOffset
                    } else if partition.leaderEpoch < -1 {
                        result.leaderEpoch = partition.leaderEpoch
                        result.endOffset = log.logStartOffset
                    }
                } else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                }
                if context.version < 1 { result.leaderEpoch = -1 }
                topicResult.partitions.append(result)
            }
            response.topics.append(topicResult)
        }
        return response
    }
}
