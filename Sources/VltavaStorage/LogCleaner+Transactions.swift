import KafkaRecords

/// What compaction must know of the transactions in the closed segments, which Kafka reads from the `.txnindex`
/// and the last stable offset: the batches of aborted transactions (they go, and never hide an older record of
/// their keys) and where the first transaction without a marker starts (compaction stops there, so that an open
/// transaction's records never hide a committed record that its abort would leave current — on
/// `__consumer_offsets`, a group's committed offset).
struct CleanerTransactions {
    /// Producer id → the offset ranges of its aborted transactions, from the first data batch to the marker.
    private(set) var aborted: [Int64: [ClosedRange<Int64>]] = [:]
    /// The first offset of a transaction whose marker is not in the closed segments.
    private(set) var firstOpenOffset: Int64?

    /// Whether no aborted transaction is in the closed segments.
    var isEmpty: Bool { aborted.isEmpty }

    /// Whether the batch is data of an aborted transaction.
    func isAborted(_ header: RecordBatchHeader) -> Bool {
        guard header.isTransactional, !header.isControl, let ranges = aborted[header.producerId] else { return false }
        return ranges.contains { $0.contains(header.baseOffset) }
    }

    /// Reads the closed segments' transactional batches and markers (a transaction runs from its producer's first
    /// transactional data batch to the producer's next COMMIT or ABORT marker).
    static func scan(_ section: PartitionLog.CleanableSection, log: PartitionLog, ioBytes: Int) throws -> CleanerTransactions {
        var open: [Int64: Int64] = [:]
        var result = CleanerTransactions()
        for segment in section.segments {
            guard let file = try log.duplicateFile(of: segment) else { continue }
            defer { file.close() }
            var reader = SegmentBatchReader(file: file, size: segment.size, chunkSize: ioBytes)
            while let (_, header, bytes) = try reader.next() {
                guard header.isTransactional, header.producerId >= 0 else { continue }
                guard header.isControl else {
                    if open[header.producerId] == nil { open[header.producerId] = header.baseOffset }
                    continue
                }
                guard let start = open[header.producerId] else { continue }
                var input = bytes
                let marker = try RecordBatch(decoding: &input).records.first.flatMap { try? ControlRecord($0) }
                switch marker?.type {
                case .abort?:
                    result.aborted[header.producerId, default: []].append(start...header.baseOffset)
                    open[header.producerId] = nil
                case .commit?:
                    open[header.producerId] = nil
                default:
                    // Other control records end no transaction.
                    continue
                }
            }
        }
        result.firstOpenOffset = open.values.min()
        return result
    }
}
