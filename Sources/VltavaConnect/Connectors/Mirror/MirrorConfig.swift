#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VltavaClient
import VltavaSecurity

/// What the three MirrorMaker 2 connectors share of their configuration (Kafka's `MirrorConnectorConfig`): the two
/// clusters, their clients, the replication policy and the internal topics' settings.
struct MirrorConfig: Sendable {
    let properties: [String: String]
    let sourceAlias: String
    let targetAlias: String
    let policy: ReplicationPolicy
    let topicFilter: MirrorNameFilter
    /// `offset-syncs.topic.location`: whether the offset syncs live on the target instead of the source.
    let offsetSyncsOnTarget: Bool

    static let sourceClusterPrefix = "source.cluster."
    static let targetClusterPrefix = "target.cluster."

    init(_ config: [String: String]) throws(ConnectError) {
        properties = config
        sourceAlias = try ConnectConfig.string(config, "source.cluster.alias").trimmedWhitespace
        targetAlias = try ConnectConfig.string(config, "target.cluster.alias", default: "target").trimmedWhitespace
        policy = try ReplicationPolicy(config: config)
        topicFilter = try MirrorNameFilter.topics(config)
        let location = (config["offset-syncs.topic.location"] ?? "source").trimmedWhitespace.lowercased()
        guard location == "source" || location == "target" else {
            throw .config(name: "offset-syncs.topic.location",
                          message: "Invalid value \(location) for configuration offset-syncs.topic.location: String must be one of: source, target")
        }
        offsetSyncsOnTarget = location == "target"
    }

    var offsetSyncsTopic: String { policy.offsetSyncsTopic(target: targetAlias) }
    var checkpointsTopic: String { policy.checkpointsTopic(source: sourceAlias) }

    /// Kafka's `MirrorSourceConnector.shouldReplicateTopic`: accepted by the filter (heartbeats always), not an
    /// internal topic, and not come from the target (a cycle).
    func shouldReplicate(topic: String) -> Bool {
        (topicFilter.accepts(topic) || policy.isHeartbeatsTopic(topic)) && !policy.isInternalTopic(topic)
            && !policy.isCycle(topic, target: targetAlias)
    }

    /// Integer settings in seconds or milliseconds as Kafka's LONG configs.
    func int(_ name: String, default value: Int, minimum: Int? = nil) throws(ConnectError) -> Int {
        try ConnectConfig.int(properties, name, default: value, minimum: minimum)
    }

    func replicationFactor(_ name: String) throws(ConnectError) -> Int16 {
        let value = try int(name, default: 3, minimum: -1)
        guard value != 0, value <= Int(Int16.max) else {
            throw .config(name: name, message: "Invalid value \(value) for configuration \(name): must be -1 (the broker's default) or positive")
        }
        return Int16(value)
    }

    /// A client of the source (`source.cluster.*`) or target (`target.cluster.*`) cluster.
    func client(_ prefix: String, clientId: String) throws(ConnectError) -> KafkaClient {
        var clusterProperties: [String: String] = [:]
        for (key, value) in properties where key.hasPrefix(prefix) { clusterProperties[String(key.dropFirst(prefix.count))] = value }
        let servers = try ConnectConfig.string(clusterProperties, "bootstrap.servers")
        var configuration = KafkaClient.Configuration()
        configuration.clientId = clientId
        do {
            configuration.security = try ClientSecurity(properties: clusterProperties)
            return KafkaClient(bootstrapServers: try BrokerAddress.parseList(servers), configuration: configuration)
        } catch {
            throw .config(name: prefix + "bootstrap.servers", message: "cannot make a client of \(prefix.dropLast()): \(error)")
        }
    }

    func sourceClient(_ role: String) throws(ConnectError) -> KafkaClient {
        try client(Self.sourceClusterPrefix, clientId: "\(sourceAlias)->\(targetAlias)|\(role)")
    }

    func targetClient(_ role: String) throws(ConnectError) -> KafkaClient {
        try client(Self.targetClusterPrefix, clientId: "\(sourceAlias)->\(targetAlias)|\(role)")
    }

    func offsetSyncsClient(_ role: String) throws(ConnectError) -> KafkaClient {
        offsetSyncsOnTarget ? try targetClient(role) : try sourceClient(role)
    }

    /// The configuration keys every MirrorMaker connector reads.
    static let commonDefinition: [ConfigKeyDefinition] = [
        .init(name: "source.cluster.alias", type: .string, defaultValue: nil, importance: .high, documentation: "Alias of the source cluster."),
        .init(name: "target.cluster.alias", type: .string, defaultValue: "target", importance: .high, documentation: "Alias of the target cluster."),
        .init(name: "source.cluster.bootstrap.servers", type: .list, defaultValue: nil, importance: .high,
              documentation: "The source cluster's bootstrap servers (and source.cluster.* client settings)."),
        .init(name: "target.cluster.bootstrap.servers", type: .list, defaultValue: nil, importance: .high,
              documentation: "The target cluster's bootstrap servers (and target.cluster.* client settings)."),
        .init(name: "replication.policy.class", type: .class, defaultValue: ReplicationPolicy.defaultClass, importance: .low,
              documentation: "How remote topics are named: DefaultReplicationPolicy or IdentityReplicationPolicy."),
        .init(name: "replication.policy.separator", type: .string, defaultValue: ".", importance: .low,
              documentation: "Separator of the remote topics' names."),
        .init(name: "topics", type: .list, defaultValue: ".*", importance: .high, documentation: "Topics to replicate (regular expressions)."),
        .init(name: "topics.exclude", type: .list, defaultValue: MirrorNameFilter.defaultTopicsExclude, importance: .high,
              documentation: "Topics not to replicate (regular expressions)."),
        .init(name: "offset-syncs.topic.location", type: .string, defaultValue: "source", importance: .low,
              documentation: "The cluster holding the offset-syncs topic: source or target."),
    ]

    /// `maxTasks` copies of the connector's config, each naming its task's index and the count, by which a task
    /// takes its share of the partitions or groups.
    static func taskConfigs(_ config: [String: String], maxTasks: Int) -> [[String: String]] {
        let count = max(maxTasks, 1)
        return (0..<count).map { index in config.merging(["task.index": "\(index)", "task.count": "\(count)"]) { _, task in task } }
    }

    /// Checks that both clusters' addresses are given, as Kafka's config does when the connector starts.
    static func validate(_ config: [String: String]) throws(ConnectError) -> MirrorConfig {
        let mirror = try MirrorConfig(config)
        _ = try ConnectConfig.string(config, "source.cluster.bootstrap.servers")
        _ = try ConnectConfig.string(config, "target.cluster.bootstrap.servers")
        return mirror
    }
}

/// Runs async client calls from a task's blocking thread, turning failures into the task's error type.
enum MirrorCall {
    static func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) throws(ConnectError) -> T {
        do {
            return try AsyncWait.result(body)
        } catch let error as ConnectError {
            throw error
        } catch {
            throw .failed("\(what): \(error)")
        }
    }
}

/// A stable hash for spreading topic partitions and groups over tasks (Java's `String.hashCode`, never negative
/// here), so a name stays with its task as others come and go.
func mirrorTaskIndex(of name: String, tasks: Int) -> Int {
    var hash: Int32 = 0
    for unit in name.utf16 { hash = hash &* 31 &+ Int32(unit) }
    return Int(UInt32(bitPattern: hash) % UInt32(max(tasks, 1)))
}

/// A task with nothing to return waits a little on its blocking thread, so an idle mirror does not spin.
func mirrorIdleWait() { usleep(100_000) }
