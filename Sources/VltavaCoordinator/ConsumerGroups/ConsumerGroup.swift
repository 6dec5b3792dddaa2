import KafkaProtocol

/// The states of a consumer group (KIP-848), named as ConsumerGroupDescribe and ListGroups name them.
public enum ConsumerGroupState: String, Sendable, CaseIterable {
    case empty = "Empty"
    /// The group epoch moved past the target assignment's: a new target is to be computed.
    case assigning = "Assigning"
    /// Some member has not reached the target assignment yet.
    case reconciling = "Reconciling"
    case stable = "Stable"
    case dead = "Dead"
}

/// A topic as a group sees it: its id, name and partition count.
public struct SubscribedTopic: Sendable, Equatable {
    public var topicId: KafkaUUID
    public var name: String
    public var partitionCount: Int32

    public init(topicId: KafkaUUID, name: String, partitionCount: Int32) {
        self.topicId = topicId
        self.name = name
        self.partitionCount = partitionCount
    }
}

/// One record of a consumer group in `__consumer_offsets` (Kafka's record types 3 to 8); nil values are
/// tombstones.
public enum ConsumerGroupRecord: Sendable, Equatable {
    case groupEpoch(group: String, Int32?)
    case subscriptionMetadata(group: String, [SubscribedTopic]?)
    case memberMetadata(group: String, memberId: String, MemberMetadata?)
    case targetAssignmentEpoch(group: String, Int32?)
    case targetAssignment(group: String, memberId: String, PartitionAssignment?)
    case currentAssignment(group: String, memberId: String, CurrentAssignment?)

    public var groupId: String {
        switch self {
        case let .groupEpoch(group, _), let .subscriptionMetadata(group, _), let .memberMetadata(group, _, _),
             let .targetAssignmentEpoch(group, _), let .targetAssignment(group, _, _), let .currentAssignment(group, _, _):
            group
        }
    }
}

/// A consumer group of the KIP-848 protocol as a value without I/O: the coordinator feeds it heartbeats and the
/// clock, and writes the records it returns. Its persistent state changes only by `replay`, which reloading from
/// `__consumer_offsets` uses too, so a reloaded group is the group that was written.
public struct ConsumerGroup: Sendable {
    public let groupId: String
    public internal(set) var groupEpoch: Int32 = 0
    /// The epoch of the target assignment.
    public internal(set) var assignmentEpoch: Int32 = 0
    public internal(set) var members: [String: ConsumerGroupMember] = [:]
    /// What each member is to end up with.
    public internal(set) var targetAssignment: [String: PartitionAssignment] = [:]
    /// The topics the members subscribe to that exist, by name, as the target assignment was computed from.
    public internal(set) var subscriptionMetadata: [String: SubscribedTopic] = [:]
    /// The epoch of the member owning each partition (assigned or pending revocation); absent when nobody owns it.
    var partitionEpochs: [PartitionKey: Int32] = [:]
    /// When each member is removed unless it heartbeats (not stored: a reloaded group gives each a new session).
    var sessionDeadlines: [String: Int64] = [:]
    /// When a member that must revoke partitions is removed unless it has.
    var rebalanceDeadlines: [String: Int64] = [:]
    /// When the group last became empty, for offset expiry.
    public internal(set) var emptySinceMs: Int64

    public init(groupId: String, nowMs: Int64) {
        self.groupId = groupId
        self.emptySinceMs = nowMs
    }

    public var state: ConsumerGroupState {
        if members.isEmpty { return .empty }
        if groupEpoch > assignmentEpoch { return .assigning }
        if members.values.contains(where: { !$0.isReconciled(to: assignmentEpoch) }) { return .reconciling }
        return .stable
    }

    /// The epoch of the member owning a partition, nil when nobody owns it.
    public func ownerEpoch(_ topicId: KafkaUUID, _ partition: Int32) -> Int32? {
        partitionEpochs[PartitionKey(topicId: topicId, partition: partition)]
    }

