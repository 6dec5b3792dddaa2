import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import VltavaHTTP

/// Confluent's `io.confluent.connect.http.HttpSinkConnector`: records' values sent in batches to an HTTP(S) API
/// (`HttpSinkConfig` reads its configuration, `HttpRequestBatcher` makes the requests, `HttpRetryPolicy` retries).
public struct HttpSinkConnector: Connector {
    public static let className = "io.confluent.connect.http.HttpSinkConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.sink
    public static let version = "1.7.6"
    public static let configDefinition: [ConfigKeyDefinition] = [
        key("http.api.url", .string, nil, .high, "The HTTP API URL; ${topic} and ${key} are replaced by each record's."),
        key("request.method", .string, "POST", .high, "The HTTP request method: POST, PUT or PATCH."),
        key("headers", .string, "", .high, "HTTP headers sent with every request, as name:value, separated by header.separator."),
        key("header.separator", .string, "|", .high, "The separator of the entries of headers."),
        key("auth.type", .string, "NONE", .high, "The authentication of the endpoint: NONE, BASIC or BEARER (OAUTH2 is not supported)."),
        key("connection.user", .string, "", .high, "The user of BASIC authentication."),
        key("connection.password", .password, "", .high, "The password of BASIC authentication."),
        key("bearer.token", .password, "", .high, "The token of BEARER authentication."),
        key("batch.key.pattern", .string, "someKey", .high, "The key of a batch; ${key} and ${topic} are replaced by each record's."),
        key("batch.max.size", .int, "1", .high, "The number of records accumulated in a batch before the HTTP API is called."),
        key("batch.prefix", .string, "", .high, "Prefix added to the body of each batch."),
        key("batch.suffix", .string, "", .high, "Suffix added to the body of each batch."),
        key("batch.separator", .string, ",", .high, "Separator of the records in a batch."),
        key("batch.json.as.array", .boolean, "false", .high, "With request.body.format=json, a batch is a JSON array."),
        key("request.body.format", .string, "string", .medium, "How a record's value is written: string or json."),
        key("behavior.on.null.values", .string, "ignore", .low, "Records with a null value: ignore, delete, log or fail."),
        key("behavior.on.error", .string, "fail", .low, "A request that fails after its retries: fail the task, log it, or ignore it."),
        key("max.retries", .int, "10", .medium, "The maximum number of times to retry on errors before failing the task."),
        key("retry.backoff.ms", .int, "3000", .medium, "The time in milliseconds to wait following an error before a retry attempt is made."),
        key("retry.backoff.policy", .string, "EXPONENTIAL_WITH_JITTER", .medium, "CONSTANT_VALUE or EXPONENTIAL_WITH_JITTER."),
        key("retry.on.status.codes", .string, "400-", .medium, "The HTTP status codes to retry on: codes and ranges such as 404,500-599 or 400-."),
        key("http.connect.timeout.ms", .int, "30000", .medium, "The time in milliseconds to wait for a connection to be established."),
        key("http.request.timeout.ms", .int, "30000", .medium, "The time in milliseconds to wait for a request's answer."),
    ]

    private static func key(_ name: String, _ type: ConfigKeyDefinition.ValueType, _ defaultValue: String?,
                            _ importance: ConfigKeyDefinition.Importance, _ documentation: String) -> ConfigKeyDefinition {
        ConfigKeyDefinition(name: name, type: type, defaultValue: defaultValue, importance: importance, documentation: documentation)
    }

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try HttpSinkConfig(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        Array(repeating: config, count: max(1, maxTasks))
    }

    public mutating func stop() {}
}

/// The task of `HttpSinkConnector`: each `put` is sent whole (the last batches partly filled), so `flush` has
/// nothing left to do. A request that still fails after its retries fails the task (`behavior.on.error=fail`) or
/// is logged (`log`) or passed over (`ignore`); then its records go to the errant record reporter when there is
/// one (`errors.tolerance=all`: the dead-letter queue).
public struct HttpSinkTask: SinkTask {
    private var context = SinkTaskContext(logger: .init(label: "vltava-connect"))
    private var batcher: HttpRequestBatcher?

    public init() {}

