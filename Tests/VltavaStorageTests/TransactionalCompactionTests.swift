import KafkaRecords
import NIOCore
import Testing
@testable import VltavaStorage

@Suite struct TransactionalCompactionTests {
    func batch(_ pairs: [(String, String)], producerId: Int64 = -1, epoch: Int16 = -1) throws -> ByteBuffer {
        let records = pairs.enumerated().map { index, pair in
            Record(offsetDelta: Int32(index), key: ByteBuffer(string: pair.0), value: ByteBuffer(string: pair.1))
        }
        return try RecordBatch(isTransactional: producerId >= 0, baseTimestamp: 1_000, producerId: producerId,
                               producerEpoch: epoch, records: records).encoded()
    }

    @discardableResult
    func appendAsCoordinator(_ log: PartitionLog, _ bytes: ByteBuffer) throws -> AppendResult {
        try log.append(bytes, batches: try RecordBatchValidator(origin: .log).validate(bytes), nowMs: 10_000, origin: .coordinator)
    }

    func marker(_ type: ControlRecordType, producerId: Int64) throws -> ByteBuffer {
        try ControlRecord(type: type, coordinatorEpoch: 0).batch(producerId: producerId, producerEpoch: 0, timestamp: 1_000).encoded()
    }

    @Test func abortedDataGoesAndAnOpenTransactionStopsThePass() throws {
        let log = try openLog(makeTemporaryDirectory(), config: LogConfig(overrides: ["cleanup.policy": "compact", "segment.bytes": "100"]))
        try appendAsCoordinator(log, batch([("k", "plain")]))
        try appendAsCoordinator(log, batch([("k", "aborted"), ("a", "aborted")], producerId: 1, epoch: 0))
        try appendAsCoordinator(log, marker(.abort, producerId: 1))
        try appendAsCoordinator(log, batch([("k", "committed")], producerId: 2, epoch: 0))
        try appendAsCoordinator(log, marker(.commit, producerId: 2))
        try appendAsCoordinator(log, batch([("k", "open")], producerId: 3, epoch: 0))
        try appendAsCoordinator(log, batch([("k", "after-open")]))
        try appendAsCoordinator(log, batch([("active", "x")]))
        let statistics = try LogCleaner.clean(log, nowMs: 10_000, logger: testLogger)
        #expect(statistics.cleanedUpTo == 6, "the pass stops at the open transaction's first batch")
        let data = try readAll(log).filter { !$0.isControl }.map { String(buffer: $0.value ?? ByteBuffer()) }
        #expect(data == ["committed", "open", "after-open", "x"])
        #expect(try readAll(log).filter(\.isControl).count == 2, "markers stay")
        log.close()
    }

    @Test func coordinatorAppendsCheckOnlyTheProducerEpoch() throws {
        let log = try openLog(makeTemporaryDirectory())
        let bytes = try batch([("k", "v")], producerId: 7, epoch: 1)
        #expect(try appendAsCoordinator(log, bytes).baseOffset == 0)
        #expect(try appendAsCoordinator(log, bytes).baseOffset == 1, "batches without sequences are never duplicates")
        #expect(throws: AppendError.invalidProducerEpoch) { try appendAsCoordinator(log, try batch([("k", "v")], producerId: 7, epoch: 0)) }
        #expect(throws: AppendError.invalidProducerEpoch) { try appendAsCoordinator(log, marker(.commit, producerId: 7)) }
        log.close()
    }
}
