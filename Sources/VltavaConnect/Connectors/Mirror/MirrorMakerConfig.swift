/// A `connect-mirror-maker.properties` file read as Kafka's `MirrorMakerConfig` reads it: `clusters = A, B`,
/// `A.bootstrap.servers` and other `<alias>.` client settings, flows switched on with `A->B.enabled = true`, and
/// settings at the top level for every flow, `A->B.` ones for one flow.
///
/// Each enabled flow gets a worker of its own against the target cluster (as Kafka 3.9's MirrorMaker gives each flow
/// a herder), with group `<source>-mm2` and the internal topics `mm2-configs.<source>.internal`,
/// `mm2-offsets.<source>.internal` and `mm2-status.<source>.internal`, running the flow's three connectors under
/// their simple class names.
public struct MirrorMakerConfig: Sendable {
    /// One replication flow: its worker's properties and its connectors' configurations.
    public struct Flow: Sendable {
        public var source: String
        public var target: String
        public var workerProperties: [String: String]
        public var connectors: [[String: String]]
    }

    public let clusters: [String]
    public let flows: [Flow]

    static let byteArrayConverter = "org.apache.kafka.connect.converters.ByteArrayConverter"
    static let connectorClasses = [MirrorSourceConnector.className, MirrorCheckpointConnector.className, MirrorHeartbeatConnector.className]
    /// Top-level settings that configure the workers rather than the connectors.
    static let workerKeys: Set<String> = [
        "config.storage.replication.factor", "offset.storage.replication.factor", "status.storage.replication.factor",
        "offset.storage.partitions", "status.storage.partitions", "offset.flush.interval.ms", "task.shutdown.graceful.timeout.ms",
    ]
    /// Client settings a cluster's `<alias>.` prefix may carry, also taken from the top level for every cluster.
    static let clientKeyPrefixes = ["security.protocol", "sasl.", "ssl."]

    /// Reads the properties; `targets` limits the flows to those into these clusters (connect-mirror-maker's
    /// `--clusters`).
    public init(properties: [String: String], targets: [String] = []) throws(ConnectError) {
        clusters = ConnectConfig.list(properties, "clusters")
        guard !clusters.isEmpty else {
            throw .config(name: "clusters", message: "Missing required configuration \"clusters\" which has no default value.")
        }
        for alias in clusters where properties["\(alias).bootstrap.servers"] == nil {
            throw .config(name: "\(alias).bootstrap.servers", message: "cluster \(alias) has no \(alias).bootstrap.servers")
        }
        for target in targets where !clusters.contains(target) {
            throw .config(name: "clusters", message: "--clusters names \(target), which is not one of the clusters \(clusters.joined(separator: ", "))")
        }
        var flows: [Flow] = []
        for source in clusters {
            for target in clusters where target != source && (targets.isEmpty || targets.contains(target)) {
                let prefix = "\(source)->\(target)."
                guard try ConnectConfig.boolean(properties, prefix + "enabled", default: false) else { continue }
                flows.append(Self.flow(properties, source: source, target: target))
            }
        }
        self.flows = flows
    }

    /// A cluster's client settings: top-level security settings, overridden by its `<alias>.` ones.
    static func clusterProperties(_ properties: [String: String], alias: String) -> [String: String] {
        var cluster: [String: String] = [:]
        for (key, value) in properties where clientKeyPrefixes.contains(where: { key.hasPrefix($0) }) { cluster[key] = value }
        for (key, value) in properties where key.hasPrefix(alias + ".") { cluster[String(key.dropFirst(alias.count + 1))] = value }
        return cluster
    }

    private static func flow(_ properties: [String: String], source: String, target: String) -> Flow {
        let clusters = ConnectConfig.list(properties, "clusters")
        let isScoped = { (key: String) in clusters.contains { key.hasPrefix($0 + ".") || key.hasPrefix($0 + "->") } }
        let sourceCluster = clusterProperties(properties, alias: source)
        let targetCluster = clusterProperties(properties, alias: target)
        let flowPrefix = "\(source)->\(target)."
        let flowOverrides = properties.filter { $0.key.hasPrefix(flowPrefix) }
            .reduce(into: [String: String]()) { $0[String($1.key.dropFirst(flowPrefix.count))] = $1.value }

        var base = properties.filter { !isScoped($0.key) && $0.key != "clusters" && !workerKeys.contains($0.key) }
        for (key, value) in sourceCluster { base[MirrorConfig.sourceClusterPrefix + key] = value }
        for (key, value) in targetCluster { base[MirrorConfig.targetClusterPrefix + key] = value }
        base["source.cluster.alias"] = source
        base["target.cluster.alias"] = target
        let connectors = connectorClasses.map { className -> [String: String] in
            var config = base
            config["name"] = String(className.split(separator: ".").last ?? "")
            config["connector.class"] = className
            config.merge(flowOverrides) { _, flow in flow }
            config["enabled"] = nil
            return config
        }

        var worker = targetCluster
        for key in workerKeys { if let value = properties[key] { worker[key] = value } }
        worker.merge(flowOverrides.filter { workerKeys.contains($0.key) }) { _, flow in flow }
        worker["group.id"] = "\(source)-mm2"
        worker["config.storage.topic"] = "mm2-configs.\(source).internal"
        worker["offset.storage.topic"] = "mm2-offsets.\(source).internal"
        worker["status.storage.topic"] = "mm2-status.\(source).internal"
        for converter in ["key.converter", "value.converter", "header.converter"] {
            worker[converter] = properties[converter] ?? byteArrayConverter
        }
        return Flow(source: source, target: target, workerProperties: worker, connectors: connectors)
    }
}
