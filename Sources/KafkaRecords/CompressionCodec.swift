import CVltavaCompression
import NIOCore

/// The compression of a record batch's records: attribute bits 0-2.
public enum CompressionCodec: Int8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case none = 0
    case gzip = 1
    case snappy = 2
    case lz4 = 3
    case zstd = 4

    /// Whether this process can compress and decompress with the codec. lz4 and zstd need the system's
    /// `liblz4.so.1` and `libzstd.so.1`, loaded on first use.
    public var isAvailable: Bool { unavailableReason == nil }

    /// Kafka's name for the codec, as in the `compression.type` config.
    public var description: String {
        switch self {
        case .none: return "none"
        case .gzip: return "gzip"
        case .snappy: return "snappy"
        case .lz4: return "lz4"
        case .zstd: return "zstd"
        }
    }

    /// Compresses `input`'s readable bytes: gzip format, xerial-framed snappy (as the Java client writes),
    /// the LZ4 frame format or a zstd frame. `level` is the codec's own level; nil takes its default.
    public func compress(_ input: ByteBuffer, level: Int? = nil) throws(RecordBatchError) -> ByteBuffer {
        switch self {
        case .none: return input
        case .snappy: return Snappy.compressXerial(input)
        case .gzip: return try compressInC(input, level: level ?? 6)
        case .lz4: return try compressInC(input, level: level ?? 0)
        case .zstd: return try compressInC(input, level: level ?? 3)
        }
    }

    /// Decompresses `input`'s readable bytes, failing with `decompressedSizeLimitExceeded` as soon as the
    /// output would pass `maximumSize` bytes, so memory stays bounded whatever the input claims.
    /// gzip also accepts zlib and raw deflate; snappy accepts xerial framing and raw snappy blocks.
    public func decompress(_ input: ByteBuffer, maximumSize: Int) throws(RecordBatchError) -> ByteBuffer {
        switch self {
        case .none:
            guard input.readableBytes <= maximumSize else { throw .decompressedSizeLimitExceeded(limit: maximumSize) }
            return input
        case .snappy: return try Snappy.decompress(input, maximumSize: maximumSize)
        case .gzip, .lz4, .zstd: return try decompressInC(input, maximumSize: maximumSize)
        }
    }

    private var unavailableReason: String? {
        switch self {
        case .none, .snappy: return nil
        case .gzip, .lz4, .zstd:
            return vltava_codec_unavailable_reason(Int32(rawValue)).map { String(cString: $0) }
        }
    }

    private func compressInC(_ input: ByteBuffer, level: Int) throws(RecordBatchError) -> ByteBuffer {
        if let reason = unavailableReason { throw .compressionUnavailable(self, reason: reason) }
        let codecID = Int32(rawValue)
        let bound = vltava_compress_bound(codecID, input.readableBytes)
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var failure: String?
        _ = input.withUnsafeReadableBytes { source in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { destination in
                var written = 0
                var message: UnsafePointer<CChar>?
                let status = vltava_compress(
                    codecID, Int32(level), source.baseAddress?.assumingMemoryBound(to: UInt8.self), source.count,
                    destination.baseAddress?.assumingMemoryBound(to: UInt8.self), destination.count,
                    &written, &message)
                guard status == 0 else {
                    failure = message.map { String(cString: $0) } ?? "unknown error"
                    return 0
                }
                return written
            }
        }
        if let failure { throw .compressionFailed(self, reason: failure) }
        return output
    }

    private func decompressInC(_ input: ByteBuffer, maximumSize: Int) throws(RecordBatchError) -> ByteBuffer {
        if let reason = unavailableReason { throw .compressionUnavailable(self, reason: reason) }
        let result = input.withUnsafeReadableBytes { source -> Result<ByteBuffer, RecordBatchError> in
            let base = source.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard let decompressor = vltava_decompressor_create(
                Int32(rawValue), base, source.count, maximumSize)
            else { return .failure(.compressionFailed(self, reason: "could not create a decompressor")) }
            defer { vltava_decompressor_destroy(decompressor) }

            let limit = maximumSize + 1  // one byte over the maximum proves the output is too large
            // The size the input claims is only believed up to a plausible ratio; the buffer grows past it.
            let hint = vltava_decompressed_size_hint(Int32(rawValue), base, source.count)
            let plausible = max(1 << 20, source.count * 256)
            let guess = hint > 0 ? min(hint, plausible) + 1 : max(4096, source.count * 4)
            var output = ByteBufferAllocator().buffer(capacity: min(limit, guess))
            var inputOffset = 0
            while true {
                if output.writableBytes == 0 {
                    output.reserveCapacity(min(limit, output.capacity * 2))
                }
                let room = min(output.writableBytes, limit - output.writerIndex)
                var consumed = 0
                var produced = 0
                var status: Int32 = 0
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { destination in
                    status = vltava_decompressor_step(
                        decompressor, base.map { $0 + inputOffset }, source.count - inputOffset, &consumed,
                        destination.baseAddress?.assumingMemoryBound(to: UInt8.self), room, &produced)
                    return produced
                }
                inputOffset += consumed
                if output.readableBytes > maximumSize {
                    return .failure(.decompressedSizeLimitExceeded(limit: maximumSize))
                }
                switch status {
                case Int32(VLTAVA_STEP_FINISHED):
                    guard inputOffset == source.count else {
                        return .failure(.corruptCompressedData(
                            self, reason: "\(source.count - inputOffset) bytes after the end of the stream"))
                    }
                    return .success(output)
                case Int32(VLTAVA_STEP_LIMIT):
                    return .failure(.decompressedSizeLimitExceeded(limit: maximumSize))
                case Int32(VLTAVA_STEP_ERROR):
                    return .failure(.corruptCompressedData(
                        self, reason: String(cString: vltava_decompressor_error(decompressor))))
                default:
                    if consumed == 0 && produced == 0 && room > 0 {
                        return .failure(.corruptCompressedData(self, reason: "stream ends early"))
                    }
                }
            }
        }
        return try result.get()
    }
}
