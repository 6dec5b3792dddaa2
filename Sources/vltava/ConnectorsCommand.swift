import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOPosix
import SchemaRegistry
import VltavaSecurity

/// `vltava connectors`: list, create, inspect and control connectors through any Kafka Connect REST API.
struct ConnectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connectors",
        abstract: "Manage connectors through a Kafka Connect REST API.",
        subcommands: [List.self, Get.self, Create.self, Delete.self, Pause.self, Resume.self, Stop.self, Restart.self,
                      Status.self, Offsets.self, Plugins.self])

    struct ConnectOptions: ParsableArguments {
        @Option(help: "The Connect REST URL (CONNECT_URL, default http://localhost:8083).")
        var url: String?

        @Flag(help: "Print Kafka Connect's JSON answer as it is.")
        var json = false

        @Option(help: "A PEM file of the CA certificates an https worker is checked against (default: the system's).")
        var cacert: String?

        var baseURL: String {
            url ?? ProcessInfo.processInfo.environment["CONNECT_URL"] ?? "http://localhost:8083"
        }

        /// Sends a request; returns the answer's body (parsed, when it is JSON). A failure goes to stderr in plain
        /// words with a non-zero exit.
        func send(_ request: ConnectRequest) async throws -> (body: String, json: JSONValue?) {
            let response: RESTClient.Response
            do {
                response = try await RESTClient.send(method: request.method, url: baseURL, path: request.path, body: request.body,
                                                     mediaTypes: RESTClient.jsonMediaTypes, caFile: cacert)
            } catch let failure as RESTClient.Failure {
                throw ValidationError("\(failure)")
            } catch {
                let target = (try? RESTClient.endpoint(baseURL)).map { "\($0.host):\($0.port)" } ?? baseURL
                printError("Error: cannot connect to \(target): \(ConnectorsCommand.describe(error))")
                throw ExitCode.failure
            }
            guard response.status < 300 else {
                printError("Error: \(ConnectOutput.errorMessage(status: response.status, body: response.body))")
                throw ExitCode.failure
            }
            return (response.body, try? JSONParser.parse(response.body))
        }

        /// Sends a request and prints the answer: as JSON with `--json`, else through `format`.
        func show(_ request: ConnectRequest, _ format: (JSONValue) -> String) async throws {
            let answer = try await send(request)
            if json || answer.json == nil {
                if !answer.body.isEmpty { print(answer.body) }
            } else if let parsed = answer.json {
                print(format(parsed))
            }
        }

        /// Sends a request that changes something and prints `done` (or the JSON answer with `--json`).
        func act(_ request: ConnectRequest, done: String) async throws {
            let answer = try await send(request)
            print(json && !answer.body.isEmpty ? answer.body : done)
        }
    }

    /// A connection failure in plain words (`connection refused`, `timed out`...).
    static func describe(_ error: any Error) -> String { NetworkFailure.describe(error) }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List connectors (with --expand status, their states).")
        @OptionGroup var options: ConnectOptions
        @Option(help: "Add status and/or info to each connector; repeatable.") var expand: [String] = []
        func run() async throws { try await options.show(ConnectRequests.list(expand: expand), ConnectOutput.connectorList) }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a connector's type, tasks and configuration.")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.show(ConnectRequests.get(name), ConnectOutput.connectorInfo) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a connector.",
            discussion: """
            The configuration comes from --file (Kafka's {"name": ..., "config": {...}} body), --config-file (a JSON \
            object or a .properties file) and --config key=value arguments, later ones overriding earlier ones. \
            The name is the argument, else the name in the file.
            """)
        @OptionGroup var options: ConnectOptions
        @Argument(help: "The connector's name (default: the name in the file).") var name: String?
        @Option(help: "Kafka's create body: {\"name\": ..., \"config\": {...}}.") var file: String?
        @Option(name: .customLong("config-file"), help: "A configuration: a JSON object or a .properties file.") var configFile: String?
        @Option(name: .customLong("config"), help: "A configuration entry key=value; repeatable.") var config: [String] = []
        @Flag(help: "Create the connector or replace its configuration (PUT /connectors/NAME/config).") var update = false

        func run() async throws {
            let (name, config) = try resolve(readFile: { path in
                do {
                    return try String(contentsOfFile: path, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot read \(path): \(error.localizedDescription)")
                }
            })
            try await options.act(ConnectRequests.create(name, config: config, update: update),
                                  done: update ? "Configured connector \(name)." : "Created connector \(name).")
        }

        /// The connector's name and configuration from the arguments and files.
        func resolve(readFile: (String) throws -> String) throws -> (String, [(String, String)]) {
            var fileName: String?
            var parts: [[(String, String)]] = []
            do {
                if let file {
                    let body = try ConnectorConfigInput.createBody(try readFile(file), source: file)
                    fileName = body.name
                    parts.append(body.config)
                }
                if let configFile {
                    let read = try ConnectorConfigInput.configFile(try readFile(configFile), source: configFile)
                    fileName = fileName ?? read.name
                    parts.append(read.config)
                }
                parts.append(try ConnectorConfigInput.assignments(config))
            } catch let failure as ConnectorConfigInput.Failure {
                throw ValidationError(failure.description)
            }
            var merged = ConnectorConfigInput.merge(parts.flatMap { $0 })
            let properties = merged.first { $0.0 == "name" }?.1
            guard let connectorName = name ?? fileName ?? properties, !connectorName.isEmpty else {
                throw ValidationError("name the connector: vltava connectors create NAME ...")
            }
            // Kafka's REST API refuses a "name" in the configuration that differs from the connector's.
            merged.removeAll { $0.0 == "name" }
            guard !merged.isEmpty else { throw ValidationError("give the configuration with --file, --config-file or --config") }
            return (connectorName, merged)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a connector.")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.act(ConnectRequests.delete(name), done: "Deleted connector \(name).") }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a connector and its tasks.")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.act(ConnectRequests.pause(name), done: "Pausing connector \(name).") }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused or stopped connector.")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.act(ConnectRequests.resume(name), done: "Resuming connector \(name).") }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a connector (its tasks are shut down; offsets can then be reset).")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.act(ConnectRequests.stop(name), done: "Stopping connector \(name).") }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart a connector (and with --include-tasks, its tasks).")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        @Flag(name: .customLong("include-tasks"), help: "Restart the tasks too.") var includeTasks = false
        @Flag(name: .customLong("only-failed"), help: "Restart only what has failed.") var onlyFailed = false
        func run() async throws {
            let answer = try await options.send(ConnectRequests.restart(name, includeTasks: includeTasks, onlyFailed: onlyFailed))
            if options.json, !answer.body.isEmpty {
                print(answer.body)
            } else if let status = answer.json, status["connector"] != nil {
                print(ConnectOutput.status(status))
            } else {
                print("Restarted connector \(name).")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the state of a connector and its tasks.")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        func run() async throws { try await options.show(ConnectRequests.status(name), ConnectOutput.status) }
    }

    struct Offsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a connector's offsets, or reset them (--reset; stop it first).")
        @OptionGroup var options: ConnectOptions
        @Argument var name: String
        @Flag(help: "Reset the offsets (the connector must be stopped).") var reset = false
        func run() async throws {
            let request = ConnectRequests.offsets(name, reset: reset)
            if reset {
                let answer = try await options.send(request)
                print(options.json ? answer.body : answer.json?["message"]?.stringValue ?? "Reset the offsets of connector \(name).")
            } else {
                try await options.show(request, ConnectOutput.offsets)
            }
        }
    }

    struct Plugins: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the connector plugins the worker has.")
        @OptionGroup var options: ConnectOptions
        @Flag(help: "Include transformations, predicates and converters.") var all = false
        func run() async throws { try await options.show(ConnectRequests.plugins(all: all), ConnectOutput.plugins) }
    }
}
