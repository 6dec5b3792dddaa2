import KafkaProtocol
import NIOCore

/// The states of a classic group, named as Kafka names them in DescribeGroups and ListGroups.
public enum ClassicGroupState: String, Sendable, CaseIterable {
    /// No members; offsets may still be kept.
    case empty = "Empty"
    /// Waiting for members to (re)join before a new generation starts.
    case preparingRebalance = "PreparingRebalance"
    /// A generation started; waiting for the leader's assignment in SyncGroup.
    case completingRebalance = "CompletingRebalance"
    /// Every member has its assignment.
    case stable = "Stable"
    /// Deleted or expired; the coordinator forgets it.
    case dead = "Dead"
}

/// A protocol a member offers in JoinGroup (for consumers: an assignor name and its subscription).
public struct GroupProtocol: Sendable, Equatable {
    public var name: String
    public var metadata: ByteBuffer

    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// Identifies a request whose answer the coordinator holds until the group can give it (JoinGroup, SyncGroup).
public typealias ResponseWaiter = UInt64

/// One member of a classic group.
public struct GroupMember: Sendable, Equatable {
    public var memberId: String
    /// Set for static members (`group.instance.id`), which keep their assignment across restarts.
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    public var protocols: [GroupProtocol]
    /// The assignment the leader gave this member in the current generation.
    public var assignment: ByteBuffer = ByteBuffer()
    /// When the member is evicted unless it heartbeats (or has a JoinGroup/SyncGroup waiting).
    public var sessionDeadlineMs: Int64
    var awaitingJoin: JoinRequest?
    var awaitingSync: ResponseWaiter?

    /// The metadata this member gave for `protocolName`, empty if it gave none.
    public func metadata(for protocolName: String?) -> ByteBuffer {
        protocols.first { $0.name == protocolName }?.metadata ?? ByteBuffer()
    }
}

/// Timings and limits of classic groups (Kafka's `group.*` broker properties).
public struct GroupConfiguration: Sendable {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits for more members.
    public var initialRebalanceDelayMs: Int64 = 3000
    /// `group.min.session.timeout.ms`.
    public var minSessionTimeoutMs: Int32 = 6000
    /// `group.max.session.timeout.ms`.
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// `offsets.retention.minutes` in milliseconds: how long an empty group's offsets are kept.
    public var offsetsRetentionMs: Int64 = 7 * 24 * 3_600_000
    /// `offset.metadata.max.bytes`.
    public var maxOffsetMetadataBytes = 4096
    /// Consumer groups of the KIP-848 protocol (`group.consumer.*`).
    public var consumer = ConsumerGroupConfiguration()

    public init() {}
}

/// A JoinGroup request as the group sees it.
public struct JoinRequest: Sendable, Equatable {
    public var waiter: ResponseWaiter
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    public var protocols: [GroupProtocol]
    /// JoinGroup v4+: a new dynamic member first gets its id with MEMBER_ID_REQUIRED and joins again with it.
    public var requiresKnownMemberId: Bool
    /// JoinGroup v9+: a static leader rejoining a stable group is told to skip the assignment.
    public var supportsSkipAssignment: Bool
    /// The id given to this member if it is new: Kafka's `<client id or instance id>-<UUID>`.
    public var newMemberId: String

    public init(waiter: ResponseWaiter, memberId: String, groupInstanceId: String? = nil, clientId: String,
                clientHost: String, sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32, protocolType: String,
                protocols: [GroupProtocol], requiresKnownMemberId: Bool, supportsSkipAssignment: Bool = false,
                newMemberId: String) {
        self.waiter = waiter
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.requiresKnownMemberId = requiresKnownMemberId
        self.supportsSkipAssignment = supportsSkipAssignment
        self.newMemberId = newMemberId
    }
}

/// A member as the leader sees it in its JoinGroup answer.
public struct JoinedMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var metadata: ByteBuffer
}

/// The answer to a JoinGroup request.
public struct JoinOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var generationId: Int32 = -1
    public var protocolType: String?
    public var protocolName: String?
    public var leader: String = ""
    public var memberId: String
    public var skipAssignment = false
    /// Every member with its metadata for the chosen protocol; only the leader gets them.
    public var members: [JoinedMember] = []

    static func failure(_ errorCode: ErrorCode, memberId: String = "") -> JoinOutcome {
        JoinOutcome(errorCode: errorCode, memberId: memberId)
    }
}

