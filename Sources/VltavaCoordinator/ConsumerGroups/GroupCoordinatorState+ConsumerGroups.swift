import KafkaProtocol

extension GroupCoordinatorState {
    /// Applies a consumer group record read back from `__consumer_offsets`: a tombstone of the group epoch ends the
    /// group, any other record creates it if needed.
    mutating func replayConsumerGroup(_ record: ConsumerGroupRecord) {
        let groupId = record.groupId
        if case .groupEpoch(_, nil) = record {
            consumerGroups[groupId] = nil
            return
        }
        var group = consumerGroups.removeValue(forKey: groupId) ?? ConsumerGroup(groupId: groupId, nowMs: 0)
        group.replay(record)
        consumerGroups[groupId] = group
    }

    /// Why a ConsumerGroupHeartbeat is refused before its group is looked at, as Kafka checks it: ids that are
    /// empty or cannot be stored, a join without its rebalance timeout, subscription or empty partition list, a
    /// static leave without an instance id, an unknown epoch, an assignor this broker does not have, a regular
    /// expression that does not compile. `version` 1 and later need the member id from the client (KIP-1082).
    public func consumerHeartbeatProblem(group groupId: String, _ request: ConsumerHeartbeat, version: Int16) -> GroupRequestError? {
        if let error = commonError(groupId) {
            return GroupRequestError(error, error == .invalidGroupId ? "GroupId can't be empty." : "The coordinator is loading.")
        }
        let limit = OffsetsTopic.maximumStringBytes
        if request.memberId.utf8.count > limit { return GroupRequestError(.invalidRequest, "MemberId is too long.") }
        if (version >= 1 || request.memberEpoch > 0 || request.memberEpoch == ConsumerGroupMember.leaveEpoch) && request.memberId.isEmpty {
            return GroupRequestError(.invalidRequest, "MemberId can't be empty.")
        }
        if request.instanceId?.isEmpty == true { return GroupRequestError(.invalidRequest, "InstanceId can't be empty.") }
        if request.rackId?.isEmpty == true { return GroupRequestError(.invalidRequest, "RackId can't be empty.") }
        switch request.memberEpoch {
        case ConsumerGroupMember.joinEpoch:
            if request.rebalanceTimeoutMs == -1 {
                return GroupRequestError(.invalidRequest, "RebalanceTimeoutMs must be provided in first request.")
            }
            if request.owned == nil || request.owned?.isEmpty == false {
                return GroupRequestError(.invalidRequest, "TopicPartitions must be empty when (re-)joining.")
            }
            if request.subscribedTopicNames == nil && request.subscribedTopicRegex == nil {
                return GroupRequestError(.invalidRequest,
                                         "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
            }
        case ConsumerGroupMember.staticLeaveEpoch:
            if request.instanceId == nil { return GroupRequestError(.invalidRequest, "InstanceId can't be null.") }
        case ..<ConsumerGroupMember.staticLeaveEpoch:
            return GroupRequestError(.invalidRequest, "MemberEpoch is invalid.")
        default:
            break
        }
        let assignors = configuration.consumer.assignors
        if let assignor = request.serverAssignor, !assignors.contains(where: { $0.rawValue == assignor }) {
            return GroupRequestError(.unsupportedAssignor, "ServerAssignor \(assignor) is not supported. Supported assignors: "
                + assignors.map(\.rawValue).joined(separator: ", ") + ".")
        }
        if let regex = request.subscribedTopicRegex, !regex.isEmpty, let problem = TopicRegex.problem(regex) {
            return GroupRequestError(.invalidRegularExpression, problem)
        }
        return nil
    }

    /// ConsumerGroupHeartbeat: the answer and the records to write. A live classic group of the same id refuses
    /// it (GROUP_ID_NOT_FOUND, as Kafka answers without online migration); an empty one becomes a consumer group.
    /// `topics` are the cluster's topics by name.
    public mutating func consumerHeartbeat(group groupId: String, _ request: ConsumerHeartbeat, version: Int16,
                                           topics: [String: SubscribedTopic], nowMs: Int64)
        -> (outcome: ConsumerHeartbeatOutcome, actions: [CoordinatorAction]) {
        if let problem = consumerHeartbeatProblem(group: groupId, request, version: version) {
            return (ConsumerHeartbeatOutcome(errorCode: problem.code, errorMessage: problem.message), [])
        }
        var entries: [OffsetsTopicEntry] = []
        if let classic = groups[groupId] {
            guard classic.isEmpty else {
                return (ConsumerHeartbeatOutcome(errorCode: .groupIdNotFound, errorMessage: "Group \(groupId) is not a consumer group."), [])
            }
            guard request.memberEpoch == ConsumerGroupMember.joinEpoch else {
                return (ConsumerHeartbeatOutcome(errorCode: .unknownMemberId,
                                                 errorMessage: "Member \(request.memberId) is not a member of group \(groupId)."), [])
            }
            entries.append(.groupMetadata(group: groupId, nil))
            groups[groupId] = nil
        }
        consumerGroupUndo = (groupId, consumerGroups[groupId])
        guard var group = consumerGroups[groupId] ?? (request.memberEpoch == ConsumerGroupMember.joinEpoch
            ? ConsumerGroup(groupId: groupId, nowMs: nowMs) : nil) else {
            return (ConsumerHeartbeatOutcome(errorCode: .unknownMemberId,
                                             errorMessage: "Member \(request.memberId) is not a member of group \(groupId)."), [])
        }
        do {
            let (outcome, records) = request.memberEpoch < 0
                ? try group.leave(request, nowMs: nowMs)
                : try group.heartbeat(request, topics: topics, configuration: configuration.consumer, nowMs: nowMs)
            consumerGroups[groupId] = group
            entries += records.map { .consumerGroup($0) }
            return (outcome, entries.isEmpty ? [] : [.write(group: groupId, entries)])
        } catch {
            // Nothing changed: the group is put back as it was (a group created for a refused join is dropped).
            return (ConsumerHeartbeatOutcome(errorCode: error.code, errorMessage: error.message),
                    entries.isEmpty ? [] : [.write(group: groupId, entries)])
        }
    }

    /// The consumer group to describe (ConsumerGroupDescribe); GROUP_ID_NOT_FOUND when there is none.
    public func describeConsumerGroup(_ groupId: String) -> (error: ErrorCode, group: ConsumerGroup?) {
        if let error = commonError(groupId) { return (error, nil) }
        guard let group = consumerGroups[groupId] else { return (.groupIdNotFound, nil) }
        return (.none, group)
    }

    /// OffsetFetch v9's member check for a consumer group: a member id and epoch, when given, must be the
    /// member's (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
    public func offsetFetchError(group groupId: String, memberId: String?, memberEpoch: Int32) -> ErrorCode? {
        guard let group = consumerGroups[groupId] else { return nil }
        if memberId == nil && memberEpoch < 0 { return nil }
        guard let member = group.members[memberId ?? ""] else { return .unknownMemberId }
        return member.memberEpoch == memberEpoch ? nil : .staleMemberEpoch
    }
}

extension ConsumerGroup {
    /// Kafka's check of an offset commit to a consumer group: a commit without a member (epoch -1) only while the
    /// group is empty; otherwise the member must exist (UNKNOWN_MEMBER_ID) and commit with its current epoch
    /// (STALE_MEMBER_EPOCH).
    public func offsetCommitError(memberId: String, memberEpoch: Int32) -> ErrorCode? {
        if memberEpoch < 0 && members.isEmpty { return nil }
        guard let member = members[memberId] else { return .unknownMemberId }
        return member.memberEpoch == memberEpoch ? nil : .staleMemberEpoch
    }
}
