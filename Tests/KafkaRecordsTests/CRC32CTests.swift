@_spi(Testing) import KafkaRecords
import NIOCore
import Testing

@Suite struct CRC32CTests {
    static let vectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
        ([], 0),
    ]

    @Test(arguments: vectors)
    func knownVectors(bytes: [UInt8], expected: UInt32) {
        #expect(bytes.withUnsafeBytes { CRC32C.checksum($0) } == expected)
        #expect(bytes.withUnsafeBytes { CRC32C.softwareChecksum($0) } == expected)
        #expect(CRC32C.checksum(ByteBuffer(bytes: bytes)) == expected)
    }

    @Test func incrementalUpdateEqualsOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = bytes.withUnsafeBytes { CRC32C.checksum($0) }
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            let first = bytes[..<split].withUnsafeBytes { CRC32C.checksum($0) }
            let both = bytes[split...].withUnsafeBytes { CRC32C.update(first, with: $0) }
            #expect(both == whole, "split at \(split)")
        }
    }

    @Test func everyAlignmentAndLengthMatchesBitwiseReference() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        for start in 0..<9 {
            for length in [0, 1, 3, 7, 8, 15, 16, 17, 63, 64, 65, 200, 300 - start] {
                let slice = bytes[start..<(start + length)]
                #expect(slice.withUnsafeBytes { CRC32C.checksum($0) } == bitwiseCRC32C(slice))
                #expect(slice.withUnsafeBytes { CRC32C.softwareChecksum($0) } == bitwiseCRC32C(slice))
            }
        }
    }

    private func bitwiseCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