/// A SyncGroup request as the group sees it.
public struct SyncRequest: Sendable, Equatable {
    public var waiter: ResponseWaiter
    public var memberId: String
    public var groupInstanceId: String?
    public var generationId: Int32
    public var protocolType: String?
    public var protocolName: String?
    /// The leader's assignment per member id; empty from followers.
    public var assignments: [String: ByteBuffer]

    public init(waiter: ResponseWaiter, memberId: String, groupInstanceId: String? = nil, generationId: Int32,
                protocolType: String? = nil, protocolName: String? = nil, assignments: [String: ByteBuffer] = [:]) {
        self.waiter = waiter
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.generationId = generationId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The answer to a SyncGroup request.
public struct SyncOutcome: Sendable, Equatable {
    public var errorCode: ErrorCode
    public var protocolType: String?
    public var protocolName: String?
    public var assignment = ByteBuffer()
}

/// What the group asks its owner to do after a transition.
public enum GroupAction: Sendable, Equatable {
    /// Answer a held JoinGroup request.
    case answerJoin(ResponseWaiter, JoinOutcome)
    /// Answer a held SyncGroup request.
    case answerSync(ResponseWaiter, SyncOutcome)
    /// Write the group's metadata record (a new generation or new assignments) to `__consumer_offsets`.
    case persistMetadata
}

/// One member named in a LeaveGroup request.
public struct LeavingMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?

    public init(memberId: String, groupInstanceId: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
    }
}

/// Kafka's classic group state machine (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead) as a value
/// that does no I/O: each event takes the current time and returns what to answer and what to write. Held
/// requests are named by `ResponseWaiter`s that the owner maps to its promises.
public struct ClassicGroup: Sendable {
    public let groupId: String
    public let configuration: GroupConfiguration
    public private(set) var state: ClassicGroupState = .empty
    public private(set) var generationId: Int32 = 0
    public private(set) var protocolType: String?
    public private(set) var protocolName: String?
    public private(set) var leaderId: String?
    /// Members in the order they joined.
    public private(set) var members: [GroupMember] = []
    /// New dynamic members told MEMBER_ID_REQUIRED, with the time they must join again by.
    public private(set) var pendingMembers: [String: Int64] = [:]
    /// When the state last changed (Kafka's `currentStateTimestamp`, used for offset expiry of empty groups).
    public private(set) var stateTimestampMs: Int64
    /// When the PreparingRebalance phase ends even if not every member has joined again.
    public private(set) var rebalanceDeadlineMs: Int64?
    /// Set while the first rebalance of an empty group waits `initialRebalanceDelayMs` for more members.
    private var initialJoinStartMs: Int64?

    public init(groupId: String, configuration: GroupConfiguration, nowMs: Int64) {
        self.groupId = groupId
        self.configuration = configuration
        self.stateTimestampMs = nowMs
    }

    public func member(_ memberId: String) -> GroupMember? {
        members.first { $0.memberId == memberId }
    }

    private func index(of memberId: String) -> Int? {
        members.firstIndex { $0.memberId == memberId }
    }

    private func index(ofInstance instanceId: String) -> Int? {
        members.firstIndex { $0.groupInstanceId == instanceId }
    }

    public var isEmpty: Bool { members.isEmpty && pendingMembers.isEmpty }

    private mutating func transition(to newState: ClassicGroupState, nowMs: Int64) {
        state = newState
        stateTimestampMs = nowMs
    }

    // MARK: Protocols

    /// The protocols every member offers (all of the joining member's when it would be the only one).
    private func candidateProtocols(including protocols: [GroupProtocol]? = nil, excluding memberId: String? = nil) -> Set<String> {
        var sets = members.filter { $0.memberId != memberId }.map { Set($0.protocols.map(\.name)) }
        if let protocols { sets.append(Set(protocols.map(\.name))) }
        guard var result = sets.first else { return [] }
        for set in sets.dropFirst() { result.formIntersection(set) }
        return result
    }

