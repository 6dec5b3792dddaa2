import NIOConcurrencyHelpers

/// The checks `/readyz` answers from: each part of the process that must be done before clients are served
/// (logs recovered, listeners bound, the schema registry caught up) registers a check as pending and passes it
/// when done. Ready when every check passed.
public struct ReadinessState: Sendable, Equatable {
    /// One check: its name, whether it passed, and what it is waiting for while it has not.
    public struct Check: Sendable, Equatable {
        public var name: String
        public var passed: Bool
        public var waitingFor: String
    }

    /// The checks in the order they were registered.
    public private(set) var checks: [Check] = []

    public init() {}

    /// Adds a check that has not passed yet (or sets a known one back to pending).
    public mutating func require(_ name: String, waitingFor: String) {
        if let index = checks.firstIndex(where: { $0.name == name }) {
            checks[index].passed = false
            checks[index].waitingFor = waitingFor
        } else {
            checks.append(Check(name: name, passed: false, waitingFor: waitingFor))
        }
    }

    /// Marks a check passed; a check never required is added as passed.
    public mutating func pass(_ name: String) {
        if let index = checks.firstIndex(where: { $0.name == name }) {
            checks[index].passed = true
        } else {
            checks.append(Check(name: name, passed: true, waitingFor: ""))
        }
    }

    /// Whether every check passed.
    public var isReady: Bool { checks.allSatisfy(\.passed) }

    /// The checks that have not passed.
    public var failing: [Check] { checks.filter { !$0.passed } }
}

/// The process's readiness, shared by the parts that pass checks and the HTTP handler that reports them.
public final class Readiness: Sendable {
    /// Every partition log opened and recovered (a torn tail truncated, missing indexes rebuilt).
    public static let logsRecovered = "logs_recovered"
    /// Every Kafka listener bound.
    public static let listenersBound = "listeners_bound"
    /// The schema registry has read `_schemas` to its end.
    public static let schemaRegistryCaughtUp = "schema_registry_caught_up"

    private let box = NIOLockedValueBox(ReadinessState())

    public init() {}

    public func require(_ name: String, waitingFor: String) {
        box.withLockedValue { $0.require(name, waitingFor: waitingFor) }
    }

    public func pass(_ name: String) {
        box.withLockedValue { $0.pass(name) }
    }

    /// The checks as they are now.
    public var state: ReadinessState { box.withLockedValue { $0 } }
}
