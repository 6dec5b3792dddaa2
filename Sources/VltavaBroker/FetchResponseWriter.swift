import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import VltavaStorage

/// The record data of a fetch answer: storage hands small slices over as bytes, which go into the response as
/// they are, and larger ones as file regions, which go out with sendfile. In the encoded response a file region
/// is first a 20-byte marker (a random nonce and the region's number) which `FetchResponseWriter` replaces.
final class FetchedRecords: @unchecked Sendable {
    static let markerSize = 20

    struct Region {
        var descriptor: Int32?
        var position: Int
        var length: Int
    }

    let nonce: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
    private let lock = NIOLock()
    private(set) var slices: [Region] = []
    private var handles: [NIOFileHandle] = []
    private var closed = false

    /// The value to put in the partition's `records` field for `slice`.
    func attach(_ slice: PartitionLog.FetchSlice) -> ByteBuffer {
        switch slice {
        case .none:
            return ByteBuffer()
        case let .bytes(buffer):
            return buffer
        case let .file(descriptor, position, length):
            return lock.withLock {
                var marker = ByteBuffer()
                marker.writeBytes(nonce)
                marker.writeInteger(UInt32(truncatingIfNeeded: slices.count), endianness: .big)
                slices.append(Region(descriptor: descriptor, position: position, length: length))
                return marker
            }
        }
    }

    /// The record bytes an answer carries: its in-memory records, and the lengths of the file regions its markers
    /// stand for.
    func recordBytes(in response: FetchResponse) -> Int {
        let regions = lock.withLock { slices }
        var total = 0
        for topic in response.responses {
            for partition in topic.partitions {
                guard let records = partition.records else { continue }
                if records.readableBytes == Self.markerSize, records.readableBytesView.prefix(nonce.count).elementsEqual(nonce),
                   let index = records.getInteger(at: records.readerIndex + nonce.count, endianness: .big, as: UInt32.self),
                   regions.indices.contains(Int(index)) {
                    total += regions[Int(index)].length
                } else {
                    total += records.readableBytes
                }
            }
        }
        return total
    }

    func fileHandle(for index: Int) -> NIOFileHandle? {
        lock.withLock {
            guard slices.indices.contains(index), let descriptor = slices[index].descriptor else { return nil }
            slices[index].descriptor = nil
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
                if let descriptor = slice.descriptor { _ = PartitionLog.closeDescriptor(descriptor) }
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
        try buffer.finishKafkaFrame(sizeAt: start)
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
            guard var before = buffer.getSlice(at: cursor, length: markerStart - markerPrefixSize - cursor) else {
                throw KafkaProtocolError.valueOutOfRange(field: "fetch records marker")
            }
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
        guard let tail = buffer.getSlice(at: cursor, length: buffer.writerIndex - cursor) else {
            throw KafkaProtocolError.valueOutOfRange(field: "fetch response tail")
        }
        parts.append(.byteBuffer(tail))
        guard case var .byteBuffer(first) = parts[0] else { return parts }
        guard let frameSize = first.getInteger(at: first.readerIndex, endianness: .big, as: Int32.self) else { return parts }
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
