import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

/// Batches and compressed payloads written by kafka-python and the Python bindings of zlib, snappy, lz4 and
/// zstd (scripts/make-record-fixtures.py).
@Suite struct InteropTests {
    @Test(arguments: CompressionCodec.allCases)
    func decodesKafkaPythonBatch(codec: CompressionCodec) throws {
        var buffer = try Fixtures.buffer("batch-\(codec).bin")
        let validated = try RecordBatchValidator().validate(buffer)
        #expect(validated.batches.count == 1)
        #expect(validated.batches[0].header.compression == codec)
        #expect(validated.recordCount == 20)

        let batch = try RecordBatch(decoding: &buffer)
        #expect(buffer.readableBytes == 0)
        #expect(batch.compression == codec)
        #expect(batch.producerId == 4242 && batch.producerEpoch == 3 && batch.baseSequence == 17)
        #expect(batch.baseTimestamp == Fixtures.pythonBaseTimestamp)
        #expect(batch.maxTimestamp == Fixtures.pythonBaseTimestamp + 7 * 19)
        #expect(batch.lastOffsetDelta == 19)
        #expect(batch.records == Fixtures.pythonRecords)
    }

    @Test(arguments: [
        ("payload.gzip", CompressionCodec.gzip),
        ("payload.zlib", .gzip),
        ("payload.deflate", .gzip),
        ("payload.snappy-xerial", .snappy),
        ("payload.snappy-raw", .snappy),
        ("payload.lz4", .lz4),
        ("payload.zstd", .zstd),
    ])
    func decompressesPythonPayload(file: String, codec: CompressionCodec) throws {
        let expected = try Fixtures.buffer("payload.bin")
        let output = try codec.decompress(try Fixtures.buffer(file), maximumSize: 1 << 20)
        #expect(output == expected)
    }

    @Test func snappyCompressionWritesXerialFraming() throws {
        let payload = try Fixtures.buffer("payload.bin")
        let compressed = try CompressionCodec.snappy.compress(payload)
        #expect(compressed.bytes.prefix(16) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
        #expect(compressed.readableBytes < payload.readableBytes / 4)
    }
}

@Suite struct RoundTripTests {
    @Test(arguments: CompressionCodec.allCases)
    func batchRoundTrip(codec: CompressionCodec) throws {
        let records = sampleRecords(count: 500)
        let batch = RecordBatch(
            baseOffset: 1234, partitionLeaderEpoch: 7, compression: codec, baseTimestamp: 1_650_000_000_000,
            producerId: 77, producerEpoch: 2, baseSequence: 100, records: records)
        var encoded = try batch.encoded()
        let validated = try RecordBatchValidator().validate(encoded)
        #expect(validated.batches.map(\.header.recordCount) == [500])
        let decoded = try RecordBatch(decoding: &encoded)
        #expect(decoded.records == records)
        #expect(decoded.baseOffset == 1234 && decoded.partitionLeaderEpoch == 7)
        #expect(decoded.maxTimestamp == Int64(1_650_000_000_000 + 3 * 499))
        #expect(decoded.lastOffsetDelta == 499)
        #expect(decoded.compression == codec)
    }

    @Test func nullsEmptiesAndHeaders() throws {
        let records = [
            Record(offsetDelta: 0, key: nil, value: nil),
            Record(offsetDelta: 1, key: ByteBuffer(), value: ByteBuffer()),
            Record(offsetDelta: 2, timestampDelta: -5, key: nil, value: ByteBuffer(string: "x"), headers: [
                RecordHeader(key: "", value: nil), RecordHeader(key: "ünïcode", value: ByteBuffer(bytes: [0, 1, 2])),
            ]),
        ]
        var encoded = try RecordBatch(baseTimestamp: 10, records: records).encoded()
        #expect(try RecordBatch(decoding: &encoded).records == records)
    }

