#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import NIOCore
import VltavaCoordinator
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// FindCoordinator: on a single node this node coordinates every group and transactional id (key types 0 and
    /// 1); in a cluster, the leader of the key's internal-topic partition does. Version 4 and later ask for several
    /// keys at once.
    func handleFindCoordinator(_ request: FindCoordinatorRequest, context: RequestContext) -> FindCoordinatorResponse {
        let keyTypeKnown = request.keyType == 0 || request.keyType == 1
        // A group key needs DESCRIBE on the group, a transactional id DESCRIBE on the id.
        let refusal = { (key: String) -> ErrorCode? in
            if request.keyType == 0, !self.authorized(context, .describe, .group, key) { return .groupAuthorizationFailed }
            if request.keyType == 1, !self.authorized(context, .describe, .transactionalId, key) { return .transactionalIdAuthorizationFailed }
            return nil
        }
        let answer = { (key: String) -> (endpoint: BrokerEndpoint?, error: ErrorCode?, message: String?) in
            guard keyTypeKnown else { return (nil, .invalidRequest, "Unknown coordinator key type \(request.keyType)") }
            if let code = refusal(key) { return (nil, code, nil) }
            return self.coordinator(keyType: request.keyType, key: key, connection: context.connection)
        }
        var response = FindCoordinatorResponse()
        if context.version >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                let (endpoint, error, message) = answer(key)
                guard let endpoint else {
                    return .init(key: key, nodeId: -1, host: "", port: -1, errorCode: (error ?? .coordinatorNotAvailable).rawValue,
                                 errorMessage: message)
                }
                return .init(key: key, nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port, errorCode: 0, errorMessage: nil)
            }
            return response
        }
        let (endpoint, error, message) = answer(request.key)
        response.errorMessage = message
        if let endpoint {
            response.nodeId = endpoint.nodeId
            response.host = endpoint.host
            response.port = endpoint.port
        } else {
            response.errorCode = (error ?? .coordinatorNotAvailable).rawValue
            response.nodeId = -1
            response.port = -1
        }
        return response
    }

    /// The coordinator of a group (key type 0) or transactional id (1): this node on a single node; in a cluster
    /// the leader of the key's partition of `__consumer_offsets` or `__transaction_state` (created here on first
    /// use), as in Kafka, so that the coordinator writes only to partitions it leads.
    private func coordinator(keyType: Int8, key: String, connection: ConnectionContext)
        -> (endpoint: BrokerEndpoint?, error: ErrorCode?, message: String?) {
        guard cluster != nil else { return (brokerEndpoints(for: connection).first, nil, nil) }
        let (topic, partitionCount, configs) = keyType == 0
            ? (OffsetsTopic.name, groups.partitionCount, OffsetsTopic.topicConfigs)
            : (TransactionStateTopic.name, transactions.partitionCount, TransactionStateTopic.topicConfigs)
        do {
            _ = try logs.ensureTopic(name: topic, partitions: partitionCount, configs: configs)
        } catch {
            logger.warning("cannot create an internal topic", metadata: ["topic": "\(topic)", "error": "\(error)"])
            return (nil, .coordinatorNotAvailable, nil)
        }
        let partition = TopicPartition(topic: topic, partition: OffsetsTopic.partition(for: key, partitionCount: partitionCount))
        let leader = cluster?.leadership(of: partition)?.leader
        guard let endpoint = brokerEndpoints(for: connection).first(where: { $0.nodeId == leader }) else {
            return (nil, .coordinatorNotAvailable, nil)
        }
        return (endpoint, nil, nil)
    }

    /// JoinGroup: answered when the group can (the future waits through the rebalance).
    func handleJoinGroup(_ request: JoinGroupRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        guard authorized(context, .read, .group, request.groupId) else {
            var response = JoinGroupResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            response.generationId = -1
            response.protocolName = context.version >= 7 ? nil : ""
            return context.eventLoop.makeSucceededFuture(.message(.joinGroup(response)))
        }
        let clientId = context.header.clientId ?? ""
        let join = JoinRequest(
            waiter: 0, memberId: request.memberId, groupInstanceId: request.groupInstanceId, clientId: clientId,
            clientHost: "/" + context.connection.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
            // Version 0 has no rebalance timeout: Kafka uses the session timeout.
            rebalanceTimeoutMs: request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
            protocolType: request.protocolType,
            // Copied: a view would keep the whole request frame alive as long as the member lives.
            protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: Self.copy($0.metadata)) },
            requiresKnownMemberId: context.version >= 4, supportsSkipAssignment: context.version >= 9,
            newMemberId: Self.newMemberId(prefix: request.groupInstanceId ?? clientId))
        let version = context.version
        return groups.join(group: request.groupId, join, eventLoop: context.eventLoop).map { outcome in
            var response = JoinGroupResponse()
            response.errorCode = outcome.errorCode.rawValue
            response.generationId = outcome.generationId
            response.protocolType = outcome.protocolType
            response.protocolName = outcome.protocolName ?? (version >= 7 ? nil : "")
            response.leader = outcome.leader
            response.memberId = outcome.memberId
            response.skipAssignment = version >= 9 && outcome.skipAssignment
            response.members = outcome.members.map {
                .init(memberId: $0.memberId, groupInstanceId: version >= 5 ? $0.groupInstanceId : nil, metadata: $0.metadata)
            }
            if version < 7 { response.protocolType = nil }
            return .message(.joinGroup(response))
        }
    }

    /// A buffer of its own with `bytes`' contents, so that keeping it does not keep the frame it came from.
    static func copy(_ bytes: ByteBuffer) -> ByteBuffer {
        var copy = ByteBufferAllocator().buffer(capacity: bytes.readableBytes)
        copy.writeImmutableBuffer(bytes)
        return copy
    }

    static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int64.max : Int64.min) : sum
    }

    /// The items in their first order, each once.
    static func unique(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }

    /// Kafka's member id, `{group.instance.id or client.id}-{uuid}`, with the prefix cut so that the id still fits
    /// the int16-length strings of `__consumer_offsets` (a client id may be up to 32 767 bytes long).
    static func newMemberId(prefix: String) -> String {
        let suffix = "-" + UUID().uuidString.lowercased()
        let room = OffsetsTopic.maximumStringBytes - suffix.utf8.count
        guard prefix.utf8.count > room else { return prefix + suffix }
        // Cut at `room` bytes, dropping a character the cut would split.
        var bytes = Array(prefix.utf8.prefix(room))
        var lead = bytes.count - 1
        while lead >= 0, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        if lead >= 0 {
            let first = bytes[lead]
            let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2
            if bytes.count - lead < length { bytes.removeSubrange(lead...) }
        }
        return String(decoding: bytes, as: UTF8.self) + suffix
    }

    /// SyncGroup: the leader's assignment, or the wait for it.
    func handleSyncGroup(_ request: SyncGroupRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        guard authorized(context, .read, .group, request.groupId) else {
            var response = SyncGroupResponse()
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return context.eventLoop.makeSucceededFuture(.message(.syncGroup(response)))
        }
        var assignments: [String: ByteBuffer] = [:]
        for assignment in request.assignments { assignments[assignment.memberId] = Self.copy(assignment.assignment) }
        let sync = SyncRequest(
            waiter: 0, memberId: request.memberId, groupInstanceId: request.groupInstanceId, generationId: request.generationId,
            protocolType: request.protocolType, protocolName: request.protocolName, assignments: assignments)
        let version = context.version
        return groups.sync(group: request.groupId, sync, eventLoop: context.eventLoop).map { outcome in
            var response = SyncGroupResponse()
            response.errorCode = outcome.errorCode.rawValue
            response.assignment = outcome.assignment
            if version >= 5 {
                response.protocolType = outcome.protocolType
                response.protocolName = outcome.protocolName
            }
            return .message(.syncGroup(response))
        }
    }

    func handleHeartbeat(_ request: HeartbeatRequest, context: RequestContext) -> HeartbeatResponse {
        guard authorized(context, .read, .group, request.groupId) else {
            return HeartbeatResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
        }
        let error = groups.heartbeat(group: request.groupId, memberId: request.memberId,
                                     groupInstanceId: request.groupInstanceId, generationId: request.generationId)
        return HeartbeatResponse(errorCode: error.rawValue)
    }

    /// LeaveGroup: one member (versions 0-2) or a batch of members by id or instance id (3+).
    func handleLeaveGroup(_ request: LeaveGroupRequest, context: RequestContext) -> LeaveGroupResponse {
        guard authorized(context, .read, .group, request.groupId) else {
            return LeaveGroupResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
        }
        let leaving = context.version >= 3
            ? request.members.map { LeavingMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId) }
            : [LeavingMember(memberId: request.memberId)]
        let (error, memberErrors) = groups.leave(group: request.groupId, members: leaving)
        var response = LeaveGroupResponse()
        if context.version >= 3 {
            response.errorCode = error.rawValue
            response.members = zip(request.members, memberErrors).map { member, code in
                .init(memberId: member.memberId, groupInstanceId: member.groupInstanceId, errorCode: code.rawValue)
            }
        } else {
            response.errorCode = error != .none ? error.rawValue : (memberErrors.first ?? .none).rawValue
        }
        return response
    }

    /// OffsetCommit: member and generation checks, then the offsets are written to `__consumer_offsets`.
    func handleOffsetCommit(_ request: OffsetCommitRequest, context: RequestContext) -> EventLoopFuture<BrokerResponse> {
        guard authorized(context, .read, .group, request.groupId) else {
            var response = OffsetCommitResponse()
            response.topics = request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map {
                    .init(partitionIndex: $0.partitionIndex, errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
                })
            }
            return context.eventLoop.makeSucceededFuture(.message(.offsetCommit(response)))
        }
        let now = clock()
        var commits: [(TopicPartition, CommittedOffset)] = []
        // Offsets of partitions that do not exist are refused one by one, as Kafka does.
        var unknown: Set<TopicPartition> = []
        var unauthorized: Set<String> = []
        for topic in request.topics {
            if !authorized(context, .read, .topic, topic.name) {
                unauthorized.insert(topic.name)
                continue
            }
            let partitionCount = metadata.topic(named: topic.name)?.partitionCount ?? 0
            for partition in topic.partitions {
                guard (0..<partitionCount).contains(partition.partitionIndex) else {
                    unknown.insert(TopicPartition(topic: topic.name, partition: partition.partitionIndex))
                    continue
                }
                // v1 clients may set a commit timestamp; v2-v4 a retention time that sets an expiry.
                let timestamp = partition.commitTimestamp >= 0 && context.version == 1 ? partition.commitTimestamp : now
                let expiry: Int64? = (2...4).contains(context.version) && request.retentionTimeMs >= 0
                    ? Self.saturatingSum(timestamp, request.retentionTimeMs) : nil
                commits.append((TopicPartition(topic: topic.name, partition: partition.partitionIndex), CommittedOffset(
                    offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch,
                    metadata: partition.committedMetadata ?? "", commitTimestampMs: timestamp, expireTimestampMs: expiry)))
            }
        }
        let refused = unknown
        let refusedTopics = unauthorized
        return groups.commitOffsets(
            group: request.groupId, memberId: request.memberId, groupInstanceId: request.groupInstanceId,
            generationId: request.generationIdOrMemberEpoch, offsets: commits, eventLoop: context.eventLoop
        ).map { errors in
            var response = OffsetCommitResponse()
            response.topics = request.topics.map { topic in
                .init(name: topic.name, partitions: topic.partitions.map { partition in
                    .init(partitionIndex: partition.partitionIndex, errorCode: refusedTopics.contains(topic.name)
                        ? ErrorCode.topicAuthorizationFailed.rawValue
                        : Self.commitErrorCode(TopicPartition(topic: topic.name, partition: partition.partitionIndex),
                                               refused: refused, errors: errors).rawValue)
                })
            }
            return .message(.offsetCommit(response))
        }
    }

    /// A partition's answer to an offset commit (OffsetCommit, TxnOffsetCommit): UNKNOWN_TOPIC_OR_PARTITION when it
    /// was refused before reaching the coordinator, else the coordinator's code.
    static func commitErrorCode(_ partition: TopicPartition, refused: Set<TopicPartition>,
                                errors: [TopicPartition: ErrorCode]) -> ErrorCode {
        refused.contains(partition) ? .unknownTopicOrPartition : errors[partition] ?? .unknownServerError
    }

    /// OffsetFetch: one group (versions 0-7; a null topic list means every committed partition) or several (8+).
    /// With `require_stable` (7+), a partition that an open transaction has offsets for gets UNSTABLE_OFFSET_COMMIT
    /// and no offset, as in Kafka (the consumer retries until the transaction ends).
    func handleOffsetFetch(_ request: OffsetFetchRequest, context: RequestContext) -> OffsetFetchResponse {
        var response = OffsetFetchResponse()
        if context.version >= 8 {
            var seen: Set<String> = []
            response.groups = request.groups.filter { seen.insert($0.groupId).inserted }.map { group in
                let wanted = group.topics.map { topics in
                    topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
                }
                let member: (id: String?, epoch: Int32)? = context.version >= 9 ? (group.memberId, group.memberEpoch) : nil
                let (error, topics) = fetchOffsets(group: group.groupId, wanted: wanted, requireStable: request.requireStable,
                                                   member: member, context: context)
                return .init(groupId: group.groupId, topics: topics.map { topic in
                    .init(name: topic.name, partitions: topic.partitions.map {
                        .init(partitionIndex: $0.partitionIndex, committedOffset: $0.committedOffset,
                              committedLeaderEpoch: $0.committedLeaderEpoch, metadata: $0.metadata, errorCode: $0.errorCode)
                    })
                }, errorCode: error.rawValue)
            }
            return response
        }
        let wanted = (context.version >= 2 ? request.topics : request.topics ?? []).map { topics in
            topics.flatMap { topic in topic.partitionIndexes.map { TopicPartition(topic: topic.name, partition: $0) } }
        }
        let (error, topics) = fetchOffsets(group: request.groupId, wanted: wanted,
                                           requireStable: context.version >= 7 && request.requireStable, context: context)
        if context.version >= 2 {
            response.errorCode = error.rawValue
            response.topics = topics
        } else {
            // Version 0 and 1 have no top-level error: each partition carries it.
            response.topics = error == .none ? topics : (wanted ?? []).reduce(into: []) { result, partition in
                result.append(.init(name: partition.topic, partitions: [.init(
                    partitionIndex: partition.partition, committedOffset: -1, metadata: "", errorCode: error.rawValue)]))
            }
        }
        if context.version < 5 {
            for topic in response.topics.indices {
                for partition in response.topics[topic].partitions.indices { response.topics[topic].partitions[partition].committedLeaderEpoch = -1 }
            }
        }
        return response
    }

    /// A group's committed offsets: GROUP_AUTHORIZATION_FAILED without DESCRIBE on the group; a topic asked for
    /// without DESCRIBE on it gets TOPIC_AUTHORIZATION_FAILED, and is left out when every offset is asked for.
    private func fetchOffsets(group: String, wanted: [TopicPartition]?, requireStable: Bool,
                              member: (id: String?, epoch: Int32)? = nil, context: RequestContext)
        -> (ErrorCode, [OffsetFetchResponse.OffsetFetchResponseTopic]) {
        guard authorized(context, .describe, .group, group) else { return (.groupAuthorizationFailed, []) }
        var topicAllowed: [String: Bool] = [:]
        let allowed = { (topic: String) -> Bool in
            if let known = topicAllowed[topic] { return known }
            let decision = self.authorized(context, .describe, .topic, topic)
            topicAllowed[topic] = decision
            return decision
        }
        let (error, offsets, unstable) = groups.fetchOffsets(group: group, partitions: wanted?.filter { allowed($0.topic) },
                                                             requireStable: requireStable, member: member)
        guard error == .none else { return (error, []) }
        let partitions = wanted
            ?? Set(offsets.keys).union(unstable).filter { allowed($0.topic) }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        var topics: [OffsetFetchResponse.OffsetFetchResponseTopic] = []
        for partition in partitions {
            let committed = offsets[partition]
            let entry = OffsetFetchResponse.OffsetFetchResponsePartition(
                partitionIndex: partition.partition, committedOffset: committed?.offset ?? -1,
                committedLeaderEpoch: committed?.leaderEpoch ?? -1, metadata: committed?.metadata ?? "",
                errorCode: !allowed(partition.topic) ? ErrorCode.topicAuthorizationFailed.rawValue
                    : unstable.contains(partition) ? ErrorCode.unstableOffsetCommit.rawValue : 0)
            if let index = topics.firstIndex(where: { $0.name == partition.topic }) {
                topics[index].partitions.append(entry)
            } else {
                topics.append(.init(name: partition.topic, partitions: [entry]))
            }
        }
        return (.none, topics)
    }

    /// ListGroups, with the states filter of version 4 and the types filter of version 5 (all groups are classic).
    func handleListGroups(_ request: ListGroupsRequest, context: RequestContext) -> ListGroupsResponse {
        var response = ListGroupsResponse()
        let (error, listed) = groups.listGroups(statesFilter: context.version >= 4 ? request.statesFilter : [])
        response.errorCode = error.rawValue
        let types = Set((context.version >= 5 ? request.typesFilter : []).map { $0.lowercased() })
        let everyGroup = authorizedOnCluster(context, .describe)
        response.groups = listed
            .filter { (types.isEmpty || types.contains($0.groupType)) && (everyGroup || authorized(context, .describe, .group, $0.groupId)) }
            .map {
                .init(groupId: $0.groupId, protocolType: $0.protocolType,
                      groupState: context.version >= 4 ? $0.state : "", groupType: context.version >= 5 ? $0.groupType : "")
            }
        return response
    }

    /// DescribeGroups: state, protocol, and members (with metadata and assignment once stable). An unknown group
    /// is described as Dead with no error, as Kafka does before version 6.
    func handleDescribeGroups(_ request: DescribeGroupsRequest, context: RequestContext) -> DescribeGroupsResponse {
        var response = DescribeGroupsResponse()
        // Each group once: a request repeating a group 100 000 times must not make an answer of gigabytes.
        response.groups = Self.unique(request.groups).map { groupId in
            var described = DescribeGroupsResponse.DescribedGroup(groupId: groupId)
            guard authorized(context, .describe, .group, groupId) else {
                described.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                return described
            }
            let (error, group) = groups.describe(group: groupId)
            described.errorCode = error.rawValue
            guard error == .none else { return described }
            if group == nil, let consumerGroup = groups.consumerGroup(groupId) {
                classicDescription(of: consumerGroup, into: &described, version: context.version)
                described.authorizedOperations = !request.includeAuthorizedOperations || context.version < 3
                    ? Int32.min : authorizedOperations(context, .group, groupId, among: Self.groupOperations)
                return described
            }
            guard let group else {
                described.groupState = ClassicGroupState.dead.rawValue
                return described
            }
            described.groupState = group.state.rawValue
            described.protocolType = group.protocolType ?? ""
            let stable = group.state == .stable
            described.protocolData = stable ? group.protocolName ?? "" : ""
            described.members = group.members.map { member in
                .init(memberId: member.memberId, groupInstanceId: context.version >= 4 ? member.groupInstanceId : nil,
                      clientId: member.clientId, clientHost: member.clientHost,
                      memberMetadata: stable ? member.metadata(for: group.protocolName) : ByteBuffer(),
                      memberAssignment: stable ? member.assignment : ByteBuffer())
            }
            described.authorizedOperations = !request.includeAuthorizedOperations || context.version < 3
                ? Int32.min : authorizedOperations(context, .group, groupId, among: Self.groupOperations)
            return described
        }
        return response
    }

    /// DeleteGroups: empty groups only (NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND for unknown ones).
    func handleDeleteGroups(_ request: DeleteGroupsRequest, context: RequestContext) -> DeleteGroupsResponse {
        let permitted = request.groupsNames.filter { authorized(context, .delete, .group, $0) }
        let errors = groups.deleteGroups(permitted)
        var response = DeleteGroupsResponse()
        response.results = request.groupsNames.map {
            .init(groupId: $0, errorCode: (errors[$0] ?? (permitted.contains($0) ? .none : .groupAuthorizationFailed)).rawValue)
        }
        return response
    }

    /// OffsetDelete: a group's offsets of topics none of its members subscribes to.
    func handleOffsetDelete(_ request: OffsetDeleteRequest, context: RequestContext) -> OffsetDeleteResponse {
        guard authorized(context, .delete, .group, request.groupId) else {
            return OffsetDeleteResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
        }
        let readable = Set(request.topics.map(\.name).filter { authorized(context, .read, .topic, $0) })
        let partitions = request.topics.filter { readable.contains($0.name) }.flatMap { topic in
            topic.partitions.map { TopicPartition(topic: topic.name, partition: $0.partitionIndex) }
        }
        let (error, partitionErrors) = groups.deleteOffsets(group: request.groupId, partitions: partitions)
        var response = OffsetDeleteResponse()
        response.errorCode = error.rawValue
        guard error == .none else { return response }
        response.topics = request.topics.map { topic in
            .init(name: topic.name, partitions: topic.partitions.map { partition in
                let code = !readable.contains(topic.name) ? .topicAuthorizationFailed
                    : partitionErrors[TopicPartition(topic: topic.name, partition: partition.partitionIndex)] ?? .none
                return .init(partitionIndex: partition.partitionIndex, errorCode: code.rawValue)
            })
        }
        return response
    }
}
