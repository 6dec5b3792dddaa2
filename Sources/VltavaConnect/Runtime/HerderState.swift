/// A connector as the herder knows it: its configuration, what it is asked to do, its tasks' configurations and
/// the statuses reported.
public struct ConnectorRecord: Sendable, Equatable {
    public var config: [String: String]
    public var targetState: TargetState
    /// The committed task configurations (empty while the connector is stopped).
    public var taskConfigs: [[String: String]]
    public var status: ConnectStatus
    public var taskStatuses: [Int: ConnectStatus]
    /// The topics the connector's tasks have produced to or consumed from (KIP-558).
    public var topics: Set<String>
}

/// What the herder must do after a change of its state: the runtime (`Herder`) carries these out in order.
public enum HerderAction: Sendable, Equatable {
    /// Append to the config store (`connect-configs`).
    case persistConfig([StoredRecord])
    /// Append to the status store (`connect-status`).
    case persistStatus([StoredRecord])
    /// Create the connector object, start it and ask it for task configurations (`tasksGenerated` follows).
    case startConnector(String)
    /// Stop the connector's tasks, then the connector object.
    case stopConnector(String)
    /// Start every task of the committed task configurations (paused when the target state is PAUSED).
    case startTasks(String)
    /// Stop every running task of the connector.
    case stopTasks(String)
    /// Pause or resume the connector's running tasks.
    case setTasksPaused(String, Bool)
    /// Stop one task and start it again from its committed configuration.
    case restartTask(ConnectorTaskId)
}

/// A key and a value (nil: a tombstone) of one of Connect's internal topics.
public struct StoredRecord: Sendable, Equatable {
    public var key: String
    public var value: String?

    public init(_ record: (key: String, value: String?)) {
        key = record.key
        value = record.value
    }
}

/// The herder's state as a value: every transition returns the actions that carry it out, so the rules (what a
/// pause, a stop, a restart or a new configuration does, what is written where) are tested without a worker.
public struct HerderState: Sendable {
    public internal(set) var connectors: [String: ConnectorRecord] = [:]
    public let workerId: String
    /// Task configurations read from `connect-configs` not followed by their `commit-<name>` record yet.
    private var uncommittedTasks: [String: [Int: [String: String]]] = [:]

    public init(workerId: String) {
        self.workerId = workerId
    }

    public var connectorNames: [String] { connectors.keys.sorted() }

    // MARK: Restoring from the stores

    /// Applies a `connect-configs` record read at start (Kafka's `KafkaConfigBackingStore` rules: task configs
    /// count once their commit record says how many there are).
    public mutating func restore(key: String, value: String?) {
        guard let record = ConnectStorageRecords.parseConfigRecord(key: key, value: value) else { return }
        switch record {
        case let .connector(name, properties):
            if let properties {
                var connector = connectors[name] ?? claimStatuses(name, newRecord(config: properties, target: pendingTargets[name] ?? .started))
                connector.config = properties
                connectors[name] = connector
                pendingTargets[name] = nil
            } else {
                connectors[name] = nil
                uncommittedTasks[name] = nil
            }
        case let .task(connector, task, properties):
            uncommittedTasks[connector, default: [:]][task] = properties
        case let .commit(connector, tasks):
            let pending = uncommittedTasks.removeValue(forKey: connector) ?? [:]
            guard connectors[connector] != nil else { return }
            let configs = (0..<max(0, tasks)).compactMap { pending[$0] }
            if configs.count == tasks { connectors[connector]?.taskConfigs = configs }
        case let .targetState(connector, state):
            // Kafka writes a new connector's target state before its config.
            let target = state.flatMap(TargetState.init(rawValue:)) ?? .started
            if connectors[connector] != nil {
                connectors[connector]?.targetState = target
            } else {
                pendingTargets[connector] = state == nil ? nil : target
            }
        }
    }

    private var pendingTargets: [String: TargetState] = [:]

    /// Applies a `connect-status` record read at start: only the topics connectors used matter to a worker that
    /// starts every connector itself (`topic-<topic>-<connector>` → `{"topic":{...}}`).
    public mutating func restoreStatus(key: String, value: String?) {
        guard key.hasPrefix("topic-"), let value, let parsed = ConnectStorageRecords.parseTopicStatus(value) else { return }
        if connectors[parsed.connector] != nil {
            connectors[parsed.connector]?.topics.insert(parsed.topic)
        } else {
            unclaimedStatuses[parsed.connector, default: UnclaimedStatuses()].topics.insert(parsed.topic)
        }
    }

    /// Statuses read for connectors whose config has not been read yet (the two topics are read apart, and another
    /// worker may write a status as soon as it has read the config): they are the connector's once its config comes.
    struct UnclaimedStatuses: Sendable {
        var status: ConnectStatus?
        var taskStatuses: [Int: ConnectStatus] = [:]
        var topics: Set<String> = []
    }

    var unclaimedStatuses: [String: UnclaimedStatuses] = [:]

