import Logging
import VltavaClient

/// A distributed worker's part in its group (Kafka's `DistributedHerder`): what its assignment gives it, who
/// leads, how far it has read `connect-configs`, and what the connector objects and tasks it runs started with.
public struct ClusterMembership: Sendable {
    let configLog: KafkaConfigStore
    let statusLog: KafkaStatusStore
    var group: WorkerGroup?
    var assigned: Set<ConnectAssignmentItem> = []
    var isLeader = false
    var leaderUrl: String?
    var configOffset: Int64 = -1
    /// The work configured when the last assignment came: a change means a rebalance is due.
    var workAtAssignment: Set<ConnectAssignmentItem> = []
    /// Leader only: the connector configs task configs were generated for.
    var generatedFor: [String: [String: String]] = [:]
    var startedConnectors: [String: [String: String]] = [:]
    var startedTasks: [ConnectorTaskId: [String: String]] = [:]

    public init(configLog: KafkaConfigStore, statusLog: KafkaStatusStore) {
        self.configLog = configLog
        self.statusLog = statusLog
    }
}

/// How the REST API treats a request that changes configs on a worker of a group.
public enum ConfigRequestRoute: Sendable, Equatable {
    /// This worker answers it (it leads, or it is not in a group).
    case local
    /// The leader at this URL answers it.
    case forward(String)
    /// Nobody can answer it now (409 with this message).
    case conflict(String)
}

extension Herder: WorkerGroupListener {
    static let staleConfigMessage =
        "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"
    static let conflictingOperationMessage = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"

    /// Whether this worker is one of a group.
    public var isDistributed: Bool { cluster != nil }

