import Foundation
import KafkaRecords
import NIOCore
import Testing
@testable import VltavaStorage

@Suite struct TransactionCompactionTests {
    let config = LogConfig(overrides: ["cleanup.policy": "compact", "segment.bytes": "250", "delete.retention.ms": "1000"])

    func clean(_ log: PartitionLog, at now: Int64) throws -> LogCleaner.Statistics {
        try LogCleaner.clean(log, nowMs: now, logger: testLogger)
    }

    /// The offsets of the control batches left in the log.
    func markers(_ log: PartitionLog) throws -> [Int64] {
        try readAll(log).filter(\.isControl).map(\.offset)
    }

    @Test func abortedRecordsGoFirstThenMarkersAfterTheirDeleteHorizonWhileReadCommittedStaysTheSame() throws {
        let log = try openLog(makeTemporaryDirectory(), config: config)
        defer { log.close() }
        try append(log, keyedBatch([("k1", "a0"), ("k2", "b0")]))  // 0-1
        try append(log, transactionalBatch(producerId: 1, sequence: 0, keys: ["k1", "k3"], prefix: "aborted"))  // 2-3
        try endTransaction(log, producerId: 1, .abort)  // 4
        try append(log, transactionalBatch(producerId: 2, sequence: 0, keys: ["k2"], prefix: "committed"))  // 5
        try endTransaction(log, producerId: 2, .commit)  // 6
        try append(log, keyedBatch([("k4", "d0")]))  // 7
        // Producer 3's transaction stays open: its record of k1 may still be aborted, so k1's older value must stay.
        try append(log, transactionalBatch(producerId: 3, sequence: 0, keys: ["k1"], prefix: "open"))  // 8
        for index in 0..<6 { try append(log, keyedBatch([("later\(index)", "x")])) }  // 9-14
        #expect(log.lastStableOffset == 8)
        #expect(log.segmentCount > 3)
        let committed = try readCommitted(log)
        #expect(committed.map(\.description) == ["0:k1=a0", "1:k2=b0", "5:k2=committed-0", "7:k4=d0"])

        // Pass 1: the aborted batch goes, and k2's older value; the markers stay while their records were read.
        let first = try clean(log, at: 100_000)
        #expect(first.abortedBatchesRemoved == 1 && first.markersRemoved == 0)
        #expect(first.cleanedUpTo == 8)
        #expect(try readAll(log).filter { !$0.isControl }.map(\.offset) == [0, 5, 7, 8, 9, 10, 11, 12, 13, 14])
        #expect(try markers(log) == [4, 6])
        #expect(try readCommitted(log) == committed.filter { $0.offset != 1 })
        #expect(try log.abortedTransactions(from: 0, upTo: 8).map(\.producerId) == [1])

        // Pass 2: the abort marker has no record left: it gets a delete horizon and its index entry goes.
        let second = try clean(log, at: 100_000)
        #expect(second.markersRemoved == 0 && second.segmentsRewritten == 1)
        #expect(try markers(log) == [4, 6])
        #expect(try log.abortedTransactions(from: 0, upTo: 8).isEmpty)
        // Before the horizon nothing changes.
        #expect(try clean(log, at: 100_500).segmentsRewritten == 0)
        #expect(try markers(log) == [4, 6])

        // Past the horizon the abort marker goes; the commit marker stays while its record does.
        let third = try clean(log, at: 101_001)
        #expect(third.markersRemoved == 1)
        #expect(try markers(log) == [6])
        #expect(try readCommitted(log) == committed.filter { $0.offset != 1 })

        // Once producer 3 commits, its record of k1 replaces the oldest one.
        try endTransaction(log, producerId: 3, .commit)  // 15
        for index in 0..<4 { try append(log, keyedBatch([("tail\(index)", "y")])) }
        let afterCommit = try readCommitted(log)
        #expect(afterCommit.contains { $0.description == "8:k1=open-0" })
        _ = try clean(log, at: 102_000)
        #expect(try readCommitted(log) == afterCommit.filter { $0.offset != 0 })
    }

    @Test func aCommitMarkerGoesOnceItsRecordsAreReplaced() throws {
        let log = try openLog(makeTemporaryDirectory(), config: config)
        defer { log.close() }
        try append(log, transactionalBatch(producerId: 1, sequence: 0, keys: ["k"], prefix: "v1"))  // 0
        try endTransaction(log, producerId: 1, .commit)  // 1
        try append(log, keyedBatch([("k", "v2")]))  // 2
        for index in 0..<6 { try append(log, keyedBatch([("other\(index)", "x")])) }
        let committed = try readCommitted(log)

        _ = try clean(log, at: 100_000)  // the record goes; its marker was read after it, so it stays
        #expect(try markers(log) == [1])
        try append(log, keyedBatch([("other0", "y")]))  // something dirty for the next pass
        for index in 0..<3 { try append(log, keyedBatch([("more\(index)", "x")])) }
        _ = try clean(log, at: 100_000)  // no record of the transaction left: delete horizon
        #expect(try markers(log) == [1])
        #expect(try clean(log, at: 101_001).markersRemoved == 1)
        #expect(try markers(log).isEmpty)
        #expect(try readCommitted(log).filter { $0.offset < 9 } == committed.filter { $0.offset != 0 && $0.key != "other0" })
    }

    @Test func theCleanedCopysTransactionIndexKeepsEntriesWhoseRecordsItRemoved() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory, config: config)
        try append(log, transactionalBatch(producerId: 1, sequence: 0, keys: ["a"]))
        try endTransaction(log, producerId: 1, .abort)
        for index in 0..<6 { try append(log, keyedBatch([("k\(index)", "x")])) }
        let entries = try log.abortedTransactions(from: 0, upTo: .max)
        #expect(entries.count == 1)
        _ = try clean(log, at: 100_000)
        #expect(try log.abortedTransactions(from: 0, upTo: .max) == entries)
        #expect(try transactionIndexFiles(log).count == 1)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: log.directory).contains { $0.hasSuffix(".cleaned") }))
        log.close()
        // The renamed copy is what a restart finds.
        log = try openLog(directory, config: config)
        defer { log.close() }
        #expect(try log.abortedTransactions(from: 0, upTo: .max) == entries)
        _ = try clean(log, at: 100_000)
        #expect(try transactionIndexFiles(log).isEmpty)
    }
}