    private mutating func claimStatuses(_ name: String, _ record: ConnectorRecord) -> ConnectorRecord {
        guard let unclaimed = unclaimedStatuses.removeValue(forKey: name) else { return record }
        var record = record
        if let status = unclaimed.status { record.status = status }
        record.taskStatuses = unclaimed.taskStatuses
        record.topics = unclaimed.topics
        return record
    }

    /// The actions that start every restored connector as its target state says.
    public mutating func startAll() -> [HerderAction] {
        var actions: [HerderAction] = []
        for name in connectorNames {
            guard let connector = connectors[name] else { continue }
            switch connector.targetState {
            case .started, .paused: actions.append(.startConnector(name))
            case .stopped: actions += setConnectorStatus(name, .stopped)
            }
        }
        return actions
    }

    // MARK: Requests

    /// Creates or replaces a connector's configuration. `initialState` applies to a new connector only.
    public mutating func put(name: String, config: [String: String], initialState: TargetState? = nil) -> (created: Bool, actions: [HerderAction]) {
        var actions: [HerderAction] = []
        if var existing = connectors[name] {
            existing.config = config
            connectors[name] = existing
            actions.append(.persistConfig([StoredRecord(ConnectStorageRecords.connectorConfig(name: name, properties: config))]))
            if existing.targetState != .stopped {
                actions += [.stopConnector(name), .startConnector(name)]
            }
            return (false, actions)
        }
        let target = initialState ?? .started
        connectors[name] = newRecord(config: config, target: target)
        unclaimedStatuses[name] = nil
        var records: [StoredRecord] = []
        if target != .started {
            records.append(StoredRecord(ConnectStorageRecords.targetState(connector: name, state: target.rawValue)))
        }
        records.append(StoredRecord(ConnectStorageRecords.connectorConfig(name: name, properties: config)))
        actions.append(.persistConfig(records))
        if target == .stopped {
            actions += setConnectorStatus(name, .stopped)
        } else {
            actions.append(.startConnector(name))
        }
        return (true, actions)
    }

    /// Deletes a connector: its config and target state go (tombstones), its statuses too.
    public mutating func delete(name: String) -> [HerderAction] {
        guard let connector = connectors.removeValue(forKey: name) else { return [] }
        var statuses = [StoredRecord((key: "status-connector-\(name)", value: nil))]
        statuses += connector.taskStatuses.keys.sorted().map { StoredRecord((key: "status-task-\(name)-\($0)", value: nil)) }
        return [
            .stopConnector(name),
            .persistConfig([
                StoredRecord(ConnectStorageRecords.connectorConfig(name: name, properties: nil)),
                StoredRecord((key: "target-state-\(name)", value: nil)),
            ]),
            .persistStatus(statuses),
        ]
    }

    /// Pauses, resumes or stops a connector (`PUT /connectors/{name}/pause|resume|stop`).
    public mutating func setTarget(name: String, _ target: TargetState) -> [HerderAction] {
        guard let connector = connectors[name] else { return [] }
        let previous = connector.targetState
        connectors[name]?.targetState = target
        var actions: [HerderAction] = [
            .persistConfig([StoredRecord(ConnectStorageRecords.targetState(connector: name, state: target.rawValue))]),
        ]
        switch (previous, target) {
        case (.started, .paused):
            actions.append(.setTasksPaused(name, true))
            actions += setConnectorStatus(name, .paused)
        case (.paused, .started):
            actions.append(.setTasksPaused(name, false))
            actions += setConnectorStatus(name, .running)
        case (.stopped, .started), (.stopped, .paused):
            actions.append(.startConnector(name))
        case (_, .stopped) where previous != .stopped:
            // Kafka writes an empty set of task configs for a stopped connector.
            connectors[name]?.taskConfigs = []
            let removedTasks = connectors[name]?.taskStatuses.keys.sorted() ?? []
            connectors[name]?.taskStatuses = [:]
            actions.append(.stopConnector(name))
            actions.append(.persistConfig([StoredRecord(ConnectStorageRecords.taskCommit(connector: name, tasks: 0))]))
            actions += setConnectorStatus(name, .stopped)
            if !removedTasks.isEmpty {
                actions.append(.persistStatus(removedTasks.map { StoredRecord((key: "status-task-\(name)-\($0)", value: nil)) }))
            }
        default:
            break
        }
        return actions
    }

    /// The connector object started and gave these task configurations: they are stored (when they changed)
    /// and the tasks start.
    public mutating func tasksGenerated(name: String, _ configs: [[String: String]]) -> [HerderAction] {
        guard let connector = connectors[name] else { return [] }
        var actions: [HerderAction] = []
        if configs != connector.taskConfigs {
            var records = configs.enumerated().map {
                StoredRecord(ConnectStorageRecords.taskConfig(connector: name, task: $0.offset, properties: $0.element))
            }
            records.append(StoredRecord(ConnectStorageRecords.taskCommit(connector: name, tasks: configs.count)))
            actions.append(.persistConfig(records))
            let removed = connector.taskStatuses.keys.filter { $0 >= configs.count }.sorted()
            for task in removed { connectors[name]?.taskStatuses[task] = nil }
            if !removed.isEmpty {
                actions.append(.persistStatus(removed.map { StoredRecord((key: "status-task-\(name)-\($0)", value: nil)) }))
            }
            connectors[name]?.taskConfigs = configs
        }
        actions += setConnectorStatus(name, connector.targetState == .paused ? .paused : .running)
        actions.append(.startTasks(name))
        return actions
    }

