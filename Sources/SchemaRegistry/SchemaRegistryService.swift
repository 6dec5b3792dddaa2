#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CoreMetrics
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import VltavaClient
import VltavaSecurity

/// The registry as a ServiceLifecycle service: reads `_schemas` to its end, then serves Confluent's REST API
/// over HTTP while following the topic.
public struct SchemaRegistryService: Service {
    /// Where the registry listens.
    public var host: String
    public var port: Int
    /// Whether a failure to serve (a port in use) ends the service with the error; when false it is only
    /// logged, so that a broker beside the registry keeps running.
    public var failureIsFatal = true
    /// The registry this service serves.
    public let registry: SchemaRegistry
    /// HTTPS (a `https://` listener with `ssl.*`), nil for HTTP.
    public var tls: TLSServerReloader?
    /// HTTP Basic authentication, nil when the API is open.
    public var authentication: BasicAuthentication?
    /// Limits of the HTTP server: a connection with no request for `idleTimeout` is closed (a request head that
    /// trickles in counts as none), at most `maximumConnections` are open at once, request heads are bounded.
    public var limits = HTTPLimits()
    /// Called once `_schemas` has been read to its end, before the registry serves (readiness).
    public var onCaughtUp: (@Sendable () -> Void)?
    /// Where the registry's request counts and latencies go; nil counts nothing.
    public var metricsFactory: (any MetricsFactory)?
    let logger: Logger

    /// A registry on `host:port` whose state is `topic` in the cluster `client` reaches.
    public init(
        client: KafkaClient, topic: String = "_schemas", host: String = "0.0.0.0", port: Int = 8081,
        storeTimeout: Duration = .seconds(30), logger: Logger
    ) {
        self.host = host
        self.port = port
        self.logger = logger
        registry = SchemaRegistry(client: client, topic: topic, storeTimeout: storeTimeout, logger: logger)
    }

    /// The store timeout of Confluent's `SCHEMA_REGISTRY_KAFKASTORE_TIMEOUT_MS` (kafkastore.timeout.ms), if set:
    /// how long a request to Kafka, or a write's wait for its record to be read back, may take before the
    /// registry answers 50002. Unset, 30 seconds (writes here wait for an fsync, unlike Confluent's 500 ms).
    public static func storeTimeout(environment: [String: String]) -> Duration? {
        storeTimeoutMilliseconds(environment).map { .milliseconds($0) }
    }

    private static func storeTimeoutMilliseconds(_ environment: [String: String]) -> Int64? {
        guard let text = environment["SCHEMA_REGISTRY_KAFKASTORE_TIMEOUT_MS"], let milliseconds = Int64(text), milliseconds > 0 else {
            return nil
        }
        return milliseconds
    }

    /// A Kafka client for the store, its request timeout the store timeout when one is set.
    public static func storeClient(
        bootstrapServers: [BrokerAddress], environment: [String: String], security: ClientSecurity = .plaintext
    ) -> KafkaClient {
        var configuration = KafkaClient.Configuration()
        configuration.clientId = "vltava-schema-registry"
        configuration.security = security
        if let milliseconds = storeTimeoutMilliseconds(environment) { configuration.requestTimeout = .milliseconds(milliseconds) }
        return KafkaClient(bootstrapServers: bootstrapServers, configuration: configuration)
    }

    /// How the store's client reaches Kafka, from Confluent's `kafkastore.security.protocol`, `kafkastore.sasl.*` and
    /// `kafkastore.ssl.*` (`SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL`, `..._SASL_MECHANISM`, `..._SASL_JAAS_CONFIG`,
    /// `..._SSL_TRUSTSTORE_LOCATION`, ...). Without a protocol, the one every bootstrap address names as its
    /// scheme (`SASL_SSL://broker:9093`) is taken, else PLAINTEXT.
    public static func storeSecurity(environment: [String: String], bootstrapServers: String) throws(RegistryError) -> ClientSecurity {
        var properties = Self.properties(fromEnvironment: environment, under: "SCHEMA_REGISTRY_KAFKASTORE_")
        if properties["security.protocol"] == nil {
            let schemes = Set(bootstrapServers.split(separator: ",").map { server -> String in
                guard let scheme = server.range(of: "://") else { return "PLAINTEXT" }
                return server[..<scheme.lowerBound].trimmedWhitespace.uppercased()
            })
            if schemes.count == 1, let scheme = schemes.first,
               SecurityProtocol(rawValue: scheme) != nil {
                properties["security.protocol"] = scheme
            }
        }
        do {
            return try ClientSecurity(properties: properties)
        } catch {
            throw RegistryError(code: 50001, message: "kafkastore: \(error)")
        }
    }

