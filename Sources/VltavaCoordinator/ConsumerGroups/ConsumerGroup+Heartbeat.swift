import KafkaProtocol

/// A ConsumerGroupHeartbeat as the group sees it (nil fields did not change since the member's last heartbeat).
public struct ConsumerHeartbeat: Sendable, Equatable {
    public var memberId: String
    public var memberEpoch: Int32
    public var instanceId: String?
    public var rackId: String?
    public var rebalanceTimeoutMs: Int32
    public var subscribedTopicNames: [String]?
    public var subscribedTopicRegex: String?
    public var serverAssignor: String?
    /// The partitions the member owns, by topic id.
    public var owned: PartitionAssignment?
    public var clientId: String
    public var clientHost: String

    public init(memberId: String, memberEpoch: Int32, instanceId: String? = nil, rackId: String? = nil,
                rebalanceTimeoutMs: Int32 = -1, subscribedTopicNames: [String]? = nil, subscribedTopicRegex: String? = nil,
                serverAssignor: String? = nil, owned: PartitionAssignment? = nil, clientId: String = "", clientHost: String = "") {
        self.memberId = memberId
        self.memberEpoch = memberEpoch
        self.instanceId = instanceId
        self.rackId = rackId
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.subscribedTopicNames = subscribedTopicNames
        self.subscribedTopicRegex = subscribedTopicRegex
        self.serverAssignor = serverAssignor
        self.owned = owned
        self.clientId = clientId
        self.clientHost = clientHost
    }
}

