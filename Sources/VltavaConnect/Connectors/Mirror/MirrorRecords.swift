import KafkaProtocol
import NIOCore

/// The records MirrorMaker 2 writes to its internal topics, in Kafka's binary `Struct` encoding (a STRING is an INT16
/// length and UTF-8 bytes, integers big-endian), so Kafka's MirrorMaker, `MirrorClient` and the `*Formatter`s of
/// `kafka-console-consumer` read Vltava's records and the other way round. The codecs are generated from
/// `Sources/vltava-protocol-gen/Specs/Mirror*.json`.
///
/// `OffsetSync` (in `mm2-offset-syncs.<target>.internal`): key `topic` STRING, `partition` INT32; value
/// `upstreamOffset` INT64, `offset` INT64, without a version.
public struct OffsetSync: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var upstreamOffset: Int64
    public var downstreamOffset: Int64

    public init(topic: String, partition: Int32, upstreamOffset: Int64, downstreamOffset: Int64) {
        self.topic = topic
        self.partition = partition
        self.upstreamOffset = upstreamOffset
        self.downstreamOffset = downstreamOffset
    }

    public var key: [UInt8] { get throws(ConnectError) { try MirrorRecordCodec.bytes(MirrorOffsetSyncKey(topic: topic, partition: partition)) } }

    public var value: [UInt8] {
        get throws(ConnectError) { try MirrorRecordCodec.bytes(MirrorOffsetSyncValue(upstreamOffset: upstreamOffset, offset: downstreamOffset)) }
    }

    /// Reads a record of the offset-syncs topic.
    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        let key = try MirrorRecordCodec.read(MirrorOffsetSyncKey.self, key, what: "offset sync key")
        let value = try MirrorRecordCodec.read(MirrorOffsetSyncValue.self, value, what: "offset sync value")
        self.init(topic: key.topic, partition: key.partition, upstreamOffset: value.upstreamOffset, downstreamOffset: value.offset)
    }
}

/// A consumer group's offset translated to the target (in `<source>.checkpoints.internal`): key `group` STRING,
/// `topic` STRING (the remote topic), `partition` INT32; value a header `version` INT16 (0), then `upstreamOffset`
/// INT64, `offset` INT64, `metadata` STRING.
public struct Checkpoint: Sendable, Hashable {
    public var group: String
    public var topic: String
    public var partition: Int32
    public var upstreamOffset: Int64
    public var downstreamOffset: Int64
    public var metadata: String

    public init(group: String, topic: String, partition: Int32, upstreamOffset: Int64, downstreamOffset: Int64, metadata: String) {
        self.group = group
        self.topic = topic
        self.partition = partition
        self.upstreamOffset = upstreamOffset
        self.downstreamOffset = downstreamOffset
        self.metadata = metadata
    }

    public var key: [UInt8] { get throws(ConnectError) { try MirrorRecordCodec.bytes(MirrorCheckpointKey(group: group, topic: topic, partition: partition)) } }

    public var value: [UInt8] {
        get throws(ConnectError) {
            try MirrorRecordCodec.bytes(MirrorCheckpointValue(upstreamOffset: upstreamOffset, offset: downstreamOffset, metadata: metadata),
                                        versionHeader: true)
        }
    }

    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        let key = try MirrorRecordCodec.read(MirrorCheckpointKey.self, key, what: "checkpoint key")
        let value = try MirrorRecordCodec.read(MirrorCheckpointValue.self, value, what: "checkpoint value", versionHeader: true)
        self.init(group: key.group, topic: key.topic, partition: key.partition, upstreamOffset: value.upstreamOffset,
                  downstreamOffset: value.offset, metadata: value.metadata)
    }

    /// The checkpoint's source partition as Kafka's MirrorCheckpointTask stores it.
    var sourcePartition: ConnectValue {
        .map([.init(key: .string("group"), value: .string(group)), .init(key: .string("partition"), value: .int32(partition)),
              .init(key: .string("topic"), value: .string(topic))])
    }
}

/// A heartbeat (in `heartbeats`): key `sourceClusterAlias` STRING, `targetClusterAlias` STRING; value a header
/// `version` INT16 (0), then `timestamp` INT64 (milliseconds since the epoch).
public struct Heartbeat: Sendable, Hashable {
    public var sourceClusterAlias: String
    public var targetClusterAlias: String
    public var timestamp: Int64

    public init(sourceClusterAlias: String, targetClusterAlias: String, timestamp: Int64) {
        self.sourceClusterAlias = sourceClusterAlias
        self.targetClusterAlias = targetClusterAlias
        self.timestamp = timestamp
    }

    public var key: [UInt8] {
        get throws(ConnectError) {
            try MirrorRecordCodec.bytes(MirrorHeartbeatKey(sourceClusterAlias: sourceClusterAlias, targetClusterAlias: targetClusterAlias))
        }
    }

    public var value: [UInt8] { get throws(ConnectError) { try MirrorRecordCodec.bytes(MirrorHeartbeatValue(timestamp: timestamp), versionHeader: true) } }

    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        let key = try MirrorRecordCodec.read(MirrorHeartbeatKey.self, key, what: "heartbeat key")
        let value = try MirrorRecordCodec.read(MirrorHeartbeatValue.self, value, what: "heartbeat value", versionHeader: true)
        self.init(sourceClusterAlias: key.sourceClusterAlias, targetClusterAlias: key.targetClusterAlias, timestamp: value.timestamp)
    }

    /// The heartbeat's source partition as Kafka's MirrorHeartbeatTask stores it.
    var sourcePartition: ConnectValue {
        .map([.init(key: .string("sourceClusterAlias"), value: .string(sourceClusterAlias)),
              .init(key: .string("targetClusterAlias"), value: .string(targetClusterAlias))])
    }
}

/// The generated codecs of the records as bytes: version 0, and the int16 version header (0) first for the values
/// Kafka gives one. A value of another version, or bytes that end early, is a data error naming what was read.
enum MirrorRecordCodec {
    static func bytes<Message: KafkaMessage>(_ message: Message, versionHeader: Bool = false) throws(ConnectError) -> [UInt8] {
        var buffer = ByteBuffer()
        if versionHeader { buffer.writeInteger(Int16(0)) }
        do {
            try message.write(to: &buffer, version: 0)
        } catch {
            // A STRING longer than an INT16 length (a group id or commit metadata), as Kafka's Struct refuses it too.
            throw .data("cannot write MirrorMaker's \(Message.self): \(error)")
        }
        return Array(buffer.readableBytesView)
    }

    static func read<Message: KafkaMessage>(_ type: Message.Type, _ bytes: [UInt8], what: String, versionHeader: Bool = false)
        throws(ConnectError) -> Message {
        var buffer = ByteBuffer(bytes: bytes)
        if versionHeader {
            guard let version: Int16 = buffer.readInteger() else { throw .data("\(what) is too short (\(bytes.count) bytes)") }
            guard version == 0 else { throw .data("\(what) has version \(version); only version 0 is known") }
        }
        do {
            return try Message(from: &buffer, version: 0)
        } catch {
            throw .data("\(what) cannot be read (\(bytes.count) bytes): \(error)")
        }
    }
}
