import KafkaProtocol
import NIOCore

/// A unit of work the leader of a worker group hands out: a connector instance or one of its tasks.
public enum ConnectAssignmentItem: Hashable, Comparable, Sendable, CustomStringConvertible {
    case connector(String)
    case task(String, Int32)

    /// The connector the item belongs to.
    public var connector: String {
        switch self {
        case let .connector(name), let .task(name, _): return name
        }
    }

    /// Kafka's task id in an assignment: -1 for the connector itself.
    var wireTask: Int32 {
        if case let .task(_, id) = self { return id }
        return -1
    }

    public var isConnector: Bool {
        if case .connector = self { return true }
        return false
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.connector, lhs.wireTask) < (rhs.connector, rhs.wireTask)
    }

    public var description: String {
        switch self {
        case let .connector(name): return name
        case let .task(name, id): return "\(name)-\(id)"
        }
    }
}

/// Kafka Connect's worker group protocol (protocol type "connect"): the names and versions a worker offers,
/// and its two byte formats with their int16 version header (`ConnectProtocolWorkerState`,
/// `ConnectProtocolAssignment`, generated from `Sources/vltava-protocol-gen/Specs`).
public enum ConnectProtocol {
    public static let protocolType = "connect"

    /// `connect.protocol` (eager, compatible, sessioned) and the protocol names workers offer in JoinGroup
    /// ("default" for eager, version 0; "compatible", 1; "sessioned", 2, the same bytes).
    public enum Variant: String, Sendable, CaseIterable {
        case eager = "default"
        case compatible
        case sessioned

        public var version: Int16 {
            switch self {
            case .eager: return 0
            case .compatible: return 1
            case .sessioned: return 2
            }
        }

        public var isIncremental: Bool { self != .eager }

        /// The protocols a worker configured with this variant offers in JoinGroup, most preferred first (as
        /// Kafka's workers do, so that a group of mixed workers settles on what all of them speak).
        public var offered: [Variant] {
            switch self {
            case .eager: return [.eager]
            case .compatible: return [.compatible, .eager]
            case .sessioned: return [.sessioned, .compatible, .eager]
            }
        }

        public init(configValue: String) throws(ConnectError) {
            let name = configValue.trimmedWhitespace.lowercased()
            guard let variant = name == "eager" ? .eager : name == Variant.eager.rawValue ? nil : Variant(rawValue: name) else {
                throw .config(name: "connect.protocol",
                              message: "Invalid value \(configValue) for configuration connect.protocol: String must be one of: eager, compatible, sessioned")
            }
            self = variant
        }
    }

    /// A worker's metadata in JoinGroup.
    public struct WorkerState: Hashable, Sendable {
        /// The worker's advertised REST URL.
        public var url: String
        /// How far the worker has read the config topic.
        public var configOffset: Int64
        /// What the worker runs now (incremental versions only; nil for none).
        public var running: Set<ConnectAssignmentItem>?

        public init(url: String, configOffset: Int64, running: Set<ConnectAssignmentItem>? = nil) {
            self.url = url
            self.configOffset = configOffset
            self.running = running
        }

        public func serialized(version: Int16) throws(ConnectError) -> ByteBuffer {
            var message = ConnectProtocolWorkerState(url: url, configOffset: configOffset)
            if version >= 1, let running, !running.isEmpty {
                let allocation = Assignment(leader: "", leaderUrl: "", configOffset: configOffset, assigned: running)
                message.allocation = try allocation.serialized(version: version)
            }
            return try ConnectProtocol.write(message, version: version)
        }

        public init(bytes: ByteBuffer) throws(ConnectError) {
            var buffer = bytes
            let (version, message) = try ConnectProtocol.read(ConnectProtocolWorkerState.self, from: &buffer)
            url = message.url
            configOffset = message.configOffset
            if version >= 1, let allocation = message.allocation {
                running = Set(try Assignment(bytes: allocation).assigned)
            }
        }
    }

