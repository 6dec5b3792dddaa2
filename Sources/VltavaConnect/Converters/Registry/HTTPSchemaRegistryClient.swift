import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SchemaRegistry
import VltavaHTTP
import VltavaSecurity

/// Confluent's REST API over HTTP/1.1, one request per connection, on NIO's shared event loop group. Each call
/// blocks the calling thread until the answer or the timeout: converters are synchronous, and the Connect worker
/// calls them from its task threads. Calling it on an event loop would deadlock that loop, so it refuses to.
///
/// With several URLs (`schema.registry.url` is a comma-separated list), a request goes to the first that answers;
/// one that cannot be reached is skipped. An error answer (`{"error_code":…,"message":…}`) becomes a
/// `ConnectError` carrying the registry's message.
public final class HTTPSchemaRegistryClient: SchemaRegistryClient {
    /// A registry address: `http://host[:port][/base]` or `https://...`.
    typealias Endpoint = HTTPEndpoint

    let endpoints: [Endpoint]
    /// The `Authorization` header value, when basic authentication is configured.
    let authorization: String?
    let connectTimeout: TimeAmount
    let requestTimeout: TimeAmount
    /// The TLS client context of https registries.
    let tls: NIOSSLContext?
    private let group: any EventLoopGroup

    static let contentType = "application/vnd.schemaregistry.v1+json"

