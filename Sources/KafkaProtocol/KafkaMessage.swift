import NIOCore

/// A message type generated from a Kafka JSON spec: it reads and writes itself at any of its valid versions.
public protocol KafkaMessage: Hashable, Sendable {
    /// The versions the spec defines.
    static var validVersions: ClosedRange<Int16> { get }
    /// The lowest flexible version (compact encodings, tagged fields), or nil if none is flexible.
    static var lowestFlexibleVersion: Int16? { get }
    /// A message with every field at its default value.
    init()
    /// Reads the message from the front of `buffer`, leaving what follows it unread.
    init(from buffer: inout ByteBuffer, version: Int16) throws(KafkaProtocolError)
    /// Appends the message's encoding at `version`.
    func write(to buffer: inout ByteBuffer, version: Int16) throws(KafkaProtocolError)
}

extension KafkaMessage {
    /// Whether `version` uses compact encodings and tagged fields.
    @inlinable
    public static func isFlexible(_ version: Int16) -> Bool {
        guard let lowest = lowestFlexibleVersion else { return false }
        return version >= lowest
    }

    /// Decodes a whole payload: the version must be valid and every byte must be consumed.
    @inlinable
    public static func decode(from payload: ByteBuffer, version: Int16) throws(KafkaProtocolError) -> Self {
        guard validVersions.contains(version) else {
            throw .unsupportedVersion(apiKey: -1, version: version)
        }
        var buffer = payload
        let message = try Self(from: &buffer, version: version)
        try buffer.expectFullyConsumed()
        return message
    }

    /// Encodes the message into a new buffer.
    @inlinable
    public func encoded(version: Int16, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(KafkaProtocolError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        try write(to: &buffer, version: version)
        return buffer
    }
}

/// The request of one Kafka API.
public protocol KafkaRequestMessage: KafkaMessage {
    /// The response type paired with this request.
    associatedtype Response: KafkaResponseMessage
    /// The API this request belongs to.
    static var apiKey: ApiKey { get }
}

/// The response of one Kafka API.
public protocol KafkaResponseMessage: KafkaMessage {
    /// The API this response belongs to.
    static var apiKey: ApiKey { get }
}