    /// The registry's settings in the environment (`SCHEMA_REGISTRY_<NAME>`) as properties; `SCHEMA_REGISTRY_OPTS`
    /// holds JVM options, not a property.
    static func properties(fromEnvironment environment: [String: String], under prefix: String = "SCHEMA_REGISTRY_") -> [String: String] {
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(prefix) && name != "SCHEMA_REGISTRY_OPTS" {
            properties[JavaProperties.propertyName(confluentVariable: name.dropFirst(prefix.count))] = value
        }
        return properties
    }

    /// Parses `SCHEMA_REGISTRY_LISTENERS`-style text: `http://host:port` or `https://host:port`, several separated by
    /// commas; the first listener is used.
    public static func parseListener(_ text: String) throws -> (host: String, port: Int) {
        let listener = try parseListenerURL(text)
        return (listener.host, listener.port)
    }

    /// The first listener of `SCHEMA_REGISTRY_LISTENERS`-style text, and whether it is HTTPS.
    public static func parseListenerURL(_ text: String) throws(RegistryError) -> (host: String, port: Int, usesTLS: Bool) {
        let first = text.split(separator: ",").first.map(String.init) ?? text
        var rest = Substring(first.trimmedWhitespace)
        var usesTLS = false
        if let scheme = rest.range(of: "://") {
            switch rest[..<scheme.lowerBound].lowercased() {
            case "http": break
            case "https": usesTLS = true
            default: throw RegistryError(code: 50001, message: "listeners must be http:// or https://: \(text)")
            }
            rest = rest[scheme.upperBound...]
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw RegistryError(code: 50001, message: "listener must be http://host:port or https://host:port: \(text)")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port, usesTLS)
    }

    /// Sets HTTPS and Basic authentication from Confluent's environment: `SCHEMA_REGISTRY_SSL_*` for an https
    /// listener (`ssl.keystore.location` PEM or PKCS12, `ssl.key.password`, `ssl.truststore.location`,
    /// `ssl.client.authentication` NONE/REQUESTED/REQUIRED or the older boolean `ssl.client.auth`,
    /// `ssl.enabled.protocols`, `ssl.cipher.suites`), `SCHEMA_REGISTRY_AUTHENTICATION_METHOD`, `_REALM`, `_ROLES`,
    /// `_SKIP_PATHS` and the JAAS file of `SCHEMA_REGISTRY_OPTS`.
    public mutating func configureSecurity(environment: [String: String], usesTLS: Bool) throws(RegistryError) {
        let properties = Self.properties(fromEnvironment: environment)
        do {
            if usesTLS {
                var ssl = properties.filter { $0.key.hasPrefix("ssl.") }
                if let mode = ssl.removeValue(forKey: "ssl.client.authentication") {
                    ssl["ssl.client.auth"] = mode.lowercased()
                } else if let flag = ssl["ssl.client.auth"]?.lowercased(), flag == "true" || flag == "false" {
                    ssl["ssl.client.auth"] = flag == "true" ? "required" : "none"
                }
                tls = try TLSServerReloader(properties: ssl)
            }
            authentication = try BasicAuthentication.configured(properties: properties, javaOptions: environment["SCHEMA_REGISTRY_OPTS"])
        } catch {
            throw RegistryError(code: 50001, message: error.description)
        }
    }

    public func run() async throws {
        do {
            try await serve()
        } catch {
            logger.error("schema registry stopped", metadata: ["error": "\(error)"])
            if failureIsFatal { throw error }
        }
    }

    private func serve() async throws {
        try await registry.start()
        onCaughtUp?()
        let router = Router()
        let routes = RouteTable()
        if let metricsFactory { router.add(middleware: RegistryMetricsMiddleware(factory: metricsFactory)) }
        router.add(middleware: ConfluentHTTPErrors(routes: routes))
        if let authentication { router.add(middleware: BasicAuthenticationMiddleware(authentication: authentication, logger: logger)) }
        SchemaRegistryRoutes(registry: registry, routes: routes).add(to: router)
        let logger = self.logger
        let server = limits.serverBuilder(logger: logger, tls: tls)
        let application = Application(
            router: ContextURLRouter(router: router), server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "vltava-schema-registry"),
            logger: logger)
        logger.info("schema registry listening", metadata: [
            "address": "\(tls == nil ? "http" : "https")://\(host):\(port)",
            "authentication": "\(authentication == nil ? "none" : "basic")"])
        let tls = self.tls
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await registry.followTopic() }
            if let tls { group.addTask { await tls.follow(logger: logger, listener: "schema registry") } }
            try await application.run()
            group.cancelAll()
        }
    }
}