    /// Kafka's check: an empty group takes any non-empty protocol type and list; otherwise the type must match and
    /// at least one protocol must be common to every member.
    private func supports(protocolType type: String, protocols: [GroupProtocol], replacing memberId: String? = nil) -> Bool {
        if type.isEmpty || protocols.isEmpty { return false }
        let others = members.filter { $0.memberId != memberId }
        if others.isEmpty { return true }
        return type == protocolType && !candidateProtocols(including: protocols, excluding: memberId).isEmpty
    }

    /// Each member votes for its most preferred protocol among the common ones; the most votes wins, ties going to
    /// the earlier choice of the first member.
    private func selectProtocol() -> String? {
        let candidates = candidateProtocols()
        guard let first = members.first else { return nil }
        var votes: [String: Int] = [:]
        for member in members {
            if let choice = member.protocols.first(where: { candidates.contains($0.name) }) {
                votes[choice.name, default: 0] += 1
            }
        }
        let order = first.protocols.map(\.name).filter { candidates.contains($0) }
        return order.max { (votes[$0] ?? 0) < (votes[$1] ?? 0) || ((votes[$0] ?? 0) == (votes[$1] ?? 0) && order.firstIndex(of: $0)! > order.firstIndex(of: $1)!) }
    }

    // MARK: JoinGroup

    /// A JoinGroup request: answered at once (errors, MEMBER_ID_REQUIRED, a static member's rejoin of a stable
    /// group) or held until the rebalance completes.
    public mutating func join(_ request: JoinRequest, nowMs: Int64) -> [GroupAction] {
        func fail(_ code: ErrorCode) -> [GroupAction] {
            [.answerJoin(request.waiter, .failure(code, memberId: request.memberId))]
        }
        if state == .dead { return fail(.coordinatorNotAvailable) }
        if request.sessionTimeoutMs < configuration.minSessionTimeoutMs || request.sessionTimeoutMs > configuration.maxSessionTimeoutMs {
            return fail(.invalidSessionTimeout)
        }
        if request.memberId.isEmpty {
            return joinAsNewMember(request, nowMs: nowMs)
        }
        if pendingMembers[request.memberId] != nil {
            guard supports(protocolType: request.protocolType, protocols: request.protocols) else { return fail(.inconsistentGroupProtocol) }
            pendingMembers[request.memberId] = nil
            return addMemberAndRebalance(request, memberId: request.memberId, nowMs: nowMs)
        }
        if let instanceId = request.groupInstanceId, let index = index(ofInstance: instanceId),
           members[index].memberId != request.memberId {
            return fail(.fencedInstanceId)
        }
        guard let index = index(of: request.memberId) else { return fail(.unknownMemberId) }
        guard supports(protocolType: request.protocolType, protocols: request.protocols, replacing: request.memberId) else {
            return fail(.inconsistentGroupProtocol)
        }
        var actions: [GroupAction] = []
        switch state {
        case .preparingRebalance:
            actions += updateMember(at: index, with: request, nowMs: nowMs)
            actions += maybeCompleteJoin(nowMs: nowMs)
        case .completingRebalance, .stable:
            let member = members[index]
            let unchanged = member.protocols == request.protocols
            if unchanged && (state == .completingRebalance || member.memberId != leaderId) {
                // A member that did not see the join answer asks again: the current generation's answer.
                members[index].sessionDeadlineMs = nowMs + Int64(member.sessionTimeoutMs)
                actions.append(.answerJoin(request.waiter, joinOutcome(for: member.memberId)))
            } else {
                actions += updateMember(at: index, with: request, nowMs: nowMs)
                actions += prepareRebalance(nowMs: nowMs)
            }
        case .empty, .dead:
            return fail(.unknownMemberId)
        }
        return actions
    }

    private mutating func joinAsNewMember(_ request: JoinRequest, nowMs: Int64) -> [GroupAction] {
        if let instanceId = request.groupInstanceId, let index = index(ofInstance: instanceId) {
            guard supports(protocolType: request.protocolType, protocols: request.protocols, replacing: members[index].memberId) else {
                return [.answerJoin(request.waiter, .failure(.inconsistentGroupProtocol))]
            }
            return replaceStaticMember(at: index, with: request, nowMs: nowMs)
        }
        guard supports(protocolType: request.protocolType, protocols: request.protocols) else {
            return [.answerJoin(request.waiter, .failure(.inconsistentGroupProtocol))]
        }
        if request.groupInstanceId == nil && request.requiresKnownMemberId {
            pendingMembers[request.newMemberId] = nowMs + Int64(request.sessionTimeoutMs)
            return [.answerJoin(request.waiter, .failure(.memberIdRequired, memberId: request.newMemberId))]
        }
        return addMemberAndRebalance(request, memberId: request.newMemberId, nowMs: nowMs)
    }

