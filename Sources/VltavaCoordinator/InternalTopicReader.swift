import KafkaRecords
import Logging
import NIOCore
import VltavaStorage

/// Reads an internal topic's partition back at start-up, record by record.
enum InternalTopicReader {
    /// Calls `body` with the key and value of every keyed data record from the log start to its end, in order;
    /// control batches are skipped. An unreadable stretch ends the read (logged).
    static func forEachRecord(of log: PartitionLog, logger: Logger, _ body: (ByteBuffer, ByteBuffer?) -> Void) {
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
                    if !batch.isControl {
                        for record in batch.records {
                            guard batch.baseOffset + Int64(record.offsetDelta) >= offset, let key = record.key else { continue }
                            body(key, record.value)
                        }
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
