import KafkaRecords
import NIOCore
import Testing
@testable import VltavaClient

@Suite struct RecordFormatTests {
    let record = ConsumedRecord(
        topic: "orders", partition: 2, offset: 41, timestamp: 1_700_000_000_123,
        key: ByteBuffer(string: "k1"), value: ByteBuffer(string: "hello"),
        headers: [RecordHeader(key: "a", value: ByteBuffer(string: "1")), RecordHeader(key: "b", value: nil)])

    @Test func rendersEveryPlaceholder() throws {
        let format = try RecordFormat(parsing: "%t %p %o %k %K %s %S %T %h %%\\n")
        #expect(format.render(record) == "orders 2 41 k1 2 hello 5 1700000000123 a=1,b= %\n")
    }

    @Test func rendersEscapes() throws {
        #expect(try RecordFormat(parsing: "%k\\t%s\\r\\n\\\\").render(record) == "k1\thello\r\n\\")
    }

    @Test func nullKeyAndValueAreEmptyWithLengthMinusOne() throws {
        var tombstone = record
        tombstone.key = nil
        tombstone.value = nil
        tombstone.headers = []
        #expect(try RecordFormat(parsing: "[%k][%s][%K][%S][%h]").render(tombstone) == "[][][-1][-1][]")
    }

    @Test func defaultIsTheValueAndANewline() {
        #expect(RecordFormat.valueOnly.render(record) == "hello\n")
    }

    @Test(arguments: ["%x", "trailing %"])
    func rejectsUnknownPlaceholders(_ text: String) {
        #expect(throws: KafkaClientError.self) { try RecordFormat(parsing: text) }
    }
}

@Suite struct StartOffsetTests {
    @Test func parsesKcatOffsets() throws {
        #expect(try StartOffset(parsing: "beginning") == .beginning)
        #expect(try StartOffset(parsing: "end") == .end)
        #expect(try StartOffset(parsing: "42") == .absolute(42))
        #expect(try StartOffset(parsing: "-10") == .fromEnd(10))
        #expect(try StartOffset(parsing: "s@1700000000000") == .timestamp(1_700_000_000_000))
    }

    @Test(arguments: ["stored", "s@", "s@-1", "4x"])
    func rejectsOthers(_ text: String) {
        #expect(throws: KafkaClientError.self) { try StartOffset(parsing: text) }
    }
}

@Suite struct PartitionerTests {
    /// The expected hashes are those of Kafka's own UtilsTest.testMurmur2.
    @Test(arguments: [
        ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
    ] as [(String, Int32)])
    func murmur2MatchesKafka(_ key: String, _ expected: Int32) {
        let hash = Array(key.utf8).withUnsafeBytes { Partitioner.murmur2($0) }
        #expect(hash == expected)
    }

    @Test func partitionIsNonNegativeAndStable() {
        let key = ByteBuffer(string: "foobar")
        #expect(Partitioner.partition(forKey: key, partitionCount: 7) == (-790_332_482 & 0x7fff_ffff) % 7)
    }
}

@Suite struct FetchedRecordDecodingTests {
    func batch(baseOffset: Int64, values: [String]) throws -> ByteBuffer {
        try RecordBatch(
            baseOffset: baseOffset, baseTimestamp: 1000,
            records: values.enumerated().map { index, value in
                Record(offsetDelta: Int32(index), timestampDelta: Int64(index), key: nil, value: ByteBuffer(string: value))
            }).encoded()
    }

    @Test func skipsRecordsBeforeTheRequestedOffsetAndAPartialLastBatch() throws {
        var bytes = try batch(baseOffset: 10, values: ["a", "b", "c"])
        var second = try batch(baseOffset: 13, values: ["d", "e"])
        bytes.writeBuffer(&second)
        var cut = try batch(baseOffset: 15, values: ["f"])
        bytes.writeBytes(cut.readBytes(length: cut.readableBytes - 3)!)
        let decoded = try KafkaClient.decodeFetchedRecords(bytes, topic: "t", partition: 0, from: 11)
        #expect(decoded.records.map(\.offset) == [11, 12, 13, 14])
        #expect(decoded.records.map { String(buffer: $0.value!) } == ["b", "c", "d", "e"])
        #expect(decoded.records.map(\.timestamp) == [1001, 1002, 1000, 1001])
        #expect(decoded.nextOffset == 15)
    }

    @Test func noRecordsKeepsTheOffset() throws {
        let decoded = try KafkaClient.decodeFetchedRecords(nil, topic: "t", partition: 0, from: 7)
        #expect(decoded.records.isEmpty && decoded.nextOffset == 7)
    }
}
