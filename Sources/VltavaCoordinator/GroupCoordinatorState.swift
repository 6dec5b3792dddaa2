import KafkaProtocol
import NIOCore
import VltavaStorage

/// What the coordinator's owner must do after an event.
public enum CoordinatorAction: Sendable, Equatable {
    case answerJoin(ResponseWaiter, JoinOutcome)
    case answerSync(ResponseWaiter, SyncOutcome)
    /// Append these records to the group's partition of `__consumer_offsets`, in order.
    case write(group: String, [OffsetsTopicEntry])
    /// Append these offset records as one transactional batch of the producer (TxnOffsetCommit); once written,
    /// hand them to `writtenTransactional`.
    case writeTransactional(group: String, producerId: Int64, producerEpoch: Int16, [OffsetsTopicEntry])
}

/// A group as ListGroups shows it.
public struct GroupListing: Sendable, Equatable {
    public var groupId: String
    public var protocolType: String
    /// The state's name ("Stable", "PreparingRebalance", "Reconciling", ...).
    public var state: String
    /// "classic" or "consumer" (KIP-848).
    public var groupType: String
}

/// Every classic group and committed offset this node coordinates, as a value without I/O: the owner feeds it
/// requests, the clock and the records reloaded from `__consumer_offsets`, and carries out the actions it returns.
public struct GroupCoordinatorState: Sendable {
    public let configuration: GroupConfiguration
    /// True until the reload from `__consumer_offsets` is done; requests get COORDINATOR_LOAD_IN_PROGRESS.
    public private(set) var isLoading = true
    public internal(set) var groups: [String: ClassicGroup] = [:]
    /// Groups of the consumer protocol (KIP-848); a group id is in `groups` or here, never both.
    public internal(set) var consumerGroups: [String: ConsumerGroup] = [:]
    /// The consumer group as it was before the event being run, to put back if its records cannot be written.
    var consumerGroupUndo: (groupId: String, group: ConsumerGroup?)?
    public internal(set) var offsets: [String: [TopicPartition: CommittedOffset]] = [:]
    /// Offsets of transactions that have not ended, invisible to OffsetFetch until their COMMIT marker.
    public internal(set) var pendingTransactionalOffsets = PendingTransactionalOffsets()
    private var loadedMetadata: [String: GroupMetadataValue] = [:]

    public init(configuration: GroupConfiguration) {
        self.configuration = configuration
    }

    // MARK: Loading

    /// Applies one record read back from `__consumer_offsets`, at `recordOffset` (the last record of a key wins).
    /// An offset of a transactional batch (`producerId` of a transactional batch, else -1) stays pending until
    /// its producer's marker is replayed; a tombstone also drops the partition's pending offsets, as in Kafka.
    public mutating func replay(_ entry: OffsetsTopicEntry, recordOffset: Int64 = -1, producerId: Int64 = -1) {
        switch entry {
        case let .offsetCommit(group, topicPartition, offset?) where producerId >= 0:
            var pending = offset
            pending.recordOffset = recordOffset
            pendingTransactionalOffsets.add(producerId: producerId, group: group, topicPartition, pending)
        case let .offsetCommit(group, topicPartition, offset):
            var stored = offset
            stored?.recordOffset = recordOffset
            offsets[group, default: [:]][topicPartition] = stored
            if offsets[group]?.isEmpty == true { offsets[group] = nil }
            if offset == nil { pendingTransactionalOffsets.remove(group: group, topicPartition) }
        case let .groupMetadata(group, value):
            loadedMetadata[group] = value
        case let .consumerGroup(record):
            replayConsumerGroup(record)
        }
    }

    /// Builds the groups from the replayed records and starts answering requests.
    public mutating func finishLoading(nowMs: Int64) {
        for (groupId, value) in loadedMetadata where consumerGroups[groupId] == nil {
            groups[groupId] = ClassicGroup(groupId: groupId, configuration: configuration, restoring: value, nowMs: nowMs)
        }
        for groupId in consumerGroups.keys {
            consumerGroups[groupId]?.startSessions(configuration: configuration.consumer, nowMs: nowMs)
        }
        let pendingGroups = pendingTransactionalOffsets.byProducer.values.flatMap(\.keys)
        for groupId in Set(offsets.keys).union(pendingGroups) where groups[groupId] == nil && consumerGroups[groupId] == nil {
            groups[groupId] = ClassicGroup(groupId: groupId, configuration: configuration, nowMs: nowMs)
        }
        loadedMetadata = [:]
        isLoading = false
    }

