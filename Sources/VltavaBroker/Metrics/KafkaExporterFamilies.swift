import VltavaCoordinator
import VltavaMetrics
import VltavaStorage

/// kafka_exporter's metrics (danielqsj/kafka_exporter) with its names, label names and meanings, computed from
/// this node's state: one broker, every partition led by it with itself as the only replica, lag as the high
/// watermark minus the committed offset.
enum KafkaExporterFamilies {
    static func write(partitions: [BrokerStateCollector.PartitionState], groups: [GroupMetricsSnapshot], nodeId: Int32,
                      address: String, into writer: inout PrometheusTextWriter) {
        writer.family("kafka_brokers", .gauge, help: "Number of Brokers in the Kafka Cluster.")
        writer.sample("kafka_brokers", [], Int64(1))
        writer.family("kafka_broker_info", .gauge, help: "Information about the Kafka Broker.")
        writer.sample("kafka_broker_info", [("address", address), ("id", String(nodeId))], Int64(1))

        var partitionCounts: [(String, Int64)] = []
        for partition in partitions {
            if partitionCounts.last?.0 == partition.topic { partitionCounts[partitionCounts.count - 1].1 += 1 } else { partitionCounts.append((partition.topic, 1)) }
        }
        writer.family("kafka_topic_partitions", .gauge, help: "Number of partitions for this Topic")
        for (topic, count) in partitionCounts { writer.sample("kafka_topic_partitions", [("topic", topic)], count) }

        let labels = partitions.map(\.labels)
        let perPartition: [(String, String, [Int64])] = [
            ("kafka_topic_partition_current_offset", "Current Offset of a Broker at Topic/Partition", partitions.map(\.highWatermark)),
            ("kafka_topic_partition_oldest_offset", "Oldest Offset of a Broker at Topic/Partition", partitions.map(\.logStartOffset)),
            ("kafka_topic_partition_in_sync_replica", "Number of In-Sync Replicas for this Topic/Partition", [1]),
            ("kafka_topic_partition_leader", "Leader Broker ID of this Topic/Partition", [Int64(nodeId)]),
            ("kafka_topic_partition_leader_is_preferred", "1 if Topic/Partition is using the Preferred Broker", [1]),
            ("kafka_topic_partition_replicas", "Number of Replicas for this Topic/Partition", [1]),
            ("kafka_topic_partition_under_replicated_partition", "1 if Topic/Partition is under Replicated", [0]),
        ]
        // A one-element list holds the value of every partition.
        for (name, help, values) in perPartition {
            writer.family(name, .gauge, help: help)
            for index in labels.indices {
                writer.sample(name, renderedLabels: labels[index], values.count == 1 ? values[0] : values[index])
            }
        }
        writeGroups(groups, partitions: partitions, into: &writer)
    }

    /// One committed offset with its labels and lag (nil when the partition is not served here).
    private struct Committed {
        var topic: String
        /// The partition's rendered labels, written after the group's.
        var labels: String
        var offset: Int64
        var lag: Int64?
    }

    /// The consumer group families: a group's committed offsets and lag per partition and summed per topic,
    /// and its member count. The partitions' labels are rendered once per scrape and reused for every group.
    private static func writeGroups(_ groups: [GroupMetricsSnapshot], partitions: [BrokerStateCollector.PartitionState],
                                    into writer: inout PrometheusTextWriter) {
        var served: [TopicPartition: Int] = [:]
        served.reserveCapacity(partitions.count)
        for (index, partition) in partitions.enumerated() {
            served[TopicPartition(topic: partition.topic, partition: partition.partition)] = index
        }
        let committed = groups.map { group -> (prefix: String, offsets: [Committed]) in
            let prefix = PrometheusTextWriter.renderLabels([("consumergroup", group.groupId)])
            let offsets = group.offsets.map { key, offset -> Committed in
                guard let index = served[key] else {
                    let labels = PrometheusTextWriter.renderLabels([("topic", key.topic), ("partition", String(key.partition))])
                    return Committed(topic: key.topic, labels: labels, offset: offset, lag: nil)
                }
                return Committed(topic: key.topic, labels: partitions[index].labels, offset: offset,
                                 lag: max(0, partitions[index].highWatermark - offset))
            }
            return (prefix, offsets)
        }
        writer.family("kafka_consumergroup_current_offset", .gauge, help: "Current Offset of a ConsumerGroup at Topic/Partition")
        for (prefix, offsets) in committed {
            for entry in offsets {
                writer.sample("kafka_consumergroup_current_offset", renderedLabels: prefix, moreLabels: entry.labels, entry.offset)
            }
        }
        writer.family("kafka_consumergroup_current_offset_sum", .gauge, help: "Current Offset of a ConsumerGroup at Topic for all partitions")
        for (prefix, offsets) in committed {
            for (topic, sum) in sums(offsets.map { ($0.topic, $0.offset) }) {
                writer.sample("kafka_consumergroup_current_offset_sum", renderedLabels: prefix, moreLabels: topic, sum)
            }
        }
        writer.family("kafka_consumergroup_lag", .gauge, help: "Current Approximate Lag of a ConsumerGroup at Topic/Partition")
        for (prefix, offsets) in committed {
            for entry in offsets {
                if let lag = entry.lag { writer.sample("kafka_consumergroup_lag", renderedLabels: prefix, moreLabels: entry.labels, lag) }
            }
        }
        writer.family("kafka_consumergroup_lag_sum", .gauge, help: "Current Approximate Lag of a ConsumerGroup at Topic for all partitions")
        for (prefix, offsets) in committed {
            for (topic, sum) in sums(offsets.compactMap { entry in entry.lag.map { (entry.topic, $0) } }) {
                writer.sample("kafka_consumergroup_lag_sum", renderedLabels: prefix, moreLabels: topic, sum)
            }
        }
        writer.family("kafka_consumergroup_members", .gauge, help: "Amount of members in a consumer group")
        for (group, (prefix, _)) in zip(groups, committed) {
            writer.sample("kafka_consumergroup_members", renderedLabels: prefix, Int64(group.members))
        }
    }

    /// Values added up per topic, with the topic rendered as a label.
    private static func sums(_ values: [(String, Int64)]) -> [(String, Int64)] {
        var totals: [String: Int64] = [:]
        for (topic, value) in values { totals[topic, default: 0] += value }
        return totals.sorted { $0.key < $1.key }.map { (PrometheusTextWriter.renderLabels([("topic", $0.key)]), $0.value) }
    }
}
