import KafkaRecords
import Logging
import NIOCore

/// Compaction of `cleanup.policy=compact` partitions, as Kafka's log cleaner does it: in the closed segments
/// (never the active one) only the newest record of each key is kept, and tombstones (null values) are dropped
/// once `delete.retention.ms` has passed since their segment's newest timestamp. Offsets never change: a
/// rewritten batch keeps its base offset, offset deltas and producer fields. Control batches are kept as they are.
enum LogCleaner {
    struct Statistics: Equatable {
        var segmentsRewritten = 0
        var recordsRemoved = 0
    }

    /// Compacts `log`'s closed segments. Runs on the maintenance thread; appends and reads go on meanwhile.
    static func clean(_ log: PartitionLog, nowMs: Int64, logger: Logger) throws -> Statistics {
        let config = log.currentConfig
        guard config.isCompacted else { return Statistics() }
        let segments = log.closedSegments()
        guard !segments.isEmpty else { return Statistics() }

        // The newest offset of every key in the closed segments (keys copied, so no batch's buffer is kept alive).
        var newest: [[UInt8]: Int64] = [:]
        for segment in segments {
            try forEachBatch(in: segment) { batch in
                guard !batch.isControl else { return }
                for record in batch.records {
                    if let key = record.key { newest[Array(key.readableBytesView)] = batch.baseOffset + Int64(record.offsetDelta) }
                }
            }
        }

        var statistics = Statistics()
        for segment in segments {
            let dropTombstones = segment.maxTimestamp >= 0 && nowMs - segment.maxTimestamp > config.deleteRetentionMs
            var cleaned = ByteBuffer()
            var removed = 0
            try forEachBatch(in: segment) { batch in
                if batch.isControl {
                    try batch.encode(into: &cleaned)
                    return
                }
                var kept = batch
                kept.records = batch.records.filter { record in
                    guard let key = record.key else { return true }
                    if newest[Array(key.readableBytesView)] != batch.baseOffset + Int64(record.offsetDelta) { return false }
                    return !(dropTombstones && record.value == nil)
                }
                removed += batch.records.count - kept.records.count
                if kept.records.isEmpty { return }
                kept.lastOffsetDelta = batch.lastOffsetDelta ?? batch.records.last.map(\.offsetDelta)
                kept.maxTimestamp = batch.maxTimestamp
                try kept.encode(into: &cleaned)
            }
            guard removed > 0 else { continue }
            let cleanedPath = segment.logPath + ".cleaned"
            let file = try SystemFile(path: cleanedPath, create: true)
            try file.truncate(to: 0)
            try file.write(cleaned, at: 0)
            try file.sync()
            file.close()
            try log.replace(segment, withCleanedFile: cleanedPath, nowMs: nowMs)
            statistics.segmentsRewritten += 1
            statistics.recordsRemoved += removed
        }
        if statistics.segmentsRewritten > 0 {
            logger.info("compacted partition", metadata: [
                "partition": "\(log.topic)-\(log.partition)", "segments": "\(statistics.segmentsRewritten)",
                "recordsRemoved": "\(statistics.recordsRemoved)",
            ])
        }
        return statistics
    }

    /// Decodes the segment's batches one at a time.
    private static func forEachBatch(in segment: LogSegment, _ body: (RecordBatch) throws -> Void) throws {
        var locations: [BatchLocation] = []
        try segment.scanBatches(from: 0, verifyChecksums: false) { location in
            locations.append(location)
            return true
        }
        for location in locations {
            var bytes = try segment.file.read(at: location.position, length: location.size)
            let batch = try RecordBatch(decoding: &bytes)
            try body(batch)
        }
    }
}
