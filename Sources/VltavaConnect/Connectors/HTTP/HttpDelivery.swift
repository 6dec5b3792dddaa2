import KafkaProtocol
import NIOHTTP1
import VltavaHTTP

/// Where a request of the HTTP sink goes: the server, the path and query as written in the URL, and the URL as it
/// may be shown (without credentials).
public struct HttpTarget: Sendable, Hashable {
    public var endpoint: HTTPEndpoint
    /// The path and query, verbatim (`/` when the URL has none).
    public var path: String
    public var display: String

    public init(url: String) throws(HTTPURLError) {
        var endpoint = try HTTPEndpoint(url: url)
        let text = url.trimmedWhitespace
        let afterScheme = text.range(of: "://").map { text[$0.upperBound...] } ?? Substring(text)
        let authority = afterScheme.prefix { $0 != "/" }
        let path = String(afterScheme.dropFirst(authority.count))
        let host = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        endpoint.basePath = ""
        endpoint.userInfo = nil
        self.endpoint = endpoint
        self.path = path.isEmpty ? "/" : path
        display = String(text[..<afterScheme.startIndex]) + host + path
    }
}

/// How one attempt went: an answer, or a failure before any (connection refused, timeout, TLS), in plain words.
public enum HttpAttempt: Sendable {
    case answer(status: Int, body: [UInt8])
    case failure(String)
}

/// The retries of the HTTP sink: `max.retries` more attempts after the first for a failure before an answer or an
/// answer whose status is in `retry.on.status.codes` (408 and 429 always), waiting `retry.backoff.ms` between
/// them (CONSTANT_VALUE) or a random time up to `retry.backoff.ms` × 2^retry (EXPONENTIAL_WITH_JITTER, Confluent's
/// default). A 2xx answer is a success.
public struct HttpRetryPolicy: Sendable {
    public var maxRetries: Int
    public var backoffMs: Int
    public var backoffPolicy: HttpSinkConfig.BackoffPolicy
    public var retryOn: HttpStatusCodeRanges

    /// Confluent's longest wait between attempts (a day).
    static let maximumBackoffMs: Int64 = 24 * 60 * 60 * 1000

    public init(config: HttpSinkConfig) {
        maxRetries = config.maxRetries
        backoffMs = config.retryBackoffMs
        backoffPolicy = config.backoffPolicy
        retryOn = config.retryOnStatusCodes
    }

    public func isRetried(status: Int) -> Bool { status == 408 || status == 429 || retryOn.contains(status) }

    /// How long to wait before retry number `retry` (0 for the first).
    public func backoff(retry: Int, random: (ClosedRange<Int64>) -> Int64 = { Int64.random(in: $0) }) -> Int64 {
        let initial = Int64(backoffMs)
        guard backoffPolicy == .exponentialWithJitter, initial > 0 else { return initial }
        let ceiling = retry >= 32 ? Self.maximumBackoffMs : min(Self.maximumBackoffMs, initial << Int64(retry))
        return random(0...ceiling)
    }

    /// Sends `request` until it succeeds or the retries run out: nil on success, else what failed, in plain words
    /// (`HTTP POST http://host/x failed after 3 retries: 503 Service Unavailable: <first 200 bytes of the body>`).
    /// `send` answers nil and `sleep` false when the task is stopping, which gives the request up.
    public func deliver(_ request: HttpSinkRequest, display: String, send: () -> HttpAttempt?,
                        sleep: (Int64) -> Bool) throws(ConnectError) -> String? {
        var retries = 0
        while true {
            guard let attempt = send() else { throw SinkTaskContext.stopped }
            let problem: String
            switch attempt {
            case let .answer(status, _) where (200..<300).contains(status):
                return nil
            case let .answer(status, body):
                problem = Self.describe(status: status, body: body)
                if !isRetried(status: status) { return Self.message(request, display, retries, problem) }
            case let .failure(text):
                problem = text
            }
            guard retries < maxRetries else { return Self.message(request, display, retries, problem) }
            guard sleep(backoff(retry: retries)) else { throw SinkTaskContext.stopped }
            retries += 1
        }
    }

    static func message(_ request: HttpSinkRequest, _ display: String, _ retries: Int, _ problem: String) -> String {
        let after = retries == 0 ? "" : " after \(retries) \(retries == 1 ? "retry" : "retries")"
        return "HTTP \(request.method) \(display) failed\(after): \(problem)"
    }

    /// `503 Service Unavailable: <the first 200 bytes of the body>`.
    public static func describe(status: Int, body: [UInt8]) -> String {
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        let head = String(decoding: body.prefix(200), as: UTF8.self).trimmedWhitespace
        return "\(status)\(reason.isEmpty ? "" : " " + reason)\(head.isEmpty ? "" : ": " + head)"
    }
}
