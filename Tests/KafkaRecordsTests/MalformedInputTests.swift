import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

/// Every malformed input fails with its own error, before allocating what its lengths claim.
@Suite struct MalformedInputTests {
    static func validBatch(records: [Record] = sampleRecords(count: 5), compression: CompressionCodec = .none) -> ByteBuffer {
        try! RecordBatch(compression: compression, baseTimestamp: 1000, records: records).encoded()
    }

    /// A batch of raw record bytes with a correct header and CRC, to test record decoding.
    static func batch(recordBytes: [UInt8], recordCount: Int32) -> ByteBuffer {
        var buffer = try! RecordBatch(lastOffsetDelta: recordCount - 1, baseTimestamp: 0, records: []).encoded()
        buffer.setInteger(recordCount, at: 57, endianness: .big)
        buffer.writeBytes(recordBytes)
        buffer.setInteger(Int32(buffer.readableBytes - 12), at: 8, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &buffer, at: 0)
        return buffer
    }

    @Test func badCRC() {
        var buffer = Self.validBatch()
        let last = buffer.writerIndex - 1
        buffer.setInteger(buffer.getInteger(at: last, as: UInt8.self)! ^ 1, at: last)
        #expect {
            try RecordBatchValidator().validate(buffer)
        } throws: { error in
            guard case .crcMismatch = error as? RecordBatchError else { return false }
            return (error as! RecordBatchError).kafkaErrorCode == .corruptMessage
        }
        #expect(!RecordBatchHeader.checksumMatches(buffer))
        #expect(throws: RecordBatchError.self) { _ = try RecordBatch(decoding: &buffer) }
    }

    @Test func truncatedAtEveryPoint() throws {
        var two = Self.validBatch()
        var second = Self.validBatch(compression: .snappy)
        let firstSize = two.readableBytes
        two.writeBuffer(&second)
        for length in 0..<two.readableBytes {
            let prefix = two.getSlice(at: 0, length: length)!
            if length == 0 || length == firstSize {
                #expect(try RecordBatchValidator().validate(prefix).batches.count == (length == 0 ? 0 : 1))
                continue
            }
            #expect(throws: RecordBatchError.self) { try RecordBatchValidator().validate(prefix) }
            let partial = try RecordBatchValidator(allowsTrailingPartialBatch: true).validate(prefix)
            #expect(partial.batches.count == (length < firstSize ? 0 : 1))
            #expect(partial.trailingPartialBytes == (length < firstSize ? length : length - firstSize))
        }
        #expect(try RecordBatchValidator().validate(two).batches.map(\.position) == [0, firstSize])
    }

    @Test func truncatedBatchError() {
        let buffer = Self.validBatch().getSlice(at: 0, length: 70)!
        #expect(throws: RecordBatchError.truncated(needed: Self.validBatch().readableBytes, available: 70)) {
            try RecordBatchValidator().validate(buffer)
        }
        #expect(throws: RecordBatchError.truncated(needed: 61, available: 30)) {
            try RecordBatchHeader(parsing: buffer.getSlice(at: 0, length: 30)!)
        }
    }

    @Test(arguments: [Int32(-1), 0, 48, Int32.min])
    func invalidBatchLength(length: Int32) {
        var buffer = Self.validBatch()
        buffer.setInteger(length, at: 8, endianness: .big)
        #expect(throws: RecordBatchError.invalidBatchLength(length)) { try RecordBatchValidator().validate(buffer) }
        #expect(throws: RecordBatchError.invalidBatchLength(length)) {
            try RecordBatchValidator(allowsTrailingPartialBatch: true).validate(buffer)
        }
    }

    @Test func hugeBatchLength() {
        var buffer = Self.validBatch()
        buffer.setInteger(Int32.max, at: 8, endianness: .big)
        #expect(throws: RecordBatchError.truncated(needed: Int(Int32.max) + 12, available: buffer.readableBytes)) {
            try RecordBatchValidator().validate(buffer)
        }
    }

    @Test func unsupportedMagic() {
        var buffer = Self.validBatch()
        buffer.setInteger(Int8(1), at: 16)
        #expect(throws: RecordBatchError.unsupportedMagic(1)) { try RecordBatchValidator().validate(buffer) }
    }

    @Test func unknownCompressionType() {
        var buffer = Self.validBatch()
        buffer.setInteger(Int16(5), at: 21, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &buffer, at: 0)
        #expect(throws: RecordBatchError.unsupportedCompressionType(5)) { try RecordBatchValidator().validate(buffer) }
        #expect(RecordBatchError.unsupportedCompressionType(5).kafkaErrorCode == .unsupportedCompressionType)
        #expect(RecordBatchError.unsupportedCompressionType(5).kafkaErrorCode.rawValue == 76)
    }

    @Test func lastOffsetDeltaAndCountMismatch() throws {
        var buffer = Self.validBatch()
        buffer.setInteger(Int32(9), at: 23, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &buffer, at: 0)
        #expect(throws: RecordBatchError.lastOffsetDeltaMismatch(lastOffsetDelta: 9, recordCount: 5)) {
            try RecordBatchValidator().validate(buffer)
        }
        _ = try RecordBatchValidator(origin: .log).validate(buffer)

        var lying = Self.validBatch()
        lying.setInteger(Int32(6), at: 57, endianness: .big)
        lying.setInteger(Int32(5), at: 23, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &lying, at: 0)
        _ = try RecordBatchValidator().validate(lying)
        #expect(throws: RecordBatchError.recordCountMismatch(declared: 6, decoded: 5)) {
            _ = try RecordBatch(decoding: &lying)
        }
        #expect(RecordBatchError.recordCountMismatch(declared: 6, decoded: 5).kafkaErrorCode == .invalidRecord)
    }

    @Test func negativeRecordCount() {
        var buffer = Self.validBatch()
        buffer.setInteger(Int32(-3), at: 57, endianness: .big)
        RecordBatchHeader.updateChecksum(in: &buffer, at: 0)
        #expect(throws: RecordBatchError.invalidRecordCount(-3)) { try RecordBatchValidator(origin: .log).validate(buffer) }
        #expect(throws: RecordBatchError.invalidRecordCount(-3)) { _ = try RecordBatch(decoding: &buffer) }
    }

    @Test func hugeRecordLengthFailsFast() {
        // A record whose length varint claims about 1 GB, in a batch of a few bytes.
        var buffer = Self.batch(recordBytes: [0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(
            index: 0, fault: .lengthExceedsRemaining(length: 1 << 30, remaining: 3))) {
            _ = try RecordBatch(decoding: &buffer)
        }
    }

    @Test func hugeKeyLengthFailsFast() {
        // A record of 8 bytes whose key length claims Int32.max.
        var claimed = Self.batch(recordBytes: [0x10, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(
            index: 0, fault: .lengthExceedsRemaining(length: Int64(Int32.max), remaining: 0))) {
            _ = try RecordBatch(decoding: &claimed)
        }
    }

    @Test func negativeLengths() {
        var key = Self.batch(recordBytes: [0x0A, 0, 0, 0, 0x03, 0x01], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(index: 0, fault: .negativeLength(-2))) {
            _ = try RecordBatch(decoding: &key)
        }
        var record = Self.batch(recordBytes: [0x01, 0, 0, 0], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(index: 0, fault: .negativeLength(-1))) {
            _ = try RecordBatch(decoding: &record)
        }
    }

    @Test func hugeHeaderCount() {
        var buffer = Self.batch(recordBytes: [0x0C, 0, 0, 0, 0x01, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0x07], recordCount: 1)
        // The record length 6 stops at the header count's first bytes: it reads as truncated.
        #expect(throws: RecordBatchError.self) { _ = try RecordBatch(decoding: &buffer) }
        var counted = Self.batch(recordBytes: [0x14, 0, 0, 0, 0x01, 0x01, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(
            index: 0, fault: .lengthExceedsRemaining(length: Int64(Int32.max), remaining: 0))) {
            _ = try RecordBatch(decoding: &counted)
        }
    }

    @Test func overlongVarint() {
        var buffer = Self.batch(recordBytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(index: 0, fault: .varintTooLong)) {
            _ = try RecordBatch(decoding: &buffer)
        }
    }

    @Test func trailingBytesInRecord() {
        // Length 7 but the fields take 6 bytes.
        var buffer = Self.batch(recordBytes: [0x0E, 0, 0, 0, 0x01, 0x01, 0, 0xAA], recordCount: 1)
        #expect(throws: RecordBatchError.invalidRecord(index: 0, fault: .trailingBytes(1))) {
            _ = try RecordBatch(decoding: &buffer)
        }
    }

    @Test func gzipBombHitsTheCap() throws {
        let bomb = try Fixtures.buffer("bomb-100MiB-zeros.gzip")
        #expect(throws: RecordBatchError.decompressedSizeLimitExceeded(limit: 1 << 20)) {
            _ = try CompressionCodec.gzip.decompress(bomb, maximumSize: 1 << 20)
        }
        #expect(RecordBatchError.decompressedSizeLimitExceeded(limit: 1).kafkaErrorCode == .messageTooLarge)
    }

    @Test(arguments: CompressionCodec.allCases)
    func everyCodecHonoursTheCap(codec: CompressionCodec) throws {
        let compressed = try codec.compress(ByteBuffer(repeating: 0, count: 300_000))
        #expect(throws: RecordBatchError.decompressedSizeLimitExceeded(limit: 100_000)) {
            _ = try codec.decompress(compressed, maximumSize: 100_000)
        }
        #expect(try codec.decompress(compressed, maximumSize: 300_000).readableBytes == 300_000)
    }

    @Test func compressedBatchBombHitsTheCap() throws {
        var buffer = try RecordBatch(
            compression: .zstd, baseTimestamp: 0,
            records: [Record(offsetDelta: 0, key: nil, value: ByteBuffer(repeating: 0, count: 2 << 20))]).encoded()
        #expect(throws: RecordBatchError.decompressedSizeLimitExceeded(limit: 1 << 20)) {
            _ = try RecordBatch(decoding: &buffer, maximumDecompressedSize: 1 << 20)
        }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func corruptAndTruncatedCompressedData(codec: CompressionCodec) throws {
        let payload = try Fixtures.buffer("payload.bin")
        let compressed = try codec.compress(payload)
        let truncated = compressed.getSlice(at: 0, length: compressed.readableBytes / 2)!
        #expect(throws: RecordBatchError.self) { _ = try codec.decompress(truncated, maximumSize: 1 << 20) }
        var garbage = compressed
        for index in stride(from: 20, to: garbage.readableBytes, by: 5) { garbage.setInteger(UInt8(0xA5), at: index) }
        do {
            let output = try codec.decompress(garbage, maximumSize: 1 << 20)
            // Formats without a checksum may decode garbage into other bytes; they must not crash.
            #expect(output != payload)
        } catch {
            #expect(error.kafkaErrorCode == .corruptMessage || error.kafkaErrorCode == .messageTooLarge)
        }
    }

    @Test func lyingContentSizesAreOnlyHints() throws {
        // An lz4 frame header claiming 2^60 bytes (its header checksum then fails), and a gzip trailer
        // claiming 4 GiB of a payload that is 12 KiB.
        var lz4 = try Fixtures.buffer("payload.lz4")
        #expect(lz4.getInteger(at: 4, as: UInt8.self)! & 0x08 != 0, "fixture carries a content size")
        lz4.setInteger(UInt64(1) << 60, at: 6, endianness: .little)
        #expect(throws: RecordBatchError.self) { _ = try CompressionCodec.lz4.decompress(lz4, maximumSize: 1 << 20) }
        var gzip = try Fixtures.buffer("payload.gzip")
        gzip.setInteger(UInt32.max, at: gzip.writerIndex - 4, endianness: .little)
        #expect(throws: RecordBatchError.self) { _ = try CompressionCodec.gzip.decompress(gzip, maximumSize: 1 << 20) }
    }

    @Test func snappyCopyBeforeStart() {
        // Uncompressed length 4, then a copy with offset 1 before anything was written.
        let block = ByteBuffer(bytes: [0x04, 0x01, 0x01])
        #expect(throws: RecordBatchError.corruptCompressedData(.snappy, reason: "copy offset 1 out of range")) {
            _ = try CompressionCodec.snappy.decompress(block, maximumSize: 100)
        }
        // A raw block that declares 4 GB of output fails on the cap before allocating.
        #expect(throws: RecordBatchError.decompressedSizeLimitExceeded(limit: 100)) {
            _ = try CompressionCodec.snappy.decompress(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), maximumSize: 100)
        }
    }
}

/// Random damage to real batches, with the CRC fixed up so decoding goes past it, must end in an error or
/// in records, never in a crash or a runaway allocation.
@Suite struct DamagedBatchTests {
    @Test(arguments: CompressionCodec.allCases)
    func randomDamageNeverCrashes(codec: CompressionCodec) throws {
        let original = try Fixtures.buffer("batch-\(codec).bin")
        var state: UInt64 = 0x2545_F491_4F6C_DD1D &+ UInt64(codec.rawValue)
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        for _ in 0..<400 {
            var damaged = original
            for _ in 0..<(1 + next(4)) {
                // Damage the records (and the header's count fields) but keep magic, length and codec.
                let index = RecordBatchHeader.size - 8 + next(damaged.readableBytes - RecordBatchHeader.size + 8)
                damaged.setInteger(UInt8(truncatingIfNeeded: next(256)), at: index)
            }
            RecordBatchHeader.updateChecksum(in: &damaged, at: 0)
            var input = damaged
            _ = try? RecordBatch(decoding: &input, maximumDecompressedSize: 1 << 20)
        }
    }
}
