import ArgumentParser
import NIOCore
import VltavaClient
import VltavaSecurity

/// `vltava ready`: wait until the cluster has enough brokers (Confluent's `cub kafka-ready`).
struct Ready: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until Metadata reports at least MIN_BROKERS brokers; exit 1 after TIMEOUT_SECONDS.")

    @Option(name: [.customLong("bootstrap-server"), .customShort("b")],
            help: "Comma-separated host:port list of brokers to bootstrap from.")
    var bootstrapServer: String = "localhost:9092"

    @Option(name: .customLong("command-config"),
            help: "A client properties file, as Kafka's tools take it: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*.")
    var commandConfig: String?

    @Argument(help: "The number of brokers to wait for.") var minBrokers: Int
    @Argument(help: "How long to wait, in seconds.") var timeoutSeconds: Double

    func run() async throws {
        var security = ClientSecurity.plaintext
        if let commandConfig {
            do {
                security = try ClientSecurity(properties: JavaProperties.read(path: commandConfig))
            } catch {
                printError("Error: \(commandConfig): \(error)")
                throw ExitCode.failure
            }
        }
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeoutSeconds * 1e9))
        var lastProblem = "no answer"
        while true {
            let remaining = deadline - .now()
            guard remaining > .zero else { break }
            // Each attempt fits in what is left, so the command ends close to its deadline.
            let attemptTimeout = min(remaining, .seconds(5))
            var configuration = KafkaClient.Configuration()
            configuration.connectTimeout = attemptTimeout
            configuration.requestTimeout = attemptTimeout
            configuration.security = security
            do {
                let client = try KafkaClient(bootstrapServers: bootstrapServer, configuration: configuration)
                let brokers: Int
                do {
                    brokers = try await client.refreshMetadata(topics: []).brokers.count
                    await client.close()
                } catch {
                    await client.close()
                    throw error
                }
                if brokers >= minBrokers { return }
                lastProblem = "expected \(minBrokers) brokers but found only \(brokers)"
            } catch {
                if case KafkaClientError.invalidArgument = error {
                    printError("Error: \(error)")
                    throw ExitCode.failure
                }
                lastProblem = "\(error)"
            }
            let pause = min(deadline - .now(), .seconds(1))
            if pause > .zero { try await Task.sleep(nanoseconds: UInt64(pause.nanoseconds)) }
        }
        printError("Error: \(lastProblem) within \(timeoutSeconds) s")
        throw ExitCode.failure
    }
}
