import KafkaRecords
import NIOCore
import Testing

@Suite struct GoldenBytesTests {
    /// One record, key "k", value "v", written field by field from the RecordBatch v2 section of the spec.
    static let handBuilt: [UInt8] = [
        0, 0, 0, 0, 0, 0, 0, 0,  // baseOffset 0
        0, 0, 0, 58,  // batchLength: 49 header bytes after it + 9 record bytes
        0xFF, 0xFF, 0xFF, 0xFF,  // partitionLeaderEpoch -1
        2,  // magic
        0x71, 0x6A, 0x61, 0x89,  // crc32c of everything from attributes on
        0, 0,  // attributes: no compression, CreateTime
        0, 0, 0, 0,  // lastOffsetDelta 0
        0, 0, 0, 0, 0, 0, 0x03, 0xE8,  // baseTimestamp 1000
        0, 0, 0, 0, 0, 0, 0x03, 0xE8,  // maxTimestamp 1000
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // producerId -1
        0xFF, 0xFF,  // producerEpoch -1
        0xFF, 0xFF, 0xFF, 0xFF,  // baseSequence -1
        0, 0, 0, 1,  // recordCount 1
        0x10,  // record length 8 (zigzag)
        0,  // attributes
        0,  // timestampDelta 0
        0,  // offsetDelta 0
        0x02, 0x6B,  // key length 1, "k"
        0x02, 0x76,  // value length 1, "v"
        0,  // no headers
    ]

    @Test func encodeMatchesHandBuiltBytes() throws {
        let batch = RecordBatch(
            baseTimestamp: 1000,
            records: [Record(offsetDelta: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))])
        #expect(try batch.encoded().bytes == Self.handBuilt)
    }

    @Test func headerParsesHandBuiltBytes() throws {
        let header = try RecordBatchHeader(parsing: ByteBuffer(bytes: Self.handBuilt))
        #expect(header.baseOffset == 0)
        #expect(header.batchLength == 58)
        #expect(header.totalSize == 70)
        #expect(header.partitionLeaderEpoch == -1)
        #expect(header.magic == 2)
        #expect(header.crc == 0x716A_6189)
        #expect(header.compression == CompressionCodec.none)
        #expect(header.timestampType == .createTime)
        #expect(!header.isTransactional && !header.isControl && !header.hasDeleteHorizon)
        #expect(header.lastOffsetDelta == 0 && header.recordCount == 1)
        #expect(header.baseTimestamp == 1000 && header.maxTimestamp == 1000)
        #expect(header.producerId == -1 && header.producerEpoch == -1 && header.baseSequence == -1)
        #expect(RecordBatchHeader.checksumMatches(ByteBuffer(bytes: Self.handBuilt)))
    }

    @Test func uncompressedEncodingMatchesKafkaPython() throws {
        let python = try Fixtures.buffer("batch-none.bin")
        let batch = RecordBatch(
            partitionLeaderEpoch: 0, baseTimestamp: Fixtures.pythonBaseTimestamp, producerId: 4242, producerEpoch: 3,
            baseSequence: 17, records: Fixtures.pythonRecords)
        #expect(try batch.encoded().bytes == python.bytes)
    }

    @Test func attributesBits() throws {
        let batch = RecordBatch(
            compression: .gzip, timestampType: .logAppendTime, isTransactional: true, baseTimestamp: 5,
            producerId: 9, producerEpoch: 1, baseSequence: 0, records: sampleRecords(count: 3))
        let header = try RecordBatchHeader(parsing: batch.encoded())
        #expect(header.attributes == 0x1 | 0x8 | 0x10)
        #expect(header.compression == .gzip && header.timestampType == .logAppendTime && header.isTransactional)
    }
}
