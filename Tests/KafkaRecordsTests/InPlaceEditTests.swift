import KafkaRecords
import NIOCore
import Testing

@Suite struct InPlaceEditTests {
    @Test func assignOffsetsKeepsTheChecksum() throws {
        var buffer = ByteBuffer()
        try RecordBatch(baseTimestamp: 10, records: sampleRecords(count: 3)).encode(into: &buffer)
        try RecordBatch(compression: .lz4, baseTimestamp: 20, records: sampleRecords(count: 4)).encode(into: &buffer)
        buffer.moveReaderIndex(forwardBy: 0)
        let validated = try RecordBatchValidator().validate(buffer)
        let crcs = validated.batches.map(\.header.crc)
        let next = RecordBatchValidator.assignOffsets(validated, startingAt: 500, in: &buffer, partitionLeaderEpoch: 4)
        #expect(next == 507)
        let again = try RecordBatchValidator().validate(buffer)
        #expect(again.batches.map(\.header.baseOffset) == [500, 503])
        #expect(again.batches.map(\.header.partitionLeaderEpoch) == [4, 4])
        #expect(again.batches.map(\.header.crc) == crcs)
        #expect(try RecordBatch.decodeRecords(buffer).map(\.offset) == Array(500..<507))
    }

    @Test func logAppendTimeRecomputesTheChecksum() throws {
        var prefix = ByteBuffer(string: "xyz")
        prefix.moveReaderIndex(forwardBy: 3)
        try RecordBatch(baseTimestamp: 10, records: sampleRecords(count: 3)).encode(into: &prefix)
        let validated = try RecordBatchValidator().validate(prefix)
        _ = RecordBatchValidator.assignOffsets(validated, startingAt: 0, in: &prefix, logAppendTime: 999_999)
        let header = try RecordBatchValidator().validate(prefix).batches[0].header
        #expect(header.timestampType == .logAppendTime)
        #expect(header.maxTimestamp == 999_999)
        #expect(try RecordBatch.decodeRecords(prefix).map(\.timestamp) == [999_999, 999_999, 999_999])

        RecordBatchHeader.setMaxTimestamp(16, timestampType: .createTime, in: &prefix, at: prefix.readerIndex)
        let restored = try RecordBatchValidator().validate(prefix).batches[0].header
        #expect(restored.timestampType == .createTime && restored.maxTimestamp == 16)
    }
}
