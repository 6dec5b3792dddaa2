import NIOCore

/// Kafka's variable-length integers: unsigned LEB128 (UNSIGNED_VARINT) and zigzag-encoded VARINT / VARLONG.
/// A value longer than its type's maximum width (5 bytes for 32 bits, 10 for 64) is rejected.
extension ByteBuffer {
    @inlinable
    mutating func readKafkaUnsignedVarint64(maximumBytes: Int) throws(KafkaProtocolError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = self.readerIndex
        let end = self.readerIndex + self.readableBytes
        for _ in 0..<maximumBytes {
            guard index < end, let byte = self.getInteger(at: index, as: UInt8.self) else {
                throw .truncated(needed: index - self.readerIndex + 1, available: self.readableBytes)
            }
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if maximumBytes == 5 && result > UInt64(UInt32.max) { throw .varintTooLong }
                self.moveReaderIndex(to: index)
                return result
            }
            shift += 7
        }
        throw .varintTooLong
    }

    /// UNSIGNED_VARINT: at most 5 bytes.
    @inlinable public mutating func readKafkaUnsignedVarint() throws(KafkaProtocolError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readKafkaUnsignedVarint64(maximumBytes: 5))
    }

    /// VARINT: zigzag-encoded 32-bit signed integer, at most 5 bytes.
    @inlinable public mutating func readKafkaVarint() throws(KafkaProtocolError) -> Int32 {
        let raw = UInt32(truncatingIfNeeded: try readKafkaUnsignedVarint64(maximumBytes: 5))
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// VARLONG: zigzag-encoded 64-bit signed integer, at most 10 bytes.
    @inlinable public mutating func readKafkaVarlong() throws(KafkaProtocolError) -> Int64 {
        let raw = try readKafkaUnsignedVarint64(maximumBytes: 10)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A one-byte value is one write; a longer one is assembled in place with one capacity and uniqueness check
    /// (writing byte by byte checks both per byte).
    @inlinable
    public mutating func writeKafkaUnsignedVarint64(_ value: UInt64) {
        if value < 0x80 {
            self.writeInteger(UInt8(truncatingIfNeeded: value))
            return
        }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: 10) { bytes in
            var value = value
            var count = 0
            while value >= 0x80 {
                bytes[count] = UInt8(truncatingIfNeeded: value) | 0x80
                value >>= 7
                count += 1
            }
            bytes[count] = UInt8(truncatingIfNeeded: value)
            return count + 1
        }
    }

    @inlinable public mutating func writeKafkaUnsignedVarint(_ value: UInt32) { writeKafkaUnsignedVarint64(UInt64(value)) }

    @inlinable public mutating func writeKafkaVarint(_ value: Int32) {
        writeKafkaUnsignedVarint64(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    @inlinable public mutating func writeKafkaVarlong(_ value: Int64) {
        writeKafkaUnsignedVarint64(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// The encoded width of an unsigned varint.
    @inlinable public static func kafkaUnsignedVarintSize(_ value: UInt64) -> Int {
        var size = 1
        var value = value >> 7
        while value != 0 { size += 1; value >>= 7 }
        return size
    }

    /// The encoded width of a zigzag VARINT.
    @inlinable public static func kafkaVarintSize(_ value: Int32) -> Int {
        kafkaUnsignedVarintSize(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    /// The encoded width of a zigzag VARLONG.
    @inlinable public static func kafkaVarlongSize(_ value: Int64) -> Int {
        kafkaUnsignedVarintSize(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }
}