    private func convert(_ actions: [GroupAction], group groupId: String) -> [CoordinatorAction] {
        actions.map { action in
            switch action {
            case let .answerJoin(waiter, outcome): return .answerJoin(waiter, outcome)
            case let .answerSync(waiter, outcome): return .answerSync(waiter, outcome)
            case .persistMetadata: return .write(group: groupId, [.groupMetadata(group: groupId, groups[groupId]?.metadataValue())])
            }
        }
    }

    /// The error every group request gets before the group is looked at, if any: a group id must be non-empty
    /// and fit the int16-length strings of `__consumer_offsets` records.
    func commonError(_ groupId: String) -> ErrorCode? {
        if isLoading { return .coordinatorLoadInProgress }
        if groupId.isEmpty || groupId.utf8.count > OffsetsTopic.maximumStringBytes { return .invalidGroupId }
        return nil
    }

    /// Why a JoinGroup cannot be stored in a group metadata record, if it cannot: every string the record keeps
    /// (instance id, member id, protocol type and names) must fit an int16 length.
    static func joinProblem(_ request: JoinRequest) -> ErrorCode? {
        let limit = OffsetsTopic.maximumStringBytes
        if let instance = request.groupInstanceId, instance.isEmpty || instance.utf8.count > limit { return .invalidRequest }
        if request.protocolType.utf8.count > limit || request.protocols.contains(where: { $0.name.utf8.count > limit }) {
            return .invalidRequest
        }
        if request.newMemberId.utf8.count > limit { return .invalidRequest }
        return nil
    }

    // MARK: Membership

    public mutating func join(group groupId: String, _ request: JoinRequest, nowMs: Int64) -> [CoordinatorAction] {
        if let error = commonError(groupId) ?? Self.joinProblem(request) {
            return [.answerJoin(request.waiter, JoinOutcome(errorCode: error, memberId: request.memberId))]
        }
        var converted: [CoordinatorAction] = []
        if let consumerGroup = consumerGroups[groupId] {
            // An empty consumer group becomes a classic one; a live one refuses classic members (Kafka's answer
            // without online migration).
            guard consumerGroup.members.isEmpty else {
                return [.answerJoin(request.waiter, JoinOutcome(errorCode: .inconsistentGroupProtocol, memberId: request.memberId))]
            }
            converted = [.write(group: groupId, consumerGroup.tombstones().map { .consumerGroup($0) })]
            consumerGroups[groupId] = nil
        }
        if groups[groupId] == nil {
            guard request.memberId.isEmpty else {
                return [.answerJoin(request.waiter, JoinOutcome(errorCode: .unknownMemberId, memberId: request.memberId))]
            }
            groups[groupId] = ClassicGroup(groupId: groupId, configuration: configuration, nowMs: nowMs)
        }
        let actions = groups[groupId]!.join(request, nowMs: nowMs)
        return converted + convert(actions, group: groupId)
    }

    public mutating func sync(group groupId: String, _ request: SyncRequest, nowMs: Int64) -> [CoordinatorAction] {
        if let error = commonError(groupId) { return [.answerSync(request.waiter, SyncOutcome(errorCode: error))] }
        guard groups[groupId] != nil else { return [.answerSync(request.waiter, SyncOutcome(errorCode: .unknownMemberId))] }
        let actions = groups[groupId]!.sync(request, nowMs: nowMs)
        return convert(actions, group: groupId)
    }

    public mutating func heartbeat(group groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32,
                                   nowMs: Int64) -> ErrorCode {
        if let error = commonError(groupId) { return error }
        guard groups[groupId] != nil else { return .unknownMemberId }
        return groups[groupId]!.heartbeat(memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, nowMs: nowMs)
    }

    /// LeaveGroup: a top-level error (loading, invalid id) or one error per leaving member.
    public mutating func leave(group groupId: String, _ leaving: [LeavingMember], nowMs: Int64)
        -> (error: ErrorCode, memberErrors: [ErrorCode], actions: [CoordinatorAction]) {
        if let error = commonError(groupId) { return (error, [], []) }
        guard groups[groupId] != nil else { return (.none, leaving.map { _ in .unknownMemberId }, []) }
        let (errors, actions) = groups[groupId]!.leave(leaving, nowMs: nowMs)
        return (.none, errors, convert(actions, group: groupId))
    }

