import VltavaCoordinator
import VltavaMetrics
import VltavaStorage

/// The families computed from the broker's state when `/metrics` is scraped: per-topic traffic, partition
/// watermarks and sizes, group and transaction counts by state, and kafka_exporter's family under its own names
/// and labels (`kafka_topic_partition_current_offset{topic,partition}`, `kafka_consumergroup_lag{consumergroup,
/// topic,partition}`, ...) so that dashboards made for it (Grafana's 7589) work unchanged. Nothing here runs on
/// the request path.
public struct BrokerStateCollector: ScrapeCollector {
    let broker: Broker

    public init(broker: Broker) {
        self.broker = broker
    }

    /// One partition as read at scrape time.
    struct PartitionState {
        var topic: String
        var partition: Int32
        var logStartOffset: Int64
        var highWatermark: Int64
        var sizeInBytes: Int
        var traffic: (recordsIn: Int64, bytesIn: Int64, bytesOut: Int64)
        /// `topic="…",partition="…"`, rendered once for every family that has a series per partition.
        var labels: String
    }

    public func collect(into writer: inout PrometheusTextWriter) async {
        let partitions = broker.logs.allLogs.map { log in
            PartitionState(
                topic: log.topic, partition: log.partition, logStartOffset: log.logStartOffset,
                highWatermark: log.highWatermark, sizeInBytes: log.sizeInBytes, traffic: log.traffic.totals,
                labels: PrometheusTextWriter.renderLabels([("topic", log.topic), ("partition", String(log.partition))]))
        }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        let groups = broker.groups.metricsSnapshot().sorted { $0.groupId < $1.groupId }
        let transactions = (try? broker.transactions.list(states: [], producerIds: [], minimumDurationMs: 0).get()) ?? []
        Self.write(partitions: partitions, into: &writer)
        Self.writeGroupStates(groups, into: &writer)
        writer.family("vltava_transactions", .gauge, help: "Transactional ids this node coordinates, by the state of their transaction.")
        var byState: [String: Int64] = Dictionary(uniqueKeysWithValues: TransactionState.allCases.map { ($0.name, 0) })
        for transaction in transactions { byState[transaction.state.name, default: 0] += 1 }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) { writer.sample("vltava_transactions", [("state", state)], count) }
        let address = broker.configuration.advertisedListeners.first ?? broker.configuration.brokerListeners.first
        KafkaExporterFamilies.write(
            partitions: partitions, groups: groups, nodeId: broker.nodeId,
            address: address.map { "\($0.host.isEmpty ? "localhost" : $0.host):\($0.port)" } ?? "", into: &writer)
    }

    static func write(partitions: [PartitionState], into writer: inout PrometheusTextWriter) {
        var topics: [(topic: String, recordsIn: Int64, bytesIn: Int64, bytesOut: Int64)] = []
        for partition in partitions {
            if topics.last?.topic == partition.topic {
                topics[topics.count - 1].recordsIn += partition.traffic.recordsIn
                topics[topics.count - 1].bytesIn += partition.traffic.bytesIn
                topics[topics.count - 1].bytesOut += partition.traffic.bytesOut
            } else {
                topics.append((partition.topic, partition.traffic.recordsIn, partition.traffic.bytesIn, partition.traffic.bytesOut))
            }
        }
        writer.family("vltava_topic_records_in_total", .counter, help: "Records clients produced to a topic since the broker started.")
        for topic in topics { writer.sample("vltava_topic_records_in_total", [("topic", topic.topic)], topic.recordsIn) }
        writer.family("vltava_topic_bytes_in_total", .counter, help: "Record batch bytes clients produced to a topic since the broker started.")
        for topic in topics { writer.sample("vltava_topic_bytes_in_total", [("topic", topic.topic)], topic.bytesIn) }
        writer.family("vltava_topic_bytes_out_total", .counter, help: "Record bytes fetch answers carried from a topic since the broker started.")
        for topic in topics { writer.sample("vltava_topic_bytes_out_total", [("topic", topic.topic)], topic.bytesOut) }

        writer.family("vltava_partition_high_watermark", .gauge, help: "A partition's high watermark (the offset of its next record).")
        for partition in partitions {
            writer.sample("vltava_partition_high_watermark", renderedLabels: partition.labels, partition.highWatermark)
        }
        writer.family("vltava_partition_log_start_offset", .gauge, help: "A partition's log start offset (its oldest offset).")
        for partition in partitions {
            writer.sample("vltava_partition_log_start_offset", renderedLabels: partition.labels, partition.logStartOffset)
        }
        writer.family("vltava_partition_log_size_bytes", .gauge, help: "Bytes of a partition's segment files.")
        for partition in partitions {
            writer.sample("vltava_partition_log_size_bytes", renderedLabels: partition.labels, Int64(partition.sizeInBytes))
        }
    }

    static func writeGroupStates(_ groups: [GroupMetricsSnapshot], into writer: inout PrometheusTextWriter) {
        writer.family("vltava_consumer_groups", .gauge, help: "Consumer groups by state.")
        var byState: [String: Int64] = [:]
        for state in ClassicGroupState.allCases where state != .dead { byState[state.rawValue] = 0 }
        for state in ConsumerGroupState.allCases { byState[state.rawValue] = 0 }
        for group in groups { byState[group.state, default: 0] += 1 }
        for (state, count) in byState.sorted(by: { $0.key < $1.key }) { writer.sample("vltava_consumer_groups", [("state", state)], count) }
    }
}
