import Foundation
import KafkaProtocol
import VltavaHTTP

/// The configuration of Confluent's HTTP sink (`io.confluent.connect.http.HttpSinkConnector`), read with its names,
/// defaults and accepted values; every invalid value is a `ConnectError.config` naming its key.
public struct HttpSinkConfig: Sendable {
    public enum BodyFormat: String, Sendable { case string, json }
    public enum BehaviorOnError: String, Sendable { case fail, log, ignore }
    public enum BehaviorOnNullValues: String, Sendable { case ignore, delete, log, fail }
    public enum BackoffPolicy: String, Sendable { case constant = "CONSTANT_VALUE", exponentialWithJitter = "EXPONENTIAL_WITH_JITTER" }

    /// `http.api.url`, with `${topic}` and `${key}` still in it.
    public var urlTemplate: String
    /// `request.method`: POST, PUT or PATCH.
    public var method: String
    /// `headers` split by `header.separator`, then any `Authorization` of `auth.type`.
    public var headers: [HttpHeaderField]
    public var batchKeyPattern: String
    public var batchMaxSize: Int
    public var batchPrefix: String
    public var batchSuffix: String
    public var batchSeparator: String
    public var batchJsonAsArray: Bool
    public var bodyFormat: BodyFormat
    public var maxRetries: Int
    public var retryBackoffMs: Int
    public var backoffPolicy: BackoffPolicy
    public var retryOnStatusCodes: HttpStatusCodeRanges
    public var connectTimeoutMs: Int
    public var requestTimeoutMs: Int
    public var behaviorOnError: BehaviorOnError
    public var behaviorOnNullValues: BehaviorOnNullValues

    public init(_ config: [String: String]) throws(ConnectError) {
        urlTemplate = try ConnectConfig.string(config, "http.api.url").trimmedWhitespace
        if urlTemplate.isEmpty {
            throw .config(name: "http.api.url", message: "Missing required configuration \"http.api.url\" which has no default value.")
        }
        do {
            _ = try HttpTarget(url: HttpSinkConfig.substitute(urlTemplate, topic: "topic", key: "key"))
        } catch {
            throw .config(name: "http.api.url", message: "Invalid value \(urlTemplate) for configuration http.api.url: \(error.description)")
        }
        method = try Self.oneOf(config, "request.method", default: "POST", ["POST", "PUT", "PATCH"]).uppercased()
        let separator = config["header.separator"] ?? "|"
        if separator.isEmpty {
            throw .config(name: "header.separator", message: "Invalid value for configuration header.separator: the separator may not be empty")
        }
        headers = try Self.parseHeaders(config["headers"] ?? "", separator: separator)
        if let authorization = try Self.authorization(config) {
            headers.removeAll { $0.name.lowercased() == "authorization" }
            headers.append(HttpHeaderField(name: "Authorization", value: authorization))
        }
        batchKeyPattern = config["batch.key.pattern"] ?? "someKey"
        batchMaxSize = try ConnectConfig.int(config, "batch.max.size", default: 1, minimum: 1)
        batchPrefix = config["batch.prefix"] ?? ""
        batchSuffix = config["batch.suffix"] ?? ""
        batchSeparator = config["batch.separator"] ?? ","
        batchJsonAsArray = try ConnectConfig.boolean(config, "batch.json.as.array", default: false)
        bodyFormat = try BodyFormat(rawValue: Self.oneOf(config, "request.body.format", default: "string", ["string", "json"]).lowercased()) ?? .string
        maxRetries = try ConnectConfig.int(config, "max.retries", default: 10, minimum: 0)
        retryBackoffMs = try ConnectConfig.int(config, "retry.backoff.ms", default: 3000, minimum: 0)
        backoffPolicy = try BackoffPolicy(rawValue: Self.oneOf(config, "retry.backoff.policy", default: "EXPONENTIAL_WITH_JITTER",
                                                               ["CONSTANT_VALUE", "EXPONENTIAL_WITH_JITTER"]).uppercased()) ?? .exponentialWithJitter
        let codes = config["retry.on.status.codes"] ?? "400-"
        do {
            retryOnStatusCodes = try HttpStatusCodeRanges(codes)
        } catch {
            throw .config(name: "retry.on.status.codes", message: "Invalid value \(codes) for configuration retry.on.status.codes: \(error.description)")
        }
        connectTimeoutMs = try ConnectConfig.int(config, "http.connect.timeout.ms", default: 30000, minimum: 1)
        requestTimeoutMs = try ConnectConfig.int(config, "http.request.timeout.ms", default: 30000, minimum: 1)
        behaviorOnError = try BehaviorOnError(rawValue: Self.oneOf(config, "behavior.on.error", default: "fail", ["fail", "log", "ignore"]).lowercased()) ?? .fail
        behaviorOnNullValues = try BehaviorOnNullValues(rawValue: Self.oneOf(
            config, "behavior.on.null.values", default: "ignore", ["ignore", "delete", "log", "fail"]).lowercased()) ?? .ignore
    }

