import Logging
import VltavaClient

/// Kafka's `org.apache.kafka.connect.mirror.MirrorHeartbeatConnector`: one task that writes a heartbeat to
/// `heartbeats` on the target every `emit.heartbeats.interval.seconds`, which the source connectors of further hops
/// replicate, so a cluster's `heartbeats` topics show every path data takes to it.
public struct MirrorHeartbeatConnector: Connector {
    public static let className = "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = MirrorSourceConnector.version
    public static let configDefinition: [ConfigKeyDefinition] = MirrorConfig.commonDefinition + [
        .init(name: "emit.heartbeats.enabled", type: .boolean, defaultValue: "true", importance: .low, documentation: "Whether heartbeats are written."),
        .init(name: "emit.heartbeats.interval.seconds", type: .long, defaultValue: "1", importance: .low, documentation: "How often heartbeats are written."),
        .init(name: "heartbeats.topic.replication.factor", type: .int, defaultValue: "3", importance: .low,
              documentation: "Replication factor of the heartbeats topic."),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try MirrorConfig(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        let emits = (try? ConnectConfig.boolean(config, "emit.heartbeats.enabled", default: true)) ?? true
        return emits ? [config] : []
    }

    public mutating func stop() {}
}

/// The task of `MirrorHeartbeatConnector` (Kafka's `MirrorHeartbeatTask`): a heartbeat to partition 0 of
/// `heartbeats` every `emit.heartbeats.interval.seconds`, with Kafka's source partition
/// `{"sourceClusterAlias", "targetClusterAlias"}` and offset `{"offset": 0}`.
public struct MirrorHeartbeatTask: SourceTask {
    private var config: MirrorConfig?
    private var interval = Duration.seconds(1)
    private var nextHeartbeat = ContinuousClock.now
    private var target: KafkaClient?
    private var replicationFactor: Int16 = 3
    private var topicReady = false

    public init() {}

    public mutating func start(_ properties: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        let config = try MirrorConfig(properties)
        interval = .milliseconds(try config.int("emit.heartbeats.interval.seconds", default: 1, minimum: 0) * 1000)
        replicationFactor = try config.replicationFactor("heartbeats.topic.replication.factor")
        target = properties["target.cluster.bootstrap.servers"] == nil ? nil : try config.targetClient("heartbeats-admin")
        self.config = config
    }

    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        guard let config, ContinuousClock.now >= nextHeartbeat else {
            mirrorIdleWait()
            return []
        }
        nextHeartbeat = ContinuousClock.now + interval
        if !topicReady, let target {
            let replicationFactor = self.replicationFactor
            do {
                try MirrorCall.run("creating \(ReplicationPolicy.heartbeatsTopic)") {
                    try await MirrorTopicSync.ensureInternalTopic(target, name: ReplicationPolicy.heartbeatsTopic, replicationFactor: replicationFactor)
                }
                topicReady = true
            } catch {
                Logger(label: "vltava-connect").warning("cannot create the heartbeats topic", metadata: ["error": "\(error)"])
            }
        }
        let heartbeat = Heartbeat(sourceClusterAlias: config.sourceAlias, targetClusterAlias: config.targetAlias, timestamp: WallClock.milliseconds())
        return [ConnectRecord(
            topic: ReplicationPolicy.heartbeatsTopic, kafkaPartition: 0, keySchema: .bytes, key: .bytes(try heartbeat.key),
            valueSchema: .bytes, value: .bytes(try heartbeat.value), timestamp: heartbeat.timestamp,
            sourcePartition: heartbeat.sourcePartition, sourceOffset: .map([.init(key: .string("offset"), value: .int64(0))]))]
    }

    public mutating func stop() {
        if let target { _ = try? MirrorCall.run("closing") { await target.close() } }
        target = nil
    }
}