    public mutating func initialize(_ context: SinkTaskContext) {
        self.context = context
    }

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        batcher = HttpRequestBatcher(config: try HttpSinkConfig(config))
    }

    public mutating func put(_ records: [ConnectRecord]) throws(ConnectError) {
        guard let batcher else { throw .failed("the HTTP sink task was not started") }
        let config = batcher.config
        let plan = batcher.plan(records)
        for record in plan.skippedNullValues {
            context.logger.info("record with a null value skipped (behavior.on.null.values=log)",
                                metadata: ["record": "\(HttpRequestBatcher.coordinates(record))", "key": "\(record.key)"])
        }
        for (record, error) in plan.refused {
            try failed(error.description, records: [record], error: error, behavior: config.behaviorOnError)
        }
        let policy = HttpRetryPolicy(config: config)
        for request in plan.requests {
            let target: HttpTarget
            do {
                target = try HttpTarget(url: request.url)
            } catch {
                try failed("HTTP \(request.method) \(request.url): \(error.description)", records: request.records,
                           error: nil, behavior: config.behaviorOnError)
                continue
            }
            let context = self.context
            let failure = try policy.deliver(
                request, display: target.display,
                send: { Self.send(request, to: target, config: config, context: context) },
                sleep: { context.sleep(milliseconds: $0) })
            if let failure {
                try self.failed(failure, records: request.records, error: nil, behavior: config.behaviorOnError)
            }
        }
    }

    public mutating func flush() throws(ConnectError) {}

    public mutating func stop() {}

    /// A request or record that could not be delivered, as `behavior.on.error` says.
    private func failed(_ message: String, records: [ConnectRecord], error: ConnectError?,
                        behavior: HttpSinkConfig.BehaviorOnError) throws(ConnectError) {
        switch behavior {
        case .fail:
            throw error ?? .failed(message)
        case .log:
            context.logger.error("records not delivered (behavior.on.error=log)",
                                 metadata: ["error": "\(message)", "records": "\(records.map(HttpRequestBatcher.coordinates))"])
        case .ignore:
            break
        }
        for record in records { context.errantRecordReporter?.report(record, error: error ?? .failed(message)) }
    }

    /// One attempt, on its own connection; nil when the task is asked to stop before the answer.
    static func send(_ request: HttpSinkRequest, to target: HttpTarget, config: HttpSinkConfig,
                     context: SinkTaskContext) -> HttpAttempt? {
        var headers = HTTPHeaders()
        for header in config.headers { headers.add(name: header.name, value: header.value) }
        if request.method != "DELETE", !headers.contains(name: "Content-Type") {
            headers.add(name: "Content-Type", value: config.bodyFormat == .json ? "application/json" : "text/plain; charset=UTF-8")
        }
        let answered = ConditionLock(value: false)
        let outcome = NIOLockedValueBox<HttpAttempt?>(nil)
        HTTPExchange.exchange(
            endpoint: target.endpoint, method: HTTPMethod(rawValue: request.method), target: target.path, headers: headers,
            body: Array(request.body.utf8), on: MultiThreadedEventLoopGroup.singleton.next(),
            connectTimeout: .milliseconds(Int64(config.connectTimeoutMs)),
            timeout: .milliseconds(Int64(config.connectTimeoutMs) + Int64(config.requestTimeoutMs))
        ).whenComplete { result in
            switch result {
            case let .success(answer): outcome.withLockedValue { $0 = .answer(status: answer.status, body: answer.body) }
            case let .failure(error): outcome.withLockedValue { $0 = .failure(describe(error)) }
            }
            answered.lock()
            answered.unlock(withValue: true)
        }
        while !answered.lock(whenValue: true, timeoutSeconds: 0.05) {
            if context.isStopping { return nil }
        }
        answered.unlock()
        return outcome.withLockedValue { $0 }
    }

    /// A failure before any answer, in plain words.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let connection as NIOConnectionError:
            let cause = connection.connectionErrors.first.map { ": \($0.error)" } ?? connection.dnsAError.map { ": \($0)" } ?? ""
            return "cannot connect to \(connection.host):\(connection.port)\(cause)"
        case ChannelError.connectTimeout(let timeout):
            return "no connection within \(timeout.nanoseconds / 1_000_000) ms"
        default:
            return "\(error)"
        }
    }
}
