import KafkaProtocol

/// Partitions by topic id: what a member owns, is assigned or must give up (KIP-848 names topics by id).
public typealias PartitionAssignment = [KafkaUUID: Set<Int32>]

extension Dictionary where Key == KafkaUUID, Value == Set<Int32> {
    /// The number of partitions in all topics.
    public var partitionCount: Int { values.reduce(0) { $0 + $1.count } }

    /// Whether it holds the partition.
    public func holds(_ topicId: KafkaUUID, _ partition: Int32) -> Bool { self[topicId]?.contains(partition) ?? false }

    /// Whether every partition of `self` is in `other`.
    public func isSubset(of other: PartitionAssignment) -> Bool {
        allSatisfy { topicId, partitions in partitions.isSubset(of: other[topicId] ?? []) }
    }

    /// Without topics that have no partitions, so that equal assignments compare equal.
    public var normalized: PartitionAssignment { filter { !$0.value.isEmpty } }
}

/// A member of a consumer group (KIP-848), as the coordinator keeps it and `__consumer_offsets` stores it.
@dynamicMemberLookup
public struct ConsumerGroupMember: Sendable, Equatable {
    /// Kafka's `MemberState`, with its stored values.
    public enum State: Int8, Sendable {
        /// Reconciled with the target assignment of its epoch.
        case stable = 0
        /// Must give up partitions (reported no longer owned in a heartbeat) before it moves to the next epoch.
        case unrevokedPartitions = 1
        /// At the target epoch, waiting for partitions that other members still own.
        case unreleasedPartitions = 2
        case unknown = 127

        public var name: String {
            switch self {
            case .stable: "STABLE"
            case .unrevokedPartitions: "UNREVOKED_PARTITIONS"
            case .unreleasedPartitions: "UNRELEASED_PARTITIONS"
            case .unknown: "UNKNOWN"
            }
        }
    }

    /// The epoch a member joins with.
    public static let joinEpoch: Int32 = 0
    /// The epoch of a dynamic member leaving.
    public static let leaveEpoch: Int32 = -1
    /// The epoch of a static member leaving for a while (it keeps its assignment until its session ends).
    public static let staticLeaveEpoch: Int32 = -2

    public var memberId: String
    /// Its subscription and identity, as `ConsumerGroupMemberMetadataValue` stores them; read and set through the
    /// member (`member.subscribedTopicNames`).
    public var metadata = MemberMetadata()
    /// Its epochs and partitions, as `ConsumerGroupCurrentMemberAssignmentValue` stores them (`member.memberEpoch`,
    /// `member.assigned`).
    public var currentAssignment = CurrentAssignment()

    public init(memberId: String) {
        self.memberId = memberId
    }

    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<MemberMetadata, Value>) -> Value {
        get { metadata[keyPath: keyPath] }
        set { metadata[keyPath: keyPath] = newValue }
    }

    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<CurrentAssignment, Value>) -> Value {
        get { currentAssignment[keyPath: keyPath] }
        set { currentAssignment[keyPath: keyPath] = newValue }
    }

    /// Whether the member is at `epoch` with nothing left to reconcile.
    public func isReconciled(to epoch: Int32) -> Bool { currentAssignment.state == .stable && currentAssignment.memberEpoch == epoch }
}

/// A member's subscription and identity, as `ConsumerGroupMemberMetadataValue` stores them.
public struct MemberMetadata: Sendable, Equatable {
    public var instanceId: String?
    public var rackId: String?
    public var clientId = ""
    public var clientHost = ""
    public var subscribedTopicNames: [String] = []
    public var subscribedTopicRegex: String?
    public var rebalanceTimeoutMs: Int32 = -1
    public var serverAssignor: String?
}

/// A member's epochs and partitions, as `ConsumerGroupCurrentMemberAssignmentValue` stores them.
public struct CurrentAssignment: Sendable, Equatable {
    public var memberEpoch: Int32 = 0
    public var previousMemberEpoch: Int32 = 0
    public var state: ConsumerGroupMember.State = .stable
    /// The partitions the member may use now.
    public var assigned: PartitionAssignment = [:]
    /// The partitions it must give up before its next epoch.
    public var pendingRevocation: PartitionAssignment = [:]
}

/// Moves a member towards its target assignment one safe step at a time (Kafka's `CurrentAssignmentBuilder`): a
/// partition is given to a member only once no other member owns it, and a member keeps its epoch until it has
/// given up the partitions it must revoke.
struct MemberReconciliation {
    var targetEpoch: Int32
    var target: PartitionAssignment
    /// The epoch of the member owning a partition, nil when nobody owns it.
    var ownerEpoch: (KafkaUUID, Int32) -> Int32?
    /// The partitions the member reported owning in this heartbeat; nil when it did not say.
    var owned: PartitionAssignment?

    func reconcile(_ member: ConsumerGroupMember) -> ConsumerGroupMember {
        switch member.state {
        case .stable:
            if member.memberEpoch != targetEpoch { return next(member, epoch: member.memberEpoch) }
            return member
        case .unrevokedPartitions:
            if stillOwns(member.pendingRevocation) { return member }
            return next(member, epoch: member.memberEpoch + 1)
        case .unreleasedPartitions:
            return next(member, epoch: member.memberEpoch)
        case .unknown:
            return next(member, epoch: member.memberEpoch)
        }
    }

    /// Whether the member may still own some of `partitions` (it did not report its partitions, or reported some).
    private func stillOwns(_ partitions: PartitionAssignment) -> Bool {
        guard let owned else { return true }
        return owned.contains { topicId, ownedPartitions in !ownedPartitions.isDisjoint(with: partitions[topicId] ?? []) }
    }

    private func next(_ member: ConsumerGroupMember, epoch: Int32) -> ConsumerGroupMember {
        var assigned: PartitionAssignment = [:]
        var revoking: PartitionAssignment = [:]
        var adding: PartitionAssignment = [:]
        var unreleased = false
        for topicId in Set(target.keys).union(member.assigned.keys) {
            let targetPartitions = target[topicId] ?? []
            let current = member.assigned[topicId] ?? []
            let keep = current.intersection(targetPartitions)
            let revoke = current.subtracting(keep)
            var add = targetPartitions.subtracting(keep)
            let waiting = add.filter { partition in
                ownerEpoch(topicId, partition) != nil && !(member.pendingRevocation[topicId]?.contains(partition) ?? false)
            }
            if !waiting.isEmpty {
                unreleased = true
                add.subtract(waiting)
            }
            if !keep.isEmpty { assigned[topicId] = keep }
            if !revoke.isEmpty { revoking[topicId] = revoke }
            if !add.isEmpty { adding[topicId] = add }
        }
        var updated = member
        if !revoking.isEmpty && stillOwns(revoking) {
            updated.state = .unrevokedPartitions
            updated.setEpoch(epoch)
            updated.assigned = assigned
            updated.pendingRevocation = revoking
            return updated
        }
        for (topicId, partitions) in adding { assigned[topicId, default: []].formUnion(partitions) }
        updated.state = unreleased ? .unreleasedPartitions : .stable
        updated.setEpoch(targetEpoch)
        updated.assigned = assigned
        updated.pendingRevocation = [:]
        return updated
    }
}

extension ConsumerGroupMember {
    /// Moves to `epoch`, remembering the one before (a member whose answer was lost may come back with it), as
    /// Kafka does even when the epoch stays.
    mutating func setEpoch(_ epoch: Int32) {
        currentAssignment.previousMemberEpoch = currentAssignment.memberEpoch
        currentAssignment.memberEpoch = epoch
    }
}
