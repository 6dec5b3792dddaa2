import KafkaProtocol
import VltavaStorage

extension GroupCoordinatorState {
    /// TxnOffsetCommit: the checks of Kafka's transactional offset commit, then a transactional batch of the
    /// producer to write. Nothing is stored yet: once the write succeeded the owner hands the records to
    /// `writtenTransactional`, which keeps them pending until the transaction ends.
    ///
    /// A group that does not exist is created empty when the generation is -1 (a producer may commit for a group it
    /// does not take part in), else ILLEGAL_GENERATION; a member id, instance id or generation, when given
    /// (TxnOffsetCommit v3, KIP-447), must match the group's. A negative producer id or epoch is INVALID_REQUEST.
    public mutating func commitTransactionalOffsets(
        group groupId: String, producerId: Int64, producerEpoch: Int16, memberId: String, generationId: Int32,
        groupInstanceId: String?, offsets commits: [(TopicPartition, CommittedOffset)], nowMs: Int64
    ) -> (errors: [TopicPartition: ErrorCode], actions: [CoordinatorAction]) {
        func all(_ code: ErrorCode) -> [TopicPartition: ErrorCode] {
            Dictionary(commits.map { ($0.0, code) }, uniquingKeysWith: { first, _ in first })
        }
        if let error = commonError(groupId) { return (all(error), []) }
        // Only a transactional producer's id and epoch can stand in a transactional batch and its markers.
        if producerId < 0 || producerEpoch < 0 { return (all(.invalidRequest), []) }
        if let consumerGroup = consumerGroups[groupId] {
            // A consumer group (KIP-848): a producer outside the group commits without member and epoch; otherwise
            // as OffsetCommit, with a stale epoch answered ILLEGAL_GENERATION (TxnOffsetCommit has no
            // STALE_MEMBER_EPOCH), as Kafka does.
            let anonymous = generationId == -1 && memberId.isEmpty && groupInstanceId == nil
            if !anonymous, let error = consumerGroup.offsetCommitError(memberId: memberId, memberEpoch: generationId) {
                return (all(error == .staleMemberEpoch ? .illegalGeneration : error), [])
            }
            let (errors, records) = offsetEntries(group: groupId, commits)
            if records.isEmpty { return (errors, []) }
            return (errors, [.writeTransactional(group: groupId, producerId: producerId, producerEpoch: producerEpoch, records)])
        }
        let group = groups[groupId] ?? ClassicGroup(groupId: groupId, configuration: configuration, nowMs: nowMs)
        if groups[groupId] == nil && generationId >= 0 { return (all(.illegalGeneration), []) }
        let verdict = group.validateTransactionalOffsetCommit(memberId: memberId, groupInstanceId: groupInstanceId,
                                                              generationId: generationId)
        if verdict != .none { return (all(verdict), []) }
        let (errors, records) = offsetEntries(group: groupId, commits)
        if records.isEmpty { return (errors, []) }
        if groups[groupId] == nil { groups[groupId] = group }
        return (errors, [.writeTransactional(group: groupId, producerId: producerId, producerEpoch: producerEpoch, records)])
    }

    /// Keeps the offsets of a transactional write that succeeded as the producer's pending offsets; the records
    /// were written one after another from `firstOffset`.
    public mutating func writtenTransactional(_ entries: [OffsetsTopicEntry], producerId: Int64, firstOffset: Int64) {
        for (index, entry) in entries.enumerated() {
            guard case let .offsetCommit(groupId, topicPartition, offset?) = entry else { continue }
            var pending = offset
            pending.recordOffset = firstOffset + Int64(index)
            pendingTransactionalOffsets.add(producerId: producerId, group: groupId, topicPartition, pending)
        }
    }

    /// A transaction marker of the producer, written now or read back: a commit makes its pending offsets the
    /// committed ones, except where a committed offset's record is later than the transaction's (Kafka's rule,
    /// which a compacted log reloads to the same result); an abort drops them.
    public mutating func completeTransaction(producerId: Int64, commit: Bool) {
        let ended = pendingTransactionalOffsets.end(producerId: producerId)
        guard commit else { return }
        for (groupId, partitions) in ended {
            for (partition, offset) in partitions {
                if let existing = offsets[groupId]?[partition], existing.recordOffset > offset.recordOffset { continue }
                offsets[groupId, default: [:]][partition] = offset
            }
        }
    }
}

extension ClassicGroup {
    /// Kafka's `validateOffsetCommit` for a transactional commit: an empty group takes commits with generation -1;
    /// otherwise a member id, instance id or generation, when any is given, must be the group's (the instance's
    /// member, else UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID; the generation, else ILLEGAL_GENERATION). Unlike
    /// OffsetCommit, a commit with none of them is accepted by a group with members (TxnOffsetCommit v0-v2 carry
    /// none), and a rebalance in progress does not refuse it.
    func validateTransactionalOffsetCommit(memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if generationId < 0 && state == .empty { return .none }
        guard generationId >= 0 || !memberId.isEmpty || groupInstanceId != nil else { return .none }
        if let instance = groupInstanceId {
            guard let member = members.first(where: { $0.groupInstanceId == instance }) else { return .unknownMemberId }
            if member.memberId != memberId { return .fencedInstanceId }
        } else if !members.contains(where: { $0.memberId == memberId }) {
            return .unknownMemberId
        }
        return generationId == self.generationId ? .none : .illegalGeneration
    }
}
