import KafkaProtocol

/// The one error type of the client: a Kafka error code answered by a broker, or a failure on the way there.
public enum KafkaClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A broker answered with a non-zero error code. `resource` names what it was about (a topic, a partition).
    case broker(code: ErrorCode, message: String?, resource: String?)
    /// No broker of the bootstrap list or the metadata could be connected to.
    case connectionFailed(address: String, reason: String)
    /// The connection closed while a request was waiting for its response.
    case connectionClosed(address: String)
    /// A network wait took longer than its timeout.
    case timedOut(operation: String, seconds: Double)
    /// The broker does not support any version of an API that this client speaks.
    case unsupportedApi(ApiKey)
    /// A response could not be decoded, or arrived with an unexpected correlation id.
    case malformedResponse(String)
    /// An argument given to the client is not valid (a bad address, a partition the topic does not have).
    case invalidArgument(String)

    /// The Kafka error code, when the error is one a broker answered.
    public var errorCode: ErrorCode? {
        if case let .broker(code, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case let .broker(code, message, resource):
            var text = code.name
            if let resource { text += " (\(resource))" }
            if let message, !message.isEmpty { text += ": \(message)" }
            return text
        case let .connectionFailed(address, reason):
            return "cannot connect to \(address): \(reason)"
        case let .connectionClosed(address):
            return "connection to \(address) closed"
        case let .timedOut(operation, seconds):
            return "\(operation) timed out after \(seconds) s"
        case let .unsupportedApi(apiKey):
            return "the broker supports no version of \(apiKey.name) that this client speaks"
        case let .malformedResponse(detail):
            return "malformed response: \(detail)"
        case let .invalidArgument(detail):
            return detail
        }
    }
}

extension KafkaClientError {
    /// Throws `.broker` when `rawCode` is not NONE.
    static func check(_ rawCode: Int16, message: String? = nil, resource: String? = nil) throws(KafkaClientError) {
        if rawCode != 0 {
            throw .broker(code: ErrorCode(rawValue: rawCode), message: message, resource: resource)
        }
    }
}
