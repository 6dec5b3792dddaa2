/// What a connector is asked to do (Kafka's `TargetState`, kept in `connect-configs`).
public enum TargetState: String, Sendable, Hashable {
    case started = "STARTED"
    case paused = "PAUSED"
    case stopped = "STOPPED"

    /// `initial_state` of `POST /connectors`: RUNNING, PAUSED or STOPPED.
    public init?(initialState text: String) {
        switch text.uppercased() {
        case "RUNNING", "STARTED": self = .started
        case "PAUSED": self = .paused
        case "STOPPED": self = .stopped
        default: return nil
        }
    }
}

/// The state a connector or task reports (Kafka's `AbstractStatus.State`).
public enum ConnectState: String, Sendable, Hashable {
    case unassigned = "UNASSIGNED"
    case running = "RUNNING"
    case paused = "PAUSED"
    case failed = "FAILED"
    case restarting = "RESTARTING"
    case stopped = "STOPPED"
}

/// A connector's or task's reported status: its state, the error that failed it, the worker that runs it.
public struct ConnectStatus: Sendable, Hashable {
    public var state: ConnectState
    public var trace: String?
    public var workerId: String

    public init(state: ConnectState, trace: String? = nil, workerId: String) {
        self.state = state
        self.trace = trace
        self.workerId = workerId
    }
}

/// A task of a connector: the connector's name and the task's index.
public struct ConnectorTaskId: Sendable, Hashable, CustomStringConvertible {
    public var connector: String
    public var task: Int

    public init(connector: String, task: Int) {
        self.connector = connector
        self.task = task
    }

    public var description: String { "\(connector)-\(task)" }
}
