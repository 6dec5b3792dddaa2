import Foundation
import KafkaRecords
import NIOCore
@testable import VltavaStorage

/// A transactional batch of records with keys `keys` and values "prefix-i".
func transactionalBatch(producerId: Int64, epoch: Int16 = 0, sequence: Int32, keys: [String] = ["k"], prefix: String = "t",
                        timestamp: Int64 = 1_000) throws -> ByteBuffer {
    let records = keys.enumerated().map { index, key in
        Record(offsetDelta: Int32(index), timestampDelta: Int64(index), key: ByteBuffer(string: key),
               value: ByteBuffer(string: "\(prefix)-\(index)"))
    }
    return try RecordBatch(isTransactional: true, baseTimestamp: timestamp, producerId: producerId, producerEpoch: epoch,
                           baseSequence: sequence, records: records).encoded()
}

@discardableResult
func endTransaction(_ log: PartitionLog, producerId: Int64, epoch: Int16 = 0, _ type: ControlRecordType,
                    now: Int64 = 10_000) throws -> AppendResult {
    try log.appendControlMarker(producerId: producerId, producerEpoch: epoch, type: type, coordinatorEpoch: 1, nowMs: now)
}

/// A record as a consumer sees it.
struct ConsumedRecord: Equatable, CustomStringConvertible {
    var offset: Int64
    var key: String?
    var value: String?

    var description: String { "\(offset):\(key ?? "-")=\(value ?? "null")" }
}

/// The records a read_committed consumer receives, fetching as Kafka's consumer does: up to the last stable offset,
/// each fetch with the aborted transactions of its range, whose producers' batches are skipped until their marker.
func readCommitted(_ log: PartitionLog, maxBytes: Int = 1 << 20) throws -> [ConsumedRecord] {
    let stable = log.lastStableOffset
    var result: [ConsumedRecord] = []
    var next = log.logStartOffset
    while next < stable {
        let read = try log.read(offset: next, maxBytes: maxBytes, minOneBatch: true, upTo: stable)
        var bytes = try PartitionLog.load(read)
        let validated = try RecordBatchValidator(origin: .log, allowsTrailingPartialBatch: true).validate(bytes)
        guard let last = validated.batches.last else { break }
        let upper = last.header.lastOffset + 1
        precondition(upper <= stable, "a read_committed fetch returned offset \(upper - 1) past the LSO \(stable)")
        var queue = try log.abortedTransactions(from: next, upTo: upper).sorted { $0.firstOffset < $1.firstOffset }
        var abortedProducers: Set<Int64> = []
        for _ in validated.batches {
            let batch = try RecordBatch(decoding: &bytes)
            let batchLast = batch.baseOffset + Int64(batch.lastOffsetDelta ?? 0)
            while let head = queue.first, head.firstOffset <= batchLast {
                abortedProducers.insert(head.producerId)
                queue.removeFirst()
            }
            if batch.isControl {
                if let record = batch.records.first, let marker = try? ControlRecord(record), marker.type == .abort {
                    abortedProducers.remove(batch.producerId)
                }
                continue
            }
            if batch.isTransactional && abortedProducers.contains(batch.producerId) { continue }
            for record in batch.records where batch.baseOffset + Int64(record.offsetDelta) >= next {
                result.append(ConsumedRecord(offset: batch.baseOffset + Int64(record.offsetDelta),
                                             key: record.key.map { String(buffer: $0) }, value: record.value.map { String(buffer: $0) }))
            }
        }
        next = upper
    }
    return result
}

/// The `.txnindex` files of a partition folder, by name, with their bytes.
func transactionIndexFiles(_ log: PartitionLog) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: log.directory) where name.hasSuffix(".txnindex") {
        files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: log.directory + "/" + name)))
    }
    return files
}

func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Summaries of transaction state that must survive a restart unchanged.
struct TransactionState: Equatable {
    var logEndOffset: Int64
    var lastStableOffset: Int64
    var ongoing: [String]
    var aborted: [AbortedTransaction]
    var producers: [ProducerStateSummary]

    init(_ log: PartitionLog) throws {
        logEndOffset = log.logEndOffset
        lastStableOffset = log.lastStableOffset
        ongoing = log.ongoingTransactions().map { "\($0.producerId)/\($0.producerEpoch)@\($0.firstOffset)" }
        aborted = try log.abortedTransactions(from: 0, upTo: .max)
        producers = log.activeProducers()
    }
}
