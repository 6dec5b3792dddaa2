#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KafkaProtocol
import NIOCore
import VltavaSecurity

/// A Connect worker's configuration, read with Kafka's worker property names from a properties file and from the
/// environment variables of Confluent's cp-kafka-connect image (`CONNECT_BOOTSTRAP_SERVERS`, …).
public struct WorkerConfig: Sendable {
    /// Every property as given (later sources override earlier ones).
    public private(set) var properties: [String: String]

    public var bootstrapServers: String
    /// `group.id`: the Connect cluster's worker group.
    public var groupId: String
    public var configStorageTopic: String
    public var offsetStorageTopic: String
    public var statusStorageTopic: String
    public var configStorageReplicationFactor: Int16
    public var offsetStorageReplicationFactor: Int16
    public var statusStorageReplicationFactor: Int16
    public var offsetStoragePartitions: Int32
    public var statusStoragePartitions: Int32
    /// Standalone mode's offsets file.
    public var offsetStorageFileName: String?
    /// How often source offsets are flushed and sink offsets committed.
    public var offsetFlushIntervalMs: Int64
    /// How long a stopping task may take before it is abandoned.
    public var taskShutdownGracefulTimeoutMs: Int64
    /// Where the REST API listens.
    public var restHost: String
    public var restPort: Int
    /// Whether the REST API is served over HTTPS (`listeners=https://...`).
    public var restUsesTLS = false
    /// `rest.advertised.listener`: the scheme other workers use to reach this one (the listener's by default).
    public var advertisedScheme: String
    /// The address other workers and clients are told (it also names this worker: `worker_id`).
    public var advertisedHost: String?
    public var advertisedPort: Int?
    /// The worker group's settings (`connect.protocol`, `scheduled.rebalance.max.delay.ms`, the group timeouts).
    public var group: WorkerGroup.Settings
    /// `worker.sync.timeout.ms`: how long a worker waits to catch up with the config topic, or for a rebalance to
    /// end before a request is refused.
    public var workerSyncTimeoutMs: Int64

    public static let defaultConverter = "org.apache.kafka.connect.json.JsonConverter"
    public static let defaultHeaderConverter = "org.apache.kafka.connect.storage.SimpleHeaderConverter"

    /// Reads the worker properties; a value of the wrong kind is an error naming the property.
    public init(properties: [String: String]) throws(ConnectError) {
        self.properties = properties
        bootstrapServers = properties["bootstrap.servers"] ?? "localhost:9092"
        groupId = properties["group.id"] ?? "connect-cluster"
        configStorageTopic = properties["config.storage.topic"] ?? "connect-configs"
        offsetStorageTopic = properties["offset.storage.topic"] ?? "connect-offsets"
        statusStorageTopic = properties["status.storage.topic"] ?? "connect-status"
        configStorageReplicationFactor = try Self.replicationFactor(properties, "config.storage.replication.factor")
        offsetStorageReplicationFactor = try Self.replicationFactor(properties, "offset.storage.replication.factor")
        statusStorageReplicationFactor = try Self.replicationFactor(properties, "status.storage.replication.factor")
        offsetStoragePartitions = Int32(try ConnectConfig.int(properties, "offset.storage.partitions", default: 25, minimum: 1))
        statusStoragePartitions = Int32(try ConnectConfig.int(properties, "status.storage.partitions", default: 5, minimum: 1))
        offsetStorageFileName = properties["offset.storage.file.filename"].flatMap { $0.isEmpty ? nil : $0 }
        offsetFlushIntervalMs = Int64(try ConnectConfig.int(properties, "offset.flush.interval.ms", default: 60_000, minimum: 1))
        taskShutdownGracefulTimeoutMs = Int64(try ConnectConfig.int(
            properties, "task.shutdown.graceful.timeout.ms", default: 5000, minimum: 0))
        if let listeners = properties["listeners"], !listeners.trimmedWhitespace.isEmpty {
            (restHost, restPort, restUsesTLS) = try Self.parseListener(listeners)
        } else {
            restHost = properties["rest.host.name"].flatMap { $0.isEmpty ? nil : $0 } ?? "0.0.0.0"
            restPort = try ConnectConfig.int(properties, "rest.port", default: 8083, minimum: 0)
        }
        advertisedHost = properties["rest.advertised.host.name"].flatMap { $0.isEmpty ? nil : $0 }
        advertisedPort = properties["rest.advertised.port"] == nil
            ? nil : try ConnectConfig.int(properties, "rest.advertised.port", default: 0, minimum: 0)
        let scheme = (properties["rest.advertised.listener"] ?? "").trimmedWhitespace.lowercased()
        guard ["", "http", "https"].contains(scheme) else {
            throw .config(name: "rest.advertised.listener", message: "Invalid value \(scheme) for configuration rest.advertised.listener: "
                + "must be http or https")
        }
        advertisedScheme = scheme.isEmpty ? (restUsesTLS ? "https" : "http") : scheme
        group = WorkerGroup.Settings(groupId: groupId)
        group.variant = try ConnectProtocol.Variant(configValue: properties["connect.protocol"] ?? "sessioned")
        group.maxDelayMs = Int64(try ConnectConfig.int(properties, "scheduled.rebalance.max.delay.ms", default: 300_000, minimum: 0))
        group.heartbeatInterval = .milliseconds(Int64(try ConnectConfig.int(properties, "heartbeat.interval.ms", default: 3000, minimum: 1)))
        group.sessionTimeout = .milliseconds(Int64(try ConnectConfig.int(properties, "session.timeout.ms", default: 10_000, minimum: 1)))
        group.rebalanceTimeout = .milliseconds(Int64(try ConnectConfig.int(properties, "rebalance.timeout.ms", default: 60_000, minimum: 1)))
        workerSyncTimeoutMs = Int64(try ConnectConfig.int(properties, "worker.sync.timeout.ms", default: 3000, minimum: 0))
        // Validated now so that a typo stops the worker at start rather than at the first connector.
        for name in ["key.converter", "value.converter"] where properties[name] != nil {
            _ = try ConverterRegistry.make(className: properties[name] ?? "", configName: name)
        }
    }