/// The registry's HTTP limits, from Confluent's `idle.timeout.ms` (`SCHEMA_REGISTRY_IDLE_TIMEOUT_MS`, 30 s) and
/// Vltava's `SCHEMA_REGISTRY_MAX_CONNECTIONS` (10 000). Request bodies are capped at 16 MiB (413).
public struct HTTPLimits: Sendable, Equatable {
    public var idleTimeoutMs: Int64 = 30_000
    public var maximumConnections = 10_000
    public var maximumHeaderBytes = 64 * 1024
    public var maximumHeaderCount = 200

    public init() {}

    /// The same served over TLS when `tls` is given (HTTPS), each connection with the settings in force.
    public func serverBuilder(logger: Logger, tls: TLSServerReloader?) -> HTTPServerBuilder {
        guard let tls else { return serverBuilder(logger: logger) }
        let configuration = http1Configuration(logger: logger)
        return HTTPServerBuilder { responder in
            ReloadingTLSChannel(baseChannel: HTTP1Channel(responder: responder, configuration: configuration), reloader: tls)
        }
    }

    /// An HTTP/1.1 server with these limits: a connection count, an idle timeout, bounded request heads.
    public func serverBuilder(logger: Logger) -> HTTPServerBuilder {
        .http1(configuration: http1Configuration(logger: logger))
    }

    private func http1Configuration(logger: Logger) -> HTTP1Channel.Configuration {
        let limiter = HTTPConnectionLimiter.Counter(maximum: maximumConnections)
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [HTTPConnectionLimiter(counter: limiter, logger: logger)],
            idleTimeout: .milliseconds(idleTimeoutMs),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: maximumHeaderBytes, maxHeaderListSize: maximumHeaderBytes,
                maxHeaderFieldCount: maximumHeaderCount))
    }

    /// The limits the environment sets, or a message naming the variable that is wrong.
    public static func from(environment: [String: String]) throws(RegistryError) -> HTTPLimits {
        var limits = HTTPLimits()
        if let text = environment["SCHEMA_REGISTRY_IDLE_TIMEOUT_MS"] {
            guard let value = Int64(text), value > 0 else {
                throw RegistryError(code: 50001, message: "SCHEMA_REGISTRY_IDLE_TIMEOUT_MS must be a positive number of milliseconds: \(text)")
            }
            limits.idleTimeoutMs = value
        }
        if let text = environment["SCHEMA_REGISTRY_MAX_CONNECTIONS"] {
            guard let value = Int(text), value > 0 else {
                throw RegistryError(code: 50001, message: "SCHEMA_REGISTRY_MAX_CONNECTIONS must be a positive number: \(text)")
            }
            limits.maximumConnections = value
        }
        return limits
    }
}

/// Closes connections beyond an HTTP server's connection limit as soon as they are set up (the registry's, and
/// Connect's REST API's).
public final class HTTPConnectionLimiter: ChannelInboundHandler, RemovableChannelHandler {
    // Passes every part on untouched; only watches the connection come and go.
    public typealias InboundIn = NIOAny

    /// The open connections of one server.
    public final class Counter: Sendable {
        let maximum: Int
        private let open = NIOLockedValueBox(0)
        public init(maximum: Int) { self.maximum = maximum }

        func admit() -> Bool {
            open.withLockedValue { open in
                guard open < maximum else { return false }
                open += 1
                return true
            }
        }

        func release() { open.withLockedValue { $0 = max(0, $0 - 1) } }
    }

    private let counter: Counter
    private let logger: Logger
    private var admitted = false

    public init(counter: Counter, logger: Logger) {
        self.counter = counter
        self.logger = logger
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if counter.admit() {
            admitted = true
        } else {
            logger.info("refusing an HTTP connection beyond the limit", metadata: ["limit": "\(counter.maximum)"])
            context.close(promise: nil)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            counter.release()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if admitted {
            admitted = false
            counter.release()
        }
        context.fireChannelInactive()
    }
}
