import NIOConcurrencyHelpers
import KafkaProtocol

/// Whether a connector moves data into Kafka (source) or out of it (sink).
public enum ConnectorType: String, Sendable, Hashable {
    case source
    case sink
}

/// One configuration key of a plugin, as `GET /connector-plugins/{p}/config` and validation describe it.
public struct ConfigKeyDefinition: Sendable, Hashable {
    public enum ValueType: String, Sendable, Hashable {
        case string = "STRING", int = "INT", long = "LONG", double = "DOUBLE", boolean = "BOOLEAN", list = "LIST"
        case password = "PASSWORD", `class` = "CLASS"
    }

    public enum Importance: String, Sendable, Hashable {
        case high = "HIGH", medium = "MEDIUM", low = "LOW"
    }

    public var name: String
    public var type: ValueType
    /// nil: required.
    public var defaultValue: String?
    public var importance: Importance
    public var documentation: String

    public init(name: String, type: ValueType, defaultValue: String?, importance: Importance, documentation: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.importance = importance
        self.documentation = documentation
    }

    public var isRequired: Bool { defaultValue == nil }
}

/// Reads a connector's committed source offsets (what `connect-offsets` or the standalone offsets file holds).
public protocol SourceOffsetReader: Sendable {
    /// The last committed offset of a source partition, if any.
    func offset(for partition: ConnectValue) -> ConnectValue?
}

/// A connector (Kafka's `Connector`): validates its configuration and splits the work into task configurations.
public protocol Connector: Sendable {
    /// Kafka's class name, by which configurations name the connector (`connector.class`).
    static var className: String { get }
    /// Other names accepted for `connector.class` (Kafka accepts the simple class name and it without "Connector").
    static var aliases: [String] { get }
    static var type: ConnectorType { get }
    static var version: String { get }
    /// The configuration keys the connector reads.
    static var configDefinition: [ConfigKeyDefinition] { get }

    init()
    /// Checks and keeps the connector's configuration.
    mutating func start(_ config: [String: String]) throws(ConnectError)
    /// The configurations of at most `maxTasks` tasks.
    func taskConfigs(maxTasks: Int) -> [[String: String]]
    mutating func stop()
}

/// A source task (Kafka's `SourceTask`): polls records from a system, with their source partition and offset.
public protocol SourceTask: Sendable {
    init()
    /// Called once before `start` with what the task may learn from its worker (Kafka's `SourceTask.initialize`).
    mutating func initialize(_ context: SourceTaskContext)
    /// Starts from the committed offsets.
    mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError)
    /// Records ready now (empty when there is nothing yet; the worker polls again after a short wait).
    mutating func poll() throws(ConnectError) -> [ConnectRecord]
    /// Whether the task can hand over its records as record batches encoded already (`pollRecordBatches`).
    var pollsRecordBatches: Bool { get }
    /// Records ready now as encoded record batches of at most `maximumBatchBytes` each (a larger record goes alone).
    /// The worker calls this instead of `poll` when the task `pollsRecordBatches` and nothing the connector
    /// configures could change the records' bytes: ByteArrayConverter for keys, values and headers, no
    /// transformations (MirrorMaker's pass-through).
    mutating func pollRecordBatches(maximumBatchBytes: Int) throws(ConnectError) -> [SourceRecordBatch]
    mutating func stop()
}

/// A sink task (Kafka's `SinkTask`): receives records from Kafka and writes them out.
public protocol SinkTask: Sendable {
    init()
    /// Called once before `start` with what the task may ask of its worker (Kafka's `SinkTask.initialize`).
    mutating func initialize(_ context: SinkTaskContext)
    mutating func start(_ config: [String: String]) throws(ConnectError)
    mutating func put(_ records: [ConnectRecord]) throws(ConnectError)
    /// Makes everything put so far durable in the target system, before the worker commits the consumer offsets.
    mutating func flush() throws(ConnectError)
    mutating func stop()
}

extension SourceTask {
    /// Tasks that need nothing of their worker ignore the context.
    public mutating func initialize(_ context: SourceTaskContext) {}

    /// Most tasks return records only.
    public var pollsRecordBatches: Bool { false }

