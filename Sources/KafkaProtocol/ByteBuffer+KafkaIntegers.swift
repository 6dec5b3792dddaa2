import NIOCore

/// Fixed-width Kafka primitives, big-endian, each checked against the bytes remaining.
extension ByteBuffer {
    @inlinable
    mutating func readKafkaFixedWidth<T: FixedWidthInteger>(as type: T.Type = T.self) throws(KafkaProtocolError) -> T {
        guard let value = self.readInteger(endianness: .big, as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: self.readableBytes)
        }
        return value
    }

    @inlinable public mutating func readKafkaInt8() throws(KafkaProtocolError) -> Int8 { try readKafkaFixedWidth() }
    @inlinable public mutating func readKafkaInt16() throws(KafkaProtocolError) -> Int16 { try readKafkaFixedWidth() }
    @inlinable public mutating func readKafkaUInt16() throws(KafkaProtocolError) -> UInt16 { try readKafkaFixedWidth() }
    @inlinable public mutating func readKafkaInt32() throws(KafkaProtocolError) -> Int32 { try readKafkaFixedWidth() }
    @inlinable public mutating func readKafkaUInt32() throws(KafkaProtocolError) -> UInt32 { try readKafkaFixedWidth() }
    @inlinable public mutating func readKafkaInt64() throws(KafkaProtocolError) -> Int64 { try readKafkaFixedWidth() }

    /// Kafka's BOOLEAN: one byte, zero is false and anything else true.
    @inlinable public mutating func readKafkaBool() throws(KafkaProtocolError) -> Bool {
        try readKafkaInt8() != 0
    }

    /// Kafka's FLOAT64: an IEEE 754 double, big-endian.
    @inlinable public mutating func readKafkaFloat64() throws(KafkaProtocolError) -> Double {
        Double(bitPattern: try readKafkaFixedWidth(as: UInt64.self))
    }

    /// Kafka's UUID: two big-endian 64-bit halves.
    @inlinable public mutating func readKafkaUUID() throws(KafkaProtocolError) -> KafkaUUID {
        guard self.readableBytes >= 16 else { throw .truncated(needed: 16, available: self.readableBytes) }
        let high: UInt64 = try readKafkaFixedWidth()
        let low: UInt64 = try readKafkaFixedWidth()
        return KafkaUUID(mostSignificantBits: high, leastSignificantBits: low)
    }

    @inlinable public mutating func writeKafkaInt8(_ value: Int8) { self.writeInteger(value) }
    @inlinable public mutating func writeKafkaInt16(_ value: Int16) { self.writeInteger(value, endianness: .big) }
    @inlinable public mutating func writeKafkaUInt16(_ value: UInt16) { self.writeInteger(value, endianness: .big) }
    @inlinable public mutating func writeKafkaInt32(_ value: Int32) { self.writeInteger(value, endianness: .big) }
    @inlinable public mutating func writeKafkaUInt32(_ value: UInt32) { self.writeInteger(value, endianness: .big) }
    @inlinable public mutating func writeKafkaInt64(_ value: Int64) { self.writeInteger(value, endianness: .big) }
    @inlinable public mutating func writeKafkaBool(_ value: Bool) { self.writeInteger(value ? 1 : 0 as UInt8) }
    @inlinable public mutating func writeKafkaFloat64(_ value: Double) {
        self.writeInteger(value.bitPattern, endianness: .big)
    }
    @inlinable public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        self.writeInteger(value.mostSignificantBits, endianness: .big)
        self.writeInteger(value.leastSignificantBits, endianness: .big)
    }
}