    /// `${topic}` and `${key}` of a URL or batch key pattern replaced by a record's.
    public static func substitute(_ template: String, topic: String, key: String) -> String {
        guard template.contains("${") else { return template }
        return template.replacingOccurrences(of: "${topic}", with: topic).replacingOccurrences(of: "${key}", with: key)
    }

    /// Confluent's `headers` format: `name:value` entries separated by `separator` (`|` by default); names and values
    /// trimmed, empty entries skipped, a value may hold further colons.
    public static func parseHeaders(_ text: String, separator: String) throws(ConnectError) -> [HttpHeaderField] {
        var headers: [HttpHeaderField] = []
        for entry in text.components(separatedBy: separator) where !entry.trimmedWhitespace.isEmpty {
            guard let colon = entry.firstIndex(of: ":") else {
                throw .config(name: "headers", message: "Invalid value \(entry) for configuration headers: a header is name:value")
            }
            let name = entry[..<colon].trimmedWhitespace
            let value = entry[entry.index(after: colon)...].trimmedWhitespace
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw .config(name: "headers", message: "Invalid value \(entry) for configuration headers: \"\(name)\" is not a header name")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else {
                throw .config(name: "headers", message: "Invalid value for configuration headers: the value of \(name) has a line break")
            }
            headers.append(HttpHeaderField(name: name, value: value))
        }
        return headers
    }

    /// The `Authorization` value of `auth.type`: BASIC from `connection.user`/`connection.password`, BEARER from
    /// `bearer.token`; NONE gives none (a `headers` entry may carry one). OAUTH2 is refused: Vltava does not fetch tokens.
    static func authorization(_ config: [String: String]) throws(ConnectError) -> String? {
        switch try oneOf(config, "auth.type", default: "NONE", ["NONE", "BASIC", "BEARER", "OAUTH2"]).uppercased() {
        case "BASIC":
            guard let user = config["connection.user"], !user.isEmpty else {
                throw .config(name: "connection.user", message: "Missing required configuration \"connection.user\": auth.type BASIC needs a user")
            }
            let password = config["connection.password"] ?? ""
            return "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        case "BEARER":
            guard let token = config["bearer.token"]?.trimmedWhitespace, !token.isEmpty else {
                throw .config(name: "bearer.token", message: "Missing required configuration \"bearer.token\": auth.type BEARER needs a token")
            }
            return "Bearer " + token
        case "OAUTH2":
            throw .config(name: "auth.type", message: "Invalid value OAUTH2 for configuration auth.type: Vltava's HTTP sink does not "
                + "fetch OAuth2 tokens; use BASIC, BEARER with bearer.token, or an Authorization entry in headers")
        default:
            return nil
        }
    }

    /// A value that must be one of `allowed` (compared ignoring case, as Confluent's validators do).
    static func oneOf(_ config: [String: String], _ name: String, default defaultValue: String, _ allowed: [String]) throws(ConnectError) -> String {
        let value = (config[name] ?? defaultValue).trimmedWhitespace
        guard allowed.contains(where: { $0.lowercased() == value.lowercased() }) else {
            throw .config(name: name, message: "Invalid value \(value) for configuration \(name): String must be one of: "
                + allowed.joined(separator: ", "))
        }
        return value
    }
}

/// Confluent's `retry.on.status.codes`: comma-separated codes (`404`) and inclusive ranges (`500-599`, or `400-` for
/// every code from 400 up).
public struct HttpStatusCodeRanges: Sendable, Equatable {
    public private(set) var ranges: [ClosedRange<Int>]

    public init(_ text: String) throws(HttpConfigValueError) {
        ranges = []
        for part in text.split(separator: ",").map({ $0.trimmedWhitespace }) where !part.isEmpty {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmedWhitespace }
            guard let low = Self.code(bounds[0]) else {
                throw HttpConfigValueError(description: "\(part) is not a status code or a range of them such as 500-599 or 400-")
            }
            if bounds.count == 1 {
                ranges.append(low...low)
                continue
            }
            if bounds[1].isEmpty {
                ranges.append(low...Int.max)
                continue
            }
            guard let high = Self.code(bounds[1]), low <= high else {
                throw HttpConfigValueError(description: "\(part) is not a status code or a range of them such as 500-599 or 400-")
            }
            ranges.append(low...high)
        }
    }

    public func contains(_ status: Int) -> Bool { ranges.contains { $0.contains(status) } }

    private static func code(_ text: String) -> Int? {
        guard let value = Int(text), (100...999).contains(value) else { return nil }
        return value
    }
}

/// A header of every request.
public struct HttpHeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Why a configuration value cannot be read, in plain words.
public struct HttpConfigValueError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
