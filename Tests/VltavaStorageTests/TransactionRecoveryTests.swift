import Foundation
import KafkaRecords
import NIOCore
import NIOConcurrencyHelpers
import Testing
@testable import VltavaStorage

@Suite struct TransactionRecoveryTests {
    let smallSegments = LogConfig(overrides: ["segment.bytes": "250"])

    /// A history over several segments: producer 1's transaction begins in the first segment and stays open,
    /// producer 2 aborts twice (one marker in the active segment), producer 3 commits, producer 4 is open in the
    /// active segment.
    func appendHistory(_ log: PartitionLog) throws {
        try append(log, transactionalBatch(producerId: 1, sequence: 0))
        try append(log, transactionalBatch(producerId: 2, sequence: 0, keys: ["a", "b"]))
        try append(log, makeBatch(2))
        try endTransaction(log, producerId: 2, .abort)
        try append(log, transactionalBatch(producerId: 3, sequence: 0))
        try append(log, makeBatch(1))
        try endTransaction(log, producerId: 3, .commit)
        try append(log, transactionalBatch(producerId: 2, sequence: 2))
        try append(log, makeBatch(1))
        try append(log, transactionalBatch(producerId: 4, sequence: 0))
        try endTransaction(log, producerId: 2, .abort)
    }

    func path(_ log: PartitionLog, _ base: Int64, _ suffix: String) -> String {
        log.directory + "/" + LogSegment.fileName(base, suffix)
    }

    @Test func aCleanRestartRestoresTransactionsFromTheSnapshot() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory, config: smallSegments)
        try appendHistory(log)
        let before = try TransactionState(log)
        let indexes = try transactionIndexFiles(log)
        #expect(log.segmentCount > 3)
        #expect(before.lastStableOffset == 0)
        #expect(before.ongoing == ["1/0@0", "4/0@\(log.logEndOffset - 2)"])
        #expect(before.aborted.count == 2)
        #expect(indexes.count == 2)
        log.close()

        log = try openLog(directory, config: smallSegments)
        #expect(try TransactionState(log) == before)
        #expect(try transactionIndexFiles(log) == indexes)
        let producer4First = try #require(log.ongoingTransactions().last?.firstOffset)
        try endTransaction(log, producerId: 1, .commit)
        #expect(log.lastStableOffset == producer4First)
        try endTransaction(log, producerId: 4, .abort)
        #expect(log.lastStableOffset == log.logEndOffset)
        log.close()
    }

    @Test func version1SnapshotsAreStillRead() throws {
        var snapshot = ByteBuffer()
        snapshot.writeInteger(Int16(1), endianness: .big)
        snapshot.writeInteger(Int32(1), endianness: .big)
        snapshot.writeInteger(Int64(9), endianness: .big)
        snapshot.writeInteger(Int16(3), endianness: .big)
        snapshot.writeInteger(UInt8(1))
        for value in [Int32(0), Int32(4)] { snapshot.writeInteger(value, endianness: .big) }
        for value in [Int64(10), Int64(14)] { snapshot.writeInteger(value, endianness: .big) }
        let state = try #require(ProducerStateManager(snapshot: snapshot))
        #expect(state.producers[9] == .init(epoch: 3, batches: [.init(firstSequence: 0, lastSequence: 4, firstOffset: 10, lastOffset: 14)]))
        #expect(state.firstUnstableOffset == nil)

        var current = ProducerStateManager()
        current.update(producerId: 9, epoch: 3, batch: .init(firstSequence: 0, lastSequence: 0, firstOffset: 20, lastOffset: 20),
                       isTransactional: true, timestamp: 5)
        let reread = try #require(ProducerStateManager(snapshot: current.snapshot()))
        #expect(reread.producers == current.producers)
        #expect(reread.firstUnstableOffset == 20)
        #expect(ProducerStateManager(snapshot: current.snapshot().getSlice(at: 0, length: 20)!) == nil)
    }

    @Test func aCrashRebuildsTheTailsTransactionsAndATornIndex() throws {
        let directory = makeTemporaryDirectory()
        let crashed = try openLog(directory, config: smallSegments)
        defer { crashed.close() }
        try appendHistory(crashed)
        let before = try TransactionState(crashed)
        let indexes = try transactionIndexFiles(crashed)
        let activeIndex = try #require(indexes.keys.max())
        // The log is not closed (as after kill -9): no snapshot covers the active segment's batches. Its index loses
        // half of its last entry; an older segment's gains a torn one.
        let active = crashed.directory + "/" + activeIndex
        let activeFile = try FileHandle(forWritingTo: URL(fileURLWithPath: active))
        try activeFile.truncate(atOffset: UInt64(indexes[activeIndex]!.count - 17))
        try activeFile.close()
        let olderIndex = try #require(indexes.keys.min())
        #expect(olderIndex != activeIndex)
        let older = try FileHandle(forWritingTo: URL(fileURLWithPath: crashed.directory + "/" + olderIndex))
        try older.seekToEnd()
        try older.write(contentsOf: Data([0, 0, 0, 0, 0, 0, 0, 7, 1]))
        try older.close()

        let recovered = try openLog(directory, config: smallSegments)
        defer { recovered.close() }
        #expect(try TransactionState(recovered) == before)
        #expect(try transactionIndexFiles(recovered) == indexes)
    }

    @Test func aLostActiveSnapshotIsReplacedByAnOlderOneAndALongerReplay() throws {
        let directory = makeTemporaryDirectory()
        var log = try openLog(directory, config: smallSegments)
        try appendHistory(log)
        let before = try TransactionState(log)
        let indexes = try transactionIndexFiles(log)
        let activeBase = try #require(log.closedSegments().last?.nextOffset)
        log.close()
        try FileManager.default.removeItem(atPath: path(log, activeBase, ".snapshot"))
        try FileManager.default.removeItem(atPath: directory + "/t-0/" + indexes.keys.max()!)

        log = try openLog(directory, config: smallSegments)
        defer { log.close() }
        #expect(try TransactionState(log) == before)
        #expect(try transactionIndexFiles(log) == indexes)
    }

    @Test func retentionDeletesAnIndexWithItsSegmentAndTheStableOffsetStaysAtTheLogStart() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: smallSegments)
        defer { log.close() }
        try appendHistory(log)
        let indexes = try transactionIndexFiles(log)
        let firstIndex = try #require(indexes.keys.min())
        let firstMarker = try #require(try log.abortedTransactions(from: 0, upTo: .max).first?.lastOffset)
        #expect(FileManager.default.fileExists(atPath: log.directory + "/" + firstIndex))

        // Past producer 1's open transaction (offset 0) and the segment holding the first abort marker.
        let markerSegment = try #require(log.closedSegments().first { $0.baseOffset <= firstMarker && firstMarker < $0.nextOffset })
        let start = try log.deleteRecords(before: markerSegment.nextOffset)
        #expect(start == markerSegment.nextOffset)
        #expect(!FileManager.default.fileExists(atPath: log.directory + "/" + firstIndex))
        #expect(try log.abortedTransactions(from: start, upTo: .max).count == 1)
        #expect(log.ongoingTransactions().map(\.firstOffset).first == 0)
        #expect(log.lastStableOffset == start)
        try endTransaction(log, producerId: 1, .commit)
        #expect(log.lastStableOffset == log.ongoingTransactions().first?.firstOffset)
    }
}