    /// Session timeouts, rebalance timeouts and the initial delay of every group.
    public mutating func tick(nowMs: Int64) -> [CoordinatorAction] {
        guard !isLoading else { return [] }
        var result: [CoordinatorAction] = []
        for groupId in groups.keys {
            guard let deadline = groups[groupId]!.nextDeadlineMs, deadline <= nowMs else { continue }
            let actions = groups[groupId]!.tick(nowMs: nowMs)
            result += convert(actions, group: groupId)
        }
        for groupId in consumerGroups.keys {
            guard let deadline = consumerGroups[groupId]?.nextDeadlineMs, deadline <= nowMs,
                  let records = consumerGroups[groupId]?.expireMembers(nowMs: nowMs), !records.isEmpty else { continue }
            result.append(.write(group: groupId, records.map { .consumerGroup($0) }))
        }
        return result
    }

    // MARK: Offsets

    /// OffsetCommit: checks the member and generation (a group is created for a simple commit with generation -1
    /// and no member) and the metadata size. Nothing is stored yet: the owner writes the records of the returned
    /// action and, once the write succeeded, hands them to `written(_:)`, so a failed write leaves no offset behind.
    public mutating func commitOffsets(
        group groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32,
        offsets commits: [(TopicPartition, CommittedOffset)], nowMs: Int64
    ) -> (errors: [TopicPartition: ErrorCode], actions: [CoordinatorAction]) {
        func all(_ code: ErrorCode) -> [TopicPartition: ErrorCode] {
            Dictionary(commits.map { ($0.0, code) }, uniquingKeysWith: { first, _ in first })
        }
        if let error = commonError(groupId) { return (all(error), []) }
        if let consumerGroup = consumerGroups[groupId] {
            if let error = consumerGroup.offsetCommitError(memberId: memberId, memberEpoch: generationId) { return (all(error), []) }
            return offsetRecords(group: groupId, commits)
        }
        let group = groups[groupId] ?? ClassicGroup(groupId: groupId, configuration: configuration, nowMs: nowMs)
        if groups[groupId] == nil && generationId >= 0 { return (all(.illegalGeneration), []) }
        let verdict = group.validateOffsetCommit(memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId)
        if verdict != .none { return (all(verdict), []) }
        let (errors, actions) = offsetRecords(group: groupId, commits)
        // The group of a simple commit exists from here on, as in Kafka; its offsets once they are written.
        if !actions.isEmpty && groups[groupId] == nil { groups[groupId] = group }
        return (errors, actions)
    }

    /// The records of the offsets of a commit that passed the group's checks; each partition's verdict.
    private func offsetRecords(group groupId: String, _ commits: [(TopicPartition, CommittedOffset)])
        -> (errors: [TopicPartition: ErrorCode], actions: [CoordinatorAction]) {
        let (errors, records) = offsetEntries(group: groupId, commits)
        return (errors, records.isEmpty ? [] : [.write(group: groupId, records)])
    }

    /// One record per offset that can be stored; the others refused (metadata too large, a topic name too long).
    func offsetEntries(group groupId: String, _ commits: [(TopicPartition, CommittedOffset)])
        -> (errors: [TopicPartition: ErrorCode], records: [OffsetsTopicEntry]) {
        var errors: [TopicPartition: ErrorCode] = [:]
        var records: [OffsetsTopicEntry] = []
        for (topicPartition, offset) in commits {
            if offset.metadata.utf8.count > configuration.maxOffsetMetadataBytes {
                errors[topicPartition] = .offsetMetadataTooLarge
            } else if topicPartition.topic.utf8.count > OffsetsTopic.maximumStringBytes {
                errors[topicPartition] = .unknownTopicOrPartition
            } else {
                errors[topicPartition] = ErrorCode.none
                records.append(.offsetCommit(group: groupId, topicPartition, offset))
            }
        }
        return (errors, records)
    }

    /// Applies the offset commits of a write that succeeded (other entries were applied when they were made);
    /// the records were written one after another from `firstOffset`.
    public mutating func written(_ entries: [OffsetsTopicEntry], firstOffset: Int64 = -1) {
        for (index, entry) in entries.enumerated() {
            guard case let .offsetCommit(groupId, topicPartition, offset?) = entry else { continue }
            var stored = offset
            stored.recordOffset = firstOffset < 0 ? -1 : firstOffset + Int64(index)
            offsets[groupId, default: [:]][topicPartition] = stored
        }
    }

