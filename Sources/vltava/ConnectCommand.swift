import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import SchemaRegistry
import ServiceLifecycle
import VltavaClient
import VltavaSecurity
import VltavaConnect

/// `vltava connect`: a Kafka Connect worker against any Kafka cluster, as Kafka's `connect-standalone.sh` and
/// `connect-distributed.sh` run one.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Run a Kafka Connect worker (REST API on http://0.0.0.0:8083).",
        subcommands: [Standalone.self, Distributed.self, Mirror.self])

    struct Standalone: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A standalone worker: connectors from properties files and the REST API, kept in memory; source offsets in offset.storage.file.filename.")

        @Argument(help: "The worker's properties file (bootstrap.servers, offset.storage.file.filename, ...).")
        var workerProperties: String

        @Argument(help: "Connector properties files, started at boot.")
        var connectorProperties: [String] = []

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        func run() async throws {
            let worker = try ConnectCommand.workerConfig(file: workerProperties, environment: [:])
            var connectors: [[String: String]] = []
            for path in connectorProperties {
                let config = JavaProperties.dictionary(try String(contentsOfFile: path, encoding: .utf8))
                guard config["name"] != nil else { throw ValidationError("\(path) has no 'name' property") }
                connectors.append(config)
            }
            bootstrapLogging(levelName: logLevel)
            let logger = Logger(label: "vltava-connect")
            let (herder, client) = try ConnectCommand.make { () throws(ConnectError) in try ConnectService.standalone(worker: worker, logger: logger) }
            let connectorConfigs = connectors
            try await ConnectCommand.run(herder: herder, client: client, worker: worker, logger: logger, logLevel: logLevel) {
                for config in connectorConfigs {
                    let name = config["name"] ?? ""
                    do {
                        _ = try await herder.putConnector(name: name, config: config, allowReplace: true)
                        logger.info("connector created", metadata: ["connector": "\(name)"])
                    } catch {
                        logger.error("cannot create connector", metadata: ["connector": "\(name)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    struct Distributed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A worker that keeps connectors, offsets and statuses in Kafka (connect-configs, connect-offsets, connect-status).",
            discussion: "The CONNECT_* environment variables of Confluent's cp-kafka-connect image override the file.")

        @Argument(help: "The worker's properties file.")
        var workerProperties: String?

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        func run() async throws {
            let worker = try ConnectCommand.workerConfig(file: workerProperties, environment: ProcessInfo.processInfo.environment)
            bootstrapLogging(levelName: logLevel)
            let logger = Logger(label: "vltava-connect")
            let (herder, client) = try ConnectCommand.make { () throws(ConnectError) in try ConnectService.distributed(worker: worker, logger: logger, joinsGroup: true) }
            try await ConnectCommand.run(herder: herder, client: client, worker: worker, logger: logger, logLevel: logLevel) {}
        }
    }

    struct Mirror: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "MirrorMaker 2 as Kafka's connect-mirror-maker runs it: every enabled flow of the properties file, a worker each.",
            discussion: "The file is Kafka's: clusters = A, B; A.bootstrap.servers = ...; A->B.enabled = true; A->B.topics = ...")

        @Argument(help: "The MirrorMaker properties file (connect-mirror-maker.properties).")
        var mirrorProperties: String

        @Option(parsing: .upToNextOption, help: "Only the flows into these target clusters.")
        var clusters: [String] = []

        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: String = "info"

        func run() async throws {
            let properties = JavaProperties.dictionary(try String(contentsOfFile: mirrorProperties, encoding: .utf8))
            let config: MirrorMakerConfig
            do {
                config = try MirrorMakerConfig(properties: properties, targets: clusters.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
            } catch {
                throw ValidationError("\(error)")
            }
            guard !config.flows.isEmpty else {
                throw ValidationError("no replication flow is enabled: set <source>-><target>.enabled = true for one of the clusters \(config.clusters.joined(separator: ", "))")
            }
            bootstrapLogging(levelName: logLevel)
            Allocator.limitArenas()
            let logger = Logger(label: "vltava-connect")
            logger.info("mirror maker starting", metadata: ["flows": "\(config.flows.map { "\($0.source)->\($0.target)" })"])
            let group = ServiceGroup(configuration: .init(
                services: [.init(service: MirrorMakerService(config: config, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    /// The worker properties of the file, overridden by `CONNECT_*` variables.
    static func workerConfig(file: String?, environment: [String: String]) throws -> WorkerConfig {
        var properties: [String: String] = [:]
        if let file {
            for (key, value) in JavaProperties.parse(try String(contentsOfFile: file, encoding: .utf8)) { properties[key] = value }
        }
        for (key, value) in WorkerConfig.properties(fromEnvironment: environment) { properties[key] = value }
        do {
            return try WorkerConfig(properties: properties)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    static func make(_ body: () throws(ConnectError) -> (Herder, KafkaClient)) throws -> (Herder, KafkaClient) {
        do {
            return try body()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Serves the worker until SIGTERM/SIGINT; `afterStart` runs once the REST API is up.
    static func run(herder: Herder, client: KafkaClient, worker: WorkerConfig, logger: Logger, logLevel: String,
                    afterStart: @escaping @Sendable () async -> Void) async throws {
        Allocator.limitArenas()
        var service = ConnectService(
            herder: herder, client: client, host: worker.restHost, port: worker.restPort, version: vltavaVersion, logger: logger,
            loggers: LoggerLevels(root: Logger.Level(rawValue: logLevel.lowercased()) ?? .info))
        do {
            service.limits = try HTTPLimits.from(environment: [:])
        } catch {
            throw ValidationError(error.message)
        }
        do {
            service.authentication = try BasicAuthentication.connect(
                restExtensionClasses: worker.properties["rest.extension.classes"],
                javaOptions: ProcessInfo.processInfo.environment["KAFKA_OPTS"])
            try service.configureTLS(worker: worker)
        } catch {
            throw ValidationError("\(error)")
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service), .init(service: StartupHook(herder: herder, body: afterStart),
                                                      successTerminationBehavior: .ignore)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs once the worker is ready (standalone mode's connector files).
struct StartupHook: Service {
    let herder: Herder
    let body: @Sendable () async -> Void

    func run() async throws {
        let herder = self.herder
        let body = self.body
        try await cancelWhenGracefulShutdown {
            while await !herder.isReady {
                try await Task.sleep(for: .milliseconds(50))
            }
            await body()
        }
    }
}
