import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import SchemaRegistry
import ServiceLifecycle
import VltavaClient
import VltavaSecurity

/// A Kafka Connect worker as a ServiceLifecycle service: serves the REST API at once (`GET /health` answers 503
/// until the worker is ready), reads its stores and starts their connectors, and at shutdown stops every task —
/// source offsets flushed, sink offsets committed — before it returns.
public struct ConnectService: Service {
    public let herder: Herder
    public let client: KafkaClient
    public var host: String
    public var port: Int
    /// Whether a failure to serve (a port in use) ends the service with the error; when false it is only logged,
    /// so that a broker beside the worker keeps running.
    public var failureIsFatal = true
    /// Awaited before anything else: `vltava serve` waits for its broker's listeners, so that the worker's start-up
    /// does not compete with the broker's.
    public var startAfter: (@Sendable () async -> Void)?
    public var limits = HTTPLimits()
    /// HTTP Basic authentication (`rest.extension.classes` with Kafka's BasicAuthSecurityRestExtension), nil when open.
    public var authentication: BasicAuthentication?
    /// HTTPS (`listeners=https://...`): the server's TLS settings, nil for HTTP.
    public var tls: TLSServerReloader?
    /// The TLS client context of requests forwarded to other workers over HTTPS (`rest.advertised.listener=https`).
    public var forwardingTLS: NIOSSLContext?
    public var cluster: ConnectClusterInfo
    public let loggers: LoggerLevels
    let logger: Logger

    public init(herder: Herder, client: KafkaClient, host: String, port: Int, version: String, logger: Logger,
                loggers: LoggerLevels) {
        self.herder = herder
        self.client = client
        self.host = host
        self.port = port
        self.logger = logger
        self.loggers = loggers
        let clusterIdCache = ClusterIdCache(client: client)
        cluster = ConnectClusterInfo(version: version, commit: "vltava", clusterId: { await clusterIdCache.clusterId() })
    }

    /// HTTPS from the worker's properties: `listeners=https://...` with the `listeners.https.ssl.*` settings, or the
    /// worker's `ssl.*` ones when none is prefixed (Kafka's rule): a keystore (PEM or PKCS12), `ssl.client.auth`
    /// none|requested|required, protocols, suites. Requests forwarded to an https leader trust the same truststore.
    public mutating func configureTLS(worker: WorkerConfig) throws(ConnectError) {
        let properties = worker.restSslProperties
        if worker.restUsesTLS {
            do {
                tls = try TLSServerReloader(properties: properties)
            } catch {
                throw .config(name: "listeners", message: "the https listener cannot be served: \(error.description)")
            }
        }
        if worker.restUsesTLS || worker.advertisedScheme == "https" {
            do {
                forwardingTLS = try ClientSecurity.tlsContext(properties: properties)
            } catch {
                throw .config(name: "listeners.https.ssl.truststore.location", message: error.description)
            }
        }
    }

    // MARK: Workers

    /// A worker that keeps everything in Kafka (`connect-configs`, `connect-offsets`, `connect-status`): Kafka's
    /// distributed mode. With `joinsGroup` it shares the connectors with the other workers of `group.id` (the
    /// worker group protocol); without, it is the single worker of its cluster and runs every connector.
    public static func distributed(worker: WorkerConfig, logger: Logger, clientId: String = "vltava-connect",
                                   joinsGroup: Bool = false) throws(ConnectError) -> (Herder, KafkaClient) {
        let makeClient = try clientFactory(worker, clientId: clientId)
        let client = makeClient()
        let offsets = KafkaOffsetStore(client: client, topic: worker.offsetStorageTopic, partitions: worker.offsetStoragePartitions,
                                       replicationFactor: worker.offsetStorageReplicationFactor)
        let configs = KafkaConfigStore(client: client, topic: worker.configStorageTopic,
                                       replicationFactor: worker.configStorageReplicationFactor)
        let statuses = KafkaStatusStore(client: client, topic: worker.statusStorageTopic, partitions: worker.statusStoragePartitions,
                                        replicationFactor: worker.statusStorageReplicationFactor)
        let herder = Herder(
            worker: worker, client: client, makeClient: makeClient, configStore: configs, statusStore: statuses,
            offsetStore: offsets, loadOffsets: { () async throws(ConnectError) in try await offsets.load() },
            cluster: joinsGroup ? ClusterMembership(configLog: configs, statusLog: statuses) : nil, logger: logger)
        return (herder, client)
    }