    /// Undoes what an event did to a group whose records could not be written: a group that a simple commit
    /// created with nothing committed goes away again.
    public mutating func writeFailed(group groupId: String) {
        if let undo = consumerGroupUndo, undo.groupId == groupId {
            consumerGroups[groupId] = undo.group
            consumerGroupUndo = nil
        }
        if let group = groups[groupId], group.isEmpty, group.protocolType == nil, group.generationId == 0,
           offsets[groupId]?.isEmpty ?? true, !pendingTransactionalOffsets.hasPending(group: groupId) {
            groups[groupId] = nil
        }
    }

    /// OffsetFetch: the committed offsets of the partitions asked for (all the group has when nil); partitions
    /// without a commit are absent. With `requireStable`, partitions that an open transaction has offsets for
    /// are `unstable` instead (Kafka's UNSTABLE_OFFSET_COMMIT), and their offsets left out.
    public func fetchOffsets(group groupId: String, partitions: [TopicPartition]?, requireStable: Bool = false,
                             member: (id: String?, epoch: Int32)? = nil)
        -> (error: ErrorCode, offsets: [TopicPartition: CommittedOffset], unstable: Set<TopicPartition>) {
        if let error = commonError(groupId) { return (error, [:], []) }
        if let member, let error = offsetFetchError(group: groupId, memberId: member.id, memberEpoch: member.epoch) {
            return (error, [:], [])
        }
        let committed = offsets[groupId] ?? [:]
        var result: [TopicPartition: CommittedOffset] = [:]
        var unstable: Set<TopicPartition> = []
        let pending = requireStable ? pendingTransactionalOffsets.partitions(of: groupId) : []
        // Without a list, only partitions with a committed offset are reported, as in Kafka.
        for partition in partitions ?? Array(committed.keys) {
            if pending.contains(partition) {
                unstable.insert(partition)
            } else {
                result[partition] = committed[partition]
            }
        }
        return (.none, result, unstable)
    }

    /// OffsetDelete: removes a group's offsets of topics its members are not subscribed to.
    public mutating func deleteOffsets(group groupId: String, partitions: [TopicPartition], subscribedTopics: Set<String>?)
        -> (error: ErrorCode, partitionErrors: [TopicPartition: ErrorCode], actions: [CoordinatorAction]) {
        if let error = commonError(groupId) { return (error, [:], []) }
        let hasMembers: Bool
        var subscribedTopics = subscribedTopics
        if let consumerGroup = consumerGroups[groupId] {
            hasMembers = !consumerGroup.members.isEmpty
            subscribedTopics = Set(consumerGroup.subscriptionMetadata.keys)
        } else if let group = groups[groupId] {
            hasMembers = !group.members.isEmpty
        } else {
            return (.groupIdNotFound, [:], [])
        }
        if hasMembers && subscribedTopics == nil { return (.nonEmptyGroup, [:], []) }
        var errors: [TopicPartition: ErrorCode] = [:]
        var records: [OffsetsTopicEntry] = []
        for partition in partitions {
            if hasMembers, subscribedTopics?.contains(partition.topic) == true {
                errors[partition] = .groupSubscribedToTopic
                continue
            }
            errors[partition] = ErrorCode.none
            let pending = pendingTransactionalOffsets.hasPending(group: groupId, partition)
            pendingTransactionalOffsets.remove(group: groupId, partition)
            if offsets[groupId]?.removeValue(forKey: partition) != nil || pending {
                records.append(.offsetCommit(group: groupId, partition, nil))
            }
        }
        if offsets[groupId]?.isEmpty == true { offsets[groupId] = nil }
        return (.none, errors, records.isEmpty ? [] : [.write(group: groupId, records)])
    }

    // MARK: Administration

    /// ListGroups, filtered by state names (case-insensitive, as Kafka compares them) when any are given.
    public func listGroups(statesFilter: [String]) -> (error: ErrorCode, groups: [GroupListing]) {
        if isLoading { return (.coordinatorLoadInProgress, []) }
        let wanted = Set(statesFilter.map { $0.lowercased() })
        let classic = groups.values
            .filter { $0.state != .dead }
            .map { GroupListing(groupId: $0.groupId, protocolType: $0.protocolType ?? "", state: $0.state.rawValue, groupType: "classic") }
        let consumer = consumerGroups.values
            .map { GroupListing(groupId: $0.groupId, protocolType: "consumer", state: $0.state.rawValue, groupType: "consumer") }
        let listed = (classic + consumer)
            .filter { wanted.isEmpty || wanted.contains($0.state.lowercased()) }
            .sorted { $0.groupId < $1.groupId }
        return (.none, listed)
    }

