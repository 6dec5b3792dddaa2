import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import VltavaStorage

/// A fresh folder under the system temporary directory.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "vltava-storage-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A client-style batch of `count` records with values "prefix-i".
func makeBatch(_ count: Int, prefix: String = "v", timestamp: Int64 = 1_000, producerId: Int64 = -1,
               producerEpoch: Int16 = -1, baseSequence: Int32 = -1) throws -> ByteBuffer {
    let records = (0..<count).map { index in
        Record(offsetDelta: Int32(index), timestampDelta: Int64(index), key: ByteBuffer(string: "k\(index)"),
               value: ByteBuffer(string: "\(prefix)-\(index)"), headers: [], attributes: 0)
    }
    let batch = RecordBatch(baseOffset: 0, compression: .none, baseTimestamp: timestamp, producerId: producerId,
                            producerEpoch: producerEpoch, baseSequence: baseSequence, records: records)
    return try batch.encoded()
}

let testLogger = Logger(label: "storage-tests")

func openLog(_ directory: String, config: LogConfig = LogConfig(), now: Int64 = 10_000) throws -> PartitionLog {
    try PartitionLog(topic: "t", partition: 0, directory: directory + "/t-0", config: config, nowMs: now, logger: testLogger)
}

@discardableResult
func append(_ log: PartitionLog, _ batch: ByteBuffer, now: Int64 = 10_000) throws -> AppendResult {
    let records = batch
    let validated = try RecordBatchValidator(origin: .client).validate(records)
    return try log.append(records, batches: validated, nowMs: now)
}

func readAll(_ log: PartitionLog, from offset: Int64 = 0) throws -> [DecodedRecord] {
    var result: [DecodedRecord] = []
    var next = offset
    while next < log.logEndOffset {
        let read = try log.read(offset: next, maxBytes: 1 << 20, minOneBatch: true)
        let bytes = try PartitionLog.load(read)
        let validated = try RecordBatchValidator(origin: .log, allowsTrailingPartialBatch: true).validate(bytes)
        let whole = bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes - validated.trailingPartialBytes)!
        let records = try RecordBatch.decodeRecords(whole).filter { $0.offset >= next }
        // As consumers do, go on after the last batch: compaction may have removed its last records.
        guard let last = validated.batches.last else { break }
        result += records
        next = last.header.lastOffset + 1
    }
    return result
}