/// The answer to a ConsumerGroupHeartbeat.
public struct ConsumerHeartbeatOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode = .none
    public var errorMessage: String?
    public var memberId: String = ""
    public var memberEpoch: Int32 = 0
    public var heartbeatIntervalMs: Int32 = 0
    /// The member's partitions, when the member needs them (a full request, or they changed).
    public var assignment: PartitionAssignment?

    public init(errorCode: ErrorCode = .none, errorMessage: String? = nil) {
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// A request refused by a group, with Kafka's code and message.
public struct GroupRequestError: Error, Equatable {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Timings and limits of consumer groups (Kafka's `group.consumer.*` broker properties).
public struct ConsumerGroupConfiguration: Sendable {
    public var heartbeatIntervalMs: Int32 = 5000
    public var sessionTimeoutMs: Int32 = 45000
    /// `group.consumer.max.size`.
    public var maxSize: Int = Int(Int32.max)
    /// `group.consumer.assignors`; the first is the default.
    public var assignors: [ConsumerGroupAssignor] = [.uniform, .range]

    public init() {}
}

extension ConsumerGroup {
    /// A heartbeat with epoch 0 or more: joins or updates the member, bumps the group epoch when the subscriptions
    /// or the subscribed topics changed, computes a new target assignment when the group epoch is ahead of it, and
    /// moves the member one step towards its target. Returns the answer and the records to write (already applied).
    mutating func heartbeat(_ request: ConsumerHeartbeat, topics: [String: SubscribedTopic],
                            configuration: ConsumerGroupConfiguration, nowMs: Int64) throws(GroupRequestError)
        -> (ConsumerHeartbeatOutcome, [ConsumerGroupRecord]) {
        var records: [ConsumerGroupRecord] = []
        let joining = request.memberEpoch == ConsumerGroupMember.joinEpoch
        var member = try memberFor(request, records: &records, nowMs: nowMs)
        if joining, members[member.memberId] == nil, members.count >= configuration.maxSize {
            throw GroupRequestError(.groupMaxSizeReached,
                                    "The consumer group has reached its maximum capacity of \(configuration.maxSize) members.")
        }
        let isNew = members[member.memberId] == nil
        let before = member

        // 1. The member's subscription and identity.
        if let instanceId = request.instanceId { member.instanceId = instanceId }
        if let rackId = request.rackId { member.rackId = rackId }
        if request.rebalanceTimeoutMs >= 0 { member.rebalanceTimeoutMs = request.rebalanceTimeoutMs }
        if let assignor = request.serverAssignor { member.serverAssignor = assignor }
        if let names = request.subscribedTopicNames { member.subscribedTopicNames = names.sorted() }
        if let regex = request.subscribedTopicRegex { member.subscribedTopicRegex = regex.isEmpty ? nil : regex }
        member.clientId = request.clientId
        member.clientHost = request.clientHost
        var bump = groupEpoch == 0 || isNew
        if isNew || member.metadata != before.metadata {
            apply([.memberMetadata(group: groupId, memberId: member.memberId, member.metadata)], to: &records, nowMs: nowMs)
        }
        if member.subscribedTopicNames != before.subscribedTopicNames || member.subscribedTopicRegex != before.subscribedTopicRegex
            || member.serverAssignor != before.serverAssignor {
            bump = true
        }
        // The topics subscribed to, checked against the cluster's on every heartbeat, so that a topic created,
        // deleted or grown is seen within a heartbeat interval.
        let subscribed = subscribedTopics(in: topics)
        if subscribed != subscriptionMetadata {
            let sorted = subscribed.values.sorted { $0.name < $1.name }
            apply([.subscriptionMetadata(group: groupId, sorted)], to: &records, nowMs: nowMs)
            bump = true
        }
        if bump { apply([.groupEpoch(group: groupId, groupEpoch + 1)], to: &records, nowMs: nowMs) }

        // 2. A new target assignment when the group epoch moved past it.
        if groupEpoch > assignmentEpoch {
            apply(targetAssignmentRecords(configuration: configuration), to: &records, nowMs: nowMs)
        }

        // 3. One step towards the target.
        member = members[member.memberId] ?? member
        let reconciled = MemberReconciliation(
            targetEpoch: assignmentEpoch, target: targetAssignment[member.memberId] ?? [:],
            ownerEpoch: { [partitionEpochs] topicId, partition in partitionEpochs[PartitionKey(topicId: topicId, partition: partition)] },
            owned: request.owned
        ).reconcile(member)
        if reconciled.currentAssignment != member.currentAssignment || isNew {
            apply([.currentAssignment(group: groupId, memberId: member.memberId, reconciled.currentAssignment)], to: &records, nowMs: nowMs)
            if reconciled.state == .unrevokedPartitions {
                rebalanceDeadlines[member.memberId] = nowMs + Int64(max(0, member.rebalanceTimeoutMs))
            } else {
                rebalanceDeadlines[member.memberId] = nil
            }
        }
        sessionDeadlines[member.memberId] = nowMs + Int64(configuration.sessionTimeoutMs)

        var outcome = ConsumerHeartbeatOutcome()
        outcome.memberId = reconciled.memberId
        outcome.memberEpoch = reconciled.memberEpoch
        outcome.heartbeatIntervalMs = configuration.heartbeatIntervalMs
        let fullRequest = joining || (request.rebalanceTimeoutMs != -1 && request.subscribedTopicNames != nil && request.owned != nil)
        if fullRequest || reconciled.assigned.normalized != before.assigned.normalized {
            outcome.assignment = reconciled.assigned
        }
        return (outcome, records)
    }

    /// The member a heartbeat is for: a new one when it joins, the one it replaces when it is a static member
    /// coming back, else the known member (its epoch checked).
    private mutating func memberFor(_ request: ConsumerHeartbeat, records: inout [ConsumerGroupRecord], nowMs: Int64)
        throws(GroupRequestError) -> ConsumerGroupMember {
        let joining = request.memberEpoch == ConsumerGroupMember.joinEpoch
        if let instanceId = request.instanceId {
            let existing = staticMember(instanceId)
            if joining {
                guard let existing else { return members[request.memberId] ?? ConsumerGroupMember(memberId: request.memberId) }
                if existing.memberId == request.memberId { return existing }
                guard existing.memberEpoch == ConsumerGroupMember.staticLeaveEpoch else {
                    throw GroupRequestError(.unreleasedInstanceId, "Static member \(request.memberId) with instance id "
                        + "\(instanceId) cannot join the group because the instance id is owned by \(existing.memberId) member.")
                }
                return replaceStaticMember(existing, with: request.memberId, records: &records, nowMs: nowMs)
            }
            guard let existing else {
                throw GroupRequestError(.unknownMemberId, "Instance id \(instanceId) is unknown.")
            }
            guard existing.memberId == request.memberId else {
                throw GroupRequestError(.fencedInstanceId, "Static member \(request.memberId) with instance id \(instanceId) "
                    + "was fenced by member \(existing.memberId).")
            }
            try checkEpoch(existing, request)
            return existing
        }
        if joining { return members[request.memberId] ?? ConsumerGroupMember(memberId: request.memberId) }
        guard let existing = members[request.memberId] else {
            throw GroupRequestError(.unknownMemberId, "Member \(request.memberId) is not a member of group \(groupId).")
        }
        try checkEpoch(existing, request)
        return existing
    }

    /// Kafka's epoch check: a member ahead of the coordinator, or behind it other than by one lost answer (the
    /// previous epoch, owning nothing beyond its partitions), is fenced and must rejoin.
    private func checkEpoch(_ member: ConsumerGroupMember, _ request: ConsumerHeartbeat) throws(GroupRequestError) {
        if request.memberEpoch > member.memberEpoch {
            throw GroupRequestError(.fencedMemberEpoch, "The consumer group member has a greater member epoch "
                + "(\(request.memberEpoch)) than the one known by the group coordinator (\(member.memberEpoch)). "
                + "The member must abandon all its partitions and rejoin.")
        }
        if request.memberEpoch < member.memberEpoch {
            let lostAnswer = request.memberEpoch == member.previousMemberEpoch
                && (request.owned.map { $0.isSubset(of: member.assigned) } ?? false)
            if !lostAnswer {
                throw GroupRequestError(.fencedMemberEpoch, "The consumer group member has a smaller member epoch "
                    + "(\(request.memberEpoch)) than the one known by the group coordinator (\(member.memberEpoch)). "
                    + "The member must abandon all its partitions and rejoin.")
            }
        }
    }

    /// A static member that left for a while (epoch -2) comes back under a new member id: the new member takes its
    /// place, its target and its partitions.
    private mutating func replaceStaticMember(_ old: ConsumerGroupMember, with memberId: String,
                                              records: inout [ConsumerGroupRecord], nowMs: Int64) -> ConsumerGroupMember {
        let target = targetAssignment[old.memberId]
        apply(memberTombstones(old.memberId), to: &records, nowMs: nowMs)
        var replacement = old
        replacement.memberId = memberId
        var metadata = old.metadata
        metadata.instanceId = old.instanceId
        apply([.memberMetadata(group: groupId, memberId: memberId, metadata)], to: &records, nowMs: nowMs)
        if let target { apply([.targetAssignment(group: groupId, memberId: memberId, target)], to: &records, nowMs: nowMs) }
        var current = old.currentAssignment
        current.memberEpoch = assignmentEpoch
        current.previousMemberEpoch = old.previousMemberEpoch
        current.state = .stable
        apply([.currentAssignment(group: groupId, memberId: memberId, current)], to: &records, nowMs: nowMs)
        return members[memberId] ?? replacement
    }

    /// The existing topics the members subscribe to, by name or by regular expression.
    func subscribedTopics(in topics: [String: SubscribedTopic]) -> [String: SubscribedTopic] {
        var matched: [String: [String]] = [:]
        var result: [String: SubscribedTopic] = [:]
        for member in members.values {
            result.merge(self.topics(of: member, in: topics, matched: &matched)) { first, _ in first }
        }
        return result
    }

    /// The topics of `topics` one member subscribes to, by name or by its regular expression; `matched` keeps what
    /// each pattern matched, so that members sharing a pattern have it run once.
    func topics(of member: ConsumerGroupMember, in topics: [String: SubscribedTopic], matched: inout [String: [String]])
        -> [String: SubscribedTopic] {
        var result: [String: SubscribedTopic] = [:]
        for name in member.subscribedTopicNames { if let topic = topics[name] { result[name] = topic } }
        if let pattern = member.subscribedTopicRegex {
            let names = matched[pattern] ?? TopicRegex.matching(pattern, in: topics.keys)
            matched[pattern] = names
            for name in names { result[name] = topics[name] }
        }
        return result
    }

    /// The assignor the group uses: the one most of its members asked for, else the configured default.
    public func assignor(_ configuration: ConsumerGroupConfiguration) -> ConsumerGroupAssignor {
        var votes: [String: Int] = [:]
        for member in members.values { if let name = member.serverAssignor { votes[name, default: 0] += 1 } }
        let chosen = votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        return chosen.flatMap(ConsumerGroupAssignor.init(rawValue:)) ?? configuration.assignors.first ?? .uniform
    }

    /// The records of a new target assignment at the group epoch: one per member whose target changed, then the
    /// target's epoch.
    func targetAssignmentRecords(configuration: ConsumerGroupConfiguration) -> [ConsumerGroupRecord] {
        var matched: [String: [String]] = [:]
        var subscriptions: [String: Set<KafkaUUID>] = [:]
        for (memberId, member) in members {
            subscriptions[memberId] = Set(topics(of: member, in: subscriptionMetadata, matched: &matched).values.map(\.topicId))
        }
        let spec = AssignmentSpec(
            subscriptions: subscriptions,
            partitionCounts: Dictionary(subscriptionMetadata.values.map { ($0.topicId, $0.partitionCount) }, uniquingKeysWith: max),
            previous: targetAssignment)
        let assigned = assignor(configuration).assign(spec)
        var records: [ConsumerGroupRecord] = []
        for memberId in members.keys.sorted() {
            let next = assigned[memberId] ?? [:]
            if targetAssignment[memberId]?.normalized != next.normalized || targetAssignment[memberId] == nil {
                records.append(.targetAssignment(group: groupId, memberId: memberId, next))
            }
        }
        records.append(.targetAssignmentEpoch(group: groupId, groupEpoch))
        return records
    }

    // MARK: Leaving and timeouts

    /// A heartbeat with epoch -1 (leave) or -2 (a static member leaving for a while, keeping its partitions until
    /// its session ends).
    mutating func leave(_ request: ConsumerHeartbeat, nowMs: Int64) throws(GroupRequestError) -> (ConsumerHeartbeatOutcome, [ConsumerGroupRecord]) {
        let member: ConsumerGroupMember
        if let instanceId = request.instanceId {
            guard let existing = staticMember(instanceId) else {
                throw GroupRequestError(.unknownMemberId, "Instance id \(instanceId) is unknown.")
            }
            guard existing.memberId == request.memberId else {
                throw GroupRequestError(.fencedInstanceId, "Static member \(request.memberId) with instance id \(instanceId) "
                    + "was fenced by member \(existing.memberId).")
            }
            member = existing
        } else {
            guard let existing = members[request.memberId] else {
                throw GroupRequestError(.unknownMemberId, "Member \(request.memberId) is not a member of group \(groupId).")
            }
            member = existing
        }
        var outcome = ConsumerHeartbeatOutcome()
        outcome.memberId = member.memberId
        outcome.memberEpoch = request.memberEpoch
        var records: [ConsumerGroupRecord] = []
        if request.memberEpoch == ConsumerGroupMember.staticLeaveEpoch {
            var current = member.currentAssignment
            current.memberEpoch = ConsumerGroupMember.staticLeaveEpoch
            current.previousMemberEpoch = member.memberEpoch
            apply([.currentAssignment(group: groupId, memberId: member.memberId, current)], to: &records, nowMs: nowMs)
            rebalanceDeadlines[member.memberId] = nil
        } else {
            records = remove(member.memberId, nowMs: nowMs)
        }
        return (outcome, records)
    }

    /// Removes a member (it left, or its session or rebalance timeout ended) and bumps the group epoch, so that
    /// the next heartbeat computes a target without it.
    mutating func remove(_ memberId: String, nowMs: Int64) -> [ConsumerGroupRecord] {
        guard members[memberId] != nil else { return [] }
        var records: [ConsumerGroupRecord] = []
        apply(memberTombstones(memberId), to: &records, nowMs: nowMs)
        let subscribed = subscribedTopics(in: subscriptionMetadata)
        if subscribed != subscriptionMetadata {
            apply([.subscriptionMetadata(group: groupId, subscribed.values.sorted { $0.name < $1.name })], to: &records, nowMs: nowMs)
        }
        apply([.groupEpoch(group: groupId, groupEpoch + 1)], to: &records, nowMs: nowMs)
        return records
    }

    /// Removes the members whose session ended, or that did not revoke partitions within their rebalance timeout.
    mutating func expireMembers(nowMs: Int64) -> [ConsumerGroupRecord] {
        var expired: Set<String> = []
        for (memberId, deadline) in sessionDeadlines where deadline <= nowMs { expired.insert(memberId) }
        for (memberId, deadline) in rebalanceDeadlines where deadline <= nowMs {
            if members[memberId]?.state == .unrevokedPartitions { expired.insert(memberId) } else { rebalanceDeadlines[memberId] = nil }
        }
        var records: [ConsumerGroupRecord] = []
        for memberId in expired.sorted() {
            sessionDeadlines[memberId] = nil
            rebalanceDeadlines[memberId] = nil
            records += remove(memberId, nowMs: nowMs)
        }
        return records
    }

    /// Gives every member a fresh session (after the group was read back at start-up).
    mutating func startSessions(configuration: ConsumerGroupConfiguration, nowMs: Int64) {
        for memberId in members.keys { sessionDeadlines[memberId] = nowMs + Int64(configuration.sessionTimeoutMs) }
    }
}
