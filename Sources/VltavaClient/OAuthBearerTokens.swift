import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import VltavaHTTP
import VltavaSecurity

/// Tokens from identity providers, kept until 80 % of their lifetime has passed (Kafka's login refresh window) so
/// that every new connection does not ask the provider again.
enum OAuthBearerTokens {
    private struct Cached {
        var token: String
        var renewAtMs: Int64
    }
    private static let cache = Mutex<[OAuthBearerClientCredentials: Cached]>([:])

    /// A token for `provider`: the cached one, or one fetched (client credentials grant) or read (`file:` URL).
    static func token(for provider: OAuthBearerClientCredentials, timeout: TimeAmount) async throws(KafkaClientError) -> String {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        if let cached = cache.withLock({ $0[provider] }), cached.renewAtMs > now { return cached.token }
        let token: String
        if let path = provider.tokenFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw failure(provider, "cannot read the token file \(path)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            token = try await fetch(provider, timeout: timeout)
        }
        let expiresAtMs: Int64
        do {
            expiresAtMs = try provider.inspect(token: token).expiresAtMs
        } catch {
            throw failure(provider, error.description)
        }
        guard expiresAtMs > now else { throw failure(provider, "the token has expired") }
        cache.withLock { cache in
            if cache.count > 100 { cache.removeAll() }
            cache[provider] = Cached(token: token, renewAtMs: now + (expiresAtMs - now) * 8 / 10)
        }
        return token
    }

    private static func fetch(_ provider: OAuthBearerClientCredentials, timeout: TimeAmount) async throws(KafkaClientError) -> String {
        let endpoint: HTTPEndpoint
        var tls: NIOSSLContext?
        do {
            endpoint = try HTTPEndpoint(url: provider.tokenEndpoint)
        } catch {
            throw failure(provider, error.description)
        }
        if endpoint.usesTLS, !provider.tlsProperties.isEmpty {
            do {
                tls = try ClientSecurity.tlsContext(properties: provider.tlsProperties)
            } catch {
                throw failure(provider, error.description)
            }
        }
        let (authorization, body) = provider.tokenRequest
        let headers = HTTPHeaders([("Authorization", authorization), ("Content-Type", "application/x-www-form-urlencoded"),
                                   ("Accept", "application/json")])
        let answer: HTTPAnswer
        do {
            answer = try await HTTPExchange.exchange(
                endpoint: endpoint, method: .POST, target: "", headers: headers,
                body: Array(body.utf8), tls: tls, on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: timeout,
                timeout: timeout).get()
        } catch {
            throw failure(provider, TLSFailure.describe(error) ?? "\(error)")
        }
        guard answer.status == 200 else {
            let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
            throw failure(provider, "HTTP status \(answer.status)" + (text.isEmpty ? "" : ": \(text)"))
        }
        do {
            return try OAuthBearerClientCredentials.accessToken(fromAnswer: answer.body)
        } catch {
            throw failure(provider, error.description)
        }
    }

    private static func failure(_ provider: OAuthBearerClientCredentials, _ reason: String) -> KafkaClientError {
        .connectionFailed(address: provider.tokenEndpoint, reason: "cannot get an OAUTHBEARER token: \(reason)")
    }
}
