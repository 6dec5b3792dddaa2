#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Confluent's `io.confluent.kafka.connect.datagen.DatagenConnector`: generates mock records from an Avro schema
/// annotated with avro-random-generator's hints: a bundled quickstart, `schema.string` or `schema.filename`.
/// Every task (`tasks.max` of them) writes its own stream to `kafka.topic`.
public struct DatagenConnector: Connector {
    public static let className = "io.confluent.kafka.connect.datagen.DatagenConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = "0.7.1"
    public static let configDefinition = [
        ConfigKeyDefinition(name: DatagenConfig.topicKey, type: .string, defaultValue: nil, importance: .high,
                            documentation: "Topic to write to"),
        ConfigKeyDefinition(name: DatagenConfig.maxIntervalKey, type: .long, defaultValue: "500", importance: .high,
                            documentation: "Max interval between messages (ms)"),
        ConfigKeyDefinition(name: DatagenConfig.iterationsKey, type: .int, defaultValue: "-1", importance: .high,
                            documentation: "Number of messages to send from each task, or less than 1 for unlimited"),
        ConfigKeyDefinition(name: DatagenConfig.schemaStringKey, type: .string, defaultValue: "", importance: .high,
                            documentation: "The literal JSON-encoded Avro schema to use"),
        ConfigKeyDefinition(name: DatagenConfig.schemaFilenameKey, type: .string, defaultValue: "", importance: .high,
                            documentation: "Filename of schema to use"),
        ConfigKeyDefinition(name: DatagenConfig.schemaKeyfieldKey, type: .string, defaultValue: "", importance: .high,
                            documentation: "Name of field to use as the message key"),
        ConfigKeyDefinition(name: DatagenConfig.quickstartKey, type: .string, defaultValue: "", importance: .high,
                            documentation: "Name of quickstart to use"),
        ConfigKeyDefinition(name: DatagenConfig.randomSeedKey, type: .long, defaultValue: "", importance: .low,
                            documentation: "Numeric seed for generating random data. Two connectors started with the same seed "
                                + "will deterministically produce the same data. Each task will generate different data than "
                                + "the other tasks in the same connector."),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try DatagenConfig(config)
        self.config = config
    }

    /// `maxTasks` copies of the configuration, each with its `task.id`.
    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        (0..<max(maxTasks, 1)).map { task in config.merging([DatagenConfig.taskIdKey: String(task)]) { $1 } }
    }

    public mutating func stop() {}
}

/// The Datagen connector's configuration, read and checked (the connector checks it at start so that a bad one
/// is refused when the connector is created, not when its tasks run).
struct DatagenConfig: Sendable {
    static let topicKey = "kafka.topic"
    static let maxIntervalKey = "max.interval"
    static let iterationsKey = "iterations"
    static let schemaStringKey = "schema.string"
    static let schemaFilenameKey = "schema.filename"
    static let schemaKeyfieldKey = "schema.keyfield"
    static let quickstartKey = "quickstart"
    static let randomSeedKey = "random.seed"
    static let taskIdKey = "task.id"
    static let schemaSourceKeys = [schemaStringKey, schemaFilenameKey, quickstartKey]

    var topic: String
    /// Milliseconds; records are spaced by a random wait below it (none when ≤ 0).
    var maxInterval: Int64
    /// Records per task over its whole life (restarts included); unlimited when < 1.
    var iterations: Int
    var schema: DatagenType
    /// The field whose value becomes the key, if any.
    var keyField: DatagenField?
    var randomSeed: Int64?

    init(_ config: [String: String]) throws(ConnectError) {
        topic = try ConnectConfig.string(config, Self.topicKey)
        maxInterval = try Self.long(config, Self.maxIntervalKey) ?? 500
        iterations = try ConnectConfig.int(config, Self.iterationsKey, default: -1)
        randomSeed = try Self.long(config, Self.randomSeedKey)

        let sources = Self.schemaSourceKeys.filter { !(config[$0] ?? "").isEmpty }
        guard sources.count == 1, let source = sources.first else {
            throw .config(name: sources.first ?? Self.quickstartKey,
                          message: "Must set exactly one of \(Self.schemaSourceKeys.joined(separator: ", "))")
        }
        let text = config[source] ?? ""
        var defaultKeyField = ""
        switch source {
        case Self.quickstartKey:
            let quickstart = try DatagenQuickstart.named(text)
            schema = try DatagenSchemaReader.read(quickstart.schema, setting: source)
            defaultKeyField = quickstart.keyField
        case Self.schemaStringKey:
            schema = try DatagenSchemaReader.read(text, setting: source)
        default:
            schema = try DatagenSchemaReader.read(try Self.readFile(text), setting: source)
        }

        let keyName = (config[Self.schemaKeyfieldKey] ?? "").isEmpty ? defaultKeyField : config[Self.schemaKeyfieldKey] ?? ""
        if keyName.isEmpty {
            keyField = nil
        } else if let field = schema.fields.first(where: { $0.name == keyName }) {
            keyField = field
        } else {
            throw .config(name: Self.schemaKeyfieldKey,
                          message: "The schema does not contain the field provided in '\(Self.schemaKeyfieldKey)': \(keyName)")
        }
    }

    private static func long(_ config: [String: String], _ name: String) throws(ConnectError) -> Int64? {
        guard let text = config[name], !text.trimmedWhitespace.isEmpty else { return nil }
        guard let value = Int64(text.trimmedWhitespace) else {
            throw .config(name: name, message: "Invalid value \(text) for configuration \(name): Not a number of type LONG")
        }
        return value
    }

    /// A schema file (at most 16 MiB).
    private static func readFile(_ path: String) throws(ConnectError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .config(name: schemaFilenameKey, message: "Unable to find the schema file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= 16 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .config(name: schemaFilenameKey, message: "cannot read the schema file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += buffer[0..<count]
        }
        throw .config(name: schemaFilenameKey, message: "the schema file \(path) is larger than 16 MiB")
    }
}
