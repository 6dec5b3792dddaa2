import KafkaRecords

/// What a compaction pass knows of transactions as it reads the segments in order, as Kafka's
/// CleanedTransactionMetadata: the aborted transactions (from the transaction indexes) whose records it removes,
/// and which transactions it saw records of, so that a marker goes only once its transaction has no record left.
/// It holds the aborted transactions met and not yet ended and one entry a producer in a transaction: its memory is
/// bounded by the producers, not by the log.
struct CleaningTransactionState {
    /// Aborted transactions whose marker has not been read yet, by producer.
    private var aborted: [Int64: [AbortedTransaction]] = [:]
    /// Aborted transactions (producer and marker offset) some of whose batches this pass read.
    private var abortedWithRecords: Set<TransactionKey> = []
    /// Producers whose committed transaction this pass read batches of, until its marker.
    private var committedWithRecords: Set<Int64> = []

    private struct TransactionKey: Hashable {
        var producerId: Int64
        var markerOffset: Int64
    }

    /// What to do with a control batch.
    enum MarkerDecision: Equatable {
        /// Its transaction still has records (or it is past the cleanable part): keep it.
        case keep
        /// Its transaction has no record left: keep it until `delete.retention.ms` from now, so that consumers that
        /// read the records see the end of the transaction (Kafka's delete horizon).
        case setDeleteHorizon
        /// Its delete horizon has passed: remove it.
        case remove
    }

    /// Adds the aborted transactions the next segment's records may belong to (its range's, from the indexes).
    mutating func add(_ transactions: [AbortedTransaction]) {
        for transaction in transactions {
            var known = aborted[transaction.producerId] ?? []
            if !known.contains(where: { $0.lastOffset == transaction.lastOffset }) {
                known.append(transaction)
                aborted[transaction.producerId] = known
            }
        }
    }

    /// Forgets the aborted transactions of the producer of a control batch that end at or before it.
    mutating func passMarker(_ header: RecordBatchHeader) {
        aborted[header.producerId]?.removeAll { $0.lastOffset <= header.baseOffset }
        if aborted[header.producerId]?.isEmpty == true { aborted[header.producerId] = nil }
    }

    /// The aborted transaction a data batch belongs to, if any.
    func abortedTransaction(of header: RecordBatchHeader) -> AbortedTransaction? {
        guard header.isTransactional, !header.isControl, header.producerId >= 0 else { return nil }
        return aborted[header.producerId]?.first { $0.firstOffset <= header.baseOffset && header.baseOffset < $0.lastOffset }
    }

    /// Reads a data batch below the cleanable end: true when it belongs to an aborted transaction (remove it).
    mutating func readDataBatch(_ header: RecordBatchHeader) -> Bool {
        guard header.isTransactional, header.producerId >= 0 else { return false }
        if let transaction = abortedTransaction(of: header) {
            abortedWithRecords.insert(TransactionKey(producerId: header.producerId, markerOffset: transaction.lastOffset))
            return true
        }
        committedWithRecords.insert(header.producerId)
        return false
    }

    /// Reads a control batch below the cleanable end (`marker` nil when it holds no COMMIT or ABORT marker).
    /// Returns what to do with it and whether its aborted transaction's index entry is still needed.
    mutating func readControlBatch(_ header: RecordBatchHeader, marker: ControlRecord?, nowMs: Int64)
        -> (decision: MarkerDecision, keepsIndexEntry: Bool) {
        guard let marker, header.producerId >= 0 else { return (.keep, true) }
        let hadRecords: Bool
        if marker.type == .abort {
            let key = TransactionKey(producerId: header.producerId, markerOffset: header.baseOffset)
            hadRecords = abortedWithRecords.remove(key) != nil
            passMarker(header)
        } else {
            hadRecords = committedWithRecords.remove(header.producerId) != nil
        }
        if hadRecords { return (.keep, true) }
        guard header.hasDeleteHorizon else { return (.setDeleteHorizon, false) }
        return (header.baseTimestamp <= nowMs ? .remove : .keep, false)
    }
}
