#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import VltavaHTTP
import VltavaSecurity

/// The HTTP client of the commands that speak REST APIs (`vltava schemas`, `vltava connectors`): VltavaHTTP's, one
/// request per connection, the whole answer collected; https with the system's trust roots or `--cacert`, Basic
/// credentials from the URL (`https://user:password@host`). It keeps the binary free of Foundation's networking (and
/// so of libFoundation and libcurl at start-up).
enum RESTClient {
    struct Response {
        var status: Int
        var body: String
    }

    enum Failure: Error, CustomStringConvertible {
        case invalidURL(String)
        case tls(String)

        var description: String {
            switch self {
            case let .invalidURL(reason): return "invalid URL: \(reason)"
            case let .tls(reason): return reason
            }
        }
    }

    /// The server of `url` (`http(s)://[user:password@]host[:port][/base]`).
    static func endpoint(_ url: String) throws(Failure) -> HTTPEndpoint {
        do {
            return try HTTPEndpoint(url: url)
        } catch {
            throw .invalidURL(error.description)
        }
    }

    /// The media types of Confluent's schema registry.
    static let registryMediaTypes = (accept: "application/vnd.schemaregistry.v1+json, application/json",
                                     contentType: "application/vnd.schemaregistry.v1+json")
    /// Plain JSON, as Kafka Connect's REST API speaks it.
    static let jsonMediaTypes = (accept: "application/json", contentType: "application/json")

    static func send(method: HTTPMethod, url: String, path: String, body: String?,
                     mediaTypes: (accept: String, contentType: String) = registryMediaTypes,
                     caFile: String? = nil) async throws -> Response {
        let endpoint = try endpoint(url)
        var tls: NIOSSLContext?
        if endpoint.usesTLS, let caFile {
            do {
                tls = try ClientSecurity.tlsContext(properties: ["ssl.truststore.location": caFile, "ssl.truststore.type": "PEM"])
            } catch {
                throw Failure.tls("--cacert: \(error.description)")
            }
        }
        var headers = HTTPHeaders([("Accept", mediaTypes.accept)])
        if body != nil { headers.add(name: "Content-Type", value: mediaTypes.contentType) }
        if let userInfo = endpoint.userInfo {
            headers.add(name: "Authorization", value: "Basic " + Data(userInfo.utf8).base64EncodedString())
        }
        let answer = try await HTTPExchange.exchange(
            endpoint: endpoint, method: method, target: path, headers: headers, body: Array((body ?? "").utf8), tls: tls,
            on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: .seconds(10), timeout: .seconds(120)).get()
        return Response(status: answer.status, body: String(decoding: answer.body, as: UTF8.self))
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
