import ArgumentParser
import VltavaHTTP
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOHTTP1

/// `vltava schemas`: list, read, register, check and delete schemas through any Confluent-compatible registry.
struct SchemasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas",
        abstract: "Manage schemas in a schema registry (Confluent's REST API).",
        subcommands: [List.self, Get.self, Register.self, Check.self, Delete.self, Import.self])

    struct RegistryOptions: ParsableArguments {
        @Option(name: .customLong("registry-url"), help: "The registry's URL (SCHEMA_REGISTRY_URL, default http://localhost:8081).")
        var registryURL: String?

        @Option(help: "A PEM file of the CA certificates an https registry is checked against (default: the system's).")
        var cacert: String?

        var baseURL: String {
            registryURL ?? ProcessInfo.processInfo.environment["SCHEMA_REGISTRY_URL"] ?? "http://localhost:8081"
        }

        /// Sends a request and prints the answer; an error answer goes to stderr with a non-zero exit.
        func call(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws {
            print(try await send(method, path, body: body))
        }
    }

    static func path(_ subject: String) -> String {
        HTTPEndpoint.encodePathSegment(subject)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subjects.")
        @OptionGroup var options: RegistryOptions
        @Flag(help: "Include soft-deleted subjects.") var deleted = false
        func run() async throws { try await options.call(.GET, "/subjects" + (deleted ? "?deleted=true" : "")) }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a version of a subject (latest by default).")
        @OptionGroup var options: RegistryOptions
        @Argument var subject: String
        @Argument var version: String = "latest"
        func run() async throws { try await options.call(.GET, "/subjects/\(path(subject))/versions/\(version)") }
    }

    struct SchemaFile: ParsableArguments {
        @Option(help: "AVRO, PROTOBUF or JSON.") var type: String = "AVRO"
        @Option(help: "The schema file.") var file: String

        func body() throws -> String {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return "{\"schemaType\":\(RESTClient.jsonString(type.uppercased())),\"schema\":\(RESTClient.jsonString(text))}"
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a schema under a subject; prints its id.")
        @OptionGroup var options: RegistryOptions
        @Argument var subject: String
        @OptionGroup var schema: SchemaFile
        func run() async throws { try await options.call(.POST, "/subjects/\(path(subject))/versions", body: try schema.body()) }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a schema against a subject's compatibility level.")
        @OptionGroup var options: RegistryOptions
        @Argument var subject: String
        @OptionGroup var schema: SchemaFile
        func run() async throws {
            try await options.call(.POST, "/compatibility/subjects/\(path(subject))/versions?verbose=true", body: try schema.body())
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a subject or one version (soft unless --permanent).")
        @OptionGroup var options: RegistryOptions
        @Argument var subject: String
        @Argument var version: String?
        @Flag(help: "Delete for good (after a soft delete).") var permanent = false
        func run() async throws {
            let target = "/subjects/\(path(subject))" + (version.map { "/versions/\($0)" } ?? "")
            try await options.call(.DELETE, target + (permanent ? "?permanent=true" : ""))
        }
    }
}
