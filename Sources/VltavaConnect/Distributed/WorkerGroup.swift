import Logging
import NIOCore
import VltavaClient

/// What a distributed worker's herder gives the worker group and takes from it.
public protocol WorkerGroupListener: Sendable {
    /// The worker's state for JoinGroup: its REST URL, how far it has read the config topic, what it runs.
    func workerState() async -> ConnectProtocol.WorkerState
    /// Leader only: reads the config topic to at least `offset` and answers the offset read and every
    /// connector and task that should run. Throws when it cannot read that far (CONFIG_MISMATCH).
    func configuredWork(readingTo offset: Int64) async throws -> (offset: Int64, work: Set<ConnectAssignmentItem>)
    /// Carries out an assignment: stops what is revoked (eager: everything not assigned), reads the configs
    /// to `assignment.configOffset`, starts what is assigned.
    func assigned(_ assignment: ConnectProtocol.Assignment, generation: Int32, isLeader: Bool,
                  incremental: Bool) async
    /// Eager protocol: stops everything before joining, so that no work runs on two workers at once.
    func revokeAll() async
}

/// A distributed worker's membership of the group `group.id` (protocol type "connect"): joins, computes
/// the assignment when it leads (`ConnectAssignor`), applies its own, heartbeats, and rejoins when the group
/// rebalances, when its assignment revoked work or asked for a delayed rejoin, or when the herder asks.
public actor WorkerGroup {
    public struct Settings: Sendable {
        public var groupId: String
        public var variant: ConnectProtocol.Variant = .compatible
        public var sessionTimeout: TimeAmount = .seconds(10)
        public var heartbeatInterval: TimeAmount = .seconds(3)
        public var rebalanceTimeout: TimeAmount = .seconds(60)
        /// `scheduled.rebalance.max.delay.ms`.
        public var maxDelayMs: Int64 = 300_000

        public init(groupId: String) {
            self.groupId = groupId
        }
    }

    let member: GroupMember
    let settings: Settings
    let listener: any WorkerGroupListener
    let logger: Logger
    private var assignor: ConnectAssignor
    private var rejoinRequested = false
    private var rejoinAtMs: Int64?
    public private(set) var leaderUrl: String?
    public private(set) var isLeader = false
    public private(set) var generation: Int32 = -1
    /// False from the start of a rebalance until this worker has its assignment (the REST API answers 409 then).
    public private(set) var isStable = false

    public init(client: KafkaClient, settings: Settings, listener: any WorkerGroupListener, logger: Logger) {
        var configuration = GroupMember.Configuration(groupId: settings.groupId, protocolType: ConnectProtocol.protocolType)
        configuration.sessionTimeout = settings.sessionTimeout
        configuration.rebalanceTimeout = settings.rebalanceTimeout
        member = GroupMember(client: client, configuration: configuration)
        self.settings = settings
        self.listener = listener
        self.logger = logger
        assignor = ConnectAssignor(incremental: settings.variant.isIncremental, maxDelayMs: settings.maxDelayMs)
    }

    /// Asks for a rebalance at the next heartbeat (the leader does so when connectors or task counts change).
    public func requestRejoin() {
        rejoinRequested = true
    }

    /// How often the heartbeat loop looks for a requested rejoin.
    static let rejoinCheck = TimeAmount.milliseconds(20)

    static func nowMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    /// Runs until the task is cancelled, then leaves the group.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await rebalance()
                try await heartbeatUntilRejoin()
            } catch is CancellationError {
                break
            } catch {
                isStable = false
                logger.warning("worker group: \(error); joining again", metadata: ["group": "\(settings.groupId)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        isStable = false
        await member.leave(reason: "the worker is stopping")
    }

    private func rebalance() async throws {
        isStable = false
        rejoinRequested = false
        rejoinAtMs = nil
        if settings.variant == .eager { await listener.revokeAll() }
        let state = await listener.workerState()
        var protocols: [(name: String, metadata: ByteBuffer)] = []
        for variant in settings.variant.offered {
            protocols.append((variant.rawValue, try state.serialized(version: variant.version)))
        }
        let joined = try await member.join(protocols: protocols)
        let chosen = ConnectProtocol.Variant(rawValue: joined.protocolName) ?? .eager
        assignor.incremental = chosen.isIncremental
        var assignments: [String: ByteBuffer] = [:]
        if joined.isLeader {
            assignments = try await leaderAssignments(joined, variant: chosen, ownUrl: state.url)
        }
        let bytes = try await member.sync(joined, protocolName: joined.protocolName, assignments: assignments)
        let assignment = try ConnectProtocol.Assignment(bytes: bytes)
        generation = joined.generation
        isLeader = joined.isLeader
        leaderUrl = assignment.leaderUrl
        logger.info("worker group assignment", metadata: [
            "group": "\(settings.groupId)", "generation": "\(joined.generation)", "leader": "\(joined.isLeader)",
            "assigned": "\(assignment.assigned)", "revoked": "\(assignment.revoked)", "delay_ms": "\(assignment.delayMs)",
        ])
        await listener.assigned(assignment, generation: joined.generation, isLeader: joined.isLeader,
                                incremental: chosen.isIncremental)
        if assignment.error != 0 {
            // The leader could not read the configs the members had: try again shortly.
            rejoinAtMs = Self.nowMs() + 1000
        } else if chosen.isIncremental, !assignment.revoked.isEmpty {
            rejoinRequested = true  // the revoked work is handed out at the rebalance that follows
        } else if assignment.delayMs > 0 {
            rejoinAtMs = Self.nowMs() + Int64(assignment.delayMs)
        }
        isStable = true
    }

    private func leaderAssignments(_ joined: GroupMember.Joined, variant: ConnectProtocol.Variant, ownUrl: String)
        async throws -> [String: ByteBuffer] {
        var states: [String: ConnectProtocol.WorkerState] = [:]
        for member in joined.members {
            states[member.memberId] = try ConnectProtocol.WorkerState(bytes: member.metadata)
        }
        let highest = states.values.map(\.configOffset).max() ?? -1
        var result: [String: ByteBuffer] = [:]
        let configured: (offset: Int64, work: Set<ConnectAssignmentItem>)
        do {
            configured = try await listener.configuredWork(readingTo: highest)
        } catch {
            logger.warning("worker group leader cannot read the configs the members have read: \(error)")
            for memberId in states.keys {
                let assignment = ConnectProtocol.Assignment(
                    error: ConnectProtocol.Assignment.configMismatch, leader: joined.leaderId, leaderUrl: ownUrl,
                    configOffset: highest, assigned: [])
                result[memberId] = try assignment.serialized(version: variant.version)
            }
            return result
        }
        let shares = assignor.assign(members: states.mapValues { $0.running ?? [] }, configured: configured.work,
                                     nowMs: Self.nowMs())
        for (memberId, share) in shares {
            let assignment = ConnectProtocol.Assignment(
                leader: joined.leaderId, leaderUrl: ownUrl, configOffset: configured.offset, assigned: share.assigned,
                revoked: share.revoked, delayMs: share.delayMs)
            result[memberId] = try assignment.serialized(version: variant.version)
        }
        return result
    }

    private func heartbeatUntilRejoin() async throws {
        while !Task.isCancelled {
            if rejoinRequested { return }
            if let rejoinAtMs, Self.nowMs() >= rejoinAtMs { return }
            // A rejoin asked for (a connector created, its tasks configured) is seen within this wait, which is
            // what a new connector waits for twice before its tasks run: short, as Kafka's herder wakes its member.
            try await Task.sleep(nanoseconds: UInt64(min(settings.heartbeatInterval, Self.rejoinCheck).nanoseconds))
            if Self.nowMs() - lastHeartbeatMs >= settings.heartbeatInterval.nanoseconds / 1_000_000 {
                lastHeartbeatMs = Self.nowMs()
                if try await member.heartbeat() == .rejoin { return }
            }
        }
        throw CancellationError()
    }

    private var lastHeartbeatMs: Int64 = 0
}
