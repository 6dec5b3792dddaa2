import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import SchemaRegistry
import ServiceLifecycle
import VltavaBroker
import VltavaClient
import VltavaCluster
import VltavaSecurity
import VltavaConnect
import VltavaConsole
import VltavaMetrics
import VltavaStorage

/// `vltava serve`: the broker on local disk, configured like a Kafka broker.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the broker (Kafka protocol on PLAINTEXT://0.0.0.0:9092, data in ./data).",
        discussion: """
        Configuration comes from Kafka's broker properties, lowest priority first: a server.properties file \
        (--config), the environment variables of Confluent's images (KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS, \
        KAFKA_LOG_DIRS, KAFKA_NODE_ID, CLUSTER_ID, any KAFKA_<PROPERTY_NAME>), then these options and --override.
        """)

    @Option(help: "A server.properties file.")
    var config: String?

    @Option(help: "Listeners, NAME://host:port,... (listeners).")
    var listeners: String?

    @Option(help: "Addresses given to clients, NAME://host:port,... (advertised.listeners).")
    var advertisedListeners: String?

    @Option(help: "Data folder (log.dirs).")
    var dataDir: String?

    @Option(help: "Node id (node.id).")
    var nodeId: Int32?

    @Option(help: "Cluster id, used when the data folder has none yet.")
    var clusterId: String?

    @Option(help: "Cluster mode: etcd's client URLs, http://host:port,... (etcd.endpoints, KAFKA_ETCD_ENDPOINTS).")
    var etcdEndpoints: String?

    @Option(help: "The cluster's name in etcd (cluster.name, KAFKA_CLUSTER_NAME; default vltava).")
    var clusterName: String?

    @Option(name: .customLong("override"), help: "Any broker property, name=value; repeatable.")
    var overrides: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Schema registry listener, http://host:port, or 'none' to run without it (SCHEMA_REGISTRY_LISTENERS).")
    var schemaRegistryListeners: String?

    @Option(help: "Kafka Connect REST listener, http://host:port, or 'none' to run without it (CONNECT_LISTENERS).")
    var connectListeners: String?

    @Option(help: "Console listener with /metrics, /livez and /readyz, http://host:port, or 'none' (CONSOLE_LISTENERS; default http://0.0.0.0:8080).")
    var consoleListeners: String?

    @Option(help: "A listener with only /metrics, /livez and /readyz, http://host:port (METRICS_LISTENERS; default none).")
    var metricsListeners: String?

    @Option(help: "The console's users: a file of 'name: password,role' lines; role read-only may only look (CONSOLE_USERS_FILE; default: no login).")
    var consoleUsersFile: String?

    func run() async throws {
        Allocator.limitArenas()
        var properties: [(String, String)] = []
        if let config {
            properties += BrokerConfiguration.properties(fromFile: try String(contentsOfFile: config, encoding: .utf8))
        }
        properties += BrokerConfiguration.properties(fromEnvironment: ProcessInfo.processInfo.environment)
        if let listeners { properties.append(("listeners", listeners)) }
        if let advertisedListeners { properties.append(("advertised.listeners", advertisedListeners)) }
        if let dataDir { properties.append(("log.dirs", dataDir)) }
        if let nodeId { properties.append(("node.id", String(nodeId))) }
        if let clusterId { properties.append(("cluster.id", clusterId)) }
        if let etcdEndpoints { properties.append(("etcd.endpoints", etcdEndpoints)) }
        if let clusterName { properties.append(("cluster.name", clusterName)) }
        for override in overrides {
            guard let separator = override.firstIndex(of: "=") else {
                throw ValidationError("--override expects name=value, got '\(override)'")
            }
            properties.append((String(override[..<separator]), String(override[override.index(after: separator)...])))
        }
        var configuration = BrokerConfiguration()
        let listenerSecurities: [String: ListenerSecurity]
        do {
            try configuration.apply(properties)
            listenerSecurities = try configuration.listenerSecurities()
        } catch {
            throw ValidationError("\(error)")
        }

        bootstrapLogging(levelName: logLevel)
        let logger = Logger(label: "vltava")
        logger.info("starting", metadata: [
            "version": "\(vltavaVersion)", "nodeId": "\(configuration.nodeId)", "dataDirectory": "\(configuration.dataDirectory)",
        ])
        raiseDescriptorLimit()
        let exporter = MetricsExporter()
        exporter.recordBuildInfo(version: vltavaVersion)
        let readiness = Readiness()
        readiness.require(Readiness.logsRecovered, waitingFor: "recovering the partition logs in \(configuration.dataDirectory)")
        readiness.require(Readiness.listenersBound, waitingFor: "binding the Kafka listeners")
        // Health and metrics are served from the start, so that /readyz can answer 503 while the logs recover.
        let console = try consoleBackend(configuration: configuration, logger: logger)
        let observabilityServices = try observabilityServices(exporter: exporter, readiness: readiness, console: console)
        let observability = ServiceGroup(configuration: .init(services: observabilityServices, logger: logger))
        let observabilityRun = Task { if !observabilityServices.isEmpty { try await observability.run() } }
        defer { observabilityRun.cancel() }
        // Cluster mode keeps the metadata in etcd and opens only the partitions this broker leads.
        let cluster = configuration.etcdEndpoints.isEmpty ? nil : try await Self.joinCluster(
            configuration: configuration, proposedClusterId: configuration.clusterId ?? KafkaClusterId.random(), logger: logger)
        let metadata: any ClusterMetadataStore
        if let cluster {
            metadata = cluster.store
        } else {
            metadata = try LocalMetadataStore(
                dataDirectory: configuration.dataDirectory,
                clusterId: configuration.clusterId ?? KafkaClusterId.random(), nodeId: configuration.nodeId)
        }
        let leadership: (any ClusterView)? = cluster?.store
        let hostsPartition: @Sendable (TopicPartition) -> Bool = { partition in leadership?.leadsLocally(partition) ?? true }
        // Recovery reads and fsyncs files: off the concurrency pool, which the HTTP listener above needs.
        let logs = try await NIOThreadPool.singleton.runIfActive { [configuration] in
            try LogManager(
                dataDirectory: configuration.dataDirectory, metadata: metadata, brokerDefaults: configuration.topicDefaults,
                cleaner: (try? LogCleanerSettings(properties: configuration.cleanerProperties)) ?? LogCleanerSettings(),
                logger: logger, clock: Broker.wallClockMilliseconds, metrics: exporter.factory, hostsPartition: hostsPartition)
        }
        readiness.pass(Readiness.logsRecovered)
        var registry = try schemaRegistryService(configuration: configuration, logger: logger)
        if registry != nil {
            readiness.require(Readiness.schemaRegistryCaughtUp, waitingFor: "reading _schemas to its end")
            registry?.onCaughtUp = { readiness.pass(Readiness.schemaRegistryCaughtUp) }
            registry?.metricsFactory = exporter.factory
        }
        // Topics with confluent.*.schema.validation check ids against the registry's state (it follows _schemas).
        let broker = Broker(
            configuration: configuration, logs: logs, logger: logger,
            schemaIdValidator: registry.map { RegistrySchemaIds(registry: $0.registry) },
            requestHandlers: NIOThreadPool(numberOfThreads: configuration.ioThreads),
            metrics: BrokerMetrics(factory: exporter.factory), cluster: cluster?.store)
        // Changes other brokers make: partitions to open or delete, ACLs and quotas to enforce.
        await cluster?.start(pool: NIOThreadPool.singleton) {
            logs.reconcileWithMetadata()
            broker.reloadSecurityMetadata()
        }
        exporter.add(BrokerStateCollector(broker: broker))
        if let registry { exporter.add(SchemaRegistryCollector(registry: registry.registry)) }
        let server = KafkaServer(broker: broker, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                                 listenerSecurities: listenerSecurities)
        Task {
            if await server.waitUntilListening() { readiness.pass(Readiness.listenersBound) }
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
        if let registry {
            // A registry that cannot start (its port taken) is logged and leaves the broker running.
            services.append(.init(service: registry, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        if var connect = try connectService(configuration: configuration, logger: logger) {
            exporter.add(ConnectCollector(herder: connect.herder))
            connect.startAfter = { _ = await server.waitUntilListening() }
            // Listed after the broker, so that at shutdown it stops first and flushes its offsets to a live broker.
            services.append(.init(service: connect, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await cluster?.leave()
        await observability.triggerGracefulShutdown()
        _ = await observabilityRun.result
    }

    /// The console listener (8080 unless `--console-listeners`/`CONSOLE_LISTENERS` say otherwise or `none`) and
    /// the metrics-only one (`--metrics-listeners`/`METRICS_LISTENERS`, none by default).
    func observabilityServices(exporter: MetricsExporter, readiness: Readiness, console: Console?) throws
        -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let environment = ProcessInfo.processInfo.environment
        let routes = ObservabilityRoutes(exporter: exporter, readiness: readiness)
        let wanted = [
            ("console", "--console-listeners", consoleListeners ?? environment["CONSOLE_LISTENERS"] ?? "http://0.0.0.0:8080"),
            ("metrics listener", "--metrics-listeners", metricsListeners ?? environment["METRICS_LISTENERS"] ?? "none"),
        ]
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for (name, option, text) in wanted {
            let listener: (host: String, port: Int)?
            do {
                listener = try ObservabilityService.listener(text, option: option)
            } catch {
                throw ValidationError("\(error)")
            }
            guard let listener else { continue }
            let service = ObservabilityService(
                name: name, host: listener.host, port: listener.port, routes: routes, console: name == "console" ? console : nil,
                logger: Logger(label: "vltava-http"))
            services.append(.init(service: service, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        }
        return services
    }

    /// The web console of the console listener (nil with `--console-listeners none`): a client of this broker's first
    /// PLAINTEXT listener, of the registry and of the Connect worker started beside it (reached on 127.0.0.1 when they
    /// listen on every address), with the users of `--console-users-file` / `CONSOLE_USERS_FILE` when given.
    func consoleBackend(configuration: BrokerConfiguration, logger: Logger) throws -> Console? {
        let environment = ProcessInfo.processInfo.environment
        let text = consoleListeners ?? environment["CONSOLE_LISTENERS"] ?? "http://0.0.0.0:8080"
        guard (try? ObservabilityService.listener(text, option: "--console-listeners")) != nil else { return nil }
        guard let plaintext = configuration.listener(speaking: .plaintext) else {
            logger.warning("console not started: the broker has no PLAINTEXT listener for it (/metrics and health are served)")
            return nil
        }
        var kafka = KafkaClient.Configuration()
        kafka.clientId = "vltava-console"
        var console = ConsoleConfiguration(
            kafka: KafkaClient(bootstrapServers: [Self.localAddress(of: plaintext)], configuration: kafka),
            registryURL: Self.localURL(schemaRegistryListeners ?? environment["SCHEMA_REGISTRY_LISTENERS"] ?? "http://0.0.0.0:8081"),
            connectURL: Self.localURL(connectListeners ?? environment["CONNECT_LISTENERS"] ?? "http://0.0.0.0:8083"),
            logger: Logger(label: "vltava-console"))
        console.version = vltavaVersion
        if let file = consoleUsersFile ?? environment["CONSOLE_USERS_FILE"] {
            do {
                console.users = try ConsoleUsers(file: file)
            } catch {
                throw ValidationError("--console-users-file: \(error)")
            }
        }
        do {
            return try Console(configuration: console)
        } catch {
            throw ValidationError("console: \(error)")
        }
    }

    /// The URL a service in this process reaches an HTTP listener at (`http://0.0.0.0:8081` → `http://127.0.0.1:8081`);
    /// nil for `none`.
    static func localURL(_ listeners: String) -> String? {
        guard let parsed = try? SchemaRegistryService.parseListenerURL(listeners) else { return nil }
        let host = ["0.0.0.0", "::", ""].contains(parsed.host) ? "127.0.0.1" : parsed.host.contains(":") ? "[\(parsed.host)]" : parsed.host
        return "\(parsed.usesTLS ? "https" : "http")://\(host):\(parsed.port)"
    }

    /// Where a service inside this process reaches the broker's `listener` (127.0.0.1 for a listener on every address).
    static func localAddress(of listener: ListenerEndpoint) -> BrokerAddress {
        BrokerAddress(host: ["0.0.0.0", "::", ""].contains(listener.host) ? "127.0.0.1" : listener.host, port: listener.port)
    }

    // MARK: Schema registry (issue 5)

    /// The schema registry beside the broker, storing `_schemas` through the broker's first PLAINTEXT listener, or
    /// through the first listener of `SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL` with the `..._SASL_*` and
    /// `..._SSL_*` settings (as Confluent's image takes them).
    private func schemaRegistryService(configuration: BrokerConfiguration, logger: Logger) throws -> SchemaRegistryService? {
        let text = schemaRegistryListeners ?? ProcessInfo.processInfo.environment["SCHEMA_REGISTRY_LISTENERS"] ?? "http://0.0.0.0:8081"
        guard !["", "none", "off", "false"].contains(text.lowercased()) else { return nil }
        let environment = ProcessInfo.processInfo.environment
        let security: ClientSecurity
        do {
            // Without SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL: PLAINTEXT.
            security = try SchemaRegistryService.storeSecurity(environment: environment, bootstrapServers: "")
        } catch {
            throw ValidationError("SCHEMA_REGISTRY_KAFKASTORE_*: \(error.message)")
        }
        guard let broker = configuration.listener(speaking: security.securityProtocol) else {
            logger.warning("""
                schema registry not started: the broker has no \(security.securityProtocol.rawValue) listener for it \
                (set SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL and its SASL/SSL settings to use a secured one)
                """)
            return nil
        }
        let listener: (host: String, port: Int, usesTLS: Bool)
        do {
            listener = try SchemaRegistryService.parseListenerURL(text)
        } catch {
            throw ValidationError("--schema-registry-listeners: \(error)")
        }
        let client = SchemaRegistryService.storeClient(
            bootstrapServers: [Self.localAddress(of: broker)], environment: environment, security: security)
        var registry = SchemaRegistryService(
            client: client, topic: environment["SCHEMA_REGISTRY_KAFKASTORE_TOPIC"] ?? "_schemas",
            host: listener.host, port: listener.port,
            storeTimeout: SchemaRegistryService.storeTimeout(environment: environment) ?? .seconds(30),
            logger: Logger(label: "vltava-schema-registry"))
        registry.failureIsFatal = false
        do {
            registry.limits = try HTTPLimits.from(environment: environment)
            try registry.configureSecurity(environment: environment, usesTLS: listener.usesTLS)
        } catch {
            throw ValidationError(error.message)
        }
        return registry
    }
}

extension Serve {
    // MARK: Kafka Connect (issue 10)

    /// A Connect worker beside the broker, keeping its connectors, offsets and statuses in `connect-configs`,
    /// `connect-offsets` and `connect-status` through the broker's first PLAINTEXT listener, or the first listener of
    /// the worker's `security.protocol` (`CONNECT_SECURITY_PROTOCOL` with `CONNECT_SASL_*` / `CONNECT_SSL_*`). Those
    /// topics are created with the first connector; until then the worker only reads them (if they exist) and serves
    /// its REST API.
    func connectService(configuration: BrokerConfiguration, logger: Logger) throws -> ConnectService? {
        let environment = ProcessInfo.processInfo.environment
        let text = connectListeners ?? environment["CONNECT_LISTENERS"] ?? "http://0.0.0.0:8083"
        guard !["", "none", "off", "false"].contains(text.lowercased()) else { return nil }
        var properties: [String: String] = [
            // One broker: the broker's default replication factor, not Kafka Connect's 3.
            "config.storage.replication.factor": "-1", "offset.storage.replication.factor": "-1",
            "status.storage.replication.factor": "-1",
        ]
        for (key, value) in WorkerConfig.properties(fromEnvironment: environment) { properties[key] = value }
        let protocolName = (properties["security.protocol"] ?? "PLAINTEXT").trimmedWhitespace.uppercased()
        guard let securityProtocol = SecurityProtocol(rawValue: protocolName) else {
            throw ValidationError("CONNECT_SECURITY_PROTOCOL must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not '\(protocolName)'")
        }
        guard let broker = configuration.listener(speaking: securityProtocol) else {
            logger.warning("""
                Connect not started: the broker has no \(securityProtocol.rawValue) listener for it \
                (set CONNECT_SECURITY_PROTOCOL and its SASL/SSL settings to use a secured one)
                """)
            return nil
        }
        properties["bootstrap.servers"] = Self.localAddress(of: broker).description
        properties["listeners"] = text
        properties["group.id"] = properties["group.id"] ?? "connect-cluster"
        let worker: WorkerConfig
        let herder: Herder
        let client: KafkaClient
        let connectLogger = Logger(label: "vltava-connect")
        do {
            worker = try WorkerConfig(properties: properties)
            (herder, client) = try ConnectService.distributed(worker: worker, logger: connectLogger)
        } catch {
            throw ValidationError("--connect-listeners / CONNECT_*: \(error)")
        }
        var service = ConnectService(
            herder: herder, client: client, host: worker.restHost, port: worker.restPort, version: vltavaVersion,
            logger: connectLogger, loggers: LoggerLevels(root: Logger.Level(rawValue: logLevel.lowercased()) ?? .info))
        service.failureIsFatal = false
        do {
            service.limits = try HTTPLimits.from(environment: environment)
        } catch {
            throw ValidationError(error.message)
        }
        do {
            service.authentication = try BasicAuthentication.connect(
                restExtensionClasses: worker.properties["rest.extension.classes"], javaOptions: environment["KAFKA_OPTS"])
            try service.configureTLS(worker: worker)
        } catch {
            throw ValidationError("\(error)")
        }
        return service
    }
}

/// The broker's schema id check answered from the in-process registry's state.
struct RegistrySchemaIds: SchemaIdValidator {
    let registry: SchemaRegistry

    func isRegistered(id: Int32, subject: String) -> Bool {
        registry.isRegistered(id: Int(id), subject: subject)
    }
}

/// Kafka cluster ids: 16 random bytes in URL-safe base64 without padding (22 characters).
enum KafkaClusterId {
    static func random() -> String {
        KafkaUUID.random().description
    }
}

/// Raises the soft limit on open files to the hard limit, as Kafka's start scripts expect a high one: each partition
/// holds three descriptors.
func raiseDescriptorLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