@Suite struct PartitionLogTests {
    @Test func appendAssignsOffsetsAndReadsBack() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        let first = try append(log, makeBatch(3))
        let second = try append(log, makeBatch(2, prefix: "w"))
        #expect(first.baseOffset == 0 && first.lastOffset == 2)
        #expect(second.baseOffset == 3 && second.lastOffset == 4)
        #expect(log.logEndOffset == 5)
        let records = try readAll(log)
        #expect(records.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(records.map { String(buffer: $0.value!) } == ["v-0", "v-1", "v-2", "w-0", "w-1"])
        log.close()
    }

    @Test func reopenRestoresEverything() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory)
        for _ in 0..<10 { try append(log, makeBatch(5)) }
        try log.flush()
        log.close()
        log = try openLog(directory)
        #expect(log.logEndOffset == 50)
        #expect(try readAll(log, from: 37).first?.offset == 37)
        try append(log, makeBatch(1))
        #expect(log.logEndOffset == 51)
        log.close()
    }

    @Test func tornTailIsTruncatedOnOpen() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory)
        try append(log, makeBatch(4))
        try append(log, makeBatch(4))
        log.close()
        let path = directory + "/t-0/00000000000000000000.log"
        let handle = FileHandle(forUpdatingAtPath: path)!
        let size = handle.seekToEndOfFile()
        handle.truncateFile(atOffset: size - 3)
        handle.closeFile()
        log = try openLog(directory)
        #expect(log.logEndOffset == 4)
        #expect(try readAll(log).count == 4)
        log.close()
    }

    @Test func corruptByteInTheTailFailsItsChecksumAndIsCut() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory)
        try append(log, makeBatch(4))
        try append(log, makeBatch(4, prefix: "bad"))
        log.close()
        let path = directory + "/t-0/00000000000000000000.log"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        log = try openLog(directory)
        #expect(log.logEndOffset == 4)
        log.close()
    }

    @Test func missingIndexIsRebuilt() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["segment.bytes": "400", "index.interval.bytes": "1"])
        var log = try openLog(directory, config: config)
        for _ in 0..<20 { try append(log, makeBatch(2)) }
        #expect(log.segmentCount > 2)
        log.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/t-0")
        for name in names where name.hasSuffix(".index") {
            try FileManager.default.removeItem(atPath: directory + "/t-0/" + name)
        }
        log = try openLog(directory, config: config)
        #expect(log.logEndOffset == 40)
        #expect(try readAll(log, from: 21).map(\.offset) == Array(21..<40))
        log.close()
        // Written again, not left empty (which would make every lookup scan its segment from the start).
        for name in names where name.hasSuffix(".index") {
            let size = try FileManager.default.attributesOfItem(atPath: directory + "/t-0/" + name)[.size] as! NSNumber
            #expect(size.intValue > 0, "\(name) is empty")
        }
    }

    @Test func segmentsRollBySizeAndRetentionDeletesOldOnes() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["segment.bytes": "300", "retention.bytes": "600"])
        let log = try openLog(directory, config: config)
        for _ in 0..<30 { try append(log, makeBatch(2)) }
        let before = log.segmentCount
        #expect(before > 5)
        let removed = try log.applyRetention(nowMs: 10_000)
        #expect(removed > 0)
        #expect(log.segmentCount == before - removed)
        #expect(log.sizeInBytes <= 600 + 300)
        #expect(log.logStartOffset > 0)
        #expect(throws: StorageError.self) { try log.read(offset: 0, maxBytes: 100, minOneBatch: true) }
        log.close()
    }

    @Test func retentionByTime() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["segment.bytes": "300", "retention.ms": "1000"])
        let log = try openLog(directory, config: config)
        for index in 0..<10 { try append(log, makeBatch(2, timestamp: Int64(index) * 1000)) }
        let removed = try log.applyRetention(nowMs: 9_500)
        #expect(removed > 0)
        #expect(log.logEndOffset == 20)
        log.close()
    }

    @Test func readHonoursMaxBytesButReturnsTheFirstBatchWhole() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        let batch = try makeBatch(10)
        try append(log, batch)
        try append(log, batch)
        let small = try log.read(offset: 0, maxBytes: 10, minOneBatch: true)
        #expect(small.length == batch.readableBytes)
        PartitionLog.closeDescriptor(small.fileDescriptor!)
        let none = try log.read(offset: 0, maxBytes: 10, minOneBatch: false)
        #expect(none.length == 10)
        PartitionLog.closeDescriptor(none.fileDescriptor!)
        let middle = try log.read(offset: 15, maxBytes: 1 << 20, minOneBatch: true)
        #expect(middle.position == batch.readableBytes)
        PartitionLog.closeDescriptor(middle.fileDescriptor!)
        #expect(throws: StorageError.offsetOutOfRange(requested: 21, logStartOffset: 0, logEndOffset: 20)) {
            try log.read(offset: 21, maxBytes: 100, minOneBatch: true)
        }
        #expect(try log.read(offset: 20, maxBytes: 100, minOneBatch: true).length == 0)
        log.close()
    }

    @Test func offsetForTimestampFindsTheFirstRecordAtOrAfter() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        try append(log, makeBatch(5, timestamp: 1000))
        try append(log, makeBatch(5, timestamp: 2000))
        #expect(try log.offset(forTimestamp: 1002)?.offset == 2)
        #expect(try log.offset(forTimestamp: 2000)?.offset == 5)
        #expect(try log.offset(forTimestamp: 9000) == nil)
        #expect(log.maxTimestampAndOffset()?.timestamp == 2004)
        log.close()
    }

    @Test func deleteRecordsMovesTheLogStart() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["segment.bytes": "300"]))
        for _ in 0..<10 { try append(log, makeBatch(2)) }
        #expect(try log.deleteRecords(before: 7) == 7)
        #expect(log.logStartOffset == 7)
        #expect(throws: StorageError.self) { try log.deleteRecords(before: 100) }
        log.close()
    }

    @Test func logAppendTimeStampsTheBatch() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["message.timestamp.type": "LogAppendTime"]))
        try append(log, makeBatch(2, timestamp: 5), now: 77_777)
        let records = try readAll(log)
        #expect(records.map(\.timestamp) == [77_777, 77_777])
        log.close()
    }
}

