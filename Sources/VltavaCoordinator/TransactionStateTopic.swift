import KafkaProtocol
import NIOCore
import VltavaStorage

/// The internal compacted topic `__transaction_state` in Kafka's own format: the key is `TransactionLogKey` v0
/// (the transactional id) and the value `TransactionLogValue` v0 (transaction version 1), each after an int16
/// schema version; a removed id is a record with a null value.
public enum TransactionStateTopic {
    public static let name = "__transaction_state"
    /// Kafka's default `transaction.state.log.num.partitions`.
    public static let defaultPartitionCount: Int32 = 50
    /// The topic configs Kafka gives it.
    public static let topicConfigs = ["cleanup.policy": "compact", "segment.bytes": "104857600",
                                      "compression.type": "uncompressed", "min.insync.replicas": "1"]

    /// The partition of a transactional id: `abs(id.hashCode()) % count`, as Kafka computes it.
    public static func partition(for transactionalId: String, partitionCount: Int32) -> Int32 {
        OffsetsTopic.partition(for: transactionalId, partitionCount: partitionCount)
    }

    /// The key and value of a metadata record (nil value for a removed id). Throws when the id or a topic name is
    /// too long for the record's int16 strings (requests are checked before they get here).
    public static func record(_ metadata: TransactionMetadata) throws(KafkaProtocolError) -> (key: ByteBuffer, value: ByteBuffer?) {
        var key = ByteBufferAllocator().buffer(capacity: metadata.transactionalId.utf8.count + 4)
        key.writeInteger(Int16(0), endianness: .big)
        try TransactionLogKey(transactionalId: metadata.transactionalId).write(to: &key, version: 0)
        guard metadata.state != .dead else { return (key, nil) }
        var value = TransactionLogValue()
        value.producerId = metadata.producerId
        value.producerEpoch = metadata.producerEpoch
        value.transactionTimeoutMs = metadata.timeoutMs
        value.transactionStatus = metadata.state.rawValue
        if metadata.state == .empty {
            value.transactionPartitions = nil
        } else {
            let byTopic = Dictionary(grouping: metadata.partitions, by: \.topic)
            value.transactionPartitions = byTopic.keys.sorted().map { topic in
                TransactionLogValue.PartitionsSchema(topic: topic, partitionIds: byTopic[topic, default: []].map(\.partition).sorted())
            }
        }
        value.transactionLastUpdateTimestampMs = metadata.lastUpdateTimestampMs
        value.transactionStartTimestampMs = metadata.startTimestampMs
        var bytes = ByteBufferAllocator().buffer(capacity: 64)
        bytes.writeInteger(Int16(0), endianness: .big)
        try value.write(to: &bytes, version: 0)
        return (key, bytes)
    }

    /// Decodes one record: the transactional id and its metadata (nil for a removal); nil for a key version this
    /// broker does not know (Kafka skips those too).
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws(KafkaProtocolError)
        -> (transactionalId: String, metadata: TransactionMetadata?)? {
        var key = key
        let keyVersion = try key.readKafkaInt16()
        guard TransactionLogKey.validVersions.contains(keyVersion) else { return nil }
        let id = try TransactionLogKey(from: &key, version: keyVersion).transactionalId
        guard var bytes = value else { return (id, nil) }
        let valueVersion = try bytes.readKafkaInt16()
        guard TransactionLogValue.validVersions.contains(valueVersion) else { return nil }
        let decoded = try TransactionLogValue(from: &bytes, version: valueVersion)
        guard let state = TransactionState(rawValue: decoded.transactionStatus) else {
            throw KafkaProtocolError.valueOutOfRange(field: "TransactionStatus \(decoded.transactionStatus)")
        }
        var partitions: Set<TopicPartition> = []
        for topic in decoded.transactionPartitions ?? [] {
            for partition in topic.partitionIds { partitions.insert(TopicPartition(topic: topic.topic, partition: partition)) }
        }
        return (id, TransactionMetadata(
            transactionalId: id, producerId: decoded.producerId, producerEpoch: decoded.producerEpoch,
            timeoutMs: decoded.transactionTimeoutMs, state: state, partitions: partitions,
            startTimestampMs: decoded.transactionStartTimestampMs,
            lastUpdateTimestampMs: decoded.transactionLastUpdateTimestampMs))
    }
}