    @Test func emptyBatchRoundTripsButClientsMayNotSendIt() throws {
        var encoded = try RecordBatch(baseTimestamp: 0, records: []).encoded()
        #expect(throws: RecordBatchError.invalidRecordCount(0)) { try RecordBatchValidator().validate(encoded) }
        _ = try RecordBatchValidator(origin: .log).validate(encoded)
        #expect(try RecordBatch(decoding: &encoded).records.isEmpty)
    }

    @Test(arguments: CompressionCodec.allCases)
    func codecRoundTripsSizes(codec: CompressionCodec) throws {
        for size in [0, 1, 5, 100, 32 * 1024, 32 * 1024 + 1, 200_000] {
            let input = ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 13 ^ ($0 % 3)) })
            let compressed = try codec.compress(input)
            #expect(try codec.decompress(compressed, maximumSize: size) == input, "\(codec) \(size)")
        }
    }

    @Test func gzipWithSeveralMembers() throws {
        var both = try CompressionCodec.gzip.compress(ByteBuffer(string: "first "))
        var second = try CompressionCodec.gzip.compress(ByteBuffer(string: "second"))
        both.writeBuffer(&second)
        #expect(try CompressionCodec.gzip.decompress(both, maximumSize: 100) == ByteBuffer(string: "first second"))
    }

    @Test func everyCodecIsAvailableHereAndAMissingOneMapsToKafkasCode() {
        #expect(CompressionCodec.allCases.filter { !$0.isAvailable }.isEmpty)
        let missing = RecordBatchError.compressionUnavailable(.zstd, reason: "libzstd.so.1 could not be loaded")
        #expect(missing.kafkaErrorCode == .unsupportedCompressionType)
    }

    @Test func snappyIncompressibleAndRepetitiveData() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let noise = (0..<100_000).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for bytes in [noise, [UInt8](repeating: 0x61, count: 100_000), Array("abcabcabcd".utf8)] {
            let input = ByteBuffer(bytes: bytes)
            let compressed = try CompressionCodec.snappy.compress(input)
            #expect(try CompressionCodec.snappy.decompress(compressed, maximumSize: bytes.count) == input)
        }
    }

    @Test func decodeRecordsGivesAbsoluteOffsetsAcrossBatches() throws {
        var buffer = ByteBuffer()
        try RecordBatch(baseOffset: 100, baseTimestamp: 1000, records: sampleRecords(count: 3)).encode(into: &buffer)
        try RecordBatch(baseOffset: 103, compression: .gzip, baseTimestamp: 2000, records: sampleRecords(count: 2))
            .encode(into: &buffer)
        let decoded = try RecordBatch.decodeRecords(buffer)
        #expect(decoded.map(\.offset) == [100, 101, 102, 103, 104])
        #expect(decoded.map(\.timestamp) == [1000, 1003, 1006, 2000, 2003])
    }

    @Test func controlRecordRoundTrip() throws {
        let marker = ControlRecord(type: .commit, coordinatorEpoch: 12)
        var encoded = try marker.batch(producerId: 5, producerEpoch: 1, timestamp: 99).encoded()
        let header = try RecordBatchHeader(parsing: encoded)
        #expect(header.isControl && header.isTransactional)
        #expect(throws: RecordBatchError.controlBatchFromClient) { try RecordBatchValidator().validate(encoded) }
        _ = try RecordBatchValidator(origin: .log).validate(encoded)
        let batch = try RecordBatch(decoding: &encoded)
        #expect(batch.records[0].key?.bytes == [0, 0, 0, 1])
        #expect(batch.records[0].value?.bytes == [0, 0, 0, 0, 0, 12])
        #expect(try ControlRecord(batch.records[0]) == marker)
        #expect(try ControlRecord(ControlRecord(type: .abort, coordinatorEpoch: 0).record()).type == .abort)
        #expect(throws: RecordBatchError.self) {
            try ControlRecord(Record(offsetDelta: 0, key: ByteBuffer(bytes: [0]), value: nil))
        }
    }
}
