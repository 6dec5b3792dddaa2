import ArgumentParser
import NIOCore
import NIOHTTP1
import SchemaRegistry
import VltavaClient

extension SchemasCommand {
    /// `vltava schemas import`: reads a registry's `_schemas` topic (Confluent's record format, from any Kafka)
    /// and registers its live versions into a registry with their ids and versions, in IMPORT mode, then its
    /// configs; the registry is put back to READWRITE at the end.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the schemas of a registry's _schemas topic into a registry, keeping their ids and versions.",
            discussion: """
                Reads the topic (by default _schemas) from the cluster given with --bootstrap-server to its end, as a \
                registry reads it, then puts the registry at --registry-url in IMPORT mode, registers every live \
                version with its id and version (references first), sets the subjects' and the global configs, and \
                puts the registry back in READWRITE mode. Soft-deleted versions are not copied.
                """)

        @OptionGroup var options: RegistryOptions
        @OptionGroup var bootstrap: BootstrapOptions
        @Option(help: "The topic the registry to copy keeps its schemas in.") var topic = "_schemas"
        @Flag(help: "Import even though the registry already holds schemas (ids must not collide).") var force = false
        @Option(help: "A schema context to import into (.name): subjects become :.name:subject, with ids of their own.")
        var context: String?

        func run() async throws {
            let topic = self.topic
            let records = try await bootstrap.withClient { (client) throws(KafkaClientError) in try await Self.readAll(topic, client) }
            if let context, !context.hasPrefix(".") || context.count < 2 || context.contains(":") {
                throw ValidationError("--context must be a dot and a name without colons, as .staging")
            }
            let snapshot = SchemaTopicSnapshot(records: records, context: context)
            try await options.send(.PUT, "/mode" + (force ? "?force=true" : ""), body: #"{"mode":"IMPORT"}"#)
            var imported = 0
            for version in snapshot.versions {
                let answer = try await options.send(.POST, "/subjects/\(path(version.subject))/versions", body: version.registrationBody,
                                                    failure: "cannot import version \(version.version) of \(version.subject) (id \(version.id))")
                guard case let .number(id)? = (try? JSONParser.parse(answer))?["id"], Int(id) == version.id else {
                    printError("Error: version \(version.version) of \(version.subject) was given another id than \(version.id): \(answer)")
                    throw ExitCode.failure
                }
                imported += 1
            }
            for (subject, body) in snapshot.configs {
                try await options.send(.PUT, subject.map { "/config/\(path($0))" } ?? "/config", body: body)
            }
            try await options.send(.PUT, "/mode", body: #"{"mode":"READWRITE"}"#)
            let subjects = Set(snapshot.versions.map(\.subject)).count
            print("imported \(imported) versions of \(subjects) subjects with their ids, and \(snapshot.configs.count) configs"
                + (snapshot.deletedVersions > 0 ? "; \(snapshot.deletedVersions) soft-deleted versions left out" : ""))
        }

        /// Every record of partition 0 up to the end it has now, as key and value text.
        static func readAll(_ topic: String, _ client: KafkaClient) async throws(KafkaClientError) -> [(key: String, value: String?)] {
            let end = try await client.listOffsets(topic: topic, partitions: [0], spec: .latest)[0] ?? 0
            var next: Int64 = 0
            var records: [(key: String, value: String?)] = []
            while next < end {
                let fetched = try await client.fetch(topic: topic, offsets: [0: next], maxWait: .milliseconds(200))
                var progressed = false
                for partition in fetched where partition.partition == 0 {
                    for record in partition.records where record.offset >= next {
                        if let key = record.key {
                            records.append((String(buffer: key), record.value.map { String(buffer: $0) }))
                        }
                        next = record.offset + 1
                        progressed = true
                    }
                    if partition.nextOffset > next {
                        next = partition.nextOffset
                        progressed = true
                    }
                }
                if !progressed { try? await Task.sleep(nanoseconds: 50_000_000) }
            }
            return records
        }
    }
}

extension SchemasCommand.RegistryOptions {
    /// Sends a request and returns the answer's body; an error answer is printed (with `failure` first) and ends
    /// the command.
    @discardableResult
    func send(_ method: HTTPMethod, _ path: String, body: String? = nil, failure: String? = nil) async throws -> String {
        let response: RESTClient.Response
        do {
            response = try await RESTClient.send(method: method, url: baseURL, path: path, body: body, caFile: cacert)
        } catch let failure as RESTClient.Failure {
            throw ValidationError("\(failure)")
        } catch {
            printError("Error: cannot reach \(baseURL): \(ConnectorsCommand.describe(error))")
            throw ExitCode.failure
        }
        guard response.status < 300 else {
            printError("Error: \(failure.map { $0 + ": " } ?? "")\(response.body)")
            throw ExitCode.failure
        }
        return response.body
    }
}
