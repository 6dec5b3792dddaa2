#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import NIOCore
import VltavaCoordinator

extension Broker {
    /// ConsumerGroupHeartbeat (KIP-848): joins, heartbeats and leaves of the consumer protocol; the answer comes
    /// once the group's records are on disk. Version 0 members may join without an id (the coordinator makes
    /// one); version 1 members bring their own (KIP-1082).
    func handleConsumerGroupHeartbeat(_ request: ConsumerGroupHeartbeatRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        guard authorized(context, .read, .group, request.groupId) else {
            var response = ConsumerGroupHeartbeatResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.consumerGroupHeartbeat(response)))
        }
        // Subscribing to a topic needs DESCRIBE on it, as in Kafka; a topic the principal may not see is refused.
        if let names = request.subscribedTopicNames, let hidden = names.first(where: { !authorized(context, .describe, .topic, $0) }) {
            var response = ConsumerGroupHeartbeatResponse()
            response.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
            response.errorMessage = "Topic \(hidden) is not authorized."
            return context.eventLoop.makeSucceededFuture(.message(.consumerGroupHeartbeat(response)))
        }
        var memberId = request.memberId
        if memberId.isEmpty && request.memberEpoch == 0 && context.version == 0 {
            memberId = Self.newConsumerMemberId()
        }
        let owned: PartitionAssignment? = request.topicPartitions.map { topics in
            var result: PartitionAssignment = [:]
            for topic in topics { result[topic.topicId, default: []].formUnion(topic.partitions) }
            return result
        }
        let heartbeat = ConsumerHeartbeat(
            memberId: memberId, memberEpoch: request.memberEpoch, instanceId: request.instanceId, rackId: request.rackId,
            rebalanceTimeoutMs: request.rebalanceTimeoutMs, subscribedTopicNames: request.subscribedTopicNames,
            subscribedTopicRegex: context.version >= 1 ? request.subscribedTopicRegex : nil,
            serverAssignor: request.serverAssignor, owned: owned,
            clientId: context.header.clientId ?? "", clientHost: "/" + context.connection.clientHost)
        return groups.consumerHeartbeat(group: request.groupId, heartbeat, version: context.version, eventLoop: context.eventLoop)
            .map { outcome in
                var response = ConsumerGroupHeartbeatResponse()
                response.errorCode = outcome.errorCode.rawValue
                response.errorMessage = outcome.errorMessage
                if outcome.errorCode == .none {
                    response.memberId = outcome.memberId
                    response.memberEpoch = outcome.memberEpoch
                    response.heartbeatIntervalMs = outcome.heartbeatIntervalMs
                    response.assignment = outcome.assignment.map { assignment in
                        ConsumerGroupHeartbeatResponse.Assignment(topicPartitions: OffsetsTopic.sortedTopics(assignment).map {
                            .init(topicId: $0.0, partitions: $0.1)
                        })
                    }
                }
                return .message(.consumerGroupHeartbeat(response))
            }
    }

    /// Kafka's member id for the consumer protocol: a random UUID in its base64 form.
    static func newConsumerMemberId() -> String {
        let uuid = UUID().uuid
        let bytes = [uuid.0, uuid.1, uuid.2, uuid.3, uuid.4, uuid.5, uuid.6, uuid.7,
                     uuid.8, uuid.9, uuid.10, uuid.11, uuid.12, uuid.13, uuid.14, uuid.15]
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A topic's name as a group knows it (its subscription metadata), else as the cluster does.
    func topicName(_ topicId: KafkaUUID, in group: ConsumerGroup) -> String {
        group.subscriptionMetadata.values.first { $0.topicId == topicId }?.name ?? topic(withId: topicId)?.name ?? ""
    }

    /// ConsumerGroupDescribe: each consumer group's epochs, assignor, and members with their assignment and target
    /// (topics named); GROUP_ID_NOT_FOUND for a group that is not a consumer group.
    func handleConsumerGroupDescribe(_ request: ConsumerGroupDescribeRequest, context: RequestContext) -> ConsumerGroupDescribeResponse {
        var response = ConsumerGroupDescribeResponse()
        response.groups = Self.unique(request.groupIds).map { groupId in
            var described = ConsumerGroupDescribeResponse.DescribedGroup()
            described.groupId = groupId
            guard authorized(context, .describe, .group, groupId) else {
                described.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                return described
            }
            let (error, found) = groups.describeConsumerGroup(groupId)
            guard error == .none, let group = found else {
                described.errorCode = error.rawValue
                described.errorMessage = error == .groupIdNotFound ? "Group \(groupId) not found." : nil
                return described
            }
            described.groupState = group.state.rawValue
            described.groupEpoch = group.groupEpoch
            described.assignmentEpoch = group.assignmentEpoch
            described.assignorName = group.assignor(configuration.consumerGroups).rawValue
            let assignment = { (partitions: PartitionAssignment) -> ConsumerGroupDescribeResponse.Assignment in
                .init(topicPartitions: OffsetsTopic.sortedTopics(partitions).map { topicId, numbers in
                    .init(topicId: topicId, topicName: self.topicName(topicId, in: group), partitions: numbers)
                })
            }
            described.members = group.members.values.sorted { $0.memberId < $1.memberId }.map { member in
                var described = ConsumerGroupDescribeResponse.Member()
                described.memberId = member.memberId
                described.instanceId = member.instanceId
                described.rackId = member.rackId
                described.memberEpoch = member.memberEpoch
                described.clientId = member.clientId
                described.clientHost = member.clientHost
                described.subscribedTopicNames = member.subscribedTopicNames
                described.subscribedTopicRegex = member.subscribedTopicRegex
                described.assignment = assignment(member.assigned)
                described.targetAssignment = assignment(group.targetAssignment[member.memberId] ?? [:])
                return described
            }
            described.authorizedOperations = request.includeAuthorizedOperations
                ? authorizedOperations(context, .group, groupId, among: Self.groupOperations) : Int32.min
            return described
        }
        return response
    }

    /// A consumer group described in classic terms (DescribeGroups): protocol type "consumer", each member's
    /// subscription and assignment in the consumer protocol's embedded format, as Kafka answers for such groups.
    func classicDescription(of group: ConsumerGroup, into described: inout DescribeGroupsResponse.DescribedGroup, version: Int16) {
        described.groupState = group.state.rawValue
        described.protocolType = "consumer"
        described.protocolData = group.assignor(configuration.consumerGroups).rawValue
        described.members = group.members.values.sorted { $0.memberId < $1.memberId }.map { member in
            var subscription = ConsumerProtocolSubscription()
            subscription.topics = member.subscribedTopicNames
            var assignment = ConsumerProtocolAssignment()
            assignment.assignedPartitions = OffsetsTopic.sortedTopics(member.assigned).map { topicId, numbers in
                .init(topic: topicName(topicId, in: group), partitions: numbers)
            }
            return .init(memberId: member.memberId, groupInstanceId: version >= 4 ? member.instanceId : nil,
                         clientId: member.clientId, clientHost: member.clientHost,
                         memberMetadata: Self.embedded(subscription), memberAssignment: Self.embedded(assignment))
        }
    }

    /// A consumer protocol message with its int16 version in front (version 0, which every client reads).
    static func embedded<Message: KafkaMessage>(_ message: Message) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeInteger(Int16(0), endianness: .big)
        do {
            try message.write(to: &buffer, version: 0)
        } catch {
            return ByteBuffer()
        }
        return buffer
    }
}