    /// A static member restarting: it takes over its old member id's place. The old id is fenced. A stable group
    /// whose member offers the same protocols does not rebalance: the member gets its old assignment back.
    private mutating func replaceStaticMember(at index: Int, with request: JoinRequest, nowMs: Int64) -> [GroupAction] {
        var actions: [GroupAction] = []
        let old = members[index]
        if let held = old.awaitingJoin {
            actions.append(.answerJoin(held.waiter, .failure(.fencedInstanceId, memberId: old.memberId)))
        }
        if let held = old.awaitingSync {
            actions.append(.answerSync(held, SyncOutcome(errorCode: .fencedInstanceId)))
        }
        members[index].memberId = request.newMemberId
        members[index].awaitingJoin = nil
        members[index].awaitingSync = nil
        members[index].clientId = request.clientId
        members[index].clientHost = request.clientHost
        members[index].sessionTimeoutMs = request.sessionTimeoutMs
        members[index].rebalanceTimeoutMs = request.rebalanceTimeoutMs
        members[index].sessionDeadlineMs = nowMs + Int64(request.sessionTimeoutMs)
        if leaderId == old.memberId { leaderId = request.newMemberId }
        let unchanged = old.protocols == request.protocols
        switch state {
        case .stable where unchanged:
            var outcome = joinOutcome(for: request.newMemberId)
            if request.newMemberId == leaderId {
                if request.supportsSkipAssignment {
                    outcome.skipAssignment = true
                } else {
                    outcome.members = []
                }
            }
            actions.append(.answerJoin(request.waiter, outcome))
            actions.append(.persistMetadata)
        case .preparingRebalance:
            actions += updateMember(at: index, with: request, nowMs: nowMs)
            actions += maybeCompleteJoin(nowMs: nowMs)
        default:
            actions += updateMember(at: index, with: request, nowMs: nowMs)
            actions += prepareRebalance(nowMs: nowMs)
        }
        return actions
    }

    private mutating func addMemberAndRebalance(_ request: JoinRequest, memberId: String, nowMs: Int64) -> [GroupAction] {
        var member = GroupMember(
            memberId: memberId, groupInstanceId: request.groupInstanceId, clientId: request.clientId,
            clientHost: request.clientHost, sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: request.rebalanceTimeoutMs, protocolType: request.protocolType,
            protocols: request.protocols, sessionDeadlineMs: nowMs + Int64(request.sessionTimeoutMs))
        var held = request
        held.memberId = memberId
        member.awaitingJoin = held
        if members.isEmpty { protocolType = request.protocolType }
        members.append(member)
        if leaderId == nil { leaderId = memberId }
        if let start = initialJoinStartMs {
            // More members arrive during the initial delay: wait one more delay, within the rebalance timeout.
            let limit = max(start + Int64(maxRebalanceTimeoutMs), nowMs)
            rebalanceDeadlineMs = min(nowMs + configuration.initialRebalanceDelayMs, limit)
            return []
        }
        if state == .preparingRebalance { return maybeCompleteJoin(nowMs: nowMs) }
        return prepareRebalance(nowMs: nowMs)
    }

    private mutating func updateMember(at index: Int, with request: JoinRequest, nowMs: Int64) -> [GroupAction] {
        var actions: [GroupAction] = []
        if let previous = members[index].awaitingJoin, previous.waiter != request.waiter {
            // A second JoinGroup from the same member replaces the first, which is told to rejoin.
            actions.append(.answerJoin(previous.waiter, .failure(.unknownMemberId, memberId: members[index].memberId)))
        }
        var held = request
        held.memberId = members[index].memberId
        members[index].awaitingJoin = held
        members[index].protocols = request.protocols
        members[index].protocolType = request.protocolType
        members[index].clientId = request.clientId
        members[index].clientHost = request.clientHost
        members[index].sessionTimeoutMs = request.sessionTimeoutMs
        members[index].rebalanceTimeoutMs = request.rebalanceTimeoutMs
        members[index].sessionDeadlineMs = nowMs + Int64(request.sessionTimeoutMs)
        return actions
    }

