/// The records MirrorMaker 2 writes to its internal topics, in Kafka's binary `Struct` encoding (a STRING is an INT16
/// length and UTF-8 bytes, integers big-endian), so Kafka's MirrorMaker, `MirrorClient` and the `*Formatter`s of
/// `kafka-console-consumer` read Vltava's records and the other way round.
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

    public var key: [UInt8] {
        var writer = MirrorStructWriter()
        writer.string(topic)
        writer.int32(partition)
        return writer.bytes
    }

    public var value: [UInt8] {
        var writer = MirrorStructWriter()
        writer.int64(upstreamOffset)
        writer.int64(downstreamOffset)
        return writer.bytes
    }

    /// Reads a record of the offset-syncs topic.
    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        var keyReader = MirrorStructReader(key, what: "offset sync key")
        topic = try keyReader.string()
        partition = try keyReader.int32()
        var valueReader = MirrorStructReader(value, what: "offset sync value")
        upstreamOffset = try valueReader.int64()
        downstreamOffset = try valueReader.int64()
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

    public var key: [UInt8] {
        var writer = MirrorStructWriter()
        writer.string(group)
        writer.string(topic)
        writer.int32(partition)
        return writer.bytes
    }

    public var value: [UInt8] {
        var writer = MirrorStructWriter()
        writer.int16(0)
        writer.int64(upstreamOffset)
        writer.int64(downstreamOffset)
        writer.string(metadata)
        return writer.bytes
    }

    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        var keyReader = MirrorStructReader(key, what: "checkpoint key")
        group = try keyReader.string()
        topic = try keyReader.string()
        partition = try keyReader.int32()
        var valueReader = MirrorStructReader(value, what: "checkpoint value")
        let version = try valueReader.int16()
        guard version == 0 else { throw .data("checkpoint value has version \(version); only version 0 is known") }
        upstreamOffset = try valueReader.int64()
        downstreamOffset = try valueReader.int64()
        metadata = try valueReader.string()
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
        var writer = MirrorStructWriter()
        writer.string(sourceClusterAlias)
        writer.string(targetClusterAlias)
        return writer.bytes
    }

    public var value: [UInt8] {
        var writer = MirrorStructWriter()
        writer.int16(0)
        writer.int64(timestamp)
        return writer.bytes
    }

    public init(key: [UInt8], value: [UInt8]) throws(ConnectError) {
        var keyReader = MirrorStructReader(key, what: "heartbeat key")
        sourceClusterAlias = try keyReader.string()
        targetClusterAlias = try keyReader.string()
        var valueReader = MirrorStructReader(value, what: "heartbeat value")
        let version = try valueReader.int16()
        guard version == 0 else { throw .data("heartbeat value has version \(version); only version 0 is known") }
        timestamp = try valueReader.int64()
    }

    /// The heartbeat's source partition as Kafka's MirrorHeartbeatTask stores it.
    var sourcePartition: ConnectValue {
        .map([.init(key: .string("sourceClusterAlias"), value: .string(sourceClusterAlias)),
              .init(key: .string("targetClusterAlias"), value: .string(targetClusterAlias))])
    }
}

/// Writes fields the way Kafka's `Schema.write` does.
struct MirrorStructWriter {
    var bytes: [UInt8] = []

    mutating func int16(_ value: Int16) { append(UInt64(UInt16(bitPattern: value)), width: 2) }
    mutating func int32(_ value: Int32) { append(UInt64(UInt32(bitPattern: value)), width: 4) }
    mutating func int64(_ value: Int64) { append(UInt64(bitPattern: value), width: 8) }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8.prefix(Int(Int16.max)))
        int16(Int16(utf8.count))
        bytes += utf8
    }

    private mutating func append(_ value: UInt64, width: Int) {
        for index in stride(from: width - 1, through: 0, by: -1) { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}

/// Reads fields the way Kafka's `Schema.read` does; running short is an error naming what was read.
struct MirrorStructReader {
    let bytes: [UInt8]
    let what: String
    var position = 0

    init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.what = what
    }

    mutating func int16() throws(ConnectError) -> Int16 { Int16(truncatingIfNeeded: try read(width: 2)) }
    mutating func int32() throws(ConnectError) -> Int32 { Int32(truncatingIfNeeded: try read(width: 4)) }
    mutating func int64() throws(ConnectError) -> Int64 { Int64(bitPattern: try read(width: 8)) }

    mutating func string() throws(ConnectError) -> String {
        let length = Int(try int16())
        guard length >= 0 else { throw .data("\(what): a string has the negative length \(length)") }
        guard position + length <= bytes.count else { throw .data("\(what) ends inside a string") }
        defer { position += length }
        return String(decoding: bytes[position..<position + length], as: UTF8.self)
    }

    private mutating func read(width: Int) throws(ConnectError) -> UInt64 {
        guard position + width <= bytes.count else { throw .data("\(what) is too short (\(bytes.count) bytes)") }
        var value: UInt64 = 0
        for index in position..<position + width { value = value << 8 | UInt64(bytes[index]) }
        position += width
        return value
    }
}
