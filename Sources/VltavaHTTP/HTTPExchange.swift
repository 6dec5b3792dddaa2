import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An HTTP server's address: `http://host[:port][/base]` or `https://...`, with the credentials a URL may carry.
public struct HTTPEndpoint: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var basePath: String
    public var userInfo: String?
    public var usesTLS: Bool

    public init(host: String, port: Int, basePath: String = "", userInfo: String? = nil, usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.basePath = basePath
        self.userInfo = userInfo
        self.usesTLS = usesTLS
    }

    /// Reads `http://[user:password@]host[:port][/base]` or `https://...` (ports 80 and 443 by default).
    public init(url: String) throws(HTTPURLError) {
        let text = url.trimmingCharacters(in: .whitespaces)
        let usesTLS = text.lowercased().hasPrefix("https://")
        guard usesTLS || text.lowercased().hasPrefix("http://") else {
            throw HTTPURLError(description: "\(url): an http:// or https:// URL is expected")
        }
        var rest = Substring(text.dropFirst(usesTLS ? "https://".count : "http://".count))
        var basePath = ""
        if let slash = rest.firstIndex(of: "/") {
            basePath = String(rest[slash...])
            rest = rest[..<slash]
        }
        while basePath.hasSuffix("/") { basePath.removeLast() }
        var userInfo: String?
        if let at = rest.lastIndex(of: "@") {
            userInfo = Self.percentDecoded(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var host = String(rest)
        var port = usesTLS ? 443 : 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw HTTPURLError(description: "\(url): invalid port")
            }
            port = number
            host = String(rest[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw HTTPURLError(description: "\(url): no host") }
        self.init(host: host, port: port, basePath: basePath, userInfo: userInfo, usesTLS: usesTLS)
    }

    /// Text with its `%XX` escapes decoded (credentials in a URL, a `$ref` fragment, a form field); a malformed
    /// escape is kept as written, bytes that are not UTF-8 become U+FFFD. `plusIsSpace` for
    /// `application/x-www-form-urlencoded` text, where `+` is a space.
    public static func percentDecoded(_ text: Substring, plusIsSpace: Bool = false) -> String {
        guard text.contains("%") || (plusIsSpace && text.contains("+")) else { return String(text) }
        let utf8 = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), index + 2 < utf8.count, let high = hexDigit(utf8[index + 1]), let low = hexDigit(utf8[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte == UInt8(ascii: "+") && plusIsSpace ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of one hexadecimal digit (a sign is not one: `UInt8("+f", radix: 16)` would take it).
    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Percent-encodes a path segment (RFC 3986 unreserved characters pass as they are).
    public static func encodePathSegment(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.append(byte)
            default:
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}

/// A URL that is not an http(s) address, said in plain words.
public struct HTTPURLError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// One HTTP/1.1 request on a connection of its own, over TLS for https endpoints: the client of the registry
/// converters, of Connect's forwarding and of the broker's JWKS endpoint.
public enum HTTPExchange {
    /// Answers larger than this fail (the answers of registries, workers and identity providers are small; the
    /// bound stops a runaway).
    public static let maximumAnswerBytes = 64 << 20

    /// A TLS client context trusting the system's roots, for https endpoints given no context of their own (made
    /// once; nil if the system's roots cannot be loaded).
    public static let systemTrust: NIOSSLContext? = try? NIOSSLContext(configuration: .makeClientConfiguration())

    /// Sends one request to `endpoint` on a connection of its own (closed after the answer) and completes with the
    /// answer, or fails after `timeout`. `Host`, `Connection: close` and `Content-Length` are added to `headers`.
    /// An https endpoint is reached through `tls`, else the system's roots (SNI and the host name check with its host
    /// name; an IP address is checked against the certificate's IP entries). An empty path is `/`.
    public static func exchange(endpoint: HTTPEndpoint, method: HTTPMethod, target: String, headers: HTTPHeaders,
                         body: [UInt8], tls: NIOSSLContext? = nil, on eventLoop: any EventLoop, connectTimeout: TimeAmount,
                         timeout: TimeAmount) -> EventLoopFuture<HTTPAnswer> {
        let promise = eventLoop.makePromise(of: HTTPAnswer.self)
        let tls = endpoint.usesTLS ? tls ?? systemTrust : nil
        if endpoint.usesTLS && tls == nil { return eventLoop.makeFailedFuture(HTTPExchangeHandler.Failure.noTLS) }
        let uri = endpoint.basePath + target
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri.isEmpty ? "/" : uri, headers: headers)
        let defaultPort = endpoint.usesTLS ? 443 : 80
        head.headers.add(name: "Host", value: endpoint.port == defaultPort ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body.count))
        let request = HTTPExchangeHandler.Request(head: head, body: body)
        let connected = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let isAddress = (try? SocketAddress(ipAddress: endpoint.host, port: 0)) != nil
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : endpoint.host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPExchangeHandler(request: request, promise: promise))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connected.whenFailure { promise.fail($0) }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(HTTPExchangeHandler.Failure.timedOut(timeout))
            connected.whenSuccess { $0.close(promise: nil) }
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        return promise.futureResult
    }
}

/// An HTTP answer: its status and its whole body.
public struct HTTPAnswer: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// Writes one request when the connection is up and completes the promise with the answer.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Request: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8]
    }

    enum Failure: Error, CustomStringConvertible {
        case closedEarly
        case timedOut(TimeAmount)
        case tooLarge(Int)
        case noTLS

        var description: String {
            switch self {
            case .closedEarly: return "the connection closed before a whole answer"
            case let .timedOut(timeout): return "no answer within \(timeout.nanoseconds / 1_000_000) ms"
            case let .tooLarge(limit): return "the answer is larger than \(limit) bytes"
            case .noTLS: return "TLS cannot be set up with the system's trust roots"
            }
        }
    }

    let request: Request
    let promise: EventLoopPromise<HTTPAnswer>
    var status: Int?
    var body: [UInt8] = []

    init(request: Request, promise: EventLoopPromise<HTTPAnswer>) {
        self.request = request
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if !request.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: request.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            status = Int(head.status.code)
        case var .body(chunk):
            guard body.count + chunk.readableBytes <= HTTPExchange.maximumAnswerBytes else {
                promise.fail(Failure.tooLarge(HTTPExchange.maximumAnswerBytes))
                context.close(promise: nil)
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            if let status { promise.succeed(HTTPAnswer(status: status, body: body)) } else { promise.fail(Failure.closedEarly) }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(Failure.closedEarly)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
