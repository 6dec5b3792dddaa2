import KafkaProtocol
import NIOCore

/// One member of a classic group of any protocol type (Kafka's `AbstractCoordinator` without the consumer's
/// partition semantics): JoinGroup, SyncGroup, Heartbeat and LeaveGroup against the group's coordinator, with
/// Kafka's retry rules (`GroupMember.step(after:)`). Kafka Connect workers use it with protocol type "connect".
/// The caller drives it: join, then (as leader) compute the assignments, sync, then heartbeat until told to
/// rejoin.
public actor GroupMember {
    public struct Configuration: Sendable {
        public var groupId: String
        public var protocolType: String
        public var sessionTimeout: TimeAmount = .seconds(10)
        public var rebalanceTimeout: TimeAmount = .seconds(60)
        public var groupInstanceId: String?

        public init(groupId: String, protocolType: String) {
            self.groupId = groupId
            self.protocolType = protocolType
        }
    }

    /// A member's metadata as the leader receives it.
    public struct Member: Hashable, Sendable {
        public var memberId: String
        public var groupInstanceId: String?
        public var metadata: ByteBuffer
    }

    /// The outcome of a join: this member's generation, and for the leader every member's metadata.
    public struct Joined: Hashable, Sendable {
        public var generation: Int32
        public var memberId: String
        public var leaderId: String
        /// The protocol the coordinator chose among those every member offered.
        public var protocolName: String
        /// Every member (the leader included) for the leader; empty for the others.
        public var members: [Member]
        public var isLeader: Bool { memberId == leaderId }
    }

    /// What a heartbeat said.
    public enum HeartbeatOutcome: Hashable, Sendable {
        case stable
        /// A rebalance started: join again (keeping the member id).
        case rejoin
    }

    /// What to do after a group API answered with an error (Kafka's rules, `AbstractCoordinator`).
    public enum Step: Hashable, Sendable {
        /// Try again after a short back-off (coordinator loading, rebalance in progress).
        case retry
        /// The coordinator moved or is unknown: look it up again, then retry.
        case findCoordinator
        /// The member id is unknown or stale: forget it and join as a new member.
        case resetMemberId
        /// The generation is stale: join again with the same member id.
        case rejoin
        /// Not something a retry fixes.
        case fail
    }

    /// Kafka's handling of a group API's error code.
    public static func step(after code: ErrorCode) -> Step {
        switch code {
        case .coordinatorLoadInProgress, .rebalanceInProgress, .memberIdRequired: return .retry
        case .coordinatorNotAvailable, .notCoordinator: return .findCoordinator
        case .unknownMemberId, .fencedInstanceId: return .resetMemberId
        case .illegalGeneration: return .rejoin
        default: return .fail
        }
    }

    public let client: KafkaClient
    public let configuration: Configuration
    /// The member id the coordinator gave, kept across rejoins ("" before the first join).
    public private(set) var memberId = ""
    public private(set) var generation: Int32 = -1
    private var coordinator: BrokerConnection?

    public init(client: KafkaClient, configuration: Configuration) {
        self.client = client
        self.configuration = configuration
    }

    private func coordinatorConnection() async throws(KafkaClientError) -> BrokerConnection {
        if let coordinator { return coordinator }
        let connection = try await client.coordinatorConnection(group: configuration.groupId)
        coordinator = connection
        return connection
    }

    /// Sends a group request to the coordinator, finding it again once if it moved or its connection failed.
    private func send<Request: KafkaRequestMessage>(_ request: Request, timeout: TimeAmount? = nil)
        async throws(KafkaClientError) -> Request.Response {
        do {
            return try await coordinatorConnection().send(request, timeout: timeout)
        } catch {
            switch error {
            case .connectionClosed, .connectionFailed, .timedOut:
                coordinator = nil
                return try await coordinatorConnection().send(request, timeout: timeout)
            default:
                throw error
            }
        }
    }

    /// Joins the group offering `protocols` (name and metadata, in order of preference). Retries what Kafka
    /// retries (a member id required first, a coordinator loading or moving) for up to the rebalance timeout.
    public func join(protocols: [(name: String, metadata: ByteBuffer)]) async throws(KafkaClientError) -> Joined {
        let deadline = NIODeadline.now() + configuration.rebalanceTimeout
        var backoff: TimeAmount = .milliseconds(100)
        while true {
            let request = JoinGroupRequest(
                groupId: configuration.groupId,
                sessionTimeoutMs: Int32(configuration.sessionTimeout.nanoseconds / 1_000_000),
                rebalanceTimeoutMs: Int32(configuration.rebalanceTimeout.nanoseconds / 1_000_000),
                memberId: memberId, groupInstanceId: configuration.groupInstanceId,
                protocolType: configuration.protocolType,
                protocols: protocols.map { .init(name: $0.name, metadata: $0.metadata) })
            // The coordinator answers once every member has joined: up to the rebalance timeout.
            let response = try await send(request, timeout: configuration.rebalanceTimeout + .seconds(5))
            let code = ErrorCode(rawValue: response.errorCode)
            if code == .none {
                memberId = response.memberId
                generation = response.generationId
                return Joined(
                    generation: response.generationId, memberId: response.memberId, leaderId: response.leader,
                    protocolName: response.protocolName ?? protocols.first?.name ?? "",
                    members: response.members.map { Member(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata) })
            }
            switch Self.step(after: code) {
            case .retry:
                // MEMBER_ID_REQUIRED (KIP-394) hands the id to join with.
                if code == .memberIdRequired { memberId = response.memberId }
            case .findCoordinator:
                coordinator = nil
            case .resetMemberId:
                memberId = ""
            case .rejoin:
                break
            case .fail:
                throw .broker(code: code, message: nil, resource: configuration.groupId)
            }
            guard NIODeadline.now() + backoff < deadline else {
                throw .timedOut(operation: "joining group \(configuration.groupId)",
                                seconds: Double(configuration.rebalanceTimeout.nanoseconds) / 1e9)
            }
            if code != .memberIdRequired {
                try? await Task.sleep(nanoseconds: UInt64(backoff.nanoseconds))
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// Completes the join of `joined`'s generation: the leader passes every member's assignment, the others
    /// none. Returns this member's assignment; throws `.broker` with REBALANCE_IN_PROGRESS (join again) or the
    /// error that reset the membership.
    public func sync(_ joined: Joined, protocolName: String, assignments: [String: ByteBuffer] = [:])
        async throws(KafkaClientError) -> ByteBuffer {
        let request = SyncGroupRequest(
            groupId: configuration.groupId, generationId: joined.generation, memberId: joined.memberId,
            groupInstanceId: configuration.groupInstanceId, protocolType: configuration.protocolType,
            protocolName: protocolName,
            assignments: assignments.sorted { $0.key < $1.key }.map { .init(memberId: $0.key, assignment: $0.value) })
        let response = try await send(request, timeout: configuration.rebalanceTimeout + .seconds(5))
        let code = ErrorCode(rawValue: response.errorCode)
        if code == .none { return response.assignment }
        if Self.step(after: code) == .resetMemberId { memberId = "" }
        if Self.step(after: code) == .findCoordinator { coordinator = nil }
        throw .broker(code: code, message: nil, resource: configuration.groupId)
    }

    /// One heartbeat of the current generation.
    public func heartbeat() async throws(KafkaClientError) -> HeartbeatOutcome {
        let request = HeartbeatRequest(groupId: configuration.groupId, generationId: generation, memberId: memberId,
                                       groupInstanceId: configuration.groupInstanceId)
        let response = try await send(request)
        let code = ErrorCode(rawValue: response.errorCode)
        if code == .none { return .stable }
        switch Self.step(after: code) {
        case .retry, .rejoin:
            return .rejoin
        case .findCoordinator:
            coordinator = nil
            return .rejoin
        case .resetMemberId:
            memberId = ""
            return .rejoin
        case .fail:
            throw .broker(code: code, message: nil, resource: configuration.groupId)
        }
    }

    /// Leaves the group (best effort), so that the others rebalance at once instead of after the session timeout.
    public func leave(reason: String = "the member is stopping") async {
        guard !memberId.isEmpty else { return }
        // Versions 0-2 name the member at the top; 3 and later list members (and allow a reason from 5).
        if let connection = try? await coordinatorConnection(), let version = connection.version(of: LeaveGroupRequest.self) {
            let request = version >= 3
                ? LeaveGroupRequest(groupId: configuration.groupId, members: [.init(
                    memberId: memberId, groupInstanceId: configuration.groupInstanceId, reason: version >= 5 ? reason : nil)])
                : LeaveGroupRequest(groupId: configuration.groupId, memberId: memberId)
            _ = try? await connection.send(request, version: version, timeout: .seconds(5))
        }
        memberId = ""
        generation = -1
    }
}
