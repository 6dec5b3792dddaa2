import KafkaRecords
import NIOCore

/// A record to produce.
public struct ProducerRecord: Hashable, Sendable {
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// Milliseconds since the epoch; nil for the time of sending.
    public var timestamp: Int64?

    public init(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// How many replicas must have a produced batch before the leader answers.
public enum Acks: Int16, Hashable, Sendable {
    /// The leader does not answer at all.
    case none = 0
    /// The leader answers once it has appended the batch.
    case leader = 1
    /// The leader answers once every in-sync replica has the batch.
    case all = -1
}

/// Where a produced batch landed.
public struct ProduceResult: Hashable, Sendable {
    public var partition: Int32
    /// The offset of the batch's first record; -1 with `Acks.none`.
    public var baseOffset: Int64
    public var recordCount: Int
}

/// A record read from a partition.
public struct ConsumedRecord: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Milliseconds since the epoch.
    public var timestamp: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(
        topic: String, partition: Int32, offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Which offset ListOffsets looks up.
public enum OffsetSpec: Hashable, Sendable {
    /// The log start offset.
    case earliest
    /// The log end offset (the high watermark): where the next record will go.
    case latest
    /// The first offset whose timestamp is at or after these milliseconds since the epoch.
    case timestamp(Int64)

    var wireTimestamp: Int64 {
        switch self {
        case .earliest: return -2
        case .latest: return -1
        case let .timestamp(milliseconds): return milliseconds
        }
    }
}

/// What one Fetch returned for one partition.
public struct FetchedPartition: Hashable, Sendable {
    public var partition: Int32
    /// Data records at or after the requested offset, in offset order (control records are left out).
    public var records: [ConsumedRecord]
    public var highWatermark: Int64
    /// Where the next fetch of the partition should start.
    public var nextOffset: Int64
}

/// What one Fetch returned for one partition, as the broker sent it: whole v2 record batches, of which the first may
/// begin before the requested offset and the last may be cut short.
public struct FetchedRecordBatches: Hashable, Sendable {
    public var partition: Int32
    /// The batches' bytes; nil when the partition had none.
    public var records: ByteBuffer?
    public var highWatermark: Int64
}

/// One partition's record batch, encoded already (one v2 batch, offsets from 0, as a producer sends it).
public struct EncodedRecordBatch: Hashable, Sendable {
    public var partition: Int32
    public var bytes: ByteBuffer
    public var recordCount: Int

    public init(partition: Int32, bytes: ByteBuffer, recordCount: Int) {
        self.partition = partition
        self.bytes = bytes
        self.recordCount = recordCount
    }
}
