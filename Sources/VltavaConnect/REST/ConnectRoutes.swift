#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import NIOCore
import SchemaRegistry

/// Kafka Connect's REST API on a Hummingbird router: one file per route group (`ConnectorRoutes`,
/// `ConnectorStateRoutes`, `OffsetRoutes`, `PluginRoutes`, `AdminRoutes`). Answers are JSON; failures are
/// `{"error_code": <HTTP status>, "message": "..."}` as Kafka's `ConnectExceptionMapper` writes them.
struct ConnectRoutes: Sendable {
    let herder: Herder
    let cluster: ConnectClusterInfo
    let loggers: LoggerLevels
    /// The largest request body read.
    static let maximumBodyBytes = 16 << 20

    func add(to router: Router<BasicRequestContext>) {
        addConnectorRoutes(to: router)
        addStateRoutes(to: router)
        addOffsetRoutes(to: router)
        addPluginRoutes(to: router)
        addAdminRoutes(to: router)
    }

    // MARK: Plumbing

    /// An answer: a status and a JSON body (none for 202/204 without content).
    struct Answer {
        var status: Int
        var body: JSONValue?

        static func ok(_ body: JSONValue) -> Answer { Answer(status: 200, body: body) }
    }

    static func response(_ answer: Answer) -> Response {
        guard let body = answer.body else { return Response(status: .init(code: answer.status)) }
        return Response(status: .init(code: answer.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: body.serialized)))
    }

    static func errorResponse(_ error: ConnectRestError) -> Response {
        response(Answer(status: error.status, body: .object([("error_code", .integer(error.status)), ("message", .string(error.message))])))
    }

    /// Runs a handler and turns its answer, or its error, into a response.
    static func handle(_ body: () async throws(ConnectRestError) -> Answer) async -> Response {
        do {
            return response(try await body())
        } catch {
            return errorResponse(error)
        }
    }

    /// A path parameter, percent-decoded.
    static func parameter(_ context: BasicRequestContext, _ name: String) throws(ConnectRestError) -> String {
        guard let value = context.parameters.get(name) else { throw ConnectRestError(404, "HTTP 404 Not Found") }
        return value.removingPercentEncoding ?? value
    }

    static func taskIndex(_ context: BasicRequestContext) throws(ConnectRestError) -> Int {
        let text = try parameter(context, "task")
        guard let index = Int(text), index >= 0 else { throw ConnectRestError(404, "Task \(text) not found") }
        return index
    }

    /// A query flag (`?includeTasks=true`).
    static func flag(_ request: Request, _ name: String) -> Bool {
        request.uri.queryParameters[name[...]].map { $0.lowercased() == "true" } ?? false
    }

    /// The request body as JSON; an unreadable body is 400 with the parser's message.
    static func body(_ request: Request) async throws(ConnectRestError) -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBodyBytes)
        } catch {
            throw ConnectRestError(413, "Request body larger than \(maximumBodyBytes) bytes")
        }
        guard buffer.readableBytes > 0 else { throw ConnectRestError(400, "Request body is empty; a JSON document is expected") }
        do {
            return try JSONParser.parse(bytes: Array(buffer.readableBytesView), maximumDepth: 64, maximumBytes: maximumBodyBytes)
        } catch {
            throw ConnectRestError(400, "Request body is not valid JSON: \(error)")
        }
    }

    /// A JSON object of strings as a config map: numbers and booleans become their text (Jackson coerces them
    /// too); `nullRemoves` keeps nulls as removals (PATCH), else a null value is an error.
    static func configMap(_ value: JSONValue?, what: String) throws(ConnectRestError) -> [String: String?] {
        guard let members = value?.objectValue else { throw ConnectRestError(400, "\(what) must be a JSON object of strings") }
        var config: [String: String?] = [:]
        for (key, item) in members {
            switch item {
            case let .string(text): config[key] = .some(text)
            case .number, .bool: config[key] = .some(item.serialized)
            case .null: config[key] = .some(nil)
            default: throw ConnectRestError(400, "\(what): the value of \"\(key)\" must be a string")
            }
        }
        return config
    }

    /// A config map without nulls (which only PATCH accepts).
    static func strictConfig(_ value: JSONValue?, what: String) throws(ConnectRestError) -> [String: String] {
        var config: [String: String] = [:]
        for (key, item) in try configMap(value, what: what) {
            guard let text = item else { throw ConnectRestError(400, "\(what): the value of \"\(key)\" must be a string, not null") }
            config[key] = text
        }
        return config
    }

    static func object(_ map: [String: String]) -> JSONValue {
        .object(map.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }
}

/// Hummingbird's own errors (no route for the path or method, a body too large) in Kafka's error shape.
struct ConnectHTTPErrors<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code = Int(error.status.code)
            return ConnectRoutes.errorResponse(ConnectRestError(code, "HTTP \(code) \(error.status.reasonPhrase)"))
        }
    }
}
