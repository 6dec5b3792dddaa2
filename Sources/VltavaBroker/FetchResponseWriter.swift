import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import VltavaStorage

/// The record data of a fetch answer. Small slices are read into memory at once; larger ones stay as file
/// descriptors and go out with sendfile. In the encoded response a large slice is first a 20-byte marker (a
/// random nonce and the slice's number) which `FetchResponseWriter` replaces by the file region.
final class FetchedRecords: @unchecked Sendable {
    /// Slices up to this size are copied into the response; larger ones are sent from the file.
    static let sendfileThreshold = 64 * 1024
    static let markerSize = 20

    let nonce: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
    private let lock = NIOLock()
    private(set) var slices: [LogReadResult] = []
    private var handles: [NIOFileHandle] = []
    private var closed = false

    /// The value to put in the partition's `records` field for `read`.
    func attach(_ read: LogReadResult) throws -> ByteBuffer {
        if read.length <= Self.sendfileThreshold {
            return try PartitionLog.load(read)
        }
        return lock.withLock {
            var marker = ByteBuffer()
            marker.writeBytes(nonce)
            marker.writeInteger(UInt32(slices.count), endianness: .big)
            slices.append(read)
            return marker
        }
    }

    func fileHandle(for index: Int) -> NIOFileHandle? {
        lock.withLock {
            guard let descriptor = slices[index].fileDescriptor else { return nil }
            slices[index].fileDescriptor = nil
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor)
            handles.append(handle)
            return handle
        }
    }

    /// Closes every descriptor; safe to call more than once.
    func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            for handle in handles { try? handle.close() }
            for slice in slices {
                if let descriptor = slice.fileDescriptor { _ = PartitionLog.closeDescriptor(descriptor) }
            }
        }
    }
}

/// Encodes a fetch answer as buffers and file regions.
enum FetchResponseWriter {
    static func encode(_ response: FetchResponse, version: Int16, correlationId: Int32, records: FetchedRecords,
                       allocator: ByteBufferAllocator) throws -> [IOData] {
        var buffer = allocator.buffer(capacity: 512)
        let start = buffer.startKafkaFrame()
        try ResponseHeader(correlationId: correlationId).write(to: &buffer, version: ApiKey.fetch.responseHeaderVersion(apiVersion: version))
        try response.write(to: &buffer, version: version)
        buffer.finishKafkaFrame(sizeAt: start)
        let slices = records.slices
        if slices.isEmpty { return [.byteBuffer(buffer)] }

        let flexible = FetchResponse.isFlexible(version)
        let markerPrefixSize = flexible ? 1 : 4
        var parts: [IOData] = []
        var cursor = buffer.readerIndex
        var sizeChange = 0
        for (index, slice) in slices.enumerated() {
            let found = buffer.withUnsafeReadableBytes { bytes in
                find(records.nonce, index: UInt32(index), in: bytes, from: cursor - buffer.readerIndex)
            }
            guard let found else {
                throw KafkaProtocolError.valueOutOfRange(field: "fetch records marker")
            }
            let markerStart = buffer.readerIndex + found
            var head = allocator.buffer(capacity: markerStart - markerPrefixSize - cursor + 5)
            var before = buffer.getSlice(at: cursor, length: markerStart - markerPrefixSize - cursor)!
            head.writeBuffer(&before)
            let prefixStart = head.writerIndex
            if flexible {
                head.writeKafkaUnsignedVarint64(UInt64(slice.length + 1))
            } else {
                head.writeInteger(Int32(slice.length), endianness: .big)
            }
            sizeChange += (head.writerIndex - prefixStart) + slice.length - markerPrefixSize - FetchedRecords.markerSize
            parts.append(.byteBuffer(head))
            guard let handle = records.fileHandle(for: index) else {
                throw KafkaProtocolError.valueOutOfRange(field: "fetch records descriptor")
            }
            parts.append(.fileRegion(FileRegion(fileHandle: handle, readerIndex: slice.position, endIndex: slice.position + slice.length)))
            cursor = markerStart + FetchedRecords.markerSize
        }
        parts.append(.byteBuffer(buffer.getSlice(at: cursor, length: buffer.writerIndex - cursor)!))
        guard case var .byteBuffer(first) = parts[0] else { return parts }
        let frameSize = first.getInteger(at: first.readerIndex, endianness: .big, as: Int32.self)!
        first.setInteger(frameSize + Int32(sizeChange), at: first.readerIndex, endianness: .big)
        parts[0] = .byteBuffer(first)
        return parts
    }

    private static func find(_ nonce: [UInt8], index: UInt32, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let width = FetchedRecords.markerSize
        guard bytes.count >= width else { return nil }
        var position = max(0, start)
        while position + width <= bytes.count {
            if bytes[position] == nonce[0], bytes[position..<position + 16].elementsEqual(nonce) {
                let value = UInt32(bytes[position + 16]) << 24 | UInt32(bytes[position + 17]) << 16
                    | UInt32(bytes[position + 18]) << 8 | UInt32(bytes[position + 19])
                if value == index { return position }
            }
            position += 1
        }
        return nil
    }
}
