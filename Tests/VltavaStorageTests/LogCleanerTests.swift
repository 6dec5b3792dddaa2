import Foundation
import KafkaRecords
import NIOCore
import Testing
@testable import VltavaStorage

/// A batch of keyed records (nil key: a keyless record, nil value: a tombstone).
func keyedBatch(_ pairs: [(String?, String?)], timestamp: Int64 = 1_000) throws -> ByteBuffer {
    let records = pairs.enumerated().map { index, pair in
        Record(offsetDelta: Int32(index), key: pair.0.map { ByteBuffer(string: $0) }, value: pair.1.map { ByteBuffer(string: $0) })
    }
    return try RecordBatch(baseTimestamp: timestamp, records: records).encoded()
}

/// Thirty batches over eleven keys, with tombstones and keyless records, one second apart.
func appendKeyedHistory(_ log: PartitionLog) throws {
    for round in 0..<30 {
        var pairs: [(String?, String?)] = (0..<3).map { index in
            ("k\((round * 7 + index * 3) % 11)", round % 5 == 4 && index == 0 ? nil : "r\(round)-\(index)")
        }
        if round % 6 == 0 { pairs.append((nil, "keyless-\(round)")) }
        try append(log, keyedBatch(pairs, timestamp: Int64(round) * 1_000))
    }
}

/// What compaction must leave of `records`: below the active segment, keyless records and the newest record of
/// each key, except tombstones in segments whose newest timestamp is more than `deleteRetentionMs` old;
/// the active segment as it is.
func compacted(_ records: [DecodedRecord], segments: [LogSegment], activeBase: Int64, nowMs: Int64,
               deleteRetentionMs: Int64) -> [DecodedRecord] {
    var newest: [ByteBuffer: Int64] = [:]
    for record in records where record.offset < activeBase {
        if let key = record.key { newest[key] = record.offset }
    }
    return records.filter { record in
        guard record.offset < activeBase, let key = record.key else { return true }
        guard newest[key] == record.offset else { return false }
        let segment = segments.last { $0.baseOffset <= record.offset }!
        let due = segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp > deleteRetentionMs
        return !(due && record.value == nil)
    }
}

@Suite struct LogCleanerTests {
    func compactedConfig(_ overrides: [String: String] = [:]) -> LogConfig {
        LogConfig(overrides: ["cleanup.policy": "compact", "segment.bytes": "300"].merging(overrides) { $1 })
    }

    /// Runs passes until the offset map holds every dirty key; returns how many it took.
    func cleanCompletely(_ log: PartitionLog, nowMs: Int64, settings: LogCleanerSettings) throws -> Int {
        var passes = 0
        var statistics: LogCleaner.Statistics
        repeat {
            statistics = try LogCleaner.clean(log, nowMs: nowMs, settings: settings, logger: testLogger)
            passes += 1
            #expect(passes < 100)
        } while statistics.mapFilled && passes < 100
        return passes
    }

    @Test(arguments: [("tombstones kept", Int64(1) << 40), ("tombstones due", Int64(1_000))])
    func aSmallDedupeBufferCompactsOverSeveralPassesAsABigOneDoesInOne(_ scenario: String, deleteRetentionMs: Int64) throws {
        let config = compactedConfig(["delete.retention.ms": "\(deleteRetentionMs)"])
        let now: Int64 = 100_000
        let bigDirectory = makeTemporaryDirectory()
        let smallDirectory = makeTemporaryDirectory()
        let big = try openLog(bigDirectory, config: config)
        let small = try openLog(smallDirectory, config: config)
        try appendKeyedHistory(big)
        try appendKeyedHistory(small)
        let before = try readAll(small)
        let section = try #require(small.cleanableSection())
        #expect(section.segments.count > 5)
        let expected = compacted(before, segments: section.segments, activeBase: section.activeBaseOffset, nowMs: now,
                                 deleteRetentionMs: deleteRetentionMs)
        #expect(expected.count < before.count - 40, "\(scenario): the history has records to remove")

        let bigStatistics = try LogCleaner.clean(big, nowMs: now, logger: testLogger)
        #expect(!bigStatistics.mapFilled)
        #expect(bigStatistics.keysMapped == 11)

        // Three keys a pass.
        let tiny = LogCleanerSettings(dedupeBufferBytes: 4 * OffsetMap.bytesPerEntry)
        let first = try LogCleaner.clean(small, nowMs: now, settings: tiny, logger: testLogger)
        #expect(first.mapFilled && first.keysMapped == 3 && first.offsetMapBytes <= tiny.dedupeBufferBytes)
        #expect(first.cleanedUpTo < section.activeBaseOffset)
        let passes = try cleanCompletely(small, nowMs: now, settings: tiny) + 1
        #expect(passes > 3)

        let bigAfter = try readAll(big)
        let smallAfter = try readAll(small)
        #expect(bigAfter == expected, "\(scenario)")
        #expect(smallAfter == expected, "\(scenario)")
        // Once clean, a further pass has nothing to remove.
        #expect(try LogCleaner.clean(small, nowMs: now, settings: tiny, logger: testLogger).recordsRemoved == 0)
        big.close()
        small.close()
        let reopened = try openLog(smallDirectory, config: config)
        #expect(try readAll(reopened) == expected)
        reopened.close()
    }