    private var maxRebalanceTimeoutMs: Int32 {
        members.map(\.rebalanceTimeoutMs).max() ?? 0
    }

    /// Starts a rebalance: members waiting for their assignment are told REBALANCE_IN_PROGRESS and everyone must
    /// join again. The first rebalance of an empty group waits `initialRebalanceDelayMs` for more members.
    private mutating func prepareRebalance(nowMs: Int64) -> [GroupAction] {
        var actions: [GroupAction] = []
        if state == .completingRebalance {
            for index in members.indices {
                members[index].assignment = ByteBuffer()
                if let waiter = members[index].awaitingSync {
                    members[index].awaitingSync = nil
                    actions.append(.answerSync(waiter, SyncOutcome(errorCode: .rebalanceInProgress)))
                }
            }
        }
        if state == .empty && configuration.initialRebalanceDelayMs > 0 {
            initialJoinStartMs = nowMs
            rebalanceDeadlineMs = nowMs + min(configuration.initialRebalanceDelayMs, Int64(maxRebalanceTimeoutMs))
        } else {
            rebalanceDeadlineMs = nowMs + Int64(maxRebalanceTimeoutMs)
        }
        transition(to: .preparingRebalance, nowMs: nowMs)
        actions += maybeCompleteJoin(nowMs: nowMs)
        return actions
    }

    /// Completes the join phase when every member and no pending one is waiting (outside the initial delay).
    private mutating func maybeCompleteJoin(nowMs: Int64) -> [GroupAction] {
        guard state == .preparingRebalance, initialJoinStartMs == nil else { return [] }
        if members.allSatisfy({ $0.awaitingJoin != nil }) && pendingMembers.isEmpty {
            return completeJoin(nowMs: nowMs)
        }
        return []
    }

    /// Starts the next generation with the members that joined: dynamic members that did not are removed; the
    /// leader gets every member's metadata for the chosen protocol.
    private mutating func completeJoin(nowMs: Int64) -> [GroupAction] {
        initialJoinStartMs = nil
        rebalanceDeadlineMs = nil
        members.removeAll { $0.awaitingJoin == nil && $0.groupInstanceId == nil }
        if let leader = leaderId, member(leader)?.awaitingJoin == nil {
            leaderId = members.first { $0.awaitingJoin != nil }?.memberId ?? members.first?.memberId
        }
        generationId += 1
        if members.isEmpty {
            leaderId = nil
            protocolName = nil
            protocolType = nil
            transition(to: .empty, nowMs: nowMs)
            return [.persistMetadata]
        }
        protocolName = selectProtocol()
        transition(to: .completingRebalance, nowMs: nowMs)
        var actions: [GroupAction] = []
        for index in members.indices {
            members[index].sessionDeadlineMs = nowMs + Int64(members[index].sessionTimeoutMs)
            if let held = members[index].awaitingJoin {
                members[index].awaitingJoin = nil
                actions.append(.answerJoin(held.waiter, joinOutcome(for: members[index].memberId)))
            }
        }
        return actions
    }

    private func joinOutcome(for memberId: String) -> JoinOutcome {
        var outcome = JoinOutcome(
            errorCode: .none, generationId: generationId, protocolType: protocolType, protocolName: protocolName,
            leader: leaderId ?? "", memberId: memberId)
        if memberId == leaderId {
            outcome.members = members.map {
                JoinedMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata(for: protocolName))
            }
        }
        return outcome
    }

    // MARK: SyncGroup