    /// The group to describe; nil (Kafka's "Dead" with no error) when it does not exist.
    public func describe(group groupId: String) -> (error: ErrorCode, group: ClassicGroup?) {
        if let error = commonError(groupId) { return (error, nil) }
        return (.none, groups[groupId])
    }

    /// DeleteGroups: empty groups are deleted with their offsets (tombstones for each); others are refused.
    public mutating func deleteGroups(_ groupIds: [String], nowMs: Int64) -> (errors: [String: ErrorCode], actions: [CoordinatorAction]) {
        var errors: [String: ErrorCode] = [:]
        var actions: [CoordinatorAction] = []
        for groupId in groupIds {
            if let error = commonError(groupId) {
                errors[groupId] = error
            } else if let consumerGroup = consumerGroups[groupId] {
                if !consumerGroup.members.isEmpty {
                    errors[groupId] = .nonEmptyGroup
                } else {
                    errors[groupId] = ErrorCode.none
                    actions.append(.write(group: groupId, removeGroup(groupId, nowMs: nowMs)))
                }
            } else if let group = groups[groupId], group.state != .dead {
                if group.state != .empty || !group.isEmpty {
                    errors[groupId] = .nonEmptyGroup
                } else {
                    errors[groupId] = ErrorCode.none
                    actions.append(.write(group: groupId, removeGroup(groupId, nowMs: nowMs)))
                }
            } else {
                errors[groupId] = .groupIdNotFound
            }
        }
        return (errors, actions)
    }

    /// Removes a group with its committed and pending offsets (a tombstone for each partition, as Kafka writes).
    private mutating func removeGroup(_ groupId: String, nowMs: Int64) -> [OffsetsTopicEntry] {
        let partitions = Set((offsets[groupId] ?? [:]).keys).union(pendingTransactionalOffsets.partitions(of: groupId))
        var records: [OffsetsTopicEntry] = partitions
            .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            .map { .offsetCommit(group: groupId, $0, nil) }
        if let consumerGroup = consumerGroups.removeValue(forKey: groupId) {
            records += consumerGroup.tombstones().map { .consumerGroup($0) }
        } else {
            records.append(.groupMetadata(group: groupId, nil))
        }
        offsets[groupId] = nil
        pendingTransactionalOffsets.remove(group: groupId)
        groups[groupId]?.markDead(nowMs: nowMs)
        groups[groupId] = nil
        return records
    }

    /// Offsets expiry (Kafka's rule): for a group without members, offsets older than `offsets.retention.minutes`
    /// from the time the group became empty (or from the commit, for groups that never had members) go; an
    /// explicit expire timestamp wins. An offset that an open transaction is about to replace does not expire,
    /// and an empty group left with no offsets is removed only when no open transaction has offsets for it.
    public mutating func expireOffsets(nowMs: Int64) -> [CoordinatorAction] {
        guard !isLoading else { return [] }
        var actions: [CoordinatorAction] = []
        var emptySince: [String: Int64?] = [:]
        for (groupId, group) in groups where group.state == .empty && group.isEmpty {
            emptySince[groupId] = group.protocolType == nil && group.generationId == 0 ? nil : group.stateTimestampMs
        }
        for (groupId, group) in consumerGroups where group.members.isEmpty { emptySince[groupId] = group.emptySinceMs }
        for (groupId, since) in emptySince {
            var records: [OffsetsTopicEntry] = []
            for (partition, offset) in offsets[groupId] ?? [:]
                where !pendingTransactionalOffsets.hasPending(group: groupId, partition) {
                let base = since.map { max($0, offset.commitTimestampMs) } ?? offset.commitTimestampMs
                let expiry = offset.expireTimestampMs ?? (base + configuration.offsetsRetentionMs)
                if expiry <= nowMs {
                    offsets[groupId]?[partition] = nil
                    records.append(.offsetCommit(group: groupId, partition, nil))
                }
            }
            if offsets[groupId]?.isEmpty ?? true, !pendingTransactionalOffsets.hasPending(group: groupId) {
                records += removeGroup(groupId, nowMs: nowMs)
            }
            if !records.isEmpty { actions.append(.write(group: groupId, records)) }
        }
        return actions
    }
}