    /// The worker's converter class for `key.converter`, `value.converter` or `header.converter`.
    public func converterClass(_ name: String) -> String {
        properties[name] ?? (name == "header.converter" ? Self.defaultHeaderConverter : Self.defaultConverter)
    }

    /// The properties under `prefix` (such as `value.converter.`), the prefix removed.
    public func withPrefix(_ prefix: String) -> [String: String] {
        Self.withPrefix(properties, prefix)
    }

    static func withPrefix(_ properties: [String: String], _ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in properties where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = value }
        return result
    }

    /// How this worker names itself in statuses (`worker_id`): the advertised REST address, as Kafka's.
    public var workerId: String {
        let host = advertisedHost ?? (["0.0.0.0", "::", ""].contains(restHost) ? Self.hostName() : restHost)
        return "\(host):\(advertisedPort ?? restPort)"
    }

    /// The worker's REST URL as other workers reach it (`Assignment.leaderUrl`): the advertised address.
    public var restUrl: String { "\(advertisedScheme)://\(workerId)/" }

    /// The TLS settings of the REST API (server and, for requests forwarded to other workers, client): the
    /// `listeners.https.`-prefixed properties if there are any (the prefix dropped), else the worker's `ssl.*` ones —
    /// Kafka's all-or-nothing rule.
    public var restSslProperties: [String: String] {
        let prefixed = withPrefix("listeners.https.")
        if !prefixed.isEmpty { return prefixed }
        return properties.filter { $0.key.hasPrefix("ssl.") }
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func replicationFactor(_ properties: [String: String], _ name: String) throws(ConnectError) -> Int16 {
        let value = try ConnectConfig.int(properties, name, default: 3, minimum: -1)
        guard value != 0, value <= Int(Int16.max) else {
            throw .config(name: name, message: "Invalid value \(value) for configuration \(name): must be -1 (the broker's default) or at least 1")
        }
        return Int16(value)
    }

    /// `http://host:port` or `https://host:port` (Kafka's `listeners`): the first listener.
    public static func parseListener(_ text: String) throws(ConnectError) -> (host: String, port: Int, usesTLS: Bool) {
        let listeners = text.split(separator: ",").map { $0.trimmedWhitespace }.filter { !$0.isEmpty }
        guard listeners.count <= 1 else {
            throw .config(name: "listeners", message: "one listener is served (http://host:port or https://host:port), not \(text)")
        }
        var rest = Substring(listeners.first ?? text)
        var usesTLS = false
        if let scheme = rest.range(of: "://") {
            switch rest[..<scheme.lowerBound].lowercased() {
            case "http": usesTLS = false
            case "https": usesTLS = true
            default: throw .config(name: "listeners", message: "a listener is http:// or https://, not \(text)")
            }
            rest = rest[scheme.upperBound...]
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw .config(name: "listeners", message: "a listener must be http://host:port, got \(text)")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port, usesTLS)
    }

    /// The worker properties that cp-kafka-connect's environment sets: `CONNECT_<NAME>` becomes `<name>` with
    /// `_` read as `.`, `__` as `_` and `___` as `-` (Confluent's rule). The image's own variables (log4j, JMX,
    /// JVM options) are not properties.
    public static func properties(fromEnvironment environment: [String: String]) -> [(String, String)] {
        let imagePrefixes = ["CONNECT_LOG4J", "CONNECT_JMX", "CONNECT_OPTS", "CONNECT_HEAP_OPTS", "CONNECT_KAFKA_HEAP_OPTS"]
        var result: [(String, String)] = []
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) where key.hasPrefix("CONNECT_") {
            if imagePrefixes.contains(where: { key.hasPrefix($0) }) { continue }
            result.append((JavaProperties.propertyName(confluentVariable: key.dropFirst("CONNECT_".count)), value))
        }
        return result
    }
}