    /// A SyncGroup request: the leader's assignment completes the rebalance and answers every member; followers
    /// wait for it. In a stable group the current assignment is returned.
    public mutating func sync(_ request: SyncRequest, nowMs: Int64) -> [GroupAction] {
        func fail(_ code: ErrorCode) -> [GroupAction] { [.answerSync(request.waiter, SyncOutcome(errorCode: code))] }
        if state == .dead { return fail(.coordinatorNotAvailable) }
        if let error = memberError(memberId: request.memberId, groupInstanceId: request.groupInstanceId) { return fail(error) }
        if request.generationId != generationId { return fail(.illegalGeneration) }
        if let type = request.protocolType, type != protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != protocolName { return fail(.inconsistentGroupProtocol) }
        let index = index(of: request.memberId)!
        members[index].sessionDeadlineMs = nowMs + Int64(members[index].sessionTimeoutMs)
        switch state {
        case .empty, .dead:
            return fail(.unknownMemberId)
        case .preparingRebalance:
            return fail(.rebalanceInProgress)
        case .stable:
            return [.answerSync(request.waiter, syncOutcome(for: members[index]))]
        case .completingRebalance:
            var actions: [GroupAction] = []
            if let previous = members[index].awaitingSync {
                actions.append(.answerSync(previous, SyncOutcome(errorCode: .rebalanceInProgress)))
            }
            members[index].awaitingSync = request.waiter
            guard request.memberId == leaderId else { return actions }
            for member in members.indices {
                members[member].assignment = request.assignments[members[member].memberId] ?? ByteBuffer()
            }
            transition(to: .stable, nowMs: nowMs)
            actions.append(.persistMetadata)
            for member in members.indices {
                if let waiter = members[member].awaitingSync {
                    members[member].awaitingSync = nil
                    actions.append(.answerSync(waiter, syncOutcome(for: members[member])))
                }
            }
            return actions
        }
    }

    private func syncOutcome(for member: GroupMember) -> SyncOutcome {
        SyncOutcome(errorCode: .none, protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)
    }

    /// UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID when the member id (and instance id) is not a current member.
    private func memberError(memberId: String, groupInstanceId: String?) -> ErrorCode? {
        if let instanceId = groupInstanceId, let index = index(ofInstance: instanceId), members[index].memberId != memberId {
            return .fencedInstanceId
        }
        return index(of: memberId) == nil ? .unknownMemberId : nil
    }

    // MARK: Heartbeat