@Suite struct IdempotentProducerTests {
    @Test func retriedBatchIsNotWrittenTwice() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        let batch = try makeBatch(3, producerId: 7, producerEpoch: 0, baseSequence: 0)
        let first = try append(log, batch)
        let retry = try append(log, batch)
        #expect(retry.isDuplicate)
        #expect(retry.baseOffset == first.baseOffset)
        #expect(log.logEndOffset == 3)
        try append(log, makeBatch(2, producerId: 7, producerEpoch: 0, baseSequence: 3))
        #expect(log.logEndOffset == 5)
        log.close()
    }

    @Test func gapIsOutOfOrder() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        try append(log, makeBatch(3, producerId: 7, producerEpoch: 0, baseSequence: 0))
        #expect(throws: AppendError.outOfOrderSequence(expected: 3, received: 5)) {
            try append(log, makeBatch(1, producerId: 7, producerEpoch: 0, baseSequence: 5))
        }
        #expect(throws: AppendError.invalidProducerEpoch) {
            try append(log, makeBatch(1, producerId: 7, producerEpoch: -1 + 0, baseSequence: 3))
        }
        log.close()
    }

    @Test func producerStateSurvivesRestartAndRoll() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["segment.bytes": "200"])
        var log = try openLog(directory, config: config)
        var sequence: Int32 = 0
        for _ in 0..<6 {
            try append(log, makeBatch(2, producerId: 9, producerEpoch: 1, baseSequence: sequence))
            sequence += 2
        }
        #expect(log.segmentCount > 1)
        log.close()
        log = try openLog(directory, config: config)
        let retry = try append(log, makeBatch(2, producerId: 9, producerEpoch: 1, baseSequence: sequence - 2))
        #expect(retry.isDuplicate)
        #expect(throws: AppendError.self) {
            try append(log, makeBatch(2, producerId: 9, producerEpoch: 1, baseSequence: sequence + 4))
        }
        log.close()
    }
}

@Suite struct FlushTests {
    @Test func waitersShareOneFlush() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory)
        let flusher = LogFlusher(clock: { 0 })
        log.flusher = flusher
        // The flusher thread completes the promises, so they belong to a real event loop.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var futures: [EventLoopFuture<Void>] = []
        for _ in 0..<5 {
            let end = try append(log, makeBatch(1)).lastOffset + 1
            let promise = loop.makePromise(of: Void.self)
            log.whenDurable(upTo: end, promise: promise)
            futures.append(promise.futureResult)
        }
        try EventLoopFuture.andAllSucceed(futures, on: loop).wait()
        #expect(log.durableOffset == 5)
        flusher.shutdown()
        log.close()
    }
}

@Suite struct TopicConfigTests {
    @Test func unknownAndInvalidConfigsAreRejected() {
        #expect(throws: StorageError.self) { try TopicConfigs.validate(["no.such.config": "1"]) }
        #expect(throws: StorageError.self) { try TopicConfigs.validate(["retention.ms": "soon"]) }
        #expect(throws: StorageError.self) { try TopicConfigs.validate(["cleanup.policy": "shred"]) }
        #expect(throws: Never.self) { try TopicConfigs.validate(["cleanup.policy": "compact,delete", "retention.ms": "-1"]) }
    }

    @Test func effectiveValuesLayerOverridesOverBrokerDefaults() {
        let config = LogConfig(overrides: ["retention.ms": "5"], brokerDefaults: ["retention.ms": "9", "segment.bytes": "1000"])
        #expect(config.retentionMs == 5)
        #expect(config.segmentBytes == 1000)
        #expect(config.maxMessageBytes == 1_048_588)
    }
}

@Suite struct MetadataStoreTests {
    @Test func topicsAndProducerIdsSurviveReopen() throws {
        let directory = makeTemporaryDirectory()
        var store = try LocalMetadataStore(dataDirectory: directory, clusterId: "c1", nodeId: 1)
        let id = KafkaUUID.random()
        try store.createTopic(TopicMetadata(name: "a", topicId: id, partitionCount: 3, configs: ["retention.ms": "1"]))
        #expect(store.topic(withId: id)?.name == "a")
        #expect(throws: StorageError.self) {
            try store.createTopic(TopicMetadata(name: "a", topicId: .random(), partitionCount: 1, configs: [:]))
        }
        let first = try store.allocateProducerId()
        let second = try store.allocateProducerId()
        #expect(second == first + 1)
        store = try LocalMetadataStore(dataDirectory: directory, clusterId: "other", nodeId: 1)
        #expect(store.clusterId == "c1")
        #expect(store.topic(named: "a")?.partitionCount == 3)
        #expect(store.topic(withId: id)?.partitionCount == 3)
        try store.deleteTopic(named: "a")
        #expect(store.topic(withId: id) == nil && store.topic(named: "a") == nil)
        #expect(try store.allocateProducerId() > second)
    }
}