    public mutating func pollRecordBatches(maximumBatchBytes: Int) throws(ConnectError) -> [SourceRecordBatch] { [] }
}

/// What a source task can learn from the worker running it, through a listener it registers: what Kafka
/// acknowledged (Kafka's `SourceTask.commitRecord`) and when offsets were flushed (`SourceTask.commit`), so a task can
/// release what its system holds for it (a replication slot) or record where its records went (MirrorMaker's offset
/// syncs). A task that registers none costs the worker nothing.
public final class SourceTaskContext: Sendable {
    private let listener = NIOLockedValueBox<(any SourceRecordListener)?>(nil)

    public init() {}

    /// Asks the worker to tell `listener` where each record went and when offsets were committed (Kafka's
    /// `SourceTask.commitRecord(record, metadata)` and `SourceTask.commit()`); call it in `initialize` or `start`.
    public func listen(_ listener: any SourceRecordListener) {
        self.listener.withLockedValue { $0 = listener }
    }

    var recordListener: (any SourceRecordListener)? { listener.withLockedValue { $0 } }
}

/// Where Kafka put one polled record that it acknowledged.
public struct AcknowledgedRecord: Sendable, Hashable {
    public var sourcePartition: ConnectValue
    public var sourceOffset: ConnectValue
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// Told by the worker what happened to a source task's records (see `SourceTaskContext.listen`). Called from the
/// worker's loop while the task may be polling on another thread: implementations lock what they share.
public protocol SourceRecordListener: Sendable {
    /// Whether the worker should say where each record went (`recordsAcknowledged`); keeping that costs a little per
    /// record, so listeners that need only the offsets say false.
    var wantsRecordPlacements: Bool { get }
    /// Records Kafka acknowledged, in the order they were produced; only records sent to an explicit partition.
    func recordsAcknowledged(_ records: [AcknowledgedRecord])
    /// The last source offset of each source partition of a batch Kafka acknowledged (every batch, whatever its
    /// records' partitions), in order of appearance.
    func offsetsAcknowledged(_ offsets: [(partition: ConnectValue, offset: ConnectValue)])
    /// The worker has just flushed the task's committable offsets.
    func offsetsCommitted()
}

extension SourceRecordListener {
    public var wantsRecordPlacements: Bool { true }
    public func recordsAcknowledged(_ records: [AcknowledgedRecord]) {}
    public func offsetsAcknowledged(_ offsets: [(partition: ConnectValue, offset: ConnectValue)]) {}
    public func offsetsCommitted() {}
}

extension SinkTask {
    /// Tasks that need nothing of their worker ignore the context.
    public mutating func initialize(_ context: SinkTaskContext) {}
}

/// A connector plugin and how to make its tasks.
public struct ConnectorPlugin: Sendable {
    public var className: String
    public var aliases: [String]
    public var type: ConnectorType
    public var version: String
    public var configDefinition: [ConfigKeyDefinition]
    public var makeConnector: @Sendable () -> any Connector
    public var makeSourceTask: (@Sendable () -> any SourceTask)?
    public var makeSinkTask: (@Sendable () -> any SinkTask)?

    public static func source<C: Connector, T: SourceTask>(_ connector: C.Type, task: T.Type) -> ConnectorPlugin {
        ConnectorPlugin(className: C.className, aliases: C.aliases, type: .source, version: C.version,
                        configDefinition: C.configDefinition, makeConnector: { C() }, makeSourceTask: { T() }, makeSinkTask: nil)
    }