    /// The connector object could not start (or its class is unknown).
    public mutating func connectorFailed(name: String, trace: String) -> [HerderAction] {
        setConnectorStatus(name, .failed, trace: trace)
    }

    /// `POST /connectors/{name}/restart`: the connector (unless `onlyFailed` and it is not failed) and, with
    /// `includeTasks`, its tasks (only the failed ones with `onlyFailed`). Returns the tasks restarted too.
    public mutating func restart(name: String, includeTasks: Bool, onlyFailed: Bool) -> [HerderAction] {
        guard let connector = connectors[name], connector.targetState != .stopped else { return [] }
        var actions: [HerderAction] = []
        let restartConnector = !onlyFailed || connector.status.state == .failed
        if restartConnector, includeTasks, !onlyFailed {
            actions += setConnectorStatus(name, .restarting)
            for task in connector.taskConfigs.indices { actions += setTaskStatus(.init(connector: name, task: task), .restarting) }
            return actions + [.stopConnector(name), .startConnector(name)]
        }
        if restartConnector {
            actions += setConnectorStatus(name, .restarting)
            actions.append(.startConnector(name))
        }
        if includeTasks {
            for task in connector.taskConfigs.indices {
                let id = ConnectorTaskId(connector: name, task: task)
                if onlyFailed, connector.taskStatuses[task]?.state != .failed { continue }
                actions += setTaskStatus(id, .restarting)
                actions.append(.restartTask(id))
            }
        }
        return actions
    }

    /// A task reported a new state.
    public mutating func taskReported(_ id: ConnectorTaskId, _ state: ConnectState, trace: String?) -> [HerderAction] {
        guard let connector = connectors[id.connector], id.task < connector.taskConfigs.count else { return [] }
        return setTaskStatus(id, state, trace: trace)
    }

    /// A task used a topic for the first time; persisted once per connector and topic.
    public mutating func topicUsed(_ topic: String, by id: ConnectorTaskId, timestampMs: Int64) -> [HerderAction] {
        guard connectors[id.connector] != nil, connectors[id.connector]?.topics.insert(topic).inserted == true else { return [] }
        return [.persistStatus([StoredRecord(ConnectStorageRecords.topicStatus(
            topic: topic, connector: id.connector, task: id.task, discoverTimestampMs: timestampMs))])]
    }

    /// `PUT /connectors/{name}/topics/reset`.
    public mutating func resetTopics(name: String) -> [HerderAction] {
        guard let topics = connectors[name]?.topics, !topics.isEmpty else { return [] }
        connectors[name]?.topics = []
        return [.persistStatus(topics.sorted().map { StoredRecord((key: "topic-\($0)-\(name)", value: nil)) })]
    }

    // MARK: Statuses

    private func newRecord(config: [String: String], target: TargetState) -> ConnectorRecord {
        ConnectorRecord(config: config, targetState: target, taskConfigs: [],
                        status: ConnectStatus(state: .unassigned, workerId: workerId), taskStatuses: [:], topics: [])
    }

    /// What this worker reports statuses of: in a group, what its assignment gives it (nil: everything, as a
    /// standalone worker). The statuses of the rest are those their workers write; this worker changes none of them,
    /// not even in its own view — a status it set without writing would stay wrong there and, once the work came
    /// here, never be written (it would equal the new one).
    public var owned: Set<ConnectAssignmentItem>?

    mutating func setConnectorStatus(_ name: String, _ state: ConnectState, trace: String? = nil) -> [HerderAction] {
        guard connectors[name] != nil, owned?.contains(.connector(name)) ?? true else { return [] }
        let status = ConnectStatus(state: state, trace: trace, workerId: workerId)
        if connectors[name]?.status == status { return [] }
        connectors[name]?.status = status
        return [.persistStatus([StoredRecord(ConnectStorageRecords.status(
            connector: name, task: nil, state: state.rawValue, trace: trace, workerId: workerId, generation: 1))])]
    }

    mutating func setTaskStatus(_ id: ConnectorTaskId, _ state: ConnectState, trace: String? = nil) -> [HerderAction] {
        guard connectors[id.connector] != nil, owned?.contains(.task(id.connector, Int32(id.task))) ?? true else { return [] }
        let status = ConnectStatus(state: state, trace: trace, workerId: workerId)
        if connectors[id.connector]?.taskStatuses[id.task] == status { return [] }
        connectors[id.connector]?.taskStatuses[id.task] = status
        return [.persistStatus([StoredRecord(ConnectStorageRecords.status(
            connector: id.connector, task: id.task, state: state.rawValue, trace: trace, workerId: workerId, generation: 1))])]
    }
}