@Suite struct TransactionIndexConcurrencyTests {
    @Test func abortedTransactionLookupsRunAlongsideRetention() throws {
        let log = try openLog(makeTemporaryDirectory(), config: LogConfig(overrides: ["segment.bytes": "150"]))
        defer { log.close() }
        var all: [AbortedTransaction] = []
        for producer in Int64(1)...40 {
            try append(log, transactionalBatch(producerId: producer, sequence: 0))
            try endTransaction(log, producerId: producer, .abort)
        }
        all = try log.abortedTransactions(from: 0, upTo: .max)
        #expect(all.count == 40)
        #expect(log.segmentCount > 20)
        let known = Set(all)
        let end = log.logEndOffset
        let failures = NIOLockedValueBox<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            if worker == 0 {
                for offset in stride(from: Int64(0), to: end, by: 2) { _ = try? log.deleteRecords(before: offset) }
                return
            }
            for _ in 0..<300 {
                do {
                    let start = log.logStartOffset
                    let found = try log.abortedTransactions(from: start, upTo: .max)
                    if !found.allSatisfy(known.contains) || found.contains(where: { $0.lastOffset < start }) {
                        failures.withLockedValue { $0.append("unexpected entries from \(start)") }
                    }
                } catch {
                    failures.withLockedValue { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLockedValue { $0 }.isEmpty)
        #expect(try log.abortedTransactions(from: log.logStartOffset, upTo: .max) == all.filter { $0.lastOffset >= log.logStartOffset })
    }
}