    /// What the leader hands one worker in SyncGroup.
    public struct Assignment: Hashable, Sendable {
        /// 0, or CONFIG_MISMATCH (1) when the leader could not read the configs the members have read.
        public var error: Int16
        public var leader: String
        public var leaderUrl: String
        public var configOffset: Int64
        /// Eager: everything the worker runs. Incremental: what it starts now.
        public var assigned: [ConnectAssignmentItem]
        /// Incremental: what it stops now.
        public var revoked: [ConnectAssignmentItem]
        /// Incremental: milliseconds until the leader reassigns the share of departed workers (rejoin then).
        public var delayMs: Int32

        public static let configMismatch: Int16 = 1

        public init<Items: Sequence<ConnectAssignmentItem>>(
            error: Int16 = 0, leader: String, leaderUrl: String, configOffset: Int64, assigned: Items,
            revoked: [ConnectAssignmentItem] = [], delayMs: Int32 = 0
        ) {
            self.error = error
            self.leader = leader
            self.leaderUrl = leaderUrl
            self.configOffset = configOffset
            self.assigned = assigned.sorted()
            self.revoked = revoked.sorted()
            self.delayMs = delayMs
        }

        public func serialized(version: Int16) throws(ConnectError) -> ByteBuffer {
            let message = ConnectProtocolAssignment(
                error: error, leader: leader, leaderUrl: leaderUrl, configOffset: configOffset,
                assignment: Self.grouped(assigned), revoked: version >= 1 ? Self.grouped(revoked) : [],
                scheduledDelay: version >= 1 ? delayMs : 0)
            return try ConnectProtocol.write(message, version: version)
        }

        public init(bytes: ByteBuffer) throws(ConnectError) {
            var buffer = bytes
            let (_, message) = try ConnectProtocol.read(ConnectProtocolAssignment.self, from: &buffer)
            self.init(error: message.error, leader: message.leader, leaderUrl: message.leaderUrl,
                      configOffset: message.configOffset, assigned: Self.items(message.assignment ?? []),
                      revoked: Self.items(message.revoked ?? []), delayMs: message.scheduledDelay)
        }

        /// Kafka groups an assignment by connector, the connector itself as task id -1.
        static func grouped(_ items: [ConnectAssignmentItem]) -> [ConnectorAssignment] {
            var order: [String] = []
            var tasks: [String: [Int32]] = [:]
            for item in items.sorted() {
                if tasks[item.connector] == nil { order.append(item.connector) }
                tasks[item.connector, default: []].append(item.wireTask)
            }
            return order.map { ConnectorAssignment(connector: $0, tasks: tasks[$0] ?? []) }
        }

        static func items(_ entries: [ConnectorAssignment]) -> [ConnectAssignmentItem] {
            entries.flatMap { entry in
                entry.tasks.map { $0 < 0 ? ConnectAssignmentItem.connector(entry.connector) : .task(entry.connector, $0) }
            }
        }
    }

    static func write<Message: KafkaMessage>(_ message: Message, version: Int16) throws(ConnectError) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        do {
            try message.write(to: &buffer, version: min(version, Message.validVersions.upperBound))
        } catch {
            throw .data("cannot encode the worker group protocol's \(Message.self): \(error)")
        }
        return buffer
    }

    /// Reads the version header, then the message as the highest version this build knows at most (newer
    /// versions only add fields at the end, as Kafka assumes).
    static func read<Message: KafkaMessage>(_ type: Message.Type, from buffer: inout ByteBuffer)
        throws(ConnectError) -> (Int16, Message) {
        guard let version: Int16 = buffer.readInteger(), version >= 0 else {
            throw .data("the worker group protocol's \(Message.self) has no valid version header")
        }
        do {
            return (version, try Message(from: &buffer, version: min(version, Message.validVersions.upperBound)))
        } catch {
            throw .data("cannot decode the worker group protocol's \(Message.self) v\(version): \(error)")
        }
    }
}

typealias ConnectorAssignment = ConnectProtocolAssignment.ConnectorAssignment
