import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client for the commands that speak REST APIs (`vltava schemas`, `vltava connectors`): one
/// request per connection, the whole answer collected. It keeps the binary free of Foundation's networking (and so
/// of libFoundation and libcurl at start-up).
enum RESTClient {
    struct Response {
        var status: Int
        var body: String
    }

    enum Failure: Error, CustomStringConvertible {
        case invalidURL(String)
        case noResponse

        var description: String {
            switch self {
            case let .invalidURL(url): return "invalid URL \(url) (expected http://host:port)"
            case .noResponse: return "the connection closed before an answer"
            }
        }
    }

    /// Splits `http://host[:port][/base]` into its parts.
    static func parse(_ url: String) throws -> (host: String, port: Int, base: String) {
        guard url.hasPrefix("http://") else { throw Failure.invalidURL(url) }
        var rest = url.dropFirst("http://".count)
        var base = ""
        if let slash = rest.firstIndex(of: "/") {
            base = String(rest[slash...])
            rest = rest[..<slash]
        }
        while base.hasSuffix("/") { base.removeLast() }
        if let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) {
            return (String(rest[..<colon]), port, base)
        }
        return (String(rest), 80, base)
    }

    /// The media types of Confluent's schema registry.
    static let registryMediaTypes = (accept: "application/vnd.schemaregistry.v1+json, application/json",
                                     contentType: "application/vnd.schemaregistry.v1+json")
    /// Plain JSON, as Kafka Connect's REST API speaks it.
    static let jsonMediaTypes = (accept: "application/json", contentType: "application/json")

    static func send(method: HTTPMethod, url: String, path: String, body: String?,
                     mediaTypes: (accept: String, contentType: String) = registryMediaTypes) async throws -> Response {
        let (host, port, base) = try parse(url)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: base + path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Accept", value: mediaTypes.accept)
            head.headers.add(name: "Connection", value: "close")
            var payload = ByteBuffer()
            if let body {
                payload.writeString(body)
                head.headers.add(name: "Content-Type", value: mediaTypes.contentType)
            }
            head.headers.add(name: "Content-Length", value: String(payload.readableBytes))
            try await outbound.write(.head(head))
            if payload.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(payload))) }
            try await outbound.write(.end(nil))
            var status: Int?
            var answer = ByteBuffer()
            for try await part in inbound {
                switch part {
                case let .head(responseHead): status = Int(responseHead.status.code)
                case var .body(chunk): answer.writeBuffer(&chunk)
                case .end:
                    guard let status else { throw Failure.noResponse }
                    return Response(status: status, body: String(buffer: answer))
                }
            }
            throw Failure.noResponse
        }
    }

    /// Percent-encodes a path segment (RFC 3986 unreserved characters pass as they are).
    static func encodePathSegment(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return encoded
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