    /// Kafka's standalone mode: connector configs and statuses in memory, source offsets in
    /// `offset.storage.file.filename`.
    public static func standalone(worker: WorkerConfig, logger: Logger) throws(ConnectError) -> (Herder, KafkaClient) {
        guard let path = worker.offsetStorageFileName else {
            throw .config(name: "offset.storage.file.filename",
                          message: "Missing required configuration \"offset.storage.file.filename\" which has no default value.")
        }
        let makeClient = try clientFactory(worker, clientId: "vltava-connect-standalone")
        let client = makeClient()
        let herder = Herder(worker: worker, client: client, makeClient: makeClient, configStore: MemoryConfigStore(),
                            statusStore: MemoryStatusStore(), offsetStore: try FileOffsetStore(path: path), logger: logger)
        return (herder, client)
    }

    private static func clientFactory(_ worker: WorkerConfig, clientId: String) throws(ConnectError) -> @Sendable () -> KafkaClient {
        let addresses: [BrokerAddress]
        do {
            // Listener names as schemes (`PLAINTEXT://broker:29092`) are dropped by the address parser.
            addresses = try BrokerAddress.parseList(worker.bootstrapServers)
        } catch {
            throw .config(name: "bootstrap.servers", message: "\(error)")
        }
        var configuration = KafkaClient.Configuration()
        configuration.clientId = clientId
        do {
            // The worker's security.protocol, sasl.* and ssl.* serve its own clients and its tasks'.
            configuration.security = try ClientSecurity(properties: worker.properties)
        } catch {
            throw .config(name: "security.protocol", message: "\(error)")
        }
        let settings = configuration
        return { KafkaClient(bootstrapServers: addresses, configuration: settings) }
    }

    // MARK: Running

    public func run() async throws {
        do {
            try await serve()
        } catch {
            logger.error("connect worker stopped", metadata: ["error": "\(error)"])
            if failureIsFatal { throw error }
        }
    }

    private func serve() async throws {
        if let startAfter { await startAfter() }
        await herder.useLoggerLevels(loggers)
        let router = Router()
        router.add(middleware: ConnectHTTPErrors())
        if let authentication { router.add(middleware: BasicAuthenticationMiddleware(authentication: authentication, logger: logger)) }
        router.add(middleware: ConnectForwarding(herder: herder, tls: forwardingTLS))
        ConnectRoutes(herder: herder, cluster: cluster, loggers: loggers).add(to: router)
        let server = limits.serverBuilder(logger: logger, tls: tls)
        let application = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "vltava-connect"),
            logger: logger)
        logger.info("connect worker listening", metadata: [
            "address": "\(tls == nil ? "http" : "https")://\(host):\(port)", "workerId": "\(herder.workerId)",
            "authentication": "\(authentication == nil ? "none" : "basic")"])
        let herder = self.herder
        let logger = self.logger
        let tls = self.tls
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    await Self.startHerder(herder, logger: logger)
                    await herder.runGroup()
                }
                if let tls { group.addTask { await tls.follow(logger: logger, listener: "connect") } }
                try await application.run()
                group.cancelAll()
            }
        } catch {
            await herder.stop()
            await client.close()
            throw error
        }
        await herder.stop()
        await client.close()
    }

    /// Starts the herder, retrying while the cluster cannot be reached (the broker of `vltava serve` starts
    /// beside the worker).
    static func startHerder(_ herder: Herder, logger: Logger) async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                try await herder.start()
                return
            } catch {
                attempt += 1
                if attempt % 10 == 1 { logger.warning("connect worker not ready, retrying", metadata: ["error": "\(error)"]) }
                try? await Task.sleep(for: .milliseconds(min(100 * attempt, 1000)))
            }
        }
    }
}

/// The Kafka cluster's id, asked for once.
actor ClusterIdCache {
    let client: KafkaClient
    private var known: String?

    init(client: KafkaClient) { self.client = client }

    func clusterId() async -> String? {
        if let known { return known }
        known = try? await client.describeCluster().clusterId
        return known
    }
}
