import KafkaProtocol
import NIOCore
import VltavaStorage

/// A committed offset as OffsetCommit stores it and OffsetFetch returns it.
public struct CommittedOffset: Sendable, Equatable {
    public var offset: Int64
    public var leaderEpoch: Int32
    public var metadata: String
    public var commitTimestampMs: Int64
    /// Set only by OffsetCommit v2-v4 with a retention time; otherwise expiry follows `offsets.retention.minutes`.
    public var expireTimestampMs: Int64?
    /// The offset of its record in `__consumer_offsets` (-1 until written): when a transaction commits, its offset
    /// replaces a committed one only if its record is the later one, as Kafka orders them, so that a compacted
    /// log reloads to the same offsets.
    public var recordOffset: Int64

    public init(offset: Int64, leaderEpoch: Int32 = -1, metadata: String = "", commitTimestampMs: Int64,
                expireTimestampMs: Int64? = nil, recordOffset: Int64 = -1) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestampMs = commitTimestampMs
        self.expireTimestampMs = expireTimestampMs
        self.recordOffset = recordOffset
    }
}

/// One record of `__consumer_offsets`, decoded.
public enum OffsetsTopicEntry: Sendable, Equatable {
    /// A committed offset, or its deletion (a tombstone).
    case offsetCommit(group: String, TopicPartition, CommittedOffset?)
    /// A group's metadata, or its deletion (a tombstone).
    case groupMetadata(group: String, GroupMetadataValue?)
    /// A record of a consumer group (KIP-848).
    case consumerGroup(ConsumerGroupRecord)
}

/// The internal compacted topic `__consumer_offsets` in Kafka's own format, so that Kafka's tools can read it:
/// each key and value is an int16 schema version followed by the record of that version
/// (`OffsetCommitKey` v0/v1, `GroupMetadataKey` v2; values `OffsetCommitValue` and `GroupMetadataValue`); a
/// deletion is a record with a null value.
public enum OffsetsTopic {
    public static let name = "__consumer_offsets"
    /// Kafka's default `offsets.topic.num.partitions`.
    public static let defaultPartitionCount: Int32 = 50
    /// The topic configs Kafka gives it.
    public static let topicConfigs = ["cleanup.policy": "compact", "segment.bytes": "104857600", "compression.type": "producer"]

    /// The partition holding a group: `abs(groupId.hashCode()) % count` with Java's String.hashCode and Kafka's
    /// `Utils.abs` (which maps Int.min to 0), so Kafka's tools look for a group where Vltava writes it.
    public static func partition(for groupId: String, partitionCount: Int32) -> Int32 {
        var hash: Int32 = 0
        for unit in groupId.utf16 {
            hash = hash &* 31 &+ Int32(unit)
        }
        return (hash & 0x7fff_ffff) % partitionCount
    }

    /// The longest string a record of this topic can hold: its keys and values use int16-length strings.
    public static let maximumStringBytes = Int(Int16.max)

    /// The key and value of an offset commit record (key v1, value v3; v1 with an explicit expiry). Throws when a
    /// string is too long for the record's int16 length (requests are checked before they get here).
    public static func offsetCommitRecord(group: String, _ topicPartition: TopicPartition, _ offset: CommittedOffset?)
        throws(KafkaProtocolError) -> (key: ByteBuffer, value: ByteBuffer?) {
        let key = try encode(OffsetCommitKey(group: group, topic: topicPartition.topic, partition: topicPartition.partition), version: 1)
        guard let offset else { return (key, nil) }
        var value = OffsetCommitValue()
        value.offset = offset.offset
        value.metadata = offset.metadata
        value.commitTimestamp = offset.commitTimestampMs
        if let expire = offset.expireTimestampMs {
            value.expireTimestamp = expire
            return (key, try encode(value, version: 1))
        }
        value.leaderEpoch = offset.leaderEpoch
        return (key, try encode(value, version: 3))
    }

    /// The key and value of a group metadata record (key v2, value v3).
    public static func groupMetadataRecord(group: String, _ value: GroupMetadataValue?)
        throws(KafkaProtocolError) -> (key: ByteBuffer, value: ByteBuffer?) {
        let key = try encode(GroupMetadataKey(group: group), version: 2)
        guard let value else { return (key, nil) }
        return (key, try encode(value, version: 3))
    }

    static func encode<Message: KafkaMessage>(_ message: Message, version: Int16) throws(KafkaProtocolError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        buffer.writeInteger(version, endianness: .big)
        try message.write(to: &buffer, version: version)
        return buffer
    }

    /// Decodes one record; nil for a key version this broker does not know (Kafka skips those too).
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws(KafkaProtocolError) -> OffsetsTopicEntry? {
        var key = key
        let keyVersion = try key.readKafkaInt16()
        switch keyVersion {
        case 0, 1:
            let record = try OffsetCommitKey(from: &key, version: keyVersion)
            let topicPartition = TopicPartition(topic: record.topic, partition: record.partition)
            guard var bytes = value else { return .offsetCommit(group: record.group, topicPartition, nil) }
            let valueVersion = try bytes.readKafkaInt16()
            guard OffsetCommitValue.validVersions.contains(valueVersion) else { return nil }
            let decoded = try OffsetCommitValue(from: &bytes, version: valueVersion)
            return .offsetCommit(group: record.group, topicPartition, CommittedOffset(
                offset: decoded.offset, leaderEpoch: decoded.leaderEpoch, metadata: decoded.metadata,
                commitTimestampMs: decoded.commitTimestamp,
                expireTimestampMs: decoded.expireTimestamp >= 0 ? decoded.expireTimestamp : nil))
        case 2:
            let record = try GroupMetadataKey(from: &key, version: keyVersion)
            guard var bytes = value else { return .groupMetadata(group: record.group, nil) }
            let valueVersion = try bytes.readKafkaInt16()
            guard GroupMetadataValue.validVersions.contains(valueVersion) else { return nil }
            return .groupMetadata(group: record.group, try GroupMetadataValue(from: &bytes, version: valueVersion))
        case 3...8:
            return try decodeConsumerGroupRecord(keyVersion: keyVersion, key: &key, value: value).map { .consumerGroup($0) }
        default:
            return nil
        }
    }
}
