#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import SchemaRegistry
import VltavaHTTP

/// A JSON REST API the console reads and changes (the schema registry's, Connect's): one request per connection,
/// the answer parsed as JSON; an error answer becomes a `ConsoleError` with the service's own message.
struct RESTBackend: Sendable {
    let name: String
    let url: String
    let endpoint: HTTPEndpoint
    let contentType: String

    init(name: String, url: String, contentType: String) throws {
        self.name = name
        self.url = url
        do {
            endpoint = try HTTPEndpoint(url: url)
        } catch {
            throw ConsoleError.badRequest("\(name) URL \(url): \(error.description)")
        }
        self.contentType = contentType
    }

    /// Sends a request; answers 2xx with the parsed body (`.null` for an empty one); throws otherwise.
    func call(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) async throws(ConsoleError) -> JSONValue {
        var headers = HTTPHeaders([("Accept", "application/json")])
        let bytes = body.map { Array($0.serialized.utf8) } ?? []
        if body != nil { headers.add(name: "Content-Type", value: contentType) }
        if let userInfo = endpoint.userInfo {
            headers.add(name: "Authorization", value: "Basic " + Data(userInfo.utf8).base64EncodedString())
        }
        let answer: HTTPAnswer
        do {
            answer = try await HTTPExchange.exchange(
                endpoint: endpoint, method: method, target: path, headers: headers, body: bytes,
                on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: .seconds(5), timeout: .seconds(30)).get()
        } catch {
            throw .unavailable("cannot reach the \(name) at \(url): \(Self.plain(error))")
        }
        let parsed = answer.body.isEmpty ? JSONValue.null : ((try? JSONParser.parse(bytes: answer.body)) ?? .string(String(decoding: answer.body, as: UTF8.self)))
        guard (200..<300).contains(answer.status) else {
            let message = parsed.member("message")?.stringValue ?? parsed.stringValue ?? "status \(answer.status)"
            switch answer.status {
            case 404: throw .notFound("\(name): \(message)")
            case 401, 403: throw .forbidden("\(name): \(message)")
            case 400..<500: throw .badRequest("\(name): \(message)")
            default: throw .unavailable("\(name): \(message)")
            }
        }
        return parsed
    }

    /// The text of a connection failure, without a library's type names where the usual ones are recognized.
    static func plain(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("timedOut") || text.contains("imed out") { return "timed out" }
        return text
    }
}

/// The schema registry's REST API (Confluent's).
struct RegistryBackend: Sendable {
    let rest: RESTBackend

    init(url: String) throws {
        rest = try RESTBackend(name: "schema registry", url: url, contentType: "application/vnd.schemaregistry.v1+json")
    }

    func subjects() async throws(ConsoleError) -> [String] {
        (try await rest.call(.GET, "/subjects").arrayValue ?? []).compactMap(\.stringValue).sorted()
    }

    func versions(_ subject: String) async throws(ConsoleError) -> [Int] {
        (try await rest.call(.GET, "/subjects/\(subject.urlEncoded)/versions").arrayValue ?? []).compactMap { $0.integerValue.map(Int.init) }
    }

    /// `subject`, `id`, `version`, `schemaType`, `schema`, `references` of one version (`latest` or a number).
    func version(_ subject: String, _ version: String) async throws(ConsoleError) -> JSONValue {
        try await rest.call(.GET, "/subjects/\(subject.urlEncoded)/versions/\(version.urlEncoded)")
    }

    /// The compatibility level of a subject (nil: it follows the global one), or the global one.
    func compatibility(_ subject: String?) async throws(ConsoleError) -> String? {
        do {
            let path = subject.map { "/config/\($0.urlEncoded)" } ?? "/config"
            return try await rest.call(.GET, path).member("compatibilityLevel")?.stringValue
        } catch {
            if case .notFound = error, subject != nil { return nil }
            throw error
        }
    }

    func mode(_ subject: String?) async throws(ConsoleError) -> String? {
        do {
            let path = subject.map { "/mode/\($0.urlEncoded)" } ?? "/mode"
            return try await rest.call(.GET, path).member("mode")?.stringValue
        } catch {
            if case .notFound = error, subject != nil { return nil }
            throw error
        }
    }

    func setCompatibility(_ subject: String?, _ level: String) async throws(ConsoleError) {
        let path = subject.map { "/config/\($0.urlEncoded)" } ?? "/config"
        _ = try await rest.call(.PUT, path, body: .object([("compatibility", .string(level))]))
    }

    func setMode(_ subject: String, _ mode: String) async throws(ConsoleError) {
        _ = try await rest.call(.PUT, "/mode/\(subject.urlEncoded)", body: .object([("mode", .string(mode))]))
    }

    /// Registers a schema; gives its id.
    func register(_ subject: String, schemaType: String, schema: String) async throws(ConsoleError) -> Int64 {
        var body: [(String, JSONValue)] = [("schema", .string(schema))]
        if schemaType != "AVRO" { body.append(("schemaType", .string(schemaType))) }
        let answer = try await rest.call(.POST, "/subjects/\(subject.urlEncoded)/versions", body: .object(body))
        return answer.member("id")?.integerValue ?? -1
    }

    /// Every schema's id, type and subject, from `/schemas` (one call for the whole list page).
    func schemas() async throws(ConsoleError) -> [JSONValue] {
        try await rest.call(.GET, "/schemas?latestOnly=true").arrayValue ?? []
    }
}

/// Kafka Connect's REST API.
struct ConnectBackend: Sendable {
    let rest: RESTBackend

    init(url: String) throws {
        rest = try RESTBackend(name: "Connect worker", url: url, contentType: "application/json")
    }

    /// `{name: {status: {...}, info: {...}}}` for every connector.
    func connectors() async throws(ConsoleError) -> [(String, JSONValue)] {
        try await rest.call(.GET, "/connectors?expand=status&expand=info").objectValue ?? []
    }

    func status(_ name: String) async throws(ConsoleError) -> JSONValue {
        try await rest.call(.GET, "/connectors/\(name.urlEncoded)/status")
    }

    func info(_ name: String) async throws(ConsoleError) -> JSONValue {
        try await rest.call(.GET, "/connectors/\(name.urlEncoded)")
    }

    func topics(_ name: String) async throws(ConsoleError) -> [String] {
        let answer = try await rest.call(.GET, "/connectors/\(name.urlEncoded)/topics")
        return answer.member(name)?.member("topics")?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func create(_ body: JSONValue) async throws(ConsoleError) -> String {
        let answer = try await rest.call(.POST, "/connectors", body: body)
        return answer.member("name")?.stringValue ?? "the connector"
    }

    func perform(_ name: String, verb: String) async throws(ConsoleError) {
        switch verb {
        case "pause": _ = try await rest.call(.PUT, "/connectors/\(name.urlEncoded)/pause")
        case "resume": _ = try await rest.call(.PUT, "/connectors/\(name.urlEncoded)/resume")
        case "restart": _ = try await rest.call(.POST, "/connectors/\(name.urlEncoded)/restart?includeTasks=true&onlyFailed=false")
        case "delete": _ = try await rest.call(.DELETE, "/connectors/\(name.urlEncoded)")
        default: throw .notFound("no connector action \(verb)")
        }
    }
}

extension JSONValue {
    /// The value of an object's member.
    func member(_ name: String) -> JSONValue? {
        objectValue?.last { $0.0 == name }?.1
    }
}
