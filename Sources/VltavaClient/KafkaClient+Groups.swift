import KafkaProtocol
import NIOCore

/// A group as ListGroups shows it.
public struct GroupOverview: Hashable, Sendable {
    public var groupId: String
    public var protocolType: String
    /// Empty when the broker's ListGroups version has no state.
    public var state: String
    /// "classic" or "consumer" (KIP-848); empty when the broker's ListGroups version has no type.
    public var type: String = ""
}

/// A member of a consumer group (KIP-848) as ConsumerGroupDescribe shows it.
public struct ConsumerGroupMemberDescription: Hashable, Sendable {
    public var memberId: String
    public var instanceId: String?
    public var clientId: String
    public var clientHost: String
    public var memberEpoch: Int32
    public var subscribedTopics: [String]
    public var subscribedRegex: String?
    /// The partitions the member has now, by topic.
    public var assignment: [String: [Int32]]
    /// The partitions it is to end up with.
    public var target: [String: [Int32]]
}

/// A consumer group (KIP-848) as ConsumerGroupDescribe shows it.
public struct ConsumerGroupDescription: Hashable, Sendable {
    public var groupId: String
    public var state: String
    public var groupEpoch: Int32
    public var assignmentEpoch: Int32
    public var assignor: String
    public var members: [ConsumerGroupMemberDescription]
}

/// A member of a described group.
public struct GroupMemberDescription: Hashable, Sendable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    /// The partitions assigned to the member, by topic (decoded from the consumer protocol; empty otherwise).
    public var assignment: [String: [Int32]]
}

/// A group as DescribeGroups shows it.
public struct GroupDescription: Hashable, Sendable {
    public var groupId: String
    public var state: String
    public var protocolType: String
    /// The assignor of a consumer group.
    public var protocolName: String
    public var members: [GroupMemberDescription]
}

extension KafkaClient {
    /// The connection to the coordinator of `group` (FindCoordinator, then that broker).
    public func coordinatorConnection(group: String) async throws(KafkaClientError) -> BrokerConnection {
        let response = try await send(FindCoordinatorRequest(key: group, keyType: 0), maximumVersion: 3)
        try KafkaClientError.check(response.errorCode, message: response.errorMessage, resource: group)
        if metadata?.broker(id: response.nodeId) == nil { try await refreshMetadata(topics: []) }
        return try await connection(toBroker: response.nodeId)
    }

    private func sendToCoordinator<Request: KafkaRequestMessage>(
        _ request: Request, group: String, maximumVersion: Int16? = nil
    ) async throws(KafkaClientError) -> Request.Response {
        let connection = try await coordinatorConnection(group: group)
        return try await connection.send(request, maximumVersion: maximumVersion)
    }

    /// Every group the cluster's brokers coordinate.
    public func listGroups() async throws(KafkaClientError) -> [GroupOverview] {
        let metadata = try await refreshMetadata(topics: [])
        var result: [GroupOverview] = []
        for broker in metadata.brokers {
            let connection = try await connection(toBroker: broker.nodeId)
            let response = try await connection.send(ListGroupsRequest(), maximumVersion: 5)
            try KafkaClientError.check(response.errorCode, resource: "ListGroups")
            result += response.groups.map {
                GroupOverview(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.groupState, type: $0.groupType)
            }
        }
        return result.sorted { $0.groupId < $1.groupId }
    }

    /// The state, protocol and members of a group (state "Dead" when it does not exist).
    public func describeGroup(_ group: String) async throws(KafkaClientError) -> GroupDescription {
        let response = try await sendToCoordinator(DescribeGroupsRequest(groups: [group]), group: group)
        guard let described = response.groups.first(where: { $0.groupId == group }) else {
            throw .malformedResponse("DescribeGroups did not describe \(group)")
        }
        try KafkaClientError.check(described.errorCode, resource: group)
        return GroupDescription(
            groupId: group, state: described.groupState, protocolType: described.protocolType,
            protocolName: described.protocolData,
            members: described.members.map { member in
                GroupMemberDescription(
                    memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
                    clientHost: member.clientHost,
                    assignment: described.protocolType == "consumer" ? Self.decodeAssignment(member.memberAssignment) : [:])
            })
    }

