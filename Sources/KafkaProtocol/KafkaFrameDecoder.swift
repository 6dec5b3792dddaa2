import NIOCore

/// Splits a byte stream into Kafka frames: a big-endian INT32 size followed by that many bytes.
///
/// A negative size or one above `maximumFrameSize` is an error (the connection is then closed); the
/// frame's bytes are never allocated before they have all arrived, and then only as a slice.
public struct KafkaFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// Kafka's `socket.request.max.bytes` default: 100 MiB.
    public static let defaultMaximumFrameSize = 104_857_600

    /// The largest frame accepted.
    public let maximumFrameSize: Int

    public init(maximumFrameSize: Int = KafkaFrameDecoder.defaultMaximumFrameSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int32.self) else {
            return nil
        }
        if size < 0 { throw KafkaProtocolError.negativeFrameSize(size) }
        if Int(size) > maximumFrameSize {
            throw KafkaProtocolError.frameTooLarge(size: Int(size), maximum: maximumFrameSize)
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

extension ByteBuffer {
    /// Reserves the INT32 size prefix of a frame and returns its position for `finishKafkaFrame(sizeAt:)`.
    @inlinable
    public mutating func startKafkaFrame() -> Int {
        let position = self.writerIndex
        self.writeInteger(Int32(0))
        return position
    }

    /// Fills in the size prefix reserved by `startKafkaFrame()`; a frame past the INT32 prefix's reach (2 GiB, an
    /// answer that many duplicated items in a request blew up) is `frameTooLarge`, never a trap.
    @inlinable
    public mutating func finishKafkaFrame(sizeAt position: Int) throws(KafkaProtocolError) {
        let size = self.writerIndex - position - 4
        guard let prefix = Int32(exactly: size) else { throw .frameTooLarge(size: size, maximum: Int(Int32.max)) }
        self.setInteger(prefix, at: position, endianness: .big)
    }
}
