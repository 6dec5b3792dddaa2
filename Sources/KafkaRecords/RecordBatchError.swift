import KafkaProtocol

/// Everything that can be wrong with record batches, their records or their compressed payload.
public enum RecordBatchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes remain than the batch (or its header) needs.
    case truncated(needed: Int, available: Int)
    /// The batch length field is below the 49 bytes of header that follow it.
    case invalidBatchLength(Int32)
    /// The magic byte is not 2; only RecordBatch v2 is supported.
    case unsupportedMagic(Int8)
    /// The stored CRC32C does not match the one computed from the bytes.
    case crcMismatch(expected: UInt32, actual: UInt32)
    /// The record count is negative, or zero in a batch sent by a client.
    case invalidRecordCount(Int32)
    /// A client batch whose last offset delta is not its record count minus one.
    case lastOffsetDeltaMismatch(lastOffsetDelta: Int32, recordCount: Int32)
    /// The header's record count differs from the records found in the batch.
    case recordCountMismatch(declared: Int32, decoded: Int)
    /// A client sent a control batch; only the transaction coordinator writes them.
    case controlBatchFromClient
    /// The compression bits hold a codec id that Kafka does not define.
    case unsupportedCompressionType(Int8)
    /// The codec is defined but cannot be used here (its library could not be loaded).
    case compressionUnavailable(CompressionCodec, reason: String)
    /// Decompressing would produce more than the allowed number of bytes.
    case decompressedSizeLimitExceeded(limit: Int)
    /// The compressed payload could not be decompressed.
    case corruptCompressedData(CompressionCodec, reason: String)
    /// Compressing failed (out of memory or a library error).
    case compressionFailed(CompressionCodec, reason: String)
    /// The record at `index` in its batch is malformed.
    case invalidRecord(index: Int, fault: RecordFault)
    /// A control record's key or value is malformed.
    case invalidControlRecord(String)
    /// A value cannot be represented in the batch format (for example more than `Int32.max` records).
    case valueOutOfRange(String)

    /// What is wrong with a single record.
    public enum RecordFault: Error, Hashable, Sendable, CustomStringConvertible {
        /// The record ends before one of its fields.
        case truncated
        /// A varint or varlong runs past its maximum width.
        case varintTooLong
        /// A length or count is negative (other than -1 for a null key, value or header value).
        case negativeLength(Int64)
        /// A length or count claims more bytes than the record has left.
        case lengthExceedsRemaining(length: Int64, remaining: Int)
        /// The record's fields end before its declared length.
        case trailingBytes(Int)

        public var description: String {
            switch self {
            case .truncated: return "record ends early"
            case .varintTooLong: return "varint too long"
            case let .negativeLength(length): return "negative length \(length)"
            case let .lengthExceedsRemaining(length, remaining):
                return "length \(length) exceeds the \(remaining) bytes remaining"
            case let .trailingBytes(count): return "\(count) bytes after the last field"
            }
        }
    }

    /// The error code a broker answers with for this error.
    public var kafkaErrorCode: ErrorCode {
        switch self {
        case .truncated, .invalidBatchLength, .crcMismatch, .corruptCompressedData:
            return .corruptMessage
        case .unsupportedMagic, .invalidRecordCount, .lastOffsetDeltaMismatch, .recordCountMismatch,
            .controlBatchFromClient, .invalidRecord, .invalidControlRecord, .valueOutOfRange:
            return .invalidRecord
        case .unsupportedCompressionType, .compressionUnavailable:
            return .unsupportedCompressionType
        case .decompressedSizeLimitExceeded:
            return .messageTooLarge
        case .compressionFailed:
            return .unknownServerError
        }
    }

    public var description: String {
        switch self {
        case let .truncated(needed, available):
            return "record batch truncated: needed \(needed) bytes, \(available) available"
        case let .invalidBatchLength(length): return "invalid batch length \(length)"
        case let .unsupportedMagic(magic): return "unsupported record batch magic \(magic)"
        case let .crcMismatch(expected, actual):
            return "CRC32C mismatch: batch says \(hex(expected)), bytes give \(hex(actual))"
        case let .invalidRecordCount(count): return "invalid record count \(count)"
        case let .lastOffsetDeltaMismatch(delta, count):
            return "last offset delta \(delta) does not match record count \(count)"
        case let .recordCountMismatch(declared, decoded):
            return "batch declares \(declared) records but holds \(decoded)"
        case .controlBatchFromClient: return "clients may not write control batches"
        case let .unsupportedCompressionType(id): return "unsupported compression type \(id)"
        case let .compressionUnavailable(codec, reason): return "\(codec) compression unavailable: \(reason)"
        case let .decompressedSizeLimitExceeded(limit):
            return "decompressed size exceeds the limit of \(limit) bytes"
        case let .corruptCompressedData(codec, reason): return "corrupt \(codec) data: \(reason)"
        case let .compressionFailed(codec, reason): return "\(codec) compression failed: \(reason)"
        case let .invalidRecord(index, fault): return "invalid record \(index): \(fault)"
        case let .invalidControlRecord(reason): return "invalid control record: \(reason)"
        case let .valueOutOfRange(what): return "value out of range: \(what)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
