import ArgumentParser
import KafkaProtocol
import VltavaClient

/// `vltava cluster status`: the brokers, the controller and the partitions' leadership, as the cluster's Metadata
/// answers them (any Kafka cluster; a Vltava cluster on etcd answers for every broker).
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Show a cluster's brokers, controller and partition leadership.",
        subcommands: [Status.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Brokers, controller, partitions led per broker, under-replicated and offline partitions.")

        @OptionGroup var bootstrap: BootstrapOptions

        func run() async throws {
            let metadata = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.refreshMetadata(topics: nil)
            }
            print(ClusterStatusReport(metadata).text, terminator: "")
        }
    }
}

/// The report `vltava cluster status` prints.
struct ClusterStatusReport {
    let metadata: ClusterMetadata

    init(_ metadata: ClusterMetadata) {
        self.metadata = metadata
    }

    /// A partition with no live leader (Kafka answers LEADER_NOT_AVAILABLE with leader -1).
    static func isOffline(_ partition: ClusterMetadata.Partition) -> Bool {
        partition.leader < 0 || partition.errorCode == .leaderNotAvailable
    }

    var text: String {
        let partitions = metadata.topics.flatMap { topic in topic.partitions.map { (topic.name, $0) } }
        let offline = partitions.filter { Self.isOffline($0.1) }
        let underReplicated = partitions.filter { !Self.isOffline($0.1) && $0.1.isr.count < $0.1.replicas.count }
        var lines = [
            "Cluster id: \(metadata.clusterId ?? "-")",
            "Controller: \(metadata.controllerId >= 0 ? String(metadata.controllerId) : "none")",
            "Brokers: \(metadata.brokers.count)",
        ]
        for broker in metadata.brokers.sorted(by: { $0.nodeId < $1.nodeId }) {
            let leads = partitions.filter { $0.1.leader == broker.nodeId }.count
            lines.append("  \(broker.nodeId)  \(broker.address)  rack \(broker.rack ?? "-")  leader of \(leads) partitions"
                + (broker.nodeId == metadata.controllerId ? "  (controller)" : ""))
        }
        lines.append("Partitions: \(partitions.count), under-replicated \(underReplicated.count), offline \(offline.count)")
        for (label, list) in [("Under-replicated", underReplicated), ("Offline", offline)] where !list.isEmpty {
            lines.append("\(label) partitions:")
            for (topic, partition) in list.sorted(by: { ($0.0, $0.1.partition) < ($1.0, $1.1.partition) }) {
                lines.append("  \(topic)-\(partition.partition)  replicas \(partition.replicas)  isr \(partition.isr)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