    @Test func theCleanedCopyIsWrittenThroughABoundedBuffer() throws {
        let directory = makeTemporaryDirectory()
        let config = compactedConfig(["segment.bytes": "32768"])
        let log = try openLog(directory, config: config)
        var largestBatch = 0
        for round in 0..<600 {
            let value = String(repeating: "x", count: 40)
            let batch = try keyedBatch((0..<3).map { ("k\((round * 3 + $0) % 50)", "\(round)-\($0)-\(value)") })
            largestBatch = max(largestBatch, batch.readableBytes)
            try append(log, batch)
        }
        let section = try #require(log.cleanableSection())
        #expect(section.segments.count >= 3)
        #expect(section.segments.allSatisfy { $0.size > 30_000 })
        let before = try readAll(log)
        let settings = LogCleanerSettings(ioBufferBytes: 2_048)
        let statistics = try LogCleaner.clean(log, nowMs: 2_000, settings: settings, logger: testLogger)
        #expect(statistics.segmentsRewritten == section.segments.count)
        #expect(statistics.largestWriteBufferBytes > 0)
        #expect(statistics.largestWriteBufferBytes <= settings.ioBufferBytes / 2 + largestBatch)
        #expect(try readAll(log) == compacted(before, segments: section.segments, activeBase: section.activeBaseOffset,
                                               nowMs: 2_000, deleteRetentionMs: config.deleteRetentionMs))
        log.close()
    }

    @Test func readsGoOnWhileSegmentsAreReplaced() throws {
        let directory = makeTemporaryDirectory()
        let config = compactedConfig(["segment.bytes": "1024"])
        let log = try openLog(directory, config: config)
        for round in 0..<300 {
            try append(log, keyedBatch([("k\(round % 40)", "a\(round)"), ("k\((round + 7) % 40)", "b\(round)")],
                                       timestamp: Int64(round)))
        }
        let before = try readAll(log)
        let original = Dictionary(uniqueKeysWithValues: before.map { ($0.offset, $0) })
        let section = try #require(log.cleanableSection())
        let expected = compacted(before, segments: section.segments, activeBase: section.activeBaseOffset, nowMs: 1_000,
                                 deleteRetentionMs: config.deleteRetentionMs)
        // A fetch answered before the swap still sends the bytes it was given.
        let answered = try log.read(offset: 0, maxBytes: 1 << 20, minOneBatch: true)

        let errors = ErrorLog()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            do {
                _ = try cleanCompletely(log, nowMs: 1_000, settings: LogCleanerSettings(dedupeBufferBytes: 30 * OffsetMap.bytesPerEntry))
            } catch {
                errors.record(error, "clean")
            }
        }
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            for round in 0..<60 {
                do {
                    let records = try readAll(log)
                    if records.last?.offset != before.last!.offset {
                        errors.record(StorageError.corrupt("ends at \(records.last?.offset ?? -1)"), "read \(round)")
                    }
                    for record in records where original[record.offset] != record {
                        errors.record(StorageError.corrupt("offset \(record.offset) differs"), "read \(round)")
                    }
                    _ = try log.offset(forTimestamp: Int64(round * 5))
                } catch {
                    errors.record(error, "read \(round)")
                }
            }
        }
        group.wait()
        #expect(errors.all == [])
        #expect(try readAll(log) == expected)
        let bytes = try PartitionLog.load(answered)
        #expect(try RecordBatch.decodeRecords(bytes).map(\.offset) == Array(before.map(\.offset).prefix { $0 < section.segments[1].baseOffset }))
        log.close()
    }

    @Test func swappedSegmentsHaveTheirIndexesAndNoTemporaryFilesRemain() throws {
        let directory = makeTemporaryDirectory()
        let config = compactedConfig(["index.interval.bytes": "1"])
        var log = try openLog(directory, config: config)
        try appendKeyedHistory(log)
        let statistics = try LogCleaner.clean(log, nowMs: 100_000, logger: testLogger)
        #expect(statistics.segmentsRewritten > 3)
        let folder = directory + "/t-0/"
        var names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!names.contains { $0.hasSuffix(LogCleaner.temporarySuffix) })
        for name in names where name.hasSuffix(".index") {
            let size = try FileManager.default.attributesOfItem(atPath: folder + name)[.size] as! NSNumber
            let logSize = try FileManager.default.attributesOfItem(atPath: folder + name.dropLast(6) + ".log")[.size] as! NSNumber
            #expect(size.intValue > 0 || logSize.intValue == 0, "\(name)")
        }
        let after = try readAll(log)
        log.close()

        // A crash after a copy's log file was renamed, before its indexes were: the old indexes are gone, the new
        // ones still carry the temporary suffix.
        let base = LogSegment.fileName(0, "")
        try FileManager.default.moveItem(atPath: folder + base + ".index", toPath: folder + base + ".index.cleaned")
        try FileManager.default.moveItem(atPath: folder + base + ".timeindex", toPath: folder + base + ".timeindex.cleaned")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: folder + base + ".log.cleaned"))
        log = try openLog(directory, config: config)
        #expect(try readAll(log) == after)
        #expect(try log.offset(forTimestamp: 0)?.offset == after.first?.offset)
        names = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(!names.contains { $0.hasSuffix(LogCleaner.temporarySuffix) })
        #expect(names.contains(base + ".index"))
        log.close()
    }

    @Test func aCopyOfASegmentThatRetentionDeletedIsDiscarded() throws {
        let directory = makeTemporaryDirectory()
        let log = try openLog(directory, config: compactedConfig(["cleanup.policy": "compact,delete"]))
        try appendKeyedHistory(log)
        let segments = log.closedSegments()
        let first = segments[0]
        let copyPath = LogSegment.path(directory: log.directory, baseOffset: first.baseOffset, ".log",
                                       temporarySuffix: LogCleaner.temporarySuffix)
        try FileManager.default.copyItem(atPath: first.logPath, toPath: copyPath)
        let copy = try LogSegment(directory: log.directory, baseOffset: first.baseOffset, indexIntervalBytes: 4096,
                                  recover: false, nowMs: 0, logger: testLogger, temporarySuffix: LogCleaner.temporarySuffix)
        _ = try log.deleteRecords(before: segments[1].baseOffset)
        #expect(try log.duplicateFile(of: first) == nil)
        #expect(try log.replace(first, with: copy) == false)
        let names = try FileManager.default.contentsOfDirectory(atPath: log.directory)
        #expect(!names.contains { $0.hasPrefix(LogSegment.fileName(first.baseOffset, "")) })
        #expect(try readAll(log, from: segments[1].baseOffset).first?.offset == segments[1].baseOffset)
        log.close()
    }

    @Test func maintenanceRunsPassesUntilTheLogIsClean() throws {
        let directory = makeTemporaryDirectory()
        let metadata = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        let manager = try LogManager(
            dataDirectory: directory, metadata: metadata, cleaner: LogCleanerSettings(dedupeBufferBytes: 4 * OffsetMap.bytesPerEntry),
            logger: testLogger, clock: { 100_000 })
        _ = try manager.createTopic(name: "t", partitions: 1, configs: ["cleanup.policy": "compact", "segment.bytes": "300"])
        let log = try #require(manager.log(topic: "t", partition: 0))
        try appendKeyedHistory(log)
        let before = try readAll(log)
        let section = try #require(log.cleanableSection())
        manager.runMaintenance()
        #expect(try readAll(log) == compacted(before, segments: section.segments, activeBase: section.activeBaseOffset,
                                               nowMs: 100_000, deleteRetentionMs: log.currentConfig.deleteRetentionMs))
        #expect(log.cleanableSection()?.firstDirtyOffset == section.activeBaseOffset)
        manager.shutdown()
    }

    @Test func settingsComeFromKafkasBrokerProperties() throws {
        #expect(LogCleanerSettings() == LogCleanerSettings(dedupeBufferBytes: 134_217_728, dedupeBufferLoadFactor: 0.9, ioBufferBytes: 524_288))
        let settings = try LogCleanerSettings(properties: [
            "log.cleaner.dedupe.buffer.size": "1048576", "log.cleaner.io.buffer.size": "65536",
            "log.cleaner.io.buffer.load.factor": "0.75", "log.retention.ms": "5",
        ])
        #expect(settings == LogCleanerSettings(dedupeBufferBytes: 1 << 20, dedupeBufferLoadFactor: 0.75, ioBufferBytes: 1 << 16))
        #expect(throws: StorageError.self) { try LogCleanerSettings(properties: ["log.cleaner.dedupe.buffer.size": "lots"]) }
        #expect(throws: StorageError.self) { try LogCleanerSettings(properties: ["log.cleaner.io.buffer.load.factor": "2"]) }
    }
}
