import NIOCore

/// Snappy's raw block format and the xerial framing of snappy-java, which Kafka's clients write.
///
/// xerial: the 8-byte magic `\x82SNAPPY\0`, a version and a compatible-version int32, then blocks each
/// prefixed by its big-endian int32 compressed length, each block a raw snappy block.
enum Snappy {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16
    /// snappy-java's default block size.
    static let xerialBlockSize = 32 * 1024

    // MARK: Decompression

    static func decompress(_ input: ByteBuffer, maximumSize: Int) throws(RecordBatchError) -> ByteBuffer {
        let result = input.withUnsafeReadableBytes { bytes -> Result<ByteBuffer, RecordBatchError> in
            do throws(RecordBatchError) {
                var output = ByteBufferAllocator().buffer(capacity: 0)
                if isXerial(bytes) {
                    try decompressXerial(bytes, into: &output, maximumSize: maximumSize)
                } else {
                    try decompressBlock(bytes, into: &output, maximumSize: maximumSize)
                }
                return .success(output)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    static func isXerial(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= xerialHeaderSize && zip(bytes.prefix(8), xerialMagic).allSatisfy { $0 == $1 }
    }

    private static func decompressXerial(
        _ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumSize: Int
    ) throws(RecordBatchError) {
        var position = xerialHeaderSize
        while position < bytes.count {
            guard bytes.count - position >= 4 else { throw corrupt("xerial block length truncated") }
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
            position += 4
            guard length <= bytes.count - position else {
                throw corrupt("xerial block of \(length) bytes exceeds the \(bytes.count - position) remaining")
            }
            let block = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            try decompressBlock(block, into: &output, maximumSize: maximumSize)
            position += length
        }
    }

    /// Appends one raw snappy block's uncompressed bytes to `output`.
    static func decompressBlock(
        _ block: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumSize: Int
    ) throws(RecordBatchError) {
        var position = 0
        var declared: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < block.count, shift < 35 else { throw corrupt("bad uncompressed length") }
            let byte = block[position]
            position += 1
            declared |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard declared <= UInt64(maximumSize - output.readableBytes) else {
            throw .decompressedSizeLimitExceeded(limit: maximumSize)
        }
        let length = Int(declared)
        var failure: String?
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { destination in
            failure = decodeElements(block, from: position, into: destination, length: length)
            return failure == nil ? length : 0
        }
        if let failure { throw corrupt(failure) }
    }

    /// Decodes literal and copy elements into exactly `length` bytes; returns why it failed, or nil.
    private static func decodeElements(
        _ block: UnsafeRawBufferPointer, from start: Int, into destination: UnsafeMutableRawBufferPointer, length: Int
    ) -> String? {
        var position = start
        var written = 0
        while position < block.count {
            let tag = block[position]
            position += 1
            switch tag & 3 {
            case 0:
                var literalLength = Int(tag >> 2) + 1
                if literalLength > 60 {
                    let extraBytes = literalLength - 60
                    guard block.count - position >= extraBytes else { return "literal length truncated" }
                    var value = 0
                    for index in 0..<extraBytes { value |= Int(block[position + index]) << (8 * index) }
                    position += extraBytes
                    literalLength = value + 1
                }
                guard literalLength <= block.count - position else { return "literal runs past the input" }
                guard literalLength <= length - written else { return "literal runs past the declared length" }
                destination.baseAddress!.advanced(by: written)
                    .copyMemory(from: block.baseAddress!.advanced(by: position), byteCount: literalLength)
                position += literalLength
                written += literalLength
                continue
            case 1:
                guard position < block.count else { return "copy truncated" }
                let copyLength = Int((tag >> 2) & 7) + 4
                let offset = Int(tag >> 5) << 8 | Int(block[position])
                position += 1
                if let error = copy(offset: offset, length: copyLength, in: destination, written: &written, limit: length) {
                    return error
                }
            case 2:
                guard block.count - position >= 2 else { return "copy truncated" }
                let offset = Int(block[position]) | Int(block[position + 1]) << 8
                position += 2
                if let error = copy(offset: offset, length: Int(tag >> 2) + 1, in: destination, written: &written, limit: length) {
                    return error
                }
            default:
                guard block.count - position >= 4 else { return "copy truncated" }
                let offset = Int(UInt32(littleEndian: block.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                position += 4
                if let error = copy(offset: offset, length: Int(tag >> 2) + 1, in: destination, written: &written, limit: length) {
                    return error
                }
            }
        }
        return written == length ? nil : "block holds \(written) bytes, declared \(length)"
    }

    private static func copy(
        offset: Int, length: Int, in destination: UnsafeMutableRawBufferPointer, written: inout Int, limit: Int
    ) -> String? {
        guard offset > 0, offset <= written else { return "copy offset \(offset) out of range" }
        guard length <= limit - written else { return "copy runs past the declared length" }
        // A copy longer than its offset repeats the last `offset` bytes. Copy in runs that read only bytes
        // already written, from a distance that stays a multiple of `offset` and doubles as the pattern grows.
        var copied = 0
        var distance = offset
        while copied < length {
            let run = min(distance, length - copied)
            let target = destination.baseAddress!.advanced(by: written + copied)
            target.copyMemory(from: UnsafeRawPointer(target - distance), byteCount: run)
            copied += run
            distance *= 2
        }
        written += length
        return nil
    }

    private static func corrupt(_ reason: String) -> RecordBatchError {
        .corruptCompressedData(.snappy, reason: reason)
    }

    // MARK: Compression

    /// Compresses into xerial framing with 32 KiB blocks, as snappy-java's `SnappyOutputStream` does.
    static func compressXerial(_ input: ByteBuffer) -> ByteBuffer {
        var output = ByteBufferAllocator().buffer(capacity: xerialHeaderSize + input.readableBytes + input.readableBytes / 6 + 64)
        output.writeBytes(xerialMagic)
        output.writeInteger(Int32(1), endianness: .big)
        output.writeInteger(Int32(1), endianness: .big)
        input.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                let end = min(start + xerialBlockSize, bytes.count)
                let lengthIndex = output.writerIndex
                output.writeInteger(Int32(0), endianness: .big)
                compressBlock(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), into: &output)
                output.setInteger(Int32(output.writerIndex - lengthIndex - 4), at: lengthIndex, endianness: .big)
                start = end
            }
        }
        return output
    }

    /// Writes one raw snappy block (inputs up to 64 KiB, so every copy fits a 2-byte offset).
    static func compressBlock(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        precondition(input.count <= 65536)
        var length = UInt32(input.count)
        while length >= 0x80 {
            output.writeInteger(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        output.writeInteger(UInt8(length))

        let tableBits = 14
        var table = [UInt16](repeating: 0, count: 1 << tableBits)
        var literalStart = 0
        var position = 0
        let count = input.count
        @inline(__always) func load(_ index: Int) -> UInt32 { input.loadUnaligned(fromByteOffset: index, as: UInt32.self) }
        @inline(__always) func hash(_ value: UInt32) -> Int { Int((value &* 0x1E35_A7BD) >> UInt32(32 - tableBits)) }

        var misses = 0
        table.withUnsafeMutableBufferPointer { table in
            while position + 4 <= count {
                let current = load(position)
                let slot = hash(current)
                let candidate = Int(table[slot])
                table[slot] = UInt16(position)
                guard candidate < position, load(candidate) == current else {
                    // Skip faster through data that does not compress, as snappy does.
                    position += 1 + (misses >> 5)
                    misses += 1
                    continue
                }
                misses = 0
                var matchLength = 4
                while position + matchLength < count && input[candidate + matchLength] == input[position + matchLength] {
                    matchLength += 1
                }
                writeLiteral(input, from: literalStart, to: position, into: &output)
                writeCopy(offset: position - candidate, length: matchLength, into: &output)
                position += matchLength
                literalStart = position
            }
        }
        writeLiteral(input, from: literalStart, to: count, into: &output)
    }

    private static func writeLiteral(_ input: UnsafeRawBufferPointer, from start: Int, to end: Int, into output: inout ByteBuffer) {
        let length = end - start
        guard length > 0 else { return }
        let encoded = length - 1
        if encoded < 60 {
            output.writeInteger(UInt8(encoded << 2))
        } else if encoded < 1 << 8 {
            output.writeInteger(UInt8(60 << 2))
            output.writeInteger(UInt8(encoded))
        } else {
            output.writeInteger(UInt8(61 << 2))
            output.writeInteger(UInt16(encoded), endianness: .little)
        }
        output.writeBytes(UnsafeRawBufferPointer(rebasing: input[start..<end]))
    }

    private static func writeCopy(offset: Int, length: Int, into output: inout ByteBuffer) {
        var remaining = length
        // Keep at least 4 bytes for the last element, the minimum a 2-byte-offset copy is written for.
        while remaining > 0 {
            let chunk = remaining > 64 ? (remaining - 64 < 4 ? 60 : 64) : remaining
            output.writeInteger(UInt8(((chunk - 1) << 2) | 2))
            output.writeInteger(UInt16(offset), endianness: .little)
            remaining -= chunk
        }
    }
}
