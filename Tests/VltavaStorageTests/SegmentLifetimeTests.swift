import Foundation
import KafkaRecords
import NIOCore
import Testing
@testable import VltavaStorage

/// Descriptors opened by a test hook, closed by the test.
final class OpenedFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var descriptors: [Int32] = []

    /// Opens `path` a few times, so that descriptor numbers freed just before are taken again.
    func hold(_ path: String, copies: Int) {
        lock.withLock {
            for _ in 0..<copies { descriptors.append(open(path, O_RDONLY)) }
        }
    }

    func closeAll() {
        lock.withLock {
            for descriptor in descriptors where descriptor >= 0 { close(descriptor) }
            descriptors.removeAll()
        }
    }
}

/// Errors collected from several threads.
final class ErrorLog: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []

    func record(_ error: Error, _ context: String) {
        lock.withLock { errors.append("\(context): \(error)") }
    }

    var all: [String] { lock.withLock { errors } }
}

/// Work done on a segment after the partition's lock is released must not reach a descriptor that retention,
/// compaction or closing has closed meanwhile (and another file may have been given).
@Suite struct SegmentLifetimeTests {
    @Test func timestampLookupReadsTheBatchItFoundWhenRetentionDeletesItsSegment() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["segment.bytes": "300"]))
        for round in 0..<6 { try append(log, makeBatch(5, timestamp: 1_000 * Int64(round + 1))) }
        let bases = log.closedSegments().map(\.baseOffset)
        #expect(bases.count >= 2)
        // A file of valid batches with other timestamps, to be given the descriptor numbers the deletion frees.
        let decoy = directory + "/decoy"
        try Data(try makeBatch(5, timestamp: 90_000).readableBytesView).write(to: URL(fileURLWithPath: decoy))
        let opened = OpenedFiles()
        defer { opened.closeAll() }
        log.testHooks.afterTimestampLookup = {
            _ = try? log.deleteRecords(before: bases[1])
            opened.hold(decoy, copies: 6)
        }
        let found = try log.offset(forTimestamp: 1_001)
        // The lookup saw the first segment before it went: its record, moved up to the new log start.
        #expect(found?.offset == bases[1])
        #expect(found?.timestamp == 1_001)
        log.close()
    }

    @Test func flushSyncsSegmentsThatRetentionDeletesMeanwhile() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["segment.bytes": "300"]))
        for _ in 0..<6 { try append(log, makeBatch(5)) }
        #expect(log.segmentCount > 2)
        let end = log.logEndOffset
        log.testHooks.beforeFlushSync = { _ = try? log.deleteRecords(before: end) }
        try log.flush()
        #expect(log.segmentCount == 1)
        #expect(log.durableOffset == log.logEndOffset)
        log.close()
    }

    @Test func aClosedLogLeavesTheFilesOfItsFolderAlone() throws {
        let directory = makeTemporaryDirectory()
        let config = LogConfig(overrides: ["segment.bytes": "300", "retention.bytes": "1"])
        let deleted = try openLog(directory, config: config)
        for _ in 0..<6 { try append(deleted, makeBatch(5)) }
        try deleted.delete()
        // The topic is created again: a new log in the same folder, with segments of the same names.
        let recreated = try openLog(directory, config: config)
        for _ in 0..<6 { try append(recreated, makeBatch(5, prefix: "new")) }
        #expect(try deleted.applyRetention(nowMs: 10_000) == 0)
        #expect(throws: StorageError.closed) { try deleted.deleteRecords(before: 10) }
        #expect(throws: StorageError.closed) { try deleted.offset(forTimestamp: 0) }
        #expect(throws: StorageError.closed) { try deleted.flush() }
        recreated.close()
        let reopened = try openLog(directory, config: config)
        #expect(try readAll(reopened).count == 30)
        reopened.close()
    }

    @Test func lookupsReadsAndFlushesRunAlongsideRetention() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: LogConfig(overrides: ["segment.bytes": "400", "retention.bytes": "1200"]))
        try append(log, makeBatch(5, timestamp: 0))
        let errors = ErrorLog()
        let rounds = 300
        let group = DispatchGroup()
        func run(_ body: @escaping @Sendable () -> Void) {
            group.enter()
            Thread.detachNewThread {
                body()
                group.leave()
            }
        }
        run {
            for round in 1...rounds {
                do {
                    try append(log, makeBatch(5, timestamp: Int64(round) * 10))
                    try log.applyRetention(nowMs: 10_000)
                } catch {
                    errors.record(error, "append or retention")
                }
            }
        }
        run {
            for round in 0..<rounds {
                do {
                    if let found = try log.offset(forTimestamp: Int64(round) * 10 + 2), found.timestamp < Int64(round) * 10 + 2 {
                        errors.record(StorageError.corrupt("\(found) before \(round * 10 + 2)"), "timestamp lookup")
                    }
                } catch {
                    errors.record(error, "timestamp lookup")
                }
                do {
                    let read = try log.read(offset: log.logStartOffset, maxBytes: 1 << 16, minOneBatch: true)
                    _ = try PartitionLog.load(read)
                } catch StorageError.offsetOutOfRange {
                    // Retention moved the start between the two calls.
                } catch {
                    errors.record(error, "read")
                }
            }
        }
        run {
            for _ in 0..<rounds {
                do { try log.flush() } catch { errors.record(error, "flush") }
            }
        }
        group.wait()
        #expect(errors.all == [])
        #expect(log.logEndOffset == Int64(rounds + 1) * 5)
        log.close()
    }
}