    public static func sink<C: Connector, T: SinkTask>(_ connector: C.Type, task: T.Type) -> ConnectorPlugin {
        ConnectorPlugin(className: C.className, aliases: C.aliases, type: .sink, version: C.version,
                        configDefinition: C.configDefinition, makeConnector: { C() }, makeSourceTask: nil, makeSinkTask: { T() })
    }
}

/// The connectors built into the binary, found by Kafka's class names or their aliases.
public enum ConnectorPlugins {
    public static let all: [ConnectorPlugin] = [
        .source(FileStreamSourceConnector.self, task: FileStreamSourceTask.self),
        .sink(FileStreamSinkConnector.self, task: FileStreamSinkTask.self),
        .source(DatagenConnector.self, task: DatagenTask.self),
        .source(JdbcSourceConnector.self, task: JdbcSourceTask.self),
        .sink(JdbcSinkConnector.self, task: JdbcSinkTask.self),
        .source(PostgresCdcConnector.self, task: PostgresCdcTask.self),
        .sink(HttpSinkConnector.self, task: HttpSinkTask.self),
        .source(MirrorSourceConnector.self, task: MirrorSourceTask.self),
        .source(MirrorCheckpointConnector.self, task: MirrorCheckpointTask.self),
        .source(MirrorHeartbeatConnector.self, task: MirrorHeartbeatTask.self),
    ]

    /// The plugin named by `connector.class`, as Kafka resolves it (full class name, simple name, or simple name
    /// without the "Connector" suffix).
    public static func named(_ name: String) throws(ConnectError) -> ConnectorPlugin {
        if let plugin = all.first(where: { $0.className == name || $0.aliases.contains(name) }) { return plugin }
        let known = all.map(\.className).sorted().joined(separator: ", ")
        throw .config(name: "connector.class",
                      message: "Failed to find any class that implements Connector and which name matches \(name), "
                          + "available connectors are: \(known)")
    }

    /// The aliases Kafka derives from a class name: its simple name and, without "Connector", the rest.
    public static func aliases(of className: String) -> [String] {
        let simple = String(className.split(separator: ".").last ?? Substring(className))
        return simple.hasSuffix("Connector") ? [simple, String(simple.dropLast("Connector".count))] : [simple]
    }
}

/// Reading typed values from a configuration map with Kafka's messages.
public enum ConnectConfig {
    public static func string(_ config: [String: String], _ name: String, default defaultValue: String? = nil)
        throws(ConnectError) -> String {
        if let value = config[name] { return value }
        if let defaultValue { return defaultValue }
        throw .config(name: name, message: "Missing required configuration \"\(name)\" which has no default value.")
    }

    public static func int(_ config: [String: String], _ name: String, default defaultValue: Int, minimum: Int? = nil)
        throws(ConnectError) -> Int {
        guard let text = config[name] else { return defaultValue }
        guard let value = Int(text.trimmedWhitespace) else {
            throw .config(name: name, message: "Invalid value \(text) for configuration \(name): Not a number of type INT")
        }
        if let minimum, value < minimum {
            throw .config(name: name, message: "Invalid value \(value) for configuration \(name): Value must be at least \(minimum)")
        }
        return value
    }

    /// A BOOLEAN: `true` or `false` in any case, surrounding spaces ignored.
    public static func boolean(_ config: [String: String], _ name: String, default defaultValue: Bool) throws(ConnectError) -> Bool {
        guard let text = config[name] else { return defaultValue }
        switch text.trimmedWhitespace.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .config(name: name, message: "Invalid value \(text) for configuration \(name): Expected value to be either true or false")
        }
    }

    /// A setting's value, nil when unset or empty (an empty value of a setting with a default means the default).
    public static func value(_ config: [String: String], _ name: String) -> String? {
        guard let value = config[name], !value.isEmpty else { return nil }
        return value
    }

    /// A comma-separated list, entries trimmed, empty ones dropped (Kafka's LIST type).
    public static func list(_ config: [String: String], _ name: String) -> [String] {
        (config[name] ?? "").split(separator: ",").map { $0.trimmedWhitespace }.filter { !$0.isEmpty }
    }

    /// One of an enumeration's raw values (any case); the default when unset or empty.
    public static func choice<Choice: RawRepresentable & CaseIterable>(_ config: [String: String], _ name: String, default defaultValue: Choice)
        throws(ConnectError) -> Choice where Choice.RawValue == String {
        guard let text = config[name]?.trimmedWhitespace, !text.isEmpty else { return defaultValue }
        guard let value = Choice(rawValue: text.lowercased()) else {
            let allowed = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw .config(name: name, message: "Invalid value \(text) for configuration \(name): must be one of \(allowed)")
        }
        return value
    }
}
