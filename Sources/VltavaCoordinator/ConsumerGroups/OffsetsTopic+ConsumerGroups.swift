import KafkaProtocol
import NIOCore

/// The records of consumer groups (KIP-848) in `__consumer_offsets`, in Kafka's format: the key's int16 version is
/// the record type (3 group epoch, 4 subscription metadata, 5 member metadata, 6 target assignment epoch, 7 a
/// member's target assignment, 8 a member's current assignment); values are version 0; a null value deletes.
extension OffsetsTopic {
    public static func consumerGroupRecord(_ record: ConsumerGroupRecord) throws(KafkaProtocolError) -> (key: ByteBuffer, value: ByteBuffer?) {
        switch record {
        case let .groupEpoch(group, epoch):
            let key = try encode(ConsumerGroupMetadataKey(groupId: group), version: 3)
            return (key, try epoch.map { epoch throws(KafkaProtocolError) in try encode(ConsumerGroupMetadataValue(epoch: epoch), version: 0) })
        case let .subscriptionMetadata(group, topics):
            let key = try encode(ConsumerGroupPartitionMetadataKey(groupId: group), version: 4)
            guard let topics else { return (key, nil) }
            var value = ConsumerGroupPartitionMetadataValue()
            value.topics = topics.map { .init(topicId: $0.topicId, topicName: $0.name, numPartitions: $0.partitionCount, partitionMetadata: []) }
            return (key, try encode(value, version: 0))
        case let .memberMetadata(group, memberId, metadata):
            let key = try encode(ConsumerGroupMemberMetadataKey(groupId: group, memberId: memberId), version: 5)
            guard let metadata else { return (key, nil) }
            var value = ConsumerGroupMemberMetadataValue()
            value.instanceId = metadata.instanceId
            value.rackId = metadata.rackId
            value.clientId = metadata.clientId
            value.clientHost = metadata.clientHost
            value.subscribedTopicNames = metadata.subscribedTopicNames
            value.subscribedTopicRegex = metadata.subscribedTopicRegex
            value.rebalanceTimeoutMs = metadata.rebalanceTimeoutMs
            value.serverAssignor = metadata.serverAssignor
            return (key, try encode(value, version: 0))
        case let .targetAssignmentEpoch(group, epoch):
            let key = try encode(ConsumerGroupTargetAssignmentMetadataKey(groupId: group), version: 6)
            return (key, try epoch.map { epoch throws(KafkaProtocolError) in
                try encode(ConsumerGroupTargetAssignmentMetadataValue(assignmentEpoch: epoch), version: 0)
            })
        case let .targetAssignment(group, memberId, partitions):
            let key = try encode(ConsumerGroupTargetAssignmentMemberKey(groupId: group, memberId: memberId), version: 7)
            guard let partitions else { return (key, nil) }
            var value = ConsumerGroupTargetAssignmentMemberValue()
            value.topicPartitions = sortedTopics(partitions).map { .init(topicId: $0.0, partitions: $0.1) }
            return (key, try encode(value, version: 0))
        case let .currentAssignment(group, memberId, current):
            let key = try encode(ConsumerGroupCurrentMemberAssignmentKey(groupId: group, memberId: memberId), version: 8)
            guard let current else { return (key, nil) }
            var value = ConsumerGroupCurrentMemberAssignmentValue()
            value.memberEpoch = current.memberEpoch
            value.previousMemberEpoch = current.previousMemberEpoch
            value.state = current.state.rawValue
            value.assignedPartitions = sortedTopics(current.assigned).map { .init(topicId: $0.0, partitions: $0.1) }
            value.partitionsPendingRevocation = sortedTopics(current.pendingRevocation).map { .init(topicId: $0.0, partitions: $0.1) }
            return (key, try encode(value, version: 0))
        }
    }

    /// Topics in id order with their partitions sorted, so that the same assignment is written the same way.
    public static func sortedTopics(_ assignment: PartitionAssignment) -> [(KafkaUUID, [Int32])] {
        assignment.filter { !$0.value.isEmpty }
            .sorted { ($0.key.mostSignificantBits, $0.key.leastSignificantBits) < ($1.key.mostSignificantBits, $1.key.leastSignificantBits) }
            .map { ($0.key, $0.value.sorted()) }
    }