    /// A Heartbeat: keeps the member's session; tells it to rejoin while a rebalance is being prepared.
    public mutating func heartbeat(memberId: String, groupInstanceId: String?, generationId: Int32, nowMs: Int64) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if state == .empty { return .unknownMemberId }
        if let error = memberError(memberId: memberId, groupInstanceId: groupInstanceId) { return error }
        if generationId != self.generationId { return .illegalGeneration }
        let index = index(of: memberId)!
        members[index].sessionDeadlineMs = nowMs + Int64(members[index].sessionTimeoutMs)
        return state == .preparingRebalance ? .rebalanceInProgress : .none
    }

    // MARK: LeaveGroup

    /// A LeaveGroup request: each member is removed (by instance id when one is given) and the group rebalances.
    public mutating func leave(_ leaving: [LeavingMember], nowMs: Int64) -> (errors: [ErrorCode], actions: [GroupAction]) {
        var errors: [ErrorCode] = []
        var actions: [GroupAction] = []
        for member in leaving {
            if state == .dead {
                errors.append(.coordinatorNotAvailable)
                continue
            }
            if let instanceId = member.groupInstanceId {
                guard let index = index(ofInstance: instanceId) else {
                    errors.append(.unknownMemberId)
                    continue
                }
                if !member.memberId.isEmpty && members[index].memberId != member.memberId {
                    errors.append(.fencedInstanceId)
                    continue
                }
                errors.append(.none)
                actions += removeMember(members[index].memberId, nowMs: nowMs)
            } else if pendingMembers.removeValue(forKey: member.memberId) != nil {
                errors.append(.none)
                actions += maybeCompleteJoin(nowMs: nowMs)
            } else if index(of: member.memberId) != nil {
                errors.append(.none)
                actions += removeMember(member.memberId, nowMs: nowMs)
            } else {
                errors.append(.unknownMemberId)
            }
        }
        return (errors, actions)
    }

    private mutating func removeMember(_ memberId: String, nowMs: Int64) -> [GroupAction] {
        guard let index = index(of: memberId) else { return [] }
        let member = members.remove(at: index)
        var actions: [GroupAction] = []
        if let held = member.awaitingJoin {
            actions.append(.answerJoin(held.waiter, .failure(.unknownMemberId, memberId: memberId)))
        }
        if let waiter = member.awaitingSync {
            actions.append(.answerSync(waiter, SyncOutcome(errorCode: .unknownMemberId)))
        }
        if leaderId == memberId { leaderId = members.first?.memberId }
        switch state {
        case .stable, .completingRebalance:
            actions += prepareRebalance(nowMs: nowMs)
        case .preparingRebalance:
            actions += maybeCompleteJoin(nowMs: nowMs)
        case .empty, .dead:
            break
        }
        return actions
    }

    // MARK: Time

    /// Advances the group's clock: members and pending members whose session expired are removed, the initial
    /// delay and the rebalance timeout end the join phase.
    public mutating func tick(nowMs: Int64) -> [GroupAction] {
        var actions: [GroupAction] = []
        for (memberId, deadline) in pendingMembers where deadline <= nowMs {
            pendingMembers[memberId] = nil
            actions += maybeCompleteJoin(nowMs: nowMs)
        }
        let expired = members.filter { $0.sessionDeadlineMs <= nowMs && $0.awaitingJoin == nil && $0.awaitingSync == nil }
        for member in expired {
            actions += removeMember(member.memberId, nowMs: nowMs)
        }
        if state == .preparingRebalance, let deadline = rebalanceDeadlineMs, deadline <= nowMs {
            actions += completeJoin(nowMs: nowMs)
        }
        return actions
    }

    /// The earliest time at which `tick` has something to do, if any.
    public var nextDeadlineMs: Int64? {
        let times = members.map(\.sessionDeadlineMs) + Array(pendingMembers.values) + [rebalanceDeadlineMs].compactMap { $0 }
        return times.min()
    }

    // MARK: Offsets and deletion

    /// Whether an OffsetCommit from this member and generation may commit: generation -1 with no member from
    /// outside the group while it is empty; otherwise a current member of the current generation.
    public func validateOffsetCommit(memberId: String, groupInstanceId: String?, generationId: Int32) -> ErrorCode {
        if state == .dead { return .coordinatorNotAvailable }
        if generationId < 0 && memberId.isEmpty && members.isEmpty { return .none }
        if let error = memberError(memberId: memberId, groupInstanceId: groupInstanceId) { return error }
        if generationId != self.generationId { return .illegalGeneration }
        if state == .completingRebalance { return .rebalanceInProgress }
        return .none
    }

    /// Marks a deleted or expired group.
    public mutating func markDead(nowMs: Int64) {
        transition(to: .dead, nowMs: nowMs)
    }

    // MARK: Records

    /// The group's `GroupMetadataValue` record (version 3) as Kafka writes it.
    public func metadataValue() -> GroupMetadataValue {
        GroupMetadataValue(
            protocolType: protocolType ?? "", generation: generationId, protocol: protocolName, leader: leaderId,
            currentStateTimestamp: stateTimestampMs,
            members: members.map { member in
                GroupMetadataValue.MemberMetadata(
                    memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
                    clientHost: member.clientHost, rebalanceTimeout: member.rebalanceTimeoutMs,
                    sessionTimeout: member.sessionTimeoutMs, subscription: member.metadata(for: protocolName),
                    assignment: member.assignment)
            })
    }

    /// A group reloaded from its last metadata record: stable with its members if it had any (they must
    /// heartbeat within their session timeout from now), empty otherwise.
    public init(groupId: String, configuration: GroupConfiguration, restoring value: GroupMetadataValue, nowMs: Int64) {
        self.init(groupId: groupId, configuration: configuration, nowMs: value.currentStateTimestamp >= 0 ? value.currentStateTimestamp : nowMs)
        generationId = value.generation
        protocolType = value.protocolType.isEmpty ? nil : value.protocolType
        protocolName = value.protocol
        leaderId = value.leader
        members = value.members.map { record in
            var member = GroupMember(
                memberId: record.memberId, groupInstanceId: record.groupInstanceId, clientId: record.clientId,
                clientHost: record.clientHost, sessionTimeoutMs: record.sessionTimeout,
                rebalanceTimeoutMs: record.rebalanceTimeout == -1 ? record.sessionTimeout : record.rebalanceTimeout,
                protocolType: value.protocolType,
                protocols: [GroupProtocol(name: value.protocol ?? "", metadata: record.subscription)],
                sessionDeadlineMs: nowMs + Int64(record.sessionTimeout))
            member.assignment = record.assignment
            return member
        }
        state = members.isEmpty ? .empty : .stable
        if members.isEmpty { leaderId = nil }
    }
}
