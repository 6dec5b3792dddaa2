import KafkaProtocol
import Logging
import NIOCore
import VltavaClient

/// One of Connect's compacted internal topics (`connect-configs`, `connect-offsets`, `connect-status`) through a
/// Kafka client: read from start to end once, written with string keys and JSON values (null: a tombstone).
///
/// The topic is created on the first write, not when it is read: a worker that never gets a connector leaves the
/// cluster as it found it.
actor CompactedTopicLog {
    let client: KafkaClient
    let topic: String
    let partitions: Int32
    let replicationFactor: Int16
    private var exists = false
    /// The next offset to read of each partition, once the topic has been read.
    private var position: [Int32: Int64] = [:]

    init(client: KafkaClient, topic: String, partitions: Int32, replicationFactor: Int16) {
        self.client = client
        self.topic = topic
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    /// The records written since the last read (at the first read, every record the topic holds), partition by
    /// partition in offset order; nothing when the topic does not exist.
    func readAll() async throws(ConnectError) -> [(key: String, value: String?)] {
        do {
            return try await readRecords()
        } catch {
            throw .failed("cannot read \(topic): \(error)")
        }
    }

    private func readRecords() async throws -> [(key: String, value: String?)] {
        guard let metadata = try await existingTopic() else { return [] }
        exists = true
        let partitionIds = metadata.partitions.map(\.partition).sorted()
        var next = position
        let unread = partitionIds.filter { next[$0] == nil }
        if !unread.isEmpty {
            for (partition, offset) in try await client.listOffsets(topic: topic, partitions: unread, spec: .earliest) {
                next[partition] = offset
            }
        }
        let end = try await client.listOffsets(topic: topic, partitions: partitionIds, spec: .latest)
        var records: [(key: String, value: String?)] = []
        while true {
            let behind = next.filter { $0.value < (end[$0.key] ?? 0) }
            if behind.isEmpty {
                position = next
                break
            }
            let fetched = try await client.fetch(topic: topic, offsets: behind, maxWait: .milliseconds(50))
            for partition in fetched.sorted(by: { $0.partition < $1.partition }) {
                for record in partition.records {
                    guard let key = record.key.map({ String(buffer: $0) }) else { continue }
                    records.append((key, record.value.map { String(buffer: $0) }))
                }
                next[partition.partition] = max(next[partition.partition] ?? 0, partition.nextOffset)
            }
        }
        return records
    }

    /// The next offset to read of a partition (-1 before the topic has been read): for the config topic, how far
    /// a worker has read it (the config offset of the worker group protocol).
    func nextOffset(partition: Int32) -> Int64 {
        position[partition] ?? -1
    }

    private func existingTopic() async throws -> ClusterMetadata.Topic? {
        do {
            return try await client.topicMetadata(topic)
        } catch let error where error.errorCode == .unknownTopicOrPartition {
            return nil
        }
    }

    /// Writes records (keyed; a single-partition topic gets them all in partition 0) and returns once the broker
    /// has acknowledged them.
    func write(_ records: [(key: String, value: String?)]) async throws(ConnectError) {
        guard !records.isEmpty else { return }
        do {
            try await ensureTopic()
            let producerRecords = records.map { ProducerRecord(key: ByteBuffer(string: $0.key), value: $0.value.map { ByteBuffer(string: $0) }) }
            try await client.produce(topic: topic, records: producerRecords, partition: partitions == 1 ? 0 : nil, acks: .all)
        } catch {
            throw .failed("cannot write to \(topic): \(error)")
        }
    }

    private func ensureTopic() async throws {
        if exists { return }
        do {
            try await client.createTopics([NewTopic(
                name: topic, partitions: partitions, replicationFactor: replicationFactor,
                configs: [ConfigAssignment(name: "cleanup.policy", value: "compact")])])
        } catch let error where error.errorCode == .topicAlreadyExists {
        }
        exists = true
    }
}
