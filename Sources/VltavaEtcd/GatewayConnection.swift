#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import VltavaHTTP

/// What a gateway connection reports, on its event loop, as the answer arrives.
enum GatewayAnswerPart {
    /// One whole JSON object of a 200 answer (a unary answer is one; a stream writes one per message).
    case object([UInt8])
    /// A non-200 answer and its body (etcd's `{"error":…,"code":N}`, or the text of a plain HTTP error).
    case refused(status: Int, body: [UInt8])
    /// The answer ended normally.
    case ended
    /// The connection failed or broke; no more parts follow.
    case failed(EtcdError)
}

/// One POST to etcd's gateway on a connection of its own (`Connection: close`): the connection set-up of
/// `VltavaHTTP.HTTPExchange`, with the answer delivered object by object so a watch's endless answer can be read.
enum GatewayConnection {
    /// Connects to `endpoint` and sends `body` to `path`; `deliver` is called on the channel's event loop for each
    /// part of the answer and, once, with `.ended` or `.failed`. Fails with the reason when no connection is made
    /// (the caller tries the next endpoint).
    static func post(endpoint: HTTPEndpoint, path: String, body: [UInt8], on eventLoop: any EventLoop,
                     connectTimeout: TimeAmount,
                     deliver: @escaping @Sendable (GatewayAnswerPart) -> Void) -> EventLoopFuture<any Channel> {
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: endpoint.basePath + path)
        head.headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: String(body.count))
        let name = display(endpoint)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        GatewayAnswerHandler(head: head, body: body, endpoint: name, deliver: deliver))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }

    /// `host:port`, as messages name an endpoint.
    static func display(_ endpoint: HTTPEndpoint) -> String {
        endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
    }

    /// Why a connection could not be made, in plain words ("connection refused").
    static func connectFailure(_ error: any Error) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return connectFailure(first.error) }
            if let dns = failure.dnsAError ?? failure.dnsAAAAError { return "the host name cannot be resolved (\(dns))" }
            return "the host name has no address"
        }
        if let failure = error as? IOError { return String(cString: strerror(failure.errnoCode)).lowercased() }
        if let failure = error as? ChannelError, case let .connectTimeout(timeout) = failure {
            return "no connection within \(timeout.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}

/// Writes the request when the connection is up and hands the answer over object by object.
final class GatewayAnswerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// The body of a refused answer kept for its message (etcd's are a few hundred bytes).
    static let maximumRefusalBytes = 64 << 10

    let head: HTTPRequestHead
    let body: [UInt8]
    let endpoint: String
    let deliver: @Sendable (GatewayAnswerPart) -> Void
    var status: Int?
    var splitter = JSONObjectSplitter()
    var refusal: [UInt8] = []
    var finished = false

    init(head: HTTPRequestHead, body: [UInt8], endpoint: String, deliver: @escaping @Sendable (GatewayAnswerPart) -> Void) {
        self.head = head
        self.body = body
        self.endpoint = endpoint
        self.deliver = deliver
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        switch unwrapInboundIn(data) {
        case let .head(answerHead):
            status = Int(answerHead.status.code)
        case let .body(chunk):
            if status == 200 {
                do throws(JSONObjectSplitter.Failure) {
                    for object in try splitter.append(chunk.readableBytesView) { deliver(.object(object)) }
                } catch {
                    finish(context: context, .failed(.malformedAnswer(endpoint: endpoint, path: head.uri, detail: error.detail)))
                }
            } else {
                refusal += chunk.readableBytesView.prefix(Self.maximumRefusalBytes - refusal.count)
            }
        case .end:
            if let status, status != 200 {
                finish(context: context, .refused(status: status, body: refusal))
            } else if splitter.hasPartialObject {
                finish(context: context, .failed(.connectionLost(endpoint: endpoint, detail: "the answer ended inside a JSON object")))
            } else {
                finish(context: context, .ended)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            deliver(.failed(.connectionLost(endpoint: endpoint, detail: "etcd closed the connection")))
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context: context, .failed(.connectionLost(endpoint: endpoint, detail: GatewayConnection.connectFailure(error))))
    }

    private func finish(context: ChannelHandlerContext, _ part: GatewayAnswerPart) {
        guard !finished else { return }
        finished = true
        deliver(part)
        context.close(promise: nil)
    }
}
