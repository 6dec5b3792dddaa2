/// The one error type of the Kafka protocol layer: every decode or encode failure is one of these.
public enum KafkaProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The payload ended before a value of `needed` bytes could be read.
    case truncated(needed: Int, available: Int)
    /// A length or count field held a negative value other than the -1 that marks null.
    case negativeLength(Int64)
    /// A length or element count claims more bytes than the payload has left.
    case lengthExceedsRemaining(length: Int64, remaining: Int)
    /// A variable-length integer ran past its maximum width (5 bytes for 32 bits, 10 for 64).
    case varintTooLong
    /// A null was read or written where the field's version does not allow it.
    case unexpectedNull(field: String)
    /// A message decoded fully but bytes were left in its payload.
    case trailingBytes(Int)
    /// The API key is not one this build knows.
    case unknownApiKey(Int16)
    /// The version is outside the message's valid range.
    case unsupportedVersion(apiKey: Int16, version: Int16)
    /// A field holds a non-default value but does not exist in the version being written and is not ignorable.
    case fieldNotSupportedInVersion(field: String, version: Int16)
    /// A frame's size prefix is negative.
    case negativeFrameSize(Int32)
    /// A frame's size prefix is above the configured maximum.
    case frameTooLarge(size: Int, maximum: Int)
    /// A value is out of the range the wire type can carry.
    case valueOutOfRange(field: String)

    public var description: String {
        switch self {
        case let .truncated(needed, available):
            return "truncated payload: needed \(needed) bytes, \(available) available"
        case let .negativeLength(length):
            return "negative length \(length)"
        case let .lengthExceedsRemaining(length, remaining):
            return "length \(length) exceeds the \(remaining) bytes remaining"
        case .varintTooLong:
            return "variable-length integer longer than its maximum width"
        case let .unexpectedNull(field):
            return "null value for non-nullable field \(field)"
        case let .trailingBytes(count):
            return "\(count) unread bytes after the end of the message"
        case let .unknownApiKey(key):
            return "unknown API key \(key)"
        case let .unsupportedVersion(apiKey, version):
            return "API key \(apiKey) has no version \(version)"
        case let .fieldNotSupportedInVersion(field, version):
            return "field \(field) has a non-default value but does not exist in version \(version)"
        case let .negativeFrameSize(size):
            return "negative frame size \(size)"
        case let .frameTooLarge(size, maximum):
            return "frame of \(size) bytes exceeds the maximum of \(maximum)"
        case let .valueOutOfRange(field):
            return "value of \(field) is out of range for its wire type"
        }
    }
}
