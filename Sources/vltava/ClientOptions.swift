import ArgumentParser
import NIOCore
import VltavaClient
import VltavaSecurity

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `--bootstrap-server` option every client command takes (`-b` as in kcat).
struct BootstrapOptions: ParsableArguments {
    @Option(name: [.customLong("bootstrap-server"), .customShort("b")],
            help: "Comma-separated host:port list of brokers to bootstrap from.")
    var bootstrapServer: String = "localhost:9092"

    @Option(name: .customLong("request-timeout-ms"), help: "How long to wait for each broker response.")
    var requestTimeoutMs: Int = 30_000

    @Option(name: [.customLong("command-config"), .customLong("producer.config"), .customLong("consumer.config")],
            help: "A client properties file, as Kafka's tools take it: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*.")
    var commandConfig: String?

    /// The client security the properties file describes (PLAINTEXT without one).
    func security() throws(SecurityError) -> ClientSecurity {
        guard let commandConfig else { return .plaintext }
        return try ClientSecurity(properties: JavaProperties.read(path: commandConfig))
    }

    /// Runs `body` with a client of the cluster, closes the client, and turns a client error into Kafka's
    /// error name on stderr and a non-zero exit.
    func withClient<Result>(
        _ body: (KafkaClient) async throws(KafkaClientError) -> Result
    ) async throws -> Result {
        var configuration = KafkaClient.Configuration()
        configuration.requestTimeout = .milliseconds(Int64(requestTimeoutMs))
        do {
            configuration.security = try security()
        } catch {
            printError("Error: \(commandConfig ?? ""): \(error)")
            throw ExitCode.failure
        }
        do {
            let client = try KafkaClient(bootstrapServers: bootstrapServer, configuration: configuration)
            do {
                let result = try await body(client)
                await client.close()
                return result
            } catch {
                await client.close()
                throw error
            }
        } catch {
            printError("Error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    writeAll(Array((message + "\n").utf8), to: 2)
}

/// Writes every byte to a file descriptor, unbuffered, retrying short and interrupted writes.
func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
    bytes.withUnsafeBytes { buffer in
        var remaining = buffer
        while !remaining.isEmpty {
            let written = write(descriptor, remaining.baseAddress, remaining.count)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
        }
    }
}

/// Parses a `name=value` command-line argument.
extension ConfigAssignment: ExpressibleByArgument {
    public init?(argument: String) {
        guard let parsed = try? ConfigAssignment(parsing: argument) else { return nil }
        self = parsed
    }
}
