import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// A worker of a group answers requests that change configs only when it leads (Kafka's
/// `ConnectResource.completeOrForwardRequest`): a follower forwards them to the leader's URL with
/// `forward=false`, so that a request never travels twice; during a rebalance they get 409.
struct ConnectForwarding: RouterMiddleware {
    typealias Context = BasicRequestContext
    let herder: Herder

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
                                                 target: target, body: body)
                var headers = HTTPFields()
                if !answer.body.isEmpty { headers[.contentType] = "application/json" }
                return Response(status: .init(code: answer.status), headers: headers,
                                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            } catch {
                return ConnectRoutes.errorResponse(ConnectRestError(
                    500, "Error trying to forward REST request: cannot reach the leader at \(leaderUrl): \(error)"))
            }
        }
    }

    /// The task of `POST /connectors/{name}/tasks/{task}/restart`, which goes to the task's worker, not the leader.
    static func restartedTask(_ request: Request) -> ConnectorTaskId? {
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        guard request.method == .post, parts.count == 6, parts[1] == "connectors", parts[3] == "tasks", parts[5] == "restart",
              let task = Int(parts[4]) else { return nil }
        return ConnectorTaskId(connector: HTTPSchemaRegistryClient.percentDecoded(parts[2]), task: task)
    }

    /// Sends one request to another worker and returns its answer.
    static func send(leaderUrl: String, method: HTTPMethod, target: String, body: ByteBuffer) async throws -> HTTPAnswer {
        let endpoint = try HTTPSchemaRegistryClient.parse(leaderUrl)
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: HTTPAnswer.self)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.basePath + target)
        head.headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        let request = HTTPExchangeHandler.Request(head: head, body: Array(body.readableBytesView))
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler(request: request, promise: promise))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connected.whenFailure { promise.fail($0) }
        let deadline = eventLoop.scheduleTask(in: .seconds(90)) {
            promise.fail(HTTPExchangeHandler.Failure.timedOut(.seconds(90)))
            connected.whenSuccess { $0.close(promise: nil) }
        }
        defer { deadline.cancel() }
        return try await promise.futureResult.get()
    }
}
