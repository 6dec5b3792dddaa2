/// Kafka's `org.apache.kafka.connect.mirror.MirrorCheckpointConnector`: translates the committed offsets of the
/// source's consumer groups into target offsets with the offset syncs, emits them as checkpoints to
/// `<source>.checkpoints.internal` on the target and, with `sync.group.offsets.enabled`, commits them for groups
/// that are not active on the target. Every task lists the groups itself and takes those that hash to it.
public struct MirrorCheckpointConnector: Connector {
    public static let className = "org.apache.kafka.connect.mirror.MirrorCheckpointConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = MirrorSourceConnector.version
    public static let configDefinition: [ConfigKeyDefinition] = MirrorConfig.commonDefinition + [
        .init(name: "groups", type: .list, defaultValue: ".*", importance: .high, documentation: "Consumer groups to checkpoint (regular expressions)."),
        .init(name: "groups.exclude", type: .list, defaultValue: MirrorNameFilter.defaultGroupsExclude, importance: .high,
              documentation: "Consumer groups not to checkpoint (regular expressions)."),
        .init(name: "emit.checkpoints.enabled", type: .boolean, defaultValue: "true", importance: .low,
              documentation: "Whether checkpoints are written to the checkpoints topic."),
        .init(name: "emit.checkpoints.interval.seconds", type: .long, defaultValue: "60", importance: .low,
              documentation: "How often groups are checkpointed."),
        .init(name: "sync.group.offsets.enabled", type: .boolean, defaultValue: "false", importance: .low,
              documentation: "Whether translated offsets are committed for groups not active on the target."),
        .init(name: "sync.group.offsets.interval.seconds", type: .long, defaultValue: "60", importance: .low,
              documentation: "How often translated offsets are committed on the target."),
        .init(name: "checkpoints.topic.replication.factor", type: .int, defaultValue: "3", importance: .low,
              documentation: "Replication factor of the checkpoints topic."),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try MirrorConfig.validate(config)
        _ = try MirrorNameFilter.groups(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        let emits = (try? ConnectConfig.boolean(config, "emit.checkpoints.enabled", default: true)) ?? true
        let syncs = (try? ConnectConfig.boolean(config, "sync.group.offsets.enabled", default: false)) ?? false
        guard emits || syncs else { return [] }
        return MirrorConfig.taskConfigs(config, maxTasks: maxTasks)
    }

    public mutating func stop() {}
}

/// The task of `MirrorCheckpointConnector`.
public struct MirrorCheckpointTask: SourceTask {
    private var checkpointer: MirrorCheckpointer?

    public init() {}

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        checkpointer = try MirrorCheckpointer(config: config)
    }

    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        try checkpointer?.poll() ?? []
    }

    public mutating func stop() {
        checkpointer?.close()
        checkpointer = nil
    }
}
