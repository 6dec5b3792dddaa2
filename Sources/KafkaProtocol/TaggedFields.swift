import NIOCore

/// A tagged field of a flexible message version that this build does not know: kept as raw bytes and
/// written back unchanged so that a message passes through without loss.
public struct TaggedField: Hashable, Sendable {
    /// The field's tag number.
    public var tag: UInt32
    /// The field's encoded value.
    public var data: ByteBuffer

    public init(tag: UInt32, data: ByteBuffer) {
        self.tag = tag
        self.data = data
    }
}

extension ByteBuffer {
    /// Reads the count of a tagged-field section; every field takes at least two bytes.
    @inlinable
    public mutating func readKafkaTaggedFieldCount() throws(KafkaProtocolError) -> Int {
        let count = Int(try readKafkaUnsignedVarint())
        if count * 2 > self.readableBytes {
            throw .lengthExceedsRemaining(length: Int64(count), remaining: self.readableBytes)
        }
        return count
    }

    /// Reads one tagged field's header and returns its tag and value bytes.
    @inlinable
    public mutating func readKafkaTaggedField() throws(KafkaProtocolError) -> TaggedField {
        let tag = try readKafkaUnsignedVarint()
        let size = Int(try readKafkaUnsignedVarint())
        return TaggedField(tag: tag, data: try readKafkaSlice(length: size))
    }

    /// Writes a tagged-field section: the count, then each field in ascending tag order.
    @inlinable
    public mutating func writeKafkaTaggedFields(_ fields: [TaggedField]) {
        writeKafkaUnsignedVarint(UInt32(fields.count))
        if fields.isEmpty { return }
        for field in fields.sorted(by: { $0.tag < $1.tag }) {
            writeKafkaUnsignedVarint(field.tag)
            writeKafkaUnsignedVarint(UInt32(field.data.readableBytes))
            var data = field.data
            self.writeBuffer(&data)
        }
    }
}
