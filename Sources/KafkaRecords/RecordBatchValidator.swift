import NIOCore

/// Checks a run of concatenated record batches (a Produce request's `records`, a Fetch response's, a log
/// segment's) from their headers and CRCs, without decompressing.
public struct RecordBatchValidator: Sendable {
    /// Who wrote the batches, which decides how strict the checks are.
    public enum Origin: Hashable, Sendable {
        /// A producer: every batch must hold at least one record, its offset deltas must be dense
        /// (`lastOffsetDelta == recordCount - 1`) and it may not be a control batch.
        case client
        /// The log itself or a replica: compaction may have removed records, so only structure is checked.
        case log
    }

    /// One batch that passed, and where it starts relative to the buffer's reader index.
    public struct ValidatedBatch: Hashable, Sendable {
        /// The batch's header.
        public var header: RecordBatchHeader
        /// Where the batch starts, counted from the buffer's reader index.
        public var position: Int
    }

    /// What a validation found.
    public struct Result: Hashable, Sendable {
        /// The whole batches, in order.
        public var batches: [ValidatedBatch]
        /// Bytes of an incomplete last batch that were skipped (only with `allowsTrailingPartialBatch`).
        public var trailingPartialBytes: Int
        /// The sum of the batches' record counts.
        public var recordCount: Int {
            batches.reduce(0) { $0 + Int($1.header.recordCount) }
        }
    }

    /// Who wrote the batches.
    public var origin: Origin
    /// Whether an incomplete batch at the end is skipped instead of rejected, as a Fetch response may end in one.
    public var allowsTrailingPartialBatch: Bool
    /// Whether each batch's CRC32C is checked.
    public var verifiesChecksums: Bool

    /// A validator; the defaults suit a Produce request.
    public init(origin: Origin = .client, allowsTrailingPartialBatch: Bool = false, verifiesChecksums: Bool = true) {
        self.origin = origin
        self.allowsTrailingPartialBatch = allowsTrailingPartialBatch
        self.verifiesChecksums = verifiesChecksums
    }

    /// Validates every batch in `records`' readable bytes; the first bad batch throws.
    public func validate(_ records: ByteBuffer) throws(RecordBatchError) -> Result {
        var batches: [ValidatedBatch] = []
        let start = records.readerIndex
        let end = start + records.readableBytes
        var index = start
        while index < end {
            let available = end - index
            // A batch shorter than its header, or whose length runs past the end, is the trailing partial one.
            if allowsTrailingPartialBatch {
                if available < RecordBatchHeader.size { return Result(batches: batches, trailingPartialBytes: available) }
                let length = records.getInteger(at: index + RecordBatchHeader.Field.batchLength, endianness: .big, as: Int32.self)!
                if length >= RecordBatchHeader.minimumBatchLength && Int(length) + RecordBatchHeader.logOverhead > available {
                    return Result(batches: batches, trailingPartialBytes: available)
                }
            }
            let header = try RecordBatchHeader(records, at: index, available: available)
            guard header.totalSize <= available else {
                throw .truncated(needed: header.totalSize, available: available)
            }
            try check(header)
            if verifiesChecksums {
                let actual = RecordBatchHeader.computeChecksum(records, at: index, totalSize: header.totalSize)
                guard actual == header.crc else { throw .crcMismatch(expected: header.crc, actual: actual) }
            }
            batches.append(ValidatedBatch(header: header, position: index - start))
            index += header.totalSize
        }
        return Result(batches: batches, trailingPartialBytes: 0)
    }

    private func check(_ header: RecordBatchHeader) throws(RecordBatchError) {
        guard header.compression != nil else { throw .unsupportedCompressionType(header.compressionCodecID) }
        guard header.recordCount >= 0 else { throw .invalidRecordCount(header.recordCount) }
        guard origin == .client else { return }
        guard header.recordCount > 0 else { throw .invalidRecordCount(header.recordCount) }
        guard Int64(header.lastOffsetDelta) == Int64(header.recordCount) - 1 else {
            throw .lastOffsetDeltaMismatch(lastOffsetDelta: header.lastOffsetDelta, recordCount: header.recordCount)
        }
        guard !header.isControl else { throw .controlBatchFromClient }
    }

    /// Assigns consecutive offsets from `firstOffset` to the validated batches by rewriting their base offsets
    /// in place (no CRC change), and returns the offset after the last one. With `logAppendTime`, each batch
    /// is also stamped with that time and its CRC recomputed.
    public static func assignOffsets(
        _ result: Result, startingAt firstOffset: Int64, in records: inout ByteBuffer,
        logAppendTime: Int64? = nil, partitionLeaderEpoch: Int32? = nil
    ) -> Int64 {
        var offset = firstOffset
        for batch in result.batches {
            let index = records.readerIndex + batch.position
            RecordBatchHeader.setBaseOffset(offset, in: &records, at: index)
            if let partitionLeaderEpoch {
                RecordBatchHeader.setPartitionLeaderEpoch(partitionLeaderEpoch, in: &records, at: index)
            }
            if let logAppendTime {
                RecordBatchHeader.setLogAppendTime(logAppendTime, in: &records, at: index)
            }
            offset += Int64(batch.header.lastOffsetDelta) + 1
        }
        return offset
    }
}
