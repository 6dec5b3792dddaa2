import NIOCore

/// The type in a control record's key.
public struct ControlRecordType: RawRepresentable, Hashable, Sendable {
    /// The type as written in the key.
    public var rawValue: Int16
    /// A type by its number, including ones this build does not name.
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// The transaction was aborted.
    public static let abort = ControlRecordType(rawValue: 0)
    /// The transaction was committed.
    public static let commit = ControlRecordType(rawValue: 1)
}

/// A transaction marker: the one record of a control batch that ends a transaction.
///
/// Key: version int16 (0), type int16. Value (the end transaction marker): version int16 (0),
/// coordinatorEpoch int32.
public struct ControlRecord: Hashable, Sendable {
    /// Whether the transaction committed or aborted.
    public var type: ControlRecordType
    /// The epoch of the transaction coordinator that wrote the marker.
    public var coordinatorEpoch: Int32

    /// A marker of the given type from a coordinator epoch.
    public init(type: ControlRecordType, coordinatorEpoch: Int32) {
        self.type = type
        self.coordinatorEpoch = coordinatorEpoch
    }

    /// Reads the marker from a record of a control batch.
    public init(_ record: Record) throws(RecordBatchError) {
        guard var key = record.key else { throw .invalidControlRecord("null key") }
        guard key.readableBytes >= 4, let version = key.readInteger(endianness: .big, as: Int16.self),
              let type = key.readInteger(endianness: .big, as: Int16.self)
        else { throw .invalidControlRecord("key of \(record.key?.readableBytes ?? 0) bytes, 4 needed") }
        guard version >= 0 else { throw .invalidControlRecord("key version \(version)") }
        self.type = ControlRecordType(rawValue: type)
        guard var value = record.value, value.readableBytes >= 6,
              let valueVersion = value.readInteger(endianness: .big, as: Int16.self),
              let epoch = value.readInteger(endianness: .big, as: Int32.self)
        else { throw .invalidControlRecord("end transaction marker value shorter than 6 bytes") }
        guard valueVersion >= 0 else { throw .invalidControlRecord("value version \(valueVersion)") }
        coordinatorEpoch = epoch
    }

    /// The record that carries the marker, at offset delta 0.
    public func record(timestampDelta: Int64 = 0) -> Record {
        var key = ByteBufferAllocator().buffer(capacity: 4)
        key.writeInteger(Int16(0), endianness: .big)
        key.writeInteger(type.rawValue, endianness: .big)
        var value = ByteBufferAllocator().buffer(capacity: 6)
        value.writeInteger(Int16(0), endianness: .big)
        value.writeInteger(coordinatorEpoch, endianness: .big)
        return Record(offsetDelta: 0, timestampDelta: timestampDelta, key: key, value: value)
    }

    /// A control batch holding this marker, as the transaction coordinator writes it for a producer.
    public func batch(producerId: Int64, producerEpoch: Int16, timestamp: Int64) -> RecordBatch {
        RecordBatch(
            isTransactional: true, isControl: true, baseTimestamp: timestamp, producerId: producerId,
            producerEpoch: producerEpoch, records: [record()])
    }
}