    /// The member with this `group.instance.id`.
    public func staticMember(_ instanceId: String) -> ConsumerGroupMember? {
        members.values.first { $0.instanceId == instanceId }
    }

    /// The next moment a member's session or rebalance timeout ends.
    public var nextDeadlineMs: Int64? {
        (Array(sessionDeadlines.values) + Array(rebalanceDeadlines.values)).min()
    }

    // MARK: Replay

    /// Applies one of the group's records (a live change or one read back). A tombstone of the group epoch is
    /// handled by the owner (the group goes away).
    public mutating func replay(_ record: ConsumerGroupRecord, nowMs: Int64 = 0) {
        switch record {
        case let .groupEpoch(_, epoch):
            if let epoch { groupEpoch = epoch }
        case let .subscriptionMetadata(_, topics):
            subscriptionMetadata = Dictionary((topics ?? []).map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        case let .memberMetadata(_, memberId, metadata):
            if let metadata {
                members[memberId, default: ConsumerGroupMember(memberId: memberId)].metadata = metadata
            } else if let removed = members.removeValue(forKey: memberId) {
                releasePartitions(of: removed)
                sessionDeadlines[memberId] = nil
                rebalanceDeadlines[memberId] = nil
                if members.isEmpty { emptySinceMs = nowMs }
            }
        case let .targetAssignmentEpoch(_, epoch):
            if let epoch { assignmentEpoch = epoch }
        case let .targetAssignment(_, memberId, partitions):
            targetAssignment[memberId] = partitions
        case let .currentAssignment(_, memberId, current):
            // A tombstone of a member already gone (a compacted log may keep it after the member's) changes nothing.
            if current == nil && members[memberId] == nil { return }
            var member = members[memberId] ?? ConsumerGroupMember(memberId: memberId)
            releasePartitions(of: member)
            member.currentAssignment = current ?? CurrentAssignment()
            claimPartitions(of: member)
            members[memberId] = member
        }
    }

    private mutating func releasePartitions(of member: ConsumerGroupMember) {
        for assignment in [member.assigned, member.pendingRevocation] {
            for (topicId, partitions) in assignment {
                for partition in partitions {
                    let key = PartitionKey(topicId: topicId, partition: partition)
                    if partitionEpochs[key] == member.memberEpoch { partitionEpochs[key] = nil }
                }
            }
        }
    }

    private mutating func claimPartitions(of member: ConsumerGroupMember) {
        for assignment in [member.assigned, member.pendingRevocation] {
            for (topicId, partitions) in assignment {
                for partition in partitions { partitionEpochs[PartitionKey(topicId: topicId, partition: partition)] = member.memberEpoch }
            }
        }
    }

    /// Applies records made live, in order.
    mutating func apply(_ records: [ConsumerGroupRecord], to list: inout [ConsumerGroupRecord], nowMs: Int64) {
        for record in records {
            replay(record, nowMs: nowMs)
            list.append(record)
        }
    }

    /// The records that write the group away (the owner adds its offsets' tombstones).
    func tombstones() -> [ConsumerGroupRecord] {
        var records: [ConsumerGroupRecord] = []
        for memberId in members.keys.sorted() { records += memberTombstones(memberId) }
        for memberId in targetAssignment.keys.sorted() where members[memberId] == nil {
            records.append(.targetAssignment(group: groupId, memberId: memberId, nil))
        }
        records.append(.targetAssignmentEpoch(group: groupId, nil))
        records.append(.subscriptionMetadata(group: groupId, nil))
        records.append(.groupEpoch(group: groupId, nil))
        return records
    }

    /// The records removing a member, in Kafka's order.
    func memberTombstones(_ memberId: String) -> [ConsumerGroupRecord] {
        [.currentAssignment(group: groupId, memberId: memberId, nil),
         .targetAssignment(group: groupId, memberId: memberId, nil),
         .memberMetadata(group: groupId, memberId: memberId, nil)]
    }
}