@Suite struct FlushPolicyTests {
    @Test func flushMessagesForcesAnFsyncWithoutWaiters() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["flush.messages": "3"]))
        let flusher = LogFlusher(clock: { 0 })
        log.flusher = flusher
        try append(log, makeBatch(2))
        usleep(50_000)
        #expect(log.durableOffset == 0)
        try append(log, makeBatch(2))
        for _ in 0..<200 where log.durableOffset < 4 { usleep(5_000) }
        #expect(log.durableOffset == 4)
        flusher.shutdown()
        log.close()
    }

    @Test func flushMsMakesTheLogDue() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["flush.ms": "1000"]), now: 0)
        try append(log, makeBatch(1), now: 10)
        #expect(!log.isFlushDue(nowMs: 500))
        #expect(log.isFlushDue(nowMs: 1_500))
        try log.flush(nowMs: 1_500)
        #expect(!log.isFlushDue(nowMs: 2_000))
        log.close()
    }
}

@Suite struct CompactionTests {
    func keyedBatch(_ pairs: [(String, String?)], timestamp: Int64 = 1_000) throws -> ByteBuffer {
        let records = pairs.enumerated().map { index, pair in
            Record(offsetDelta: Int32(index), key: ByteBuffer(string: pair.0), value: pair.1.map { ByteBuffer(string: $0) })
        }
        return try RecordBatch(baseTimestamp: timestamp, records: records).encoded()
    }

    @Test func onlyTheNewestRecordOfEachKeyStaysAndOffsetsKeep() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["cleanup.policy": "compact", "segment.bytes": "200"])
        var log = try openLog(directory, config: config)
        for round in 0..<6 {
            try append(log, keyedBatch([("a", "a\(round)"), ("b", "b\(round)")]))
        }
        try append(log, keyedBatch([("c", "c0")]))
        let before = try readAll(log)
        #expect(before.count == 13)
        let statistics = try LogCleaner.clean(log, nowMs: 2_000, logger: testLogger)
        #expect(statistics.recordsRemoved > 0)
        let after = try readAll(log)
        for record in after {
            let original = before.first { $0.offset == record.offset }!
            #expect(String(buffer: original.value!) == String(buffer: record.value!), "offset \(record.offset) changed")
        }
        // At most one record of a key in the closed segments, plus any newer ones in the active segment.
        let activeBase = log.closedSegments().last.map(\.nextOffset) ?? 0
        for key in ["a", "b"] {
            #expect(after.filter { String(buffer: $0.key!) == key && $0.offset < activeBase }.count == 1)
        }
        #expect(after.contains { String(buffer: $0.value!) == "a5" })
        #expect(after.contains { String(buffer: $0.value!) == "b5" })
        #expect(log.logEndOffset == 13)
        log.close()
        log = try openLog(directory, config: config)
        #expect(try readAll(log).map(\.offset) == after.map(\.offset))
        try append(log, keyedBatch([("a", "a6")]))
        #expect(log.logEndOffset == 14)
        log.close()
    }

    @Test func tombstonesGoOnlyAfterDeleteRetention() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["cleanup.policy": "compact", "segment.bytes": "150", "delete.retention.ms": "1000"])
        let log = try openLog(directory, config: config)
        try append(log, keyedBatch([("gone", "v")]))
        try append(log, keyedBatch([("gone", nil)]))
        try append(log, keyedBatch([("x", "1")]))
        try append(log, keyedBatch([("y", "1")]))
        _ = try LogCleaner.clean(log, nowMs: 1_500, logger: testLogger)
        #expect(try readAll(log).contains { String(buffer: $0.key!) == "gone" && $0.value == nil })
        _ = try LogCleaner.clean(log, nowMs: 10_000, logger: testLogger)
        #expect(!(try readAll(log)).contains { String(buffer: $0.key!) == "gone" })
        log.close()
    }

    @Test func deletePolicyTopicsAreNotCompacted() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["segment.bytes": "100"]))
        for _ in 0..<4 { try append(log, keyedBatch([("a", "1")])) }
        #expect(try LogCleaner.clean(log, nowMs: 2_000, logger: testLogger) == LogCleaner.Statistics())
        log.close()
    }
}
