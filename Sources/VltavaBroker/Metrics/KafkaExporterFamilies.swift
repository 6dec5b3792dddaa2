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

        let perPartition: [(String, String, (BrokerStateCollector.PartitionState) -> Int64)] = [
            ("kafka_topic_partition_current_offset", "Current Offset of a Broker at Topic/Partition", { $0.highWatermark }),
            ("kafka_topic_partition_oldest_offset", "Oldest Offset of a Broker at Topic/Partition", { $0.logStartOffset }),
            ("kafka_topic_partition_in_sync_replica", "Number of In-Sync Replicas for this Topic/Partition", { _ in 1 }),
            ("kafka_topic_partition_leader", "Leader Broker ID of this Topic/Partition", { _ in Int64(nodeId) }),
            ("kafka_topic_partition_leader_is_preferred", "1 if Topic/Partition is using the Preferred Broker", { _ in 1 }),
            ("kafka_topic_partition_replicas", "Number of Replicas for this Topic/Partition", { _ in 1 }),
            ("kafka_topic_partition_under_replicated_partition", "1 if Topic/Partition is under Replicated", { _ in 0 }),
        ]
        for (name, help, value) in perPartition {
            writer.family(name, .gauge, help: help)
            for partition in partitions {
                writer.sample(name, BrokerStateCollector.labels(partition), value(partition))
            }
        }

        var highWatermarks: [TopicPartition: Int64] = [:]
        for partition in partitions {
            highWatermarks[TopicPartition(topic: partition.topic, partition: partition.partition)] = partition.highWatermark
        }
        writer.family("kafka_consumergroup_current_offset", .gauge, help: "Current Offset of a ConsumerGroup at Topic/Partition")
        for group in groups {
            for (partition, offset) in sorted(group.offsets) {
                writer.sample("kafka_consumergroup_current_offset", labels(group, partition), offset)
            }
        }
        writer.family("kafka_consumergroup_current_offset_sum", .gauge, help: "Current Offset of a ConsumerGroup at Topic for all partitions")
        for group in groups {
            for (topic, sum) in sums(group.offsets.map { ($0.key.topic, $0.value) }) {
                writer.sample("kafka_consumergroup_current_offset_sum", [("consumergroup", group.groupId), ("topic", topic)], sum)
            }
        }
        writer.family("kafka_consumergroup_lag", .gauge, help: "Current Approximate Lag of a ConsumerGroup at Topic/Partition")
        var lags: [(group: String, topic: String, lag: Int64)] = []
        for group in groups {
            for (partition, offset) in sorted(group.offsets) {
                guard let highWatermark = highWatermarks[partition] else { continue }
                let lag = max(0, highWatermark - offset)
                writer.sample("kafka_consumergroup_lag", labels(group, partition), lag)
                lags.append((group.groupId, partition.topic, lag))
            }
        }
        writer.family("kafka_consumergroup_lag_sum", .gauge, help: "Current Approximate Lag of a ConsumerGroup at Topic for all partitions")
        for group in groups {
            for (topic, sum) in sums(lags.filter { $0.group == group.groupId }.map { ($0.topic, $0.lag) }) {
                writer.sample("kafka_consumergroup_lag_sum", [("consumergroup", group.groupId), ("topic", topic)], sum)
            }
        }
        writer.family("kafka_consumergroup_members", .gauge, help: "Amount of members in a consumer group")
        for group in groups {
            writer.sample("kafka_consumergroup_members", [("consumergroup", group.groupId)], Int64(group.members))
        }
    }

    private static func sorted(_ offsets: [TopicPartition: Int64]) -> [(TopicPartition, Int64)] {
        offsets.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }
    }

    private static func sums(_ values: [(String, Int64)]) -> [(String, Int64)] {
        var totals: [String: Int64] = [:]
        for (topic, value) in values { totals[topic, default: 0] += value }
        return totals.sorted { $0.key < $1.key }
    }

    private static func labels(_ group: GroupMetricsSnapshot, _ partition: TopicPartition) -> [(String, String)] {
        [("consumergroup", group.groupId), ("topic", partition.topic), ("partition", String(partition.partition))]
    }
}
