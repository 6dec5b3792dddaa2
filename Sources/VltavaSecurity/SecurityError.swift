/// What can go wrong in the security layer, said in plain words.
public enum SecurityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A security setting (JAAS text, mechanism list, listener protocol) that cannot be used.
    case invalidConfiguration(String)
    /// A cryptographic primitive failed (not expected with valid parameters).
    case cryptography(String)

    public var description: String {
        switch self {
        case let .invalidConfiguration(message): return message
        case let .cryptography(message): return message
        }
    }
}
