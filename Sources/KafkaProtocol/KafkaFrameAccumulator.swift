import NIOCore

/// Splits the reads of a connection into Kafka frames (a big-endian INT32 size, then that many bytes) with at most
/// one copy of each byte, where `NIOSingleStepByteToMessageProcessor` appends every read to one buffer and compacts
/// it, and copies the whole buffer when its storage is shared with the handler before it.
///
/// A frame that arrives whole in one read is a slice of that read; a frame split over reads is gathered into a
/// buffer of the frame's own size, allocated once its size prefix has arrived. With `copiesFrames` every frame is
/// copied into its own buffer instead, and nothing of a read is kept once `process` returns: the reads of
/// `NIOSSLHandler` share the storage it decrypts the next bytes into, which a kept slice would make it copy whole.
///
/// A negative size or one above `maximumFrameSize` is an error (the connection is then closed), thrown before any
/// of the frame's bytes are allocated. A frame above `eagerAllocationLimit` grows with what arrives (doubling), so
/// that a size prefix alone never costs its size.
public struct KafkaFrameAccumulator {
    /// Frames up to this size get their whole buffer as soon as their size is known (by default 2 MiB, above the
    /// clients' default `max.request.size` of 1 MiB).
    public let eagerAllocationLimit: Int

    /// The largest frame accepted.
    public let maximumFrameSize: Int
    /// Whether each frame gets a buffer of its own (see above).
    public let copiesFrames: Bool
    /// The bytes of a frame still arriving, its size prefix first.
    private var partial: ByteBuffer?

    public init(maximumFrameSize: Int = KafkaFrameDecoder.defaultMaximumFrameSize, copiesFrames: Bool = false,
                eagerAllocationLimit: Int = 2 << 20) {
        self.maximumFrameSize = maximumFrameSize
        self.copiesFrames = copiesFrames
        self.eagerAllocationLimit = eagerAllocationLimit
    }

    /// The bytes of the frame still arriving (its prefix included).
    public var unprocessedBytes: Int { partial?.readableBytes ?? 0 }

    /// Takes one read and hands every frame it completes to `receive`, in order.
    public mutating func process(_ read: ByteBuffer, _ receive: (ByteBuffer) throws -> Void) throws {
        var input = read
        if var gathered = partial {
            partial = nil
            if gathered.readableBytes < 4 {
                var head = input.readSlice(length: min(4 - gathered.readableBytes, input.readableBytes)) ?? ByteBuffer()
                gathered.writeBuffer(&head)
            }
            guard let size = try frameSize(of: gathered) else {
                partial = gathered
                return
            }
            let total = 4 + size
            var chunk = input.readSlice(length: min(total - gathered.readableBytes, input.readableBytes)) ?? ByteBuffer()
            reserve(&gathered, frameBytes: total, arriving: chunk.readableBytes)
            gathered.writeBuffer(&chunk)
            guard gathered.readableBytes == total else {
                partial = gathered
                return
            }
            gathered.moveReaderIndex(forwardBy: 4)
            try receive(gathered)
        }
        while let size = try frameSize(of: input), input.readableBytes >= 4 + size {
            input.moveReaderIndex(forwardBy: 4)
            guard var frame = input.readSlice(length: size) else { return }
            if copiesFrames {
                var copy = ByteBuffer()
                copy.reserveCapacity(size)
                copy.writeBuffer(&frame)
                frame = copy
            }
            try receive(frame)
        }
        guard input.readableBytes > 0 else { return }
        var gathered = ByteBuffer()
        reserve(&gathered, frameBytes: 4 + (try frameSize(of: input) ?? 0), arriving: input.readableBytes)
        gathered.writeBuffer(&input)
        partial = gathered
    }

    /// Makes room in a gathering buffer for `arriving` more bytes of a frame of `frameBytes` (prefix included): the
    /// whole frame at once up to `eagerAllocationLimit`, above it twice what it holds, never more than the frame.
    private func reserve(_ buffer: inout ByteBuffer, frameBytes: Int, arriving: Int) {
        let needed = buffer.writerIndex + arriving
        guard needed > buffer.capacity else { return }
        let capacity = frameBytes <= eagerAllocationLimit ? frameBytes : min(frameBytes, max(needed, 2 * buffer.capacity, 4096))
        buffer.reserveCapacity(max(capacity, needed))
    }

    /// The size in a buffer's first four bytes, if they have arrived; throws on a size that cannot be.
    private func frameSize(of buffer: ByteBuffer) throws -> Int? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else { return nil }
        if size < 0 { throw KafkaProtocolError.negativeFrameSize(size) }
        if Int(size) > maximumFrameSize {
            throw KafkaProtocolError.frameTooLarge(size: Int(size), maximum: maximumFrameSize)
        }
        return Int(size)
    }
}
