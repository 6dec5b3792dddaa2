import KafkaProtocol
import VltavaClient

/// Keeps remote topics in step with their source topics (Kafka's `MirrorSourceConnector.createNewTopics`,
/// `createNewPartitions` and `syncTopicConfigs`): created with the source's partition count and copied configs,
/// grown when the source grows, configs copied again on a schedule.
struct MirrorTopicSync: Sendable {
    let source: KafkaClient
    let target: KafkaClient
    let replicationFactor: Int16
    let configs: MirrorTopicConfigs?

    /// The source topic's configs worth copying: values set on the topic itself, not excluded.
    func copiedConfigs(of topic: String) async throws -> [ConfigAssignment] {
        guard let configs else { return [] }
        let described = try await source.describeConfigs([.topic(topic)])[.topic(topic)] ?? []
        return described.compactMap { entry in
            guard entry.source == .dynamicTopicConfig, !entry.isSensitive, let value = entry.value, configs.shouldCopy(entry.name) else { return nil }
            return ConfigAssignment(name: entry.name, value: value)
        }
    }

    /// Makes sure `remote` exists on the target with at least `partitions` partitions.
    func ensureRemoteTopic(source topic: String, remote: String, partitions: Int32) async throws {
        let existing = try await target.refreshMetadata(topics: [remote]).topic(named: remote)
        if let existing, existing.errorCode == .none {
            if existing.partitions.count < Int(partitions) {
                try await target.createPartitions(topic: remote, totalCount: partitions)
            }
            return
        }
        // A source that cannot describe its configs (not every Kafka-compatible broker can) still gets replicated.
        let configs = (try? await copiedConfigs(of: topic)) ?? []
        do {
            try await target.createTopics([NewTopic(name: remote, partitions: partitions, replicationFactor: replicationFactor, configs: configs)])
        } catch {
            if error.errorCode != .topicAlreadyExists { throw error }
        }
    }

    /// Copies the source topic's configs to the remote topic (set values only; nothing is removed).
    func syncConfigs(source topic: String, remote: String) async throws {
        let configs = try await copiedConfigs(of: topic)
        guard !configs.isEmpty else { return }
        try await target.setConfigs(.topic(remote), configs)
    }

    /// Creates a one-partition compacted internal topic unless it exists (offset syncs, checkpoints, heartbeats).
    static func ensureInternalTopic(_ client: KafkaClient, name: String, replicationFactor: Int16) async throws {
        do {
            try await client.createTopics([NewTopic(
                name: name, partitions: 1, replicationFactor: replicationFactor,
                configs: [ConfigAssignment(name: "cleanup.policy", value: "compact")])])
        } catch {
            if error.errorCode != .topicAlreadyExists { throw error }
        }
    }
}
