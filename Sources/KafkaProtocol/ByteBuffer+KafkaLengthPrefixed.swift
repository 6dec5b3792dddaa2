import NIOCore

/// Kafka's length-prefixed values: (compact) (nullable) strings, bytes and arrays.
///
/// Every length is checked against the bytes remaining before anything is read or allocated, so a
/// small payload that claims a huge string or array fails at once.
extension ByteBuffer {
    /// Reads a classic (INT16 for strings, INT32 for bytes/arrays) or compact (UNSIGNED_VARINT, N+1) length.
    /// Returns nil for the null marker. `minimumElementSize` bounds element counts of arrays by the bytes left.
    @inlinable
    mutating func readKafkaLength(compact: Bool, sixteenBit: Bool, minimumElementSize: Int) throws(KafkaProtocolError) -> Int? {
        let length: Int64
        if compact {
            length = Int64(try readKafkaUnsignedVarint()) - 1
        } else if sixteenBit {
            length = Int64(try readKafkaInt16())
        } else {
            length = Int64(try readKafkaInt32())
        }
        if length == -1 { return nil }
        if length < -1 { throw .negativeLength(length) }
        if length * Int64(minimumElementSize) > Int64(self.readableBytes) {
            throw .lengthExceedsRemaining(length: length, remaining: self.readableBytes)
        }
        return Int(length)
    }

    /// A byte slice of `length` bytes, sharing storage with this buffer.
    @inlinable
    public mutating func readKafkaSlice(length: Int) throws(KafkaProtocolError) -> ByteBuffer {
        guard length >= 0 else { throw .negativeLength(Int64(length)) }
        guard let slice = self.readSlice(length: length) else {
            throw .lengthExceedsRemaining(length: Int64(length), remaining: self.readableBytes)
        }
        return slice
    }

    @inlinable
    mutating func readKafkaUTF8(length: Int) throws(KafkaProtocolError) -> String {
        guard let string = self.readString(length: length) else {
            throw .lengthExceedsRemaining(length: Int64(length), remaining: self.readableBytes)
        }
        return string
    }

    /// STRING or COMPACT_STRING; null is an error naming `field`.
    @inlinable
    public mutating func readKafkaString(compact: Bool, field: StaticString = "string") throws(KafkaProtocolError) -> String {
        guard let length = try readKafkaLength(compact: compact, sixteenBit: true, minimumElementSize: 1) else {
            throw .unexpectedNull(field: "\(field)")
        }
        return try readKafkaUTF8(length: length)
    }

    /// NULLABLE_STRING or COMPACT_NULLABLE_STRING.
    @inlinable
    public mutating func readKafkaNullableString(compact: Bool) throws(KafkaProtocolError) -> String? {
        guard let length = try readKafkaLength(compact: compact, sixteenBit: true, minimumElementSize: 1) else {
            return nil
        }
        return try readKafkaUTF8(length: length)
    }

    /// BYTES or COMPACT_BYTES, as a slice of this buffer; null is an error naming `field`.
    @inlinable
    public mutating func readKafkaBytes(compact: Bool, field: StaticString = "bytes") throws(KafkaProtocolError) -> ByteBuffer {
        guard let length = try readKafkaLength(compact: compact, sixteenBit: false, minimumElementSize: 1) else {
            throw .unexpectedNull(field: "\(field)")
        }
        return try readKafkaSlice(length: length)
    }

    /// NULLABLE_BYTES or COMPACT_NULLABLE_BYTES (also RECORDS), as a slice of this buffer.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool) throws(KafkaProtocolError) -> ByteBuffer? {
        guard let length = try readKafkaLength(compact: compact, sixteenBit: false, minimumElementSize: 1) else {
            return nil
        }
        return try readKafkaSlice(length: length)
    }

    /// The element count of an ARRAY or COMPACT_ARRAY, nil for null. The count times
    /// `minimumElementSize` (at least 1) must fit in the bytes remaining.
    @inlinable
    public mutating func readKafkaArrayCount(compact: Bool, minimumElementSize: Int) throws(KafkaProtocolError) -> Int? {
        try readKafkaLength(compact: compact, sixteenBit: false, minimumElementSize: Swift.max(1, minimumElementSize))
    }

    /// Fails unless the buffer has been read to its end.
    @inlinable
    public func expectFullyConsumed() throws(KafkaProtocolError) {
        if self.readableBytes != 0 { throw .trailingBytes(self.readableBytes) }
    }

    @inlinable
    mutating func writeKafkaLength(_ length: Int, compact: Bool, sixteenBit: Bool) {
        if compact {
            writeKafkaUnsignedVarint64(UInt64(length + 1))
        } else if sixteenBit {
            writeKafkaInt16(Int16(truncatingIfNeeded: length))
        } else {
            writeKafkaInt32(Int32(truncatingIfNeeded: length))
        }
    }

    @inlinable
    mutating func writeKafkaNullMarker(compact: Bool, sixteenBit: Bool) {
        if compact {
            writeKafkaUnsignedVarint64(0)
        } else if sixteenBit {
            writeKafkaInt16(-1)
        } else {
            writeKafkaInt32(-1)
        }
    }

    /// STRING or COMPACT_STRING. Strings longer than 32767 bytes fail in classic encoding.
    @inlinable
    public mutating func writeKafkaString(_ value: String, compact: Bool) throws(KafkaProtocolError) {
        let count = value.utf8.count
        if !compact && count > Int(Int16.max) { throw .valueOutOfRange(field: "string length") }
        writeKafkaLength(count, compact: compact, sixteenBit: true)
        self.writeString(value)
    }

    /// NULLABLE_STRING or COMPACT_NULLABLE_STRING.
    @inlinable
    public mutating func writeKafkaNullableString(_ value: String?, compact: Bool) throws(KafkaProtocolError) {
        guard let value else {
            writeKafkaNullMarker(compact: compact, sixteenBit: true)
            return
        }
        try writeKafkaString(value, compact: compact)
    }

    /// BYTES or COMPACT_BYTES.
    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer, compact: Bool) {
        writeKafkaLength(value.readableBytes, compact: compact, sixteenBit: false)
        var copy = value
        self.writeBuffer(&copy)
    }

    /// NULLABLE_BYTES or COMPACT_NULLABLE_BYTES (also RECORDS).
    @inlinable
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, compact: Bool) {
        guard let value else {
            writeKafkaNullMarker(compact: compact, sixteenBit: false)
            return
        }
        writeKafkaBytes(value, compact: compact)
    }

    /// The count of an ARRAY or COMPACT_ARRAY.
    @inlinable
    public mutating func writeKafkaArrayCount(_ count: Int, compact: Bool) {
        writeKafkaLength(count, compact: compact, sixteenBit: false)
    }

    /// The null marker of a nullable ARRAY or COMPACT_ARRAY.
    @inlinable
    public mutating func writeKafkaNullArray(compact: Bool) {
        writeKafkaNullMarker(compact: compact, sixteenBit: false)
    }
}
