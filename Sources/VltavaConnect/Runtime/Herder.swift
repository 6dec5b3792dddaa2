#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOConcurrencyHelpers
import VltavaClient

/// An error the REST API answers with its HTTP status and message (Kafka's `ConnectRestException`).
public struct ConnectRestError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    static func notFound(_ name: String) -> ConnectRestError { ConnectRestError(404, "Connector \(name) not found") }
}

/// The worker's herder (Kafka's `StandaloneHerder`, and its `DistributedHerder`: alone, a worker that owns every
/// connector; with a `ClusterMembership`, one of a group that runs its assignment, `Herder+Distributed`): keeps
/// the connectors, runs their connector objects and tasks, persists configs and statuses.
///
/// The rules live in `HerderState`; this actor carries out the actions it returns. Requests that change
/// connectors run one at a time (`serially`), since carrying them out awaits stores and stopping tasks; status
/// reports from tasks do not wait for that turn.
public actor Herder {
    public let workerId: String
    let worker: WorkerConfig
    let client: KafkaClient
    let makeClient: @Sendable () -> KafkaClient
    let configStore: any ConfigStore
    let statusStore: any StatusStore
    let offsetStore: any OffsetStore
    let loadOffsets: @Sendable () async throws(ConnectError) -> Void
    let logger: Logger

    var state: HerderState
    /// Set for a worker of a group (`vltava connect distributed`): it runs only what its assignment gives it.
    var cluster: ClusterMembership?
    var connectorObjects: [String: ConnectorObjectBox<any Connector>] = [:]
    var tasks: [String: [Int: WorkerTaskHandle]] = [:]
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    /// Set once the stores are read and the connectors started, in a group once the first assignment came
    /// (`GET /health`, as Kafka's worker answers it).
    public internal(set) var isReady = false
    /// The levels `/admin/loggers` sets; tasks started afterwards log at their logger's level.
    private var loggerLevels: LoggerLevels?

    /// A herder whose stores are given. `loadOffsets` reads the offset store before any task starts (the Kafka
    /// offset store reads `connect-offsets`; a file store has read its file already).
    public init(worker: WorkerConfig, client: KafkaClient, makeClient: @escaping @Sendable () -> KafkaClient,
                configStore: any ConfigStore, statusStore: any StatusStore, offsetStore: any OffsetStore,
                loadOffsets: @escaping @Sendable () async throws(ConnectError) -> Void = {},
                cluster: ClusterMembership? = nil, logger: Logger) {
        self.worker = worker
        self.workerId = worker.workerId
        self.client = client
        self.makeClient = makeClient
        self.configStore = configStore
        self.statusStore = statusStore
        self.offsetStore = offsetStore
        self.loadOffsets = loadOffsets
        self.logger = logger
        self.cluster = cluster
        self.state = HerderState(workerId: worker.workerId)
        // A worker of a group reports the statuses of what its assignment gives it, and no other.
        if cluster != nil { state.owned = [] }
    }

    // MARK: Life cycle

    /// Reads the stores and starts every connector they hold.
    public func start() async throws(ConnectError) {
        guard !isReady else { return }
        // Everything is read before anything is applied, so that a failed read can simply be retried.
        try await loadOffsets()
        let configs = try await configStore.load()
        let statuses = try await statusStore.load()
        for record in configs { state.restore(key: record.key, value: record.value) }
        if let membership = cluster {
            // The assignment says what to start.
            for record in statuses { state.followStatus(key: record.key, value: record.value) }
            cluster?.configOffset = await membership.configLog.log.nextOffset(partition: 0)
            logger.info("connect worker ready to join its group", metadata: ["workerId": "\(workerId)", "group": "\(worker.groupId)"])
            return
        }
        for record in statuses { state.restoreStatus(key: record.key, value: record.value) }
        let actions = state.startAll()
        await seriallyLogged { await self.performLogged(actions) }
        isReady = true
        logger.info("connect worker started", metadata: ["workerId": "\(workerId)", "connectors": "\(state.connectors.count)"])
    }

    /// Stops every task (flushing source offsets and committing sink offsets) and connector.
    public func stop() async {
        await seriallyLogged { await self.stopAllConnectors() }
    }

    private func stopAllConnectors() async {
        for name in Set(connectorObjects.keys).union(tasks.keys).sorted() { await stopConnector(name) }
    }

    /// Runs `body` when no other change is running.
    func serially<T: Sendable>(_ body: @Sendable () async throws(ConnectRestError) -> T) async throws(ConnectRestError) -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        let result = try await body()
        // A worker of a group brings what runs here in line with the configs and its assignment after every change.
        if cluster != nil { await reconcile() }
        return result
    }

    func seriallyLogged(_ body: @Sendable () async -> Void) async {
        do {
            try await serially { () async throws(ConnectRestError) in await body() }
        } catch {}
    }

    // MARK: Carrying out actions

    /// Carries out actions; a config that cannot be stored is the caller's error.
    func perform(_ actions: [HerderAction]) async throws(ConnectRestError) {
        for action in actions {
            switch action {
            case let .persistConfig(records):
                do {
                    try await configStore.write(records.map { ($0.key, $0.value) })
                } catch {
                    throw ConnectRestError(500, "cannot store the configuration: \(error)")
                }
            default:
                await performRuntime(action)
            }
        }
    }

    func performLogged(_ actions: [HerderAction]) async {
        do {
            try await perform(actions)
        } catch {
            logger.error("herder action failed", metadata: ["error": "\(error)"])
        }
    }

    private func performRuntime(_ action: HerderAction) async {
        switch action {
        case .persistConfig:
            break
        case var .persistStatus(records):
            if let cluster { records = HerderState.statusRecords(records, ownedBy: cluster.assigned) }
            guard !records.isEmpty else { return }
            // Tried again after a failure (Kafka's status store resends on retriable errors): a status lost here
            // stays wrong on every other worker until the next change.
            for attempt in 1...3 {
                do {
                    try await statusStore.write(records.map { ($0.key, $0.value) })
                    break
                } catch {
                    guard attempt < 3 else {
                        logger.warning("cannot store a status", metadata: ["error": "\(error)"])
                        break
                    }
                    try? await Task.sleep(for: .milliseconds(100 * attempt * attempt))
                }
            }
        case .startConnector, .startTasks:
            // A worker of a group starts what its assignment gives it when it reconciles: a connector object to
            // (re)start is stopped here and started again there.
            guard cluster == nil else {
                if case let .startConnector(name) = action { connectorObjects.removeValue(forKey: name)?.value.stop() }
                return
            }
            if case let .startConnector(name) = action { await startConnector(name) }
            if case let .startTasks(name) = action { startTasks(name) }
        case let .stopConnector(name):
            await stopConnector(name)
        case let .stopTasks(name):
            await stopTasks(name)
        case let .setTasksPaused(name, paused):
            for handle in tasks[name]?.values ?? [:].values { handle.control.setPaused(paused) }
        case let .restartTask(id):
            if let handle = tasks[id.connector]?[id.task] {
                await handle.stop(timeoutMs: worker.taskShutdownGracefulTimeoutMs)
                tasks[id.connector]?[id.task] = nil
            }
            if cluster == nil { startTasks(id.connector, only: id.task) }
        }
    }

    /// Starts the connector object (restarting it when it runs) and asks it for task configs; running tasks are
    /// restarted only if their configs changed.
    private func startConnector(_ name: String) async {
        if let running = connectorObjects.removeValue(forKey: name) { running.value.stop() }
        guard let record = state.connectors[name] else { return }
        do {
            let (connector, configs) = try await Self.startConnectorObject(config: record.config, taskConfigs: true)
            connectorObjects[name] = ConnectorObjectBox(connector)
            if configs != record.taskConfigs { await stopTasks(name) }
            await performLogged(state.tasksGenerated(name: name, configs))
        } catch {
            logger.error("connector failed to start", metadata: ["connector": "\(name)", "error": "\(error)"])
            await stopTasks(name)
            await performLogged(state.connectorFailed(name: name, trace: error.description))
        }
    }

    /// Makes and starts a connector object on the blocking pool (a connector's `start` may reach its system, as the JDBC
    /// source lists its tables), and when asked its task configurations, completed as the worker completes them.
    static func startConnectorObject(config: [String: String], taskConfigs: Bool) async throws(ConnectError)
        -> (connector: any Connector, taskConfigs: [[String: String]]) {
        let plugin = try ConnectorPlugins.named(config["connector.class"] ?? "")
        let maxTasks = try ConnectConfig.int(config, "tasks.max", default: 1, minimum: 1)
        return try await BlockingCall.run { () throws(ConnectError) -> (connector: any Connector, taskConfigs: [[String: String]]) in
            var connector = plugin.makeConnector()
            try connector.start(config)
            guard taskConfigs else { return (connector, []) }
            let configs = connector.taskConfigs(maxTasks: maxTasks).map { Self.taskConfig($0, plugin: plugin, connectorConfig: config) }
            return (connector, configs)
        }
    }

    /// A task's configuration as Kafka's worker completes it: the task class, and a sink's topics.
    static func taskConfig(_ config: [String: String], plugin: ConnectorPlugin, connectorConfig: [String: String]) -> [String: String] {
        var result = config
        if result["task.class"] == nil, plugin.className.hasSuffix("Connector") {
            result["task.class"] = String(plugin.className.dropLast("Connector".count)) + "Task"
        }
        if plugin.type == .sink {
            for key in ["topics", "topics.regex"] where result[key] == nil && connectorConfig[key] != nil {
                result[key] = connectorConfig[key]
            }
        }
        return result
    }

    func stopConnector(_ name: String) async {
        await stopTasks(name)
        if let box = connectorObjects.removeValue(forKey: name) { box.value.stop() }
    }

    func stopTasks(_ name: String) async {
        guard let handles = tasks.removeValue(forKey: name) else { return }
        await withTaskGroup(of: Void.self) { group in
            for handle in handles.values {
                let timeout = worker.taskShutdownGracefulTimeoutMs
                group.addTask { await handle.stop(timeoutMs: timeout) }
            }
        }
    }

    func startTasks(_ name: String, only: Int? = nil) {
        guard let record = state.connectors[name], record.targetState != .stopped,
              let plugin = try? ConnectorPlugins.named(record.config["connector.class"] ?? "") else { return }
        let context = workerContext()
        let paused = record.targetState == .paused
        for (index, taskConfig) in record.taskConfigs.enumerated() where tasks[name]?[index] == nil {
            if let only, only != index { continue }
            let id = ConnectorTaskId(connector: name, task: index)
            let handle: WorkerTaskHandle
            switch plugin.type {
            case .source:
                handle = SourceWorkerTask.start(id: id, taskConfig: taskConfig, connectorConfig: record.config, plugin: plugin,
                                                context: context, paused: paused)
            case .sink:
                handle = SinkWorkerTask.start(id: id, taskCount: record.taskConfigs.count, taskConfig: taskConfig,
                                              connectorConfig: record.config, plugin: plugin, context: context, paused: paused)
            }
            tasks[name, default: [:]][index] = handle
        }
    }

    /// Uses the levels of `/admin/loggers` for the loggers of tasks started from now on.
    public func useLoggerLevels(_ levels: LoggerLevels) {
        loggerLevels = levels
    }

    private func workerContext() -> WorkerContext {
        var taskLogger = logger
        if let loggerLevels { taskLogger.logLevel = loggerLevels.level(of: logger.label) }
        return WorkerContext(
            client: client, makeClient: makeClient, config: worker, offsetStore: offsetStore,
            logger: taskLogger,
            report: { [weak self] id, state, trace in await self?.taskReported(id, state, trace: trace) },
            topicUsed: { [weak self] topic, id in await self?.topicUsed(topic, by: id) })
    }

    func taskReported(_ id: ConnectorTaskId, _ newState: ConnectState, trace: String?) async {
        // A report from a task that was replaced or stopped meanwhile is dropped.
        guard tasks[id.connector]?[id.task] != nil else { return }
        await performLogged(state.taskReported(id, newState, trace: trace))
    }

    private func topicUsed(_ topic: String, by id: ConnectorTaskId) async {
        let now = WallClock.milliseconds()
        await performLogged(state.topicUsed(topic, by: id, timestampMs: now))
    }

    // MARK: Reading

    public func connectorNames() -> [String] { state.connectorNames }

    public func connector(_ name: String) throws(ConnectRestError) -> ConnectorRecord {
        guard let record = state.connectors[name] else { throw .notFound(name) }
        return record
    }

    public var running: Int { tasks.values.reduce(0) { $0 + $1.count } }

    /// The records each task running on this worker has moved since it started: by connector and task number.
    public func taskRecordCounts() -> [String: [Int: Int64]] {
        tasks.mapValues { handles in handles.mapValues { $0.control.recordsMoved } }
    }
}

