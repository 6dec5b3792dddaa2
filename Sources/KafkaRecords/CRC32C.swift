import CVltavaCompression
import NIOCore

/// CRC32C (Castagnoli), the checksum of Kafka's record batches (magic 2).
///
/// Uses the SSE4.2 `crc32` instruction when the CPU has it and a slicing-by-8 table otherwise.
public enum CRC32C {
    /// The checksum of `bytes`.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, with: bytes)
    }

    /// The checksum of a buffer's readable bytes, read in place.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// Continues `checksum` (a value returned by `checksum` or `update`) over more bytes.
    public static func update(_ checksum: UInt32, with bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return checksum }
        if hardwareAvailable {
            return ~vltava_crc32c_hardware(~checksum, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return ~softwareUpdate(~checksum, bytes)
    }

    static let hardwareAvailable = vltava_crc32c_hardware_available() != 0

    /// Eight 256-entry tables, one after the other: table k maps a byte to its CRC followed by k zero bytes.
    static let tables: [UInt32] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[byte] = crc
        }
        for table in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(table - 1) * 256 + byte]
                tables[table * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The table-driven checksum, whatever the CPU has; for tests and benchmarks of the fallback.
    @_spi(Testing)
    public static func softwareChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        ~softwareUpdate(0xFFFF_FFFF, bytes)
    }

    /// Slicing-by-8 over the running (pre-inverted) CRC.
    static func softwareUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        tables.withUnsafeBufferPointer { table -> UInt32 in
            var crc = crc
            var index = 0
            let count = bytes.count
            while count - index >= 8 {
                let low = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                crc = table[7 * 256 + Int(low & 0xFF)]
                    ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ table[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ table[4 * 256 + Int(low >> 24)]
                    ^ table[3 * 256 + Int(high & 0xFF)]
                    ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ table[1 * 256 + Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ table[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
            return crc
        }
    }
}
