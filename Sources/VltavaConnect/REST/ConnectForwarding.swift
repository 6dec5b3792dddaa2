import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import VltavaHTTP
import VltavaSecurity

/// A worker of a group answers requests that change configs only when it leads (Kafka's
/// `ConnectResource.completeOrForwardRequest`): a follower forwards them to the leader's URL with
/// `forward=false`, so that a request never travels twice; during a rebalance they get 409.
struct ConnectForwarding: RouterMiddleware {
    typealias Context = BasicRequestContext
    let herder: Herder
    /// The TLS client context for an https leader.
    var tls: NIOSSLContext?

    static let changingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.changingMethods.contains(request.method), request.uri.path.hasPrefix("/connectors"),
              await herder.isDistributed else {
            return try await next(request, context)
        }
        let forwarded = request.uri.queryParameters.get("forward") == "false"
        let route: ConfigRequestRoute
        if let task = Self.restartedTask(request) {
            route = await herder.taskRestartRoute(task, forwarded: forwarded)
        } else {
            route = await herder.configRequestRoute(forwarded: forwarded)
        }
        switch route {
        case .local:
            return try await next(request, context)
        case let .conflict(message):
            return ConnectRoutes.errorResponse(ConnectRestError(409, message))
        case let .forward(leaderUrl):
            let body = try await request.body.collect(upTo: ConnectRoutes.maximumBodyBytes)
            var target = request.uri.description
            target += target.contains("?") ? "&forward=false" : "?forward=false"
            do {
                let answer = try await Self.send(leaderUrl: leaderUrl, method: HTTPMethod(rawValue: request.method.rawValue),
                                                 target: target, body: body, authorization: request.headers[.authorization], tls: tls)
                var headers = HTTPFields()
                if !answer.body.isEmpty { headers[.contentType] = "application/json" }
                return Response(status: .init(code: answer.status), headers: headers,
                                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            } catch {
                return ConnectRoutes.errorResponse(ConnectRestError(
                    500, "Error trying to forward REST request: cannot reach the leader at \(leaderUrl): \(TLSFailure.describe(error) ?? "\(error)")"))
            }
        }
    }

    /// The task of `POST /connectors/{name}/tasks/{task}/restart`, which goes to the task's worker, not the leader.
    static func restartedTask(_ request: Request) -> ConnectorTaskId? {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        guard request.method == .post, parts.count == 6, parts[1] == "connectors", parts[3] == "tasks", parts[5] == "restart",
              let task = Int(parts[4]) else { return nil }
        return ConnectorTaskId(connector: HTTPEndpoint.percentDecoded(parts[2]), task: task)
    }

    /// Sends one request to another worker and returns its answer.
    /// The client's credentials go along, as Kafka's forwarding passes its `Authorization` header on.
    static func send(leaderUrl: String, method: HTTPMethod, target: String, body: ByteBuffer, authorization: String? = nil,
                     tls: NIOSSLContext? = nil) async throws -> HTTPAnswer {
        let endpoint = try HTTPSchemaRegistryClient.parse(leaderUrl, configName: "rest.advertised.listener")
        var headers = HTTPHeaders([("Accept", "application/json"), ("Content-Type", "application/json")])
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return try await HTTPExchange.exchange(
            endpoint: endpoint, method: method, target: target, headers: headers, body: Array(body.readableBytesView), tls: tls,
            on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: .seconds(10), timeout: .seconds(90)).get()
    }
}
