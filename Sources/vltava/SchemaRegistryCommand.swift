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

/// `vltava schema-registry`: the Confluent-compatible schema registry alone, storing its state in a topic of
/// any Kafka cluster (as Confluent's image does with SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS).
struct SchemaRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema-registry",
        abstract: "Run the schema registry (http://0.0.0.0:8081) against a Kafka cluster.",
        discussion: """
        Reads the environment variables of Confluent's image: SCHEMA_REGISTRY_LISTENERS, \
        SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS (PLAINTEXT:// prefixes are accepted) and \
        SCHEMA_REGISTRY_KAFKASTORE_TOPIC; options take precedence.
        """)

    @Option(name: [.customLong("bootstrap-server"), .customShort("b")], help: "Comma-separated host:port list of brokers.")
    var bootstrapServer: String?

    @Option(help: "Where to listen, http://host:port.")
    var listeners: String?

    @Option(help: "The topic holding the registry's state.")
    var topic: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        Allocator.limitArenas()
        let environment = ProcessInfo.processInfo.environment
        // Listener names as schemes (`PLAINTEXT://`, `SASL_SSL://`) are dropped by the address parser.
        let bootstrap = bootstrapServer ?? environment["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"] ?? "localhost:9092"
        let listener: (host: String, port: Int, usesTLS: Bool)
        do {
            listener = try SchemaRegistryService.parseListenerURL(
                listeners ?? environment["SCHEMA_REGISTRY_LISTENERS"] ?? "http://0.0.0.0:8081")
        } catch {
            throw ValidationError("\(error)")
        }
        bootstrapLogging(levelName: logLevel)
        let logger = Logger(label: "vltava-schema-registry")
        let addresses: [BrokerAddress]
        do {
            addresses = try BrokerAddress.parseList(bootstrap)
        } catch {
            throw ValidationError("\(error)")
        }
        let security: ClientSecurity
        do {
            security = try SchemaRegistryService.storeSecurity(
                environment: environment,
                bootstrapServers: bootstrap)
        } catch {
            throw ValidationError(error.message)
        }
        let client = SchemaRegistryService.storeClient(bootstrapServers: addresses, environment: environment, security: security)
        var service = SchemaRegistryService(
            client: client, topic: topic ?? environment["SCHEMA_REGISTRY_KAFKASTORE_TOPIC"] ?? "_schemas",
            host: listener.host, port: listener.port,
            storeTimeout: SchemaRegistryService.storeTimeout(environment: environment) ?? .seconds(30), logger: logger)
        do {
            service.limits = try HTTPLimits.from(environment: environment)
            try service.configureSecurity(environment: environment, usesTLS: listener.usesTLS)
        } catch {
            throw ValidationError(error.message)
        }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await client.close()
    }

}