    /// `urls`: registry URLs (`http://` or `https://`); `userInfo`: `user:password` for basic authentication;
    /// `userInfoFromURL`: take the credentials from the URL (`http://user:password@host`), Confluent's `URL` source;
    /// `tls`: the client context of https URLs (`schema.registry.ssl.*`; the system's trust roots when nil).
    public init(urls: [String], userInfo: String? = nil, userInfoFromURL: Bool = false,
                connectTimeout: Duration = .seconds(60), requestTimeout: Duration = .seconds(60),
                tls: NIOSSLContext? = nil) throws(ConnectError) {
        var endpoints: [Endpoint] = []
        for url in urls { endpoints.append(try Self.parse(url)) }
        guard !endpoints.isEmpty else {
            throw .config(name: "schema.registry.url", message: "no schema registry URL given")
        }
        self.endpoints = endpoints
        let credentials = userInfo ?? (userInfoFromURL ? endpoints.lazy.compactMap(\.userInfo).first : nil)
        self.authorization = credentials.map { "Basic " + Base64.encode(Array($0.utf8)) }
        self.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000
                                           + connectTimeout.components.attoseconds / 1_000_000_000)
        self.requestTimeout = .nanoseconds(Int64(requestTimeout.components.seconds) * 1_000_000_000
                                           + requestTimeout.components.attoseconds / 1_000_000_000)
        self.group = MultiThreadedEventLoopGroup.singleton
        self.tls = tls ?? (endpoints.contains(where: \.usesTLS) ? HTTPExchange.systemTrust : nil)
    }

    static func parse(_ url: String, configName: String = "schema.registry.url") throws(ConnectError) -> Endpoint {
        do {
            return try HTTPEndpoint(url: url)
        } catch {
            throw .config(name: configName, message: error.description)
        }
    }

    // MARK: The API

    public func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32 {
        let path = "/subjects/\(HTTPEndpoint.encodePathSegment(subject))/versions" + (normalize ? "?normalize=true" : "")
        let answer = try send(.POST, path, body: Self.schemaBody(schemaType: schemaType, schema: schema))
        guard let id = answer["id"]?.integerValue, let id32 = Int32(exactly: id) else {
            throw .data("The schema registry's answer to registering a schema under \(subject) has no id")
        }
        return id32
    }

    public func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema? {
        let path = "/subjects/\(HTTPEndpoint.encodePathSegment(subject))" + (normalize ? "?normalize=true" : "")
        let answer: JSONValue
        do {
            answer = try send(.POST, path, body: Self.schemaBody(schemaType: schemaType, schema: schema))
        } catch {
            // 40401 subject not found, 40403 schema not found: not registered there.
            if case let .data(message) = error, message.contains("(error 40401)") || message.contains("(error 40403)") { return nil }
            throw error
        }
        return RegistrySchema(id: answer["id"]?.integerValue.flatMap { Int32(exactly: $0) },
                              version: answer["version"]?.integerValue.flatMap { Int32(exactly: $0) },
                              schemaType: schemaType, schema: schema)
    }

    public func schema(id: Int32) throws(ConnectError) -> RegistrySchema {
        let answer = try send(.GET, "/schemas/ids/\(id)", body: nil)
        guard let text = answer["schema"]?.stringValue else {
            throw .data("The schema registry's answer for schema \(id) has no schema")
        }
        return RegistrySchema(id: id, schemaType: answer["schemaType"]?.stringValue ?? "AVRO", schema: text)
    }

    public func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema {
        let answer = try send(.GET, "/subjects/\(HTTPEndpoint.encodePathSegment(subject))/versions/latest", body: nil)
        guard let text = answer["schema"]?.stringValue, let id = answer["id"]?.integerValue.flatMap({ Int32(exactly: $0) }) else {
            throw .data("The schema registry's answer for the latest version of \(subject) has no schema")
        }
        return RegistrySchema(id: id, version: answer["version"]?.integerValue.flatMap { Int32(exactly: $0) },
                              schemaType: answer["schemaType"]?.stringValue ?? "AVRO", schema: text)
    }

    static func schemaBody(schemaType: String, schema: String) -> String {
        var members: [(String, JSONValue)] = [("schema", .string(schema))]
        // Confluent's client leaves the type out for Avro, the registry's default.
        if schemaType != "AVRO" { members.insert(("schemaType", .string(schemaType)), at: 0) }
        return JSONValue.object(members).serialized
    }

    // MARK: Requests

    /// Sends a request to the first reachable registry and gives its JSON answer; an error answer throws.
    func send(_ method: HTTPMethod, _ path: String, body: String?) throws(ConnectError) -> JSONValue {
        if MultiThreadedEventLoopGroup.currentEventLoop != nil {
            throw .failed("the schema registry client blocks its thread and may not be called on an event loop")
        }
        var unreachable: [String] = []
        for endpoint in endpoints {
            let response: (status: Int, body: [UInt8])
            do {
                response = try exchange(endpoint, method, path, body: body)
            } catch {
                unreachable.append("\(endpoint.host):\(endpoint.port) (\(TLSFailure.describe(error) ?? "\(error)"))")
                continue
            }
            let json = try? JSONParser.parse(bytes: response.body)
            guard (200..<300).contains(response.status) else {
                let message = json?["message"]?.stringValue ?? String(decoding: response.body.prefix(300), as: UTF8.self)
                let code = json?["error_code"]?.integerValue ?? Int64(response.status)
                throw .data("The schema registry refused \(method.rawValue) \(path): \(message) (error \(code))")
            }
            guard let json else { throw .data("The schema registry's answer to \(method.rawValue) \(path) is not JSON") }
            return json
        }
        throw .failed("No schema registry could be reached: \(unreachable.joined(separator: "; "))")
    }

    private func exchange(_ endpoint: Endpoint, _ method: HTTPMethod, _ path: String,
                          body: String?) throws -> (status: Int, body: [UInt8]) {
        var headers = HTTPHeaders([("Accept", "\(Self.contentType), application/json")])
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        if body != nil { headers.add(name: "Content-Type", value: Self.contentType) }
        let answerFuture = HTTPExchange.exchange(
            endpoint: endpoint, method: method, target: path, headers: headers, body: Array((body ?? "").utf8), tls: tls,
            on: group.next(), connectTimeout: connectTimeout, timeout: requestTimeout)
        let answer = try answerFuture.wait()
        return (answer.status, answer.body)
    }
}