    /// Decodes a consumer group record whose key version (3 to 8) was read; nil for a value version this broker
    /// does not know.
    static func decodeConsumerGroupRecord(keyVersion: Int16, key: inout ByteBuffer, value: ByteBuffer?)
        throws(KafkaProtocolError) -> ConsumerGroupRecord? {
        // The value's version, read off its front: only version 0 exists.
        var bytes = value
        if try bytes?.readKafkaInt16() ?? 0 != 0 { return nil }
        func partitions<T>(_ topics: [T], _ id: (T) -> KafkaUUID, _ numbers: (T) -> [Int32]) -> PartitionAssignment {
            var result: PartitionAssignment = [:]
            for topic in topics { result[id(topic), default: []].formUnion(numbers(topic)) }
            return result
        }
        switch keyVersion {
        case 3:
            let record = try ConsumerGroupMetadataKey(from: &key, version: keyVersion)
            guard var bytes else { return .groupEpoch(group: record.groupId, nil) }
            return .groupEpoch(group: record.groupId, try ConsumerGroupMetadataValue(from: &bytes, version: 0).epoch)
        case 4:
            let record = try ConsumerGroupPartitionMetadataKey(from: &key, version: keyVersion)
            guard var bytes else { return .subscriptionMetadata(group: record.groupId, nil) }
            let decoded = try ConsumerGroupPartitionMetadataValue(from: &bytes, version: 0)
            return .subscriptionMetadata(group: record.groupId, decoded.topics.map {
                SubscribedTopic(topicId: $0.topicId, name: $0.topicName, partitionCount: $0.numPartitions)
            })
        case 5:
            let record = try ConsumerGroupMemberMetadataKey(from: &key, version: keyVersion)
            guard var bytes else { return .memberMetadata(group: record.groupId, memberId: record.memberId, nil) }
            let decoded = try ConsumerGroupMemberMetadataValue(from: &bytes, version: 0)
            return .memberMetadata(group: record.groupId, memberId: record.memberId, MemberMetadata(
                instanceId: decoded.instanceId, rackId: decoded.rackId, clientId: decoded.clientId, clientHost: decoded.clientHost,
                subscribedTopicNames: decoded.subscribedTopicNames, subscribedTopicRegex: decoded.subscribedTopicRegex,
                rebalanceTimeoutMs: decoded.rebalanceTimeoutMs, serverAssignor: decoded.serverAssignor))
        case 6:
            let record = try ConsumerGroupTargetAssignmentMetadataKey(from: &key, version: keyVersion)
            guard var bytes else { return .targetAssignmentEpoch(group: record.groupId, nil) }
            return .targetAssignmentEpoch(group: record.groupId,
                                          try ConsumerGroupTargetAssignmentMetadataValue(from: &bytes, version: 0).assignmentEpoch)
        case 7:
            let record = try ConsumerGroupTargetAssignmentMemberKey(from: &key, version: keyVersion)
            guard var bytes else { return .targetAssignment(group: record.groupId, memberId: record.memberId, nil) }
            let decoded = try ConsumerGroupTargetAssignmentMemberValue(from: &bytes, version: 0)
            return .targetAssignment(group: record.groupId, memberId: record.memberId,
                                     partitions(decoded.topicPartitions, \.topicId, \.partitions))
        case 8:
            let record = try ConsumerGroupCurrentMemberAssignmentKey(from: &key, version: keyVersion)
            guard var bytes else { return .currentAssignment(group: record.groupId, memberId: record.memberId, nil) }
            let decoded = try ConsumerGroupCurrentMemberAssignmentValue(from: &bytes, version: 0)
            return .currentAssignment(group: record.groupId, memberId: record.memberId, CurrentAssignment(
                memberEpoch: decoded.memberEpoch, previousMemberEpoch: decoded.previousMemberEpoch,
                state: ConsumerGroupMember.State(rawValue: decoded.state) ?? .unknown,
                assigned: partitions(decoded.assignedPartitions, \.topicId, \.partitions),
                pendingRevocation: partitions(decoded.partitionsPendingRevocation, \.topicId, \.partitions)))
        default:
            return nil
        }
    }
}
