import NIOCore

/// The entry points of the record fuzzers (`Tests/Fuzz`, `scripts/fuzz-decoders`) and of their regression tests:
/// each takes arbitrary bytes, throws every decoding error away, and traps only on a broken invariant.
package enum KafkaRecordsFuzzing {
    /// The output limit of the fuzzed decompressions: small, so that a fuzzer's compression bombs stay fast.
    static let maximumDecompressedSize = 1 << 20

    /// Concatenated record batches, as a Produce request or a log segment holds them. Each whole batch gets its
    /// correct CRC32C first (a fuzzer cannot forge one), then the bytes go through the validator as the broker runs
    /// it on produce and on recovery, offsets are assigned in place to a producer's batches (which must keep them
    /// valid), and every batch is decoded record by record, its control records read, and encoded again, which
    /// must decode to the same batch.
    package static func recordBatches(_ input: UnsafeRawBufferPointer) {
        var records = ByteBuffer(bytes: input)
        fixChecksums(&records)

        for (origin, allowsTrailingPartialBatch) in [(RecordBatchValidator.Origin.client, false), (.log, true)] {
            let validator = RecordBatchValidator(origin: origin, allowsTrailingPartialBatch: allowsTrailingPartialBatch)
            guard let result = try? validator.validate(records) else { continue }
            let covered = result.batches.reduce(0) { $0 + $1.header.totalSize } + result.trailingPartialBytes
            precondition(covered == records.readableBytes, "validated batches cover \(covered) of \(records.readableBytes) bytes")
            // Offsets are assigned to what producers send; the log's own batches keep theirs.
            guard origin == .client else { continue }
            var assigned = records
            let next = RecordBatchValidator.assignOffsets(
                result, startingAt: 1000, in: &assigned, logAppendTime: 1_700_000_000_000, partitionLeaderEpoch: 7)
            precondition(next == 1000 + Int64(result.recordCount), "offsets assigned are not one per record")
            guard let again = try? validator.validate(assigned) else {
                preconditionFailure("batches invalid after offsets and LogAppendTime were assigned")
            }
            precondition(again.batches.count == result.batches.count, "batch count changed by offset assignment")
        }

        var remaining = records
        while remaining.readableBytes > 0 {
            guard let batch = try? RecordBatch(decoding: &remaining, maximumDecompressedSize: maximumDecompressedSize) else { break }
            for record in batch.records {
                _ = batch.timestamp(of: record)
                if batch.isControl { _ = try? ControlRecord(record) }
            }
            guard var encoded = try? batch.encoded() else {
                preconditionFailure("a decoded \(batch.compression) batch of \(batch.records.count) records does not encode")
            }
            let decodedAgain: RecordBatch
            do {
                decodedAgain = try RecordBatch(decoding: &encoded)
            } catch {
                preconditionFailure("a re-encoded \(batch.compression) batch does not decode: \(error)")
            }
            precondition(decodedAgain == batch, "a \(batch.compression) batch changed when encoded again")
        }
    }

    /// Writes the right CRC32C into every whole batch of `records` whose header reads.
    static func fixChecksums(_ records: inout ByteBuffer) {
        var index = records.readerIndex
        let end = records.writerIndex
        while let header = try? RecordBatchHeader(records, at: index, available: end - index), header.totalSize <= end - index {
            RecordBatchHeader.updateChecksum(in: &records, at: index)
            index += header.totalSize
        }
    }

    /// One codec's compressed bytes: decompression must fail cleanly or stay within its limit. The same bytes
    /// taken as uncompressed data must compress, and decompress back to themselves with a limit of exactly their size.
    package static func decompress(_ codec: CompressionCodec, _ input: UnsafeRawBufferPointer) {
        guard codec.isAvailable else { return }
        let bytes = ByteBuffer(bytes: input)
        if let output = try? codec.decompress(bytes, maximumSize: maximumDecompressedSize) {
            precondition(output.readableBytes <= maximumDecompressedSize, "\(codec) output passed its limit")
        }
        let compressed: ByteBuffer
        do {
            compressed = try codec.compress(bytes)
        } catch {
            preconditionFailure("\(codec) could not compress \(bytes.readableBytes) bytes: \(error)")
        }
        let restored: ByteBuffer
        do {
            restored = try codec.decompress(compressed, maximumSize: bytes.readableBytes)
        } catch {
            preconditionFailure("\(codec) could not decompress its own output: \(error)")
        }
        precondition(restored == bytes, "\(codec) did not give back the bytes it compressed")
    }
}
