import KafkaRecords
import Logging
import NIOCore
import VltavaStorage

/// Reads an internal topic's partition back at start-up, record by record.
enum InternalTopicReader {
    /// Calls `body` with every record from the log start to its end, in order, with its batch (control batches
    /// included: `__consumer_offsets` needs their markers) and its offset. An unreadable stretch, or an error
    /// thrown by `body`, ends the read (logged).
    static func forEachRecord(of log: PartitionLog, logger: Logger, _ body: (RecordBatch, Record, Int64) throws -> Void) {
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            do {
                let bytes = try PartitionLog.load(try log.read(offset: offset, maxBytes: 1 << 20, minOneBatch: true))
                if bytes.readableBytes == 0 { break }
                var remaining = bytes
                var progressed = false
                while remaining.readableBytes > 0 {
                    guard let header = try? RecordBatchHeader(parsing: remaining), header.totalSize <= remaining.readableBytes else { break }
                    let batch = try RecordBatch(decoding: &remaining)
                    for record in batch.records {
                        let recordOffset = batch.baseOffset + Int64(record.offsetDelta)
                        if recordOffset >= offset { try body(batch, record, recordOffset) }
                    }
                    offset = max(offset, header.baseOffset + Int64(header.lastOffsetDelta) + 1)
                    progressed = true
                }
                if !progressed { break }
            } catch {
                logger.error("cannot read an internal topic; skipping the rest of the partition", metadata: [
                    "topic": "\(log.topic)", "partition": "\(log.partition)", "offset": "\(offset)", "error": "\(error)",
                ])
                break
            }
        }
    }
}
