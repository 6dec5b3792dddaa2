/// Kafka's `org.apache.kafka.connect.mirror.MirrorSourceConnector`: replicates the topics of `source.cluster.alias`
/// into the worker's cluster (the target), named by the replication policy, with their partitions, configs, keys,
/// values, headers and timestamps, and writes offset syncs for the checkpoint connector.
///
/// Kafka's connector watches the source and reassigns partitions to tasks; here every task watches the source
/// itself (`refresh.topics.interval.seconds`) and takes the partitions that hash to it, so new topics and partitions
/// are picked up without a task reconfiguration and a partition never moves between tasks.
public struct MirrorSourceConnector: Connector {
    public static let className = "org.apache.kafka.connect.mirror.MirrorSourceConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = "3.9.0"
    public static let configDefinition: [ConfigKeyDefinition] = MirrorConfig.commonDefinition + [
        .init(name: "replication.factor", type: .int, defaultValue: "2", importance: .high,
              documentation: "Replication factor of the remote topics (-1: the broker's default)."),
        .init(name: "sync.topic.configs.enabled", type: .boolean, defaultValue: "true", importance: .low,
              documentation: "Whether topic configs are copied to the remote topics."),
        .init(name: "sync.topic.configs.interval.seconds", type: .long, defaultValue: "600", importance: .low,
              documentation: "How often topic configs are copied."),
        .init(name: "config.properties.exclude", type: .list, defaultValue: MirrorTopicConfigs.defaultExclude, importance: .high,
              documentation: "Topic config properties not copied (regular expressions)."),
        .init(name: "refresh.topics.interval.seconds", type: .long, defaultValue: "600", importance: .low,
              documentation: "How often the source's topics and partitions are looked up again."),
        .init(name: "offset.lag.max", type: .long, defaultValue: "100", importance: .low,
              documentation: "How far the target may get ahead of the last offset sync before a new one is written."),
        .init(name: "emit.offset-syncs.enabled", type: .boolean, defaultValue: "true", importance: .low,
              documentation: "Whether offset syncs are written."),
        .init(name: "offset-syncs.topic.replication.factor", type: .int, defaultValue: "3", importance: .low,
              documentation: "Replication factor of the offset-syncs topic."),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try MirrorConfig.validate(config)
        _ = try MirrorTopicConfigs(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        MirrorConfig.taskConfigs(config, maxTasks: maxTasks)
    }

    public mutating func stop() {}
}

/// Which topic configs are copied (Kafka's `DefaultConfigPropertyFilter`): values set on the source topic itself,
/// except the excluded properties.
struct MirrorTopicConfigs: Sendable {
    static let defaultExclude = [
        #"follower\.replication\.throttled\.replicas"#, #"leader\.replication\.throttled\.replicas"#,
        #"message\.timestamp\.difference\.max\.ms"#, #"message\.timestamp\.type"#, #"unclean\.leader\.election\.enable"#,
        #"min\.insync\.replicas"#,
    ].joined(separator: ",")

    let exclude: [JavaRegex]

    init(_ config: [String: String]) throws(ConnectError) {
        exclude = try MirrorNameFilter.patterns(config["config.properties.exclude"] ?? Self.defaultExclude, key: "config.properties.exclude")
    }

    func shouldCopy(_ name: String) -> Bool { !exclude.contains { $0.matchesWhole(name) } }
}