    /// Joins the group and follows `connect-configs` and `connect-status` until the task is cancelled (then leaves).
    public func runGroup() async {
        guard cluster != nil, !Task.isCancelled else { return }
        let client = makeClient()
        let group = WorkerGroup(client: client, settings: worker.group, listener: self, logger: logger)
        cluster?.group = group
        await withDiscardingTaskGroup { tasks in
            tasks.addTask { await group.run() }
            tasks.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(500))
                    await self.seriallyLogged { await self.follow() }
                }
            }
        }
        await client.close()
    }

    /// Where a request that changes configs goes: waits up to `worker.sync.timeout.ms` for a rebalance to end
    /// (before the first assignment, up to `rebalance.timeout.ms`: Kafka's worker queues requests until it has
    /// joined, so a request right after start succeeds, as with a single worker).
    public func configRequestRoute(forwarded: Bool) async -> ConfigRequestRoute {
        guard cluster != nil else { return .local }
        let waitMs = isReady ? worker.workerSyncTimeoutMs : worker.group.rebalanceTimeout.nanoseconds / 1_000_000
        let deadline = ContinuousClock.now + .milliseconds(max(waitMs, 0))
        while !(await isStable()) {
            if ContinuousClock.now >= deadline { return .conflict(Self.staleConfigMessage) }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if cluster?.isLeader == true { return .local }
        guard !forwarded, let url = cluster?.leaderUrl, !url.isEmpty else { return .conflict(Self.conflictingOperationMessage) }
        return .forward(url)
    }

    /// Where `POST /connectors/{n}/tasks/{i}/restart` goes: to the worker running the task (Kafka forwards it
    /// there), known from the task's status. While that is unknown or stale (a rebalance moving the task, a status
    /// this worker has not read yet) it waits up to `worker.sync.timeout.ms` before answering 409.
    public func taskRestartRoute(_ id: ConnectorTaskId, forwarded: Bool) async -> ConfigRequestRoute {
        let deadline = ContinuousClock.now + .milliseconds(max(worker.workerSyncTimeoutMs, 0))
        while true {
            let route = currentTaskRestartRoute(id, forwarded: forwarded)
            guard case .conflict = route, ContinuousClock.now < deadline, !Task.isCancelled else { return route }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func currentTaskRestartRoute(_ id: ConnectorTaskId, forwarded: Bool) -> ConfigRequestRoute {
        guard let membership = cluster, let record = state.connectors[id.connector], record.taskConfigs.indices.contains(id.task),
              !membership.assigned.contains(.task(id.connector, Int32(id.task))) else { return .local }
        guard !forwarded, let owner = record.taskStatuses[id.task]?.workerId, !owner.isEmpty, owner != workerId else {
            return .conflict(Self.conflictingOperationMessage)
        }
        return .forward("\(worker.advertisedScheme)://\(owner)/")
    }

    private func isStable() async -> Bool {
        guard isReady, let group = cluster?.group else { return false }
        return await group.isStable
    }

    // MARK: WorkerGroupListener

    public func workerState() async -> ConnectProtocol.WorkerState {
        ConnectProtocol.WorkerState(url: worker.restUrl, configOffset: cluster?.configOffset ?? -1,
                                    running: cluster?.assigned ?? [])
    }

    public func configuredWork(readingTo offset: Int64) async throws -> (offset: Int64, work: Set<ConnectAssignmentItem>) {
        // In turn with requests and the follower loop, which read the same topic.
        try await serially { () async throws(ConnectRestError) -> (offset: Int64, work: Set<ConnectAssignmentItem>) in
            do {
                try await self.catchUp(to: offset)
            } catch {
                throw ConnectRestError(500, "\(error)")
            }
            return await (self.cluster?.configOffset ?? -1, self.state.configuredWork)
        }
    }

    public func assigned(_ assignment: ConnectProtocol.Assignment, generation: Int32, isLeader: Bool, incremental: Bool) async {
        await seriallyLogged {
            await self.apply(assignment, isLeader: isLeader, incremental: incremental)
        }
    }

    public func revokeAll() async {
        await seriallyLogged { await self.stopUnassigned(keeping: []) }
    }

    // MARK: Following the config topic

    private func apply(_ assignment: ConnectProtocol.Assignment, isLeader: Bool, incremental: Bool) async {
        guard var membership = cluster else { return }
        membership.isLeader = isLeader
        membership.leaderUrl = assignment.leaderUrl
        if !isLeader { membership.generatedFor = [:] }
        var assigned = incremental ? membership.assigned : []
        assigned.subtract(assignment.revoked)
        if assignment.error == 0 { assigned.formUnion(assignment.assigned) }
        membership.assigned = assigned
        state.owned = assigned
        cluster = membership
        await stopUnassigned(keeping: assigned)
        do {
            try await catchUp(to: assignment.configOffset)
        } catch {
            logger.warning("worker cannot read the configs its assignment needs: \(error)")
        }
        cluster?.workAtAssignment = state.configuredWork
        isReady = true
    }

    /// Reads `connect-configs` until it has reached `offset`, for at most `worker.sync.timeout.ms`.
    private func catchUp(to offset: Int64) async throws {
        let deadline = ContinuousClock.now + .milliseconds(max(worker.workerSyncTimeoutMs, 100))
        while true {
            try await readConfigs()
            if (cluster?.configOffset ?? -1) >= offset { return }
            if ContinuousClock.now >= deadline {
                throw ConnectError.failed("the config topic is read to \(cluster?.configOffset ?? -1), not to \(offset)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func readConfigs() async throws(ConnectError) {
        guard let membership = cluster else { return }
        let (records, offset) = try await membership.configLog.readNew()
        for record in records {
            if let restart = ConnectStorageRecords.parseRestartRequest(key: record.key, value: record.value) {
                // Each worker restarts what it runs (the statuses of the rest are filtered out); the reconcile
                // that follows starts them again.
                let actions = state.restart(name: restart.connector, includeTasks: restart.includeTasks, onlyFailed: restart.onlyFailed)
                await performLogged(actions)
            } else {
                state.restore(key: record.key, value: record.value)
            }
        }
        cluster?.configOffset = offset
    }

    /// Reads what other workers wrote to `connect-configs` and `connect-status` (run `serially`, which reconciles).
    func follow() async {
        guard let membership = cluster else { return }
        do {
            try await readConfigs()
            for record in try await membership.statusLog.load() { state.followStatus(key: record.key, value: record.value) }
        } catch {
            logger.warning("worker cannot follow the internal topics: \(error)")
        }
    }

    // MARK: Reconciling

    /// Brings what runs here in line with the configs and the assignment; the leader generates task configs for
    /// connectors whose config changed; a change of the configured work asks the group for a rebalance.
    func reconcile() async {
        guard let membership = cluster else { return }
        if membership.isLeader { await generateTaskConfigs() }
        await stopUnassigned(keeping: membership.assigned)
        for item in membership.assigned.sorted() {
            guard case let .connector(name) = item, let record = state.connectors[name] else { continue }
            if record.targetState == .stopped {
                await performLogged(state.connectorStoppedHere(name))
            } else if connectorObjects[name] == nil || cluster?.startedConnectors[name] != record.config {
                await runConnectorObject(name, config: record.config)
            } else {
                await performLogged(state.connectorRunning(name))
            }
        }
        for item in membership.assigned.sorted() {
            guard case let .task(name, id) = item, let record = state.connectors[name], record.targetState != .stopped,
                  record.taskConfigs.indices.contains(Int(id)), tasks[name]?[Int(id)] == nil else { continue }
            cluster?.startedTasks[ConnectorTaskId(connector: name, task: Int(id))] = record.taskConfigs[Int(id)]
            startTasks(name, only: Int(id))
        }
        if let group = membership.group, let current = cluster, current.workAtAssignment != state.configuredWork {
            cluster?.workAtAssignment = state.configuredWork
            await group.requestRejoin()
        }
    }

    /// Stops the connector objects and tasks not in `keeping` or whose config is gone or changed (tasks flush
    /// their offsets as they stop), and pauses or resumes the others as their target states say.
    private func stopUnassigned(keeping: Set<ConnectAssignmentItem>) async {
        for name in connectorObjects.keys.sorted() {
            let record = state.connectors[name]
            if !keeping.contains(.connector(name)) || record == nil || record?.targetState == .stopped {
                connectorObjects.removeValue(forKey: name)?.value.stop()
                cluster?.startedConnectors[name] = nil
            }
        }
        for (name, handles) in tasks.sorted(by: { $0.key < $1.key }) {
            let record = state.connectors[name]
            for (index, handle) in handles.sorted(by: { $0.key < $1.key }) {
                let id = ConnectorTaskId(connector: name, task: index)
                let current = record?.taskConfigs.indices.contains(index) == true ? record?.taskConfigs[index] : nil
                if keeping.contains(.task(name, Int32(index))), record?.targetState != .stopped, let current,
                   cluster?.startedTasks[id] == current {
                    handle.control.setPaused(record?.targetState == .paused)
                    continue
                }
                await handle.stop(timeoutMs: worker.taskShutdownGracefulTimeoutMs)
                tasks[name]?[index] = nil
                cluster?.startedTasks[id] = nil
            }
            if tasks[name]?.isEmpty == true { tasks[name] = nil }
        }
    }

    private func runConnectorObject(_ name: String, config: [String: String]) async {
        connectorObjects.removeValue(forKey: name)?.value.stop()
        do {
            let (connector, _) = try await Self.startConnectorObject(config: config, taskConfigs: false)
            connectorObjects[name] = ConnectorObjectBox(connector)
            cluster?.startedConnectors[name] = config
            await performLogged(state.connectorRunning(name))
        } catch {
            logger.error("connector failed to start", metadata: ["connector": "\(name)", "error": "\(error)"])
            cluster?.startedConnectors[name] = nil
            await performLogged(state.connectorFailed(name: name, trace: error.description))
        }
    }

    /// Leader only: asks each connector whose config changed (or that was resumed from STOPPED) for its task
    /// configs and writes them when they differ from the committed ones.
    private func generateTaskConfigs() async {
        for name in state.connectorNames {
            guard let record = state.connectors[name] else { continue }
            if record.targetState == .stopped {
                cluster?.generatedFor[name] = nil
                continue
            }
            guard cluster?.generatedFor[name] != record.config else { continue }
            cluster?.generatedFor[name] = record.config
            do {
                var (connector, configs) = try await Self.startConnectorObject(config: record.config, taskConfigs: true)
                connector.stop()
                await performLogged(state.tasksGenerated(name: name, configs))
            } catch {
                logger.error("cannot generate the task configs of a connector", metadata: ["connector": "\(name)", "error": "\(error)"])
            }
        }
        for name in (cluster?.generatedFor.keys).map(Array.init) ?? [] where state.connectors[name] == nil {
            cluster?.generatedFor[name] = nil
        }
    }
}
