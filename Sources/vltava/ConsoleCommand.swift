import ArgumentParser
import Logging
import ServiceLifecycle
import VltavaClient
import VltavaConsole

/// `vltava console`: the web console alone, against any Kafka cluster (and, when given, any Confluent-compatible
/// schema registry and Kafka Connect worker), as Redpanda Console or Kafbat UI are run beside a cluster.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve the web console for a Kafka cluster (vltava serve has it built in on port 8080).")

    @OptionGroup var bootstrap: BootstrapOptions

    @Option(name: .customLong("schema-registry-url"), help: "The schema registry, http(s)://[user:password@]host:port (optional).")
    var schemaRegistryURL: String?

    @Option(name: .customLong("connect-url"), help: "The Kafka Connect REST API, http(s)://[user:password@]host:port (optional).")
    var connectURL: String?

    @Option(help: "Where to listen, http://host:port.")
    var listen = "http://127.0.0.1:8080"

    @Option(help: "The console's users: a file of 'name: password,role' lines; role read-only may only look (default: no login).")
    var usersFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func run() async throws {
        bootstrapLogging(levelName: logLevel)
        let logger = Logger(label: "vltava-console")
        guard let listener = try? ObservabilityService.listener(listen, option: "--listen") else {
            throw ValidationError("--listen must be http://host:port, not '\(listen)'")
        }
        var client = KafkaClient.Configuration()
        client.clientId = "vltava-console"
        client.requestTimeout = .milliseconds(Int64(bootstrap.requestTimeoutMs))
        do {
            client.security = try bootstrap.security()
        } catch {
            throw ValidationError("\(bootstrap.commandConfig ?? ""): \(error)")
        }
        let kafka: KafkaClient
        do {
            kafka = try KafkaClient(bootstrapServers: bootstrap.bootstrapServer, configuration: client)
        } catch {
            throw ValidationError("--bootstrap-server: \(error)")
        }
        var configuration = ConsoleConfiguration(kafka: kafka, registryURL: schemaRegistryURL, connectURL: connectURL, logger: logger)
        configuration.version = vltavaVersion
        if let usersFile {
            do {
                configuration.users = try ConsoleUsers(file: usersFile)
            } catch {
                throw ValidationError("--users-file: \(error)")
            }
        }
        let console: Console
        do {
            console = try Console(configuration: configuration)
        } catch {
            throw ValidationError("\(error)")
        }
        var service = ObservabilityService(
            name: "console", host: listener.host, port: listener.port, routes: nil, console: console, logger: logger)
        service.failureIsFatal = true
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await kafka.close()
    }
}