    /// A consumer group of the KIP-848 protocol (ConsumerGroupDescribe); nil when the group is not one (or the
    /// broker has no such API).
    public func describeConsumerGroup(_ group: String) async throws(KafkaClientError) -> ConsumerGroupDescription? {
        let response: ConsumerGroupDescribeResponse
        do {
            response = try await sendToCoordinator(ConsumerGroupDescribeRequest(groupIds: [group]), group: group)
        } catch .unsupportedApi {
            return nil
        }
        guard let described = response.groups.first(where: { $0.groupId == group }) else {
            throw .malformedResponse("ConsumerGroupDescribe did not describe \(group)")
        }
        if described.errorCode == ErrorCode.groupIdNotFound.rawValue { return nil }
        try KafkaClientError.check(described.errorCode, message: described.errorMessage, resource: group)
        func byTopic(_ assignment: ConsumerGroupDescribeResponse.Assignment) -> [String: [Int32]] {
            var result: [String: [Int32]] = [:]
            for topic in assignment.topicPartitions { result[topic.topicName, default: []] += topic.partitions }
            return result
        }
        return ConsumerGroupDescription(
            groupId: group, state: described.groupState, groupEpoch: described.groupEpoch,
            assignmentEpoch: described.assignmentEpoch, assignor: described.assignorName,
            members: described.members.map { member in
                ConsumerGroupMemberDescription(
                    memberId: member.memberId, instanceId: member.instanceId, clientId: member.clientId,
                    clientHost: member.clientHost, memberEpoch: member.memberEpoch, subscribedTopics: member.subscribedTopicNames,
                    subscribedRegex: member.subscribedTopicRegex, assignment: byTopic(member.assignment),
                    target: byTopic(member.targetAssignment))
            })
    }

    /// The partitions of a consumer protocol assignment (an int16 version, then the assignment), by topic.
    static func decodeAssignment(_ bytes: ByteBuffer) -> [String: [Int32]] {
        var buffer = bytes
        guard buffer.readableBytes >= 2, let version = try? buffer.readKafkaInt16(),
              let assignment = try? ConsumerProtocolAssignment(
                  from: &buffer, version: min(max(version, 0), ConsumerProtocolAssignment.validVersions.upperBound))
        else { return [:] }
        var result: [String: [Int32]] = [:]
        for topic in assignment.assignedPartitions { result[topic.topic, default: []] += topic.partitions }
        return result
    }

    /// Deletes empty groups; throws the first group's error (such as NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND).
    public func deleteGroup(_ group: String) async throws(KafkaClientError) {
        let response = try await sendToCoordinator(DeleteGroupsRequest(groupsNames: [group]), group: group)
        for result in response.results { try KafkaClientError.check(result.errorCode, resource: result.groupId) }
    }

    /// A group's committed offsets, by topic and partition (every partition it has committed).
    public func committedOffsets(group: String) async throws(KafkaClientError) -> [String: [Int32: Int64]] {
        var request = OffsetFetchRequest(groupId: group)
        request.topics = nil
        let response = try await sendToCoordinator(request, group: group, maximumVersion: 7)
        try KafkaClientError.check(response.errorCode, resource: group)
        var result: [String: [Int32: Int64]] = [:]
        for topic in response.topics {
            for partition in topic.partitions where partition.committedOffset >= 0 {
                try KafkaClientError.check(partition.errorCode, resource: "\(topic.name)-\(partition.partitionIndex)")
                result[topic.name, default: [:]][partition.partitionIndex] = partition.committedOffset
            }
        }
        return result
    }

    /// Commits offsets for a group from outside it (generation -1, no member), as kafka-consumer-groups does.
    public func commitOffsets(group: String, topic: String, offsets: [Int32: Int64]) async throws(KafkaClientError) {
        var request = OffsetCommitRequest(groupId: group)
        request.generationIdOrMemberEpoch = -1
        request.topics = [.init(name: topic, partitions: offsets.sorted { $0.key < $1.key }.map {
            .init(partitionIndex: $0.key, committedOffset: $0.value)
        })]
        let response = try await sendToCoordinator(request, group: group, maximumVersion: 8)
        for topic in response.topics {
            for partition in topic.partitions {
                try KafkaClientError.check(partition.errorCode, resource: "\(topic.name)-\(partition.partitionIndex)")
            }
        }
    }
}
