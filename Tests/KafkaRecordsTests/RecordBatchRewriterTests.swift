import KafkaRecords
import NIOCore
import Testing

@Suite struct RecordBatchRewriterTests {
    /// What a fetch of partition data might hold: plain, compressed, LogAppendTime, transactional and compacted
    /// batches, a control batch between them, and a last batch cut short.
    static func fetched() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try RecordBatch(baseOffset: 100, baseTimestamp: 1_000, producerId: 7, producerEpoch: 1, baseSequence: 0,
                        records: sampleRecords(count: 5)).encode(into: &buffer)
        try RecordBatch(baseOffset: 105, compression: .snappy, baseTimestamp: 2_000, records: sampleRecords(count: 4))
            .encode(into: &buffer)
        try RecordBatch(baseOffset: 109, timestampType: .logAppendTime, baseTimestamp: 3_000, maxTimestamp: 9_999,
                        records: sampleRecords(count: 2)).encode(into: &buffer)
        try RecordBatch(baseOffset: 111, isTransactional: true, baseTimestamp: 4_000, producerId: 8, producerEpoch: 0,
                        baseSequence: 0, records: sampleRecords(count: 3)).encode(into: &buffer)
        let marker = ControlRecord(type: .commit, coordinatorEpoch: 0)
        try RecordBatch(baseOffset: 114, isTransactional: true, isControl: true, baseTimestamp: 4_001, producerId: 8,
                        producerEpoch: 0, records: [marker.record(timestampDelta: 0)]).encode(into: &buffer)
        // Compacted: offsets 115, 117, 118, 121 remain.
        let compacted = [0, 2, 3, 6].map { delta in
            Record(offsetDelta: Int32(delta), timestampDelta: Int64(delta), key: ByteBuffer(string: "k\(delta)"), value: nil,
                   headers: [RecordHeader(key: "n", value: nil)])
        }
        try RecordBatch(baseOffset: 115, lastOffsetDelta: 8, baseTimestamp: 5_000, records: compacted).encode(into: &buffer)
        var cut = try RecordBatch(baseOffset: 124, baseTimestamp: 6_000, records: sampleRecords(count: 3)).encoded()
        buffer.writeBytes(cut.readBytes(length: cut.readableBytes - 10) ?? [])
        return buffer
    }

    /// The records a consumer would see at or after `requested`: (offset, timestamp, key, value, headers).
    static func consumed(_ bytes: ByteBuffer, from requested: Int64) throws -> [DecodedRecord] {
        var whole = bytes
        var batches = ByteBuffer()
        while whole.readableBytes >= RecordBatchHeader.size {
            let header = try RecordBatchHeader(parsing: whole)
            guard header.totalSize <= whole.readableBytes, var batch = whole.readSlice(length: header.totalSize) else { break }
            batches.writeBuffer(&batch)
        }
        return try RecordBatch.decodeRecords(batches).filter { !$0.isControl && $0.offset >= requested }
    }

    @Test(arguments: [Int64(0), 102, 109, 116, 122])
    func copiesEveryRecordAsAConsumerSeesIt(requested: Int64) throws {
        let input = try Self.fetched()
        var rewriter = RecordBatchRewriter(maximumBatchBytes: 1 << 20)
        let next = try rewriter.append(fetched: input, from: requested)
        let batches = rewriter.finish()
        #expect(next == 124)
        let expected = try Self.consumed(input, from: requested)
        var copied: [DecodedRecord] = []
        var sourceOffsets: [Int64] = []
        for batch in batches {
            let validated = try RecordBatchValidator().validate(batch.bytes)
            let header = try #require(validated.batches.first).header
            #expect(header.producerId == -1 && !header.isTransactional && header.compression == CompressionCodec.none)
            #expect(header.timestampType == .createTime && Int(header.recordCount) == batch.recordCount)
            copied += try RecordBatch.decodeRecords(batch.bytes)
            for run in batch.runs {
                #expect(run.firstIndex == sourceOffsets.count - copied.count + batch.recordCount)
                sourceOffsets += (0..<Int64(run.count)).map { run.firstOffset + $0 }
            }
            #expect(batch.lastOffset == sourceOffsets.last)
        }
        #expect(sourceOffsets == expected.map(\.offset))
        #expect(copied.map(\.timestamp) == expected.map(\.timestamp))
        #expect(copied.map(\.key) == expected.map(\.key))
        #expect(copied.map(\.value) == expected.map(\.value))
        #expect(copied.map(\.headers) == expected.map(\.headers))
    }

    @Test func splitsAtTheByteLimitAndKeepsARecordTooLargeWhole() throws {
        var input = ByteBuffer()
        var records = sampleRecords(count: 40)
        records[5].value = ByteBuffer(repeating: 0x61, count: 3_000)
        try RecordBatch(baseOffset: 0, baseTimestamp: 10, records: records).encode(into: &input)
        var rewriter = RecordBatchRewriter(maximumBatchBytes: 1_000)
        #expect(try rewriter.append(fetched: input, from: 0) == 40)
        let batches = rewriter.finish()
        #expect(batches.count > 2)
        #expect(batches.reduce(0) { $0 + $1.recordCount } == 40)
        for batch in batches {
            #expect(batch.bytes.readableBytes <= 1_000 || batch.recordCount == 1)
            #expect(batch.runs.count == 1)
        }
        let copied = try batches.flatMap { try RecordBatch.decodeRecords($0.bytes) }
        #expect(copied.map(\.value) == records.map(\.value))
        #expect(batches.map { $0.runs[0].firstOffset } == batches.indices.map { index in
            Int64(batches[..<index].reduce(0) { $0 + $1.recordCount })
        })
    }

    @Test func aDamagedBatchIsAnErrorNotACopy() throws {
        var input = try RecordBatch(baseOffset: 0, baseTimestamp: 10, records: sampleRecords(count: 3)).encoded()
        let last = input.writerIndex - 1
        input.setInteger(input.getInteger(at: last, as: UInt8.self).map { $0 ^ 0xFF } ?? 0, at: last)
        var rewriter = RecordBatchRewriter(maximumBatchBytes: 1 << 20)
        #expect(throws: RecordBatchError.self) { try rewriter.append(fetched: input, from: 0) }

        // A record whose declared key length runs past its end, under a correct CRC.
        var malformed = try RecordBatch(baseOffset: 0, baseTimestamp: 10, records: [
            Record(offsetDelta: 0, key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v")),
        ]).encoded()
        let keyLength = RecordBatchHeader.size + 4  // length, attributes, timestamp delta, offset delta
        malformed.setInteger(UInt8(40), at: keyLength)
        RecordBatchHeader.updateChecksum(in: &malformed, at: 0)
        var again = RecordBatchRewriter(maximumBatchBytes: 1 << 20)
        #expect(throws: RecordBatchError.self) { try again.append(fetched: malformed, from: 0) }
    }
}
