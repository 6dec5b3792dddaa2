import Foundation
import KafkaRecords
import NIOCore
import Testing
@testable import VltavaStorage

@Suite struct TransactionTests {
    @Test func theLastStableOffsetMovesWithBeginCommitAndAbort() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        try append(log, makeBatch(3))
        #expect(log.lastStableOffset == 3)
        try append(log, transactionalBatch(producerId: 7, sequence: 0, keys: ["a", "b"]))
        #expect(log.lastStableOffset == 3)
        try append(log, makeBatch(1))
        try append(log, transactionalBatch(producerId: 7, sequence: 2))
        #expect(log.logEndOffset == 7 && log.lastStableOffset == 3)
        #expect(log.ongoingTransactions().map(\.firstOffset) == [3])
        #expect(log.ongoingTransactions().map(\.producerId) == [7])

        let commit = try endTransaction(log, producerId: 7, .commit)
        #expect(commit.baseOffset == 7 && commit.lastOffset == 7)
        #expect(log.lastStableOffset == 8)
        #expect(log.ongoingTransactions().isEmpty)
        #expect(try log.abortedTransactions(from: 0, upTo: 8).isEmpty)

        try append(log, transactionalBatch(producerId: 7, sequence: 3))
        #expect(log.lastStableOffset == 8)
        try endTransaction(log, producerId: 7, .abort)
        #expect(log.lastStableOffset == 10)
        #expect(try log.abortedTransactions(from: 0, upTo: 10) == [
            AbortedTransaction(producerId: 7, firstOffset: 8, lastOffset: 9, lastStableOffset: 10),
        ])
        #expect(log.activeProducers().map(\.coordinatorEpoch) == [1])
    }

    @Test func interleavedProducersHoldTheStableOffsetAtTheOldestTransactionAndIndexAbortsInKafkasLayout() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        try append(log, transactionalBatch(producerId: 1, sequence: 0, keys: ["a", "b"]))  // 0-1
        try append(log, transactionalBatch(producerId: 2, sequence: 0, keys: ["c", "d"]))  // 2-3
        try append(log, transactionalBatch(producerId: 1, sequence: 2))  // 4
        #expect(log.lastStableOffset == 0)
        try endTransaction(log, producerId: 1, .abort)  // 5
        #expect(log.lastStableOffset == 2)
        try append(log, transactionalBatch(producerId: 3, sequence: 0))  // 6
        try endTransaction(log, producerId: 2, .commit)  // 7
        #expect(log.lastStableOffset == 6)
        #expect(log.ongoingTransactions().map(\.producerId) == [3])
        try endTransaction(log, producerId: 3, .abort)  // 8
        #expect(log.lastStableOffset == 9)

        let expected = [
            AbortedTransaction(producerId: 1, firstOffset: 0, lastOffset: 5, lastStableOffset: 2),
            AbortedTransaction(producerId: 3, firstOffset: 6, lastOffset: 8, lastStableOffset: 9),
        ]
        #expect(try log.abortedTransactions(from: 0, upTo: 9) == expected)
        #expect(try transactionIndexFiles(log) == ["00000000000000000000.txnindex": bytes(hex: """
            0000 0000000000000001 0000000000000000 0000000000000005 0000000000000002
            0000 0000000000000003 0000000000000006 0000000000000008 0000000000000009
            """)])
        // Consumers see producer 2's committed records only.
        #expect(try readCommitted(log).map(\.offset) == [2, 3])
    }

    @Test func aPlainBatchFromAProducerWithAnOpenTransactionIsRefused() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        try append(log, transactionalBatch(producerId: 9, sequence: 0))
        let plain = try RecordBatch(baseTimestamp: 1_000, producerId: 9, producerEpoch: 0, baseSequence: 1,
                                    records: [Record(offsetDelta: 0, key: nil, value: ByteBuffer(string: "outside"))]).encoded()
        #expect(throws: AppendError.invalidTxnState(producerId: 9)) { try append(log, plain) }
        #expect(log.logEndOffset == 1, "nothing appended")
        try endTransaction(log, producerId: 9, .abort)
        // Once the transaction is over, the producer's plain batches are welcome again.
        let after = try RecordBatch(baseTimestamp: 1_000, producerId: 9, producerEpoch: 0, baseSequence: 1,
                                    records: [Record(offsetDelta: 0, key: nil, value: ByteBuffer(string: "after"))]).encoded()
        #expect(try append(log, after).baseOffset == 2)
    }

    @Test func aMarkerWithoutATransactionIsAppendedAndCompletesNothing() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        try append(log, makeBatch(2))
        let marker = try endTransaction(log, producerId: 4, .abort)
        #expect(marker.baseOffset == 2 && log.logEndOffset == 3 && log.lastStableOffset == 3)
        #expect(try log.abortedTransactions(from: 0, upTo: 3).isEmpty)
        #expect(try transactionIndexFiles(log).isEmpty)
        #expect(try readAll(log).map(\.isControl) == [false, false, true])
    }

    @Test func lowerEpochsAreFencedOnDataAndMarkersWhileMarkersLeaveSequencesAlone() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        let first = try append(log, transactionalBatch(producerId: 5, epoch: 1, sequence: 0))
        #expect(throws: AppendError.invalidProducerEpoch) {
            try append(log, transactionalBatch(producerId: 5, epoch: 0, sequence: 1))
        }
        #expect(throws: AppendError.invalidProducerEpoch) { try endTransaction(log, producerId: 5, epoch: 0, .commit) }
        #expect(log.logEndOffset == 1 && log.lastStableOffset == 0)

        try endTransaction(log, producerId: 5, epoch: 1, .commit)
        #expect(log.lastStableOffset == 2)
        // The marker carries no sequence: a retry of the batch before it is still a duplicate, the next one follows it.
        let retry = try append(log, transactionalBatch(producerId: 5, epoch: 1, sequence: 0))
        #expect(retry.isDuplicate && retry.baseOffset == first.baseOffset)
        #expect(throws: AppendError.outOfOrderSequence(expected: 1, received: 2)) {
            try append(log, transactionalBatch(producerId: 5, epoch: 1, sequence: 2))
        }
        try append(log, transactionalBatch(producerId: 5, epoch: 1, sequence: 1))  // 2
        #expect(log.lastStableOffset == 2)

        // A coordinator that bumped the epoch (a timed-out transaction) aborts with the new one and fences the old.
        try endTransaction(log, producerId: 5, epoch: 2, .abort)  // 3
        #expect(log.lastStableOffset == 4)
        #expect(try log.abortedTransactions(from: 0, upTo: 4).map(\.firstOffset) == [2])
        #expect(throws: AppendError.invalidProducerEpoch) {
            try append(log, transactionalBatch(producerId: 5, epoch: 1, sequence: 2))
        }
        try append(log, transactionalBatch(producerId: 5, epoch: 2, sequence: 0))
        #expect(log.ongoingTransactions().map(\.producerEpoch) == [2])
    }

    @Test func aMarkerBatchAppendedLikeAnyBatchUpdatesStateAsAppendControlMarkerDoes() throws {
        let viaMarker = try openLog(makeTemporaryDirectory())
        let viaAppend = try openLog(makeTemporaryDirectory())
        defer {
            viaMarker.close()
            viaAppend.close()
        }
        for log in [viaMarker, viaAppend] {
            try append(log, transactionalBatch(producerId: 8, sequence: 0))
            try append(log, makeBatch(1))
        }
        try endTransaction(viaMarker, producerId: 8, .abort, now: 20_000)
        let marker = try ControlRecord(type: .abort, coordinatorEpoch: 1)
            .batch(producerId: 8, producerEpoch: 0, timestamp: 20_000).encoded()
        try viaAppend.append(marker, batches: RecordBatchValidator(origin: .log).validate(marker), nowMs: 20_000)

        #expect(try TransactionState(viaMarker) == TransactionState(viaAppend))
        #expect(try transactionIndexFiles(viaMarker) == transactionIndexFiles(viaAppend))
        #expect(try transactionIndexFiles(viaMarker).count == 1)
        let logFile = "/00000000000000000000.log"
        #expect(try Data(contentsOf: URL(fileURLWithPath: viaMarker.directory + logFile))
            == Data(contentsOf: URL(fileURLWithPath: viaAppend.directory + logFile)))
    }

    @Test func readCommittedReadsNeverReturnABatchPastTheBound() throws {
        let log = try openLog(makeTemporaryDirectory())
        defer { log.close() }
        try append(log, makeBatch(2))  // 0-1
        try append(log, makeBatch(2))  // 2-3
        try append(log, transactionalBatch(producerId: 1, sequence: 0, keys: ["a", "b"]))  // 4-5
        try append(log, makeBatch(2))  // 6-7
        #expect(log.lastStableOffset == 4)

        func offsets(from offset: Int64, upTo bound: Int64?, maxBytes: Int = 1 << 20) throws -> [Int64] {
            let slice = try log.fetch(offset: offset, maxBytes: maxBytes, minOneBatch: true, upTo: bound).slice
            switch slice {
            case .none: return []
            case let .bytes(buffer): return try RecordBatch.decodeRecords(buffer).map(\.offset)
            case let .file(descriptor, _, _):
                PartitionLog.closeDescriptor(descriptor)
                Issue.record("a small slice came as a file")
                return []
            }
        }
        #expect(try offsets(from: 0, upTo: nil) == Array(0...7))
        #expect(try offsets(from: 0, upTo: log.lastStableOffset) == [0, 1, 2, 3])
        #expect(try offsets(from: 3, upTo: log.lastStableOffset) == [2, 3])
        #expect(try offsets(from: 4, upTo: log.lastStableOffset).isEmpty)
        #expect(try offsets(from: 6, upTo: log.lastStableOffset).isEmpty)
        // A bound inside a batch leaves that batch out.
        #expect(try offsets(from: 0, upTo: 3) == [0, 1])
        #expect(try offsets(from: 2, upTo: 3).isEmpty)
        let result = try log.read(offset: 0, maxBytes: 1 << 20, minOneBatch: true, upTo: 4)
        #expect(result.lastStableOffset == 4 && result.highWatermark == 8)
        _ = try PartitionLog.load(result)

        try endTransaction(log, producerId: 1, .commit)
        #expect(try offsets(from: 0, upTo: log.lastStableOffset).filter { $0 >= 4 } == [4, 5, 6, 7, 8])
    }

    @Test func abortedTransactionsAreFoundAcrossSegmentsForEveryRange() throws {
        // One batch a segment: transactions span segments and markers land in other segments than their records.
        let log = try openLog(makeTemporaryDirectory(), config: LogConfig(overrides: ["segment.bytes": "100"]))
        defer { log.close() }
        var aborted: [(producerId: Int64, first: Int64, last: Int64)] = []
        var firstOffsets: [Int64: Int64] = [:]
        var sequences: [Int64: Int32] = [:]
        // A fixed schedule of appends: producer 0 is plain data; others begin, continue, commit or abort.
        let schedule: [(Int64, String)] = [
            (1, "d"), (2, "d"), (0, "d"), (1, "d"), (1, "a"), (3, "d"), (2, "c"), (3, "d"), (0, "d"), (4, "d"),
            (3, "a"), (1, "d"), (4, "a"), (1, "a"), (2, "d"), (0, "d"), (2, "a"), (5, "d"), (5, "d"), (5, "c"),
        ]
        for (producer, action) in schedule {
            if producer == 0 {
                try append(log, makeBatch(1))
            } else if action == "d" {
                if firstOffsets[producer] == nil { firstOffsets[producer] = log.logEndOffset }
                try append(log, transactionalBatch(producerId: producer, sequence: sequences[producer, default: 0]))
                sequences[producer, default: 0] += 1
            } else {
                let marker = try endTransaction(log, producerId: producer, action == "a" ? .abort : .commit)
                if action == "a", let first = firstOffsets[producer] { aborted.append((producer, first, marker.baseOffset)) }
                firstOffsets[producer] = nil
            }
        }
        #expect(log.segmentCount > 10)
        #expect(aborted.count == 5)
        let end = log.logEndOffset
        for start in 0...end {
            for upper in (start + 1)...(end + 1) {
                let expected = aborted.filter { $0.last >= start && $0.first < upper }.map { "\($0.producerId)@\($0.first)-\($0.last)" }
                let found = try log.abortedTransactions(from: start, upTo: upper).map { "\($0.producerId)@\($0.firstOffset)-\($0.lastOffset)" }
                #expect(found == expected, "range [\(start), \(upper))")
            }
        }
    }
}
