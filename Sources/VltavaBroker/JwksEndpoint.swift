import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import VltavaHTTP
import VltavaSecurity

/// An identity provider's JWKS (`sasl.oauthbearer.jwks.endpoint.url=https://...`), as Kafka's
/// `RefreshingHttpsJwks` keeps it: fetched at start-up, again every `sasl.oauthbearer.jwks.endpoint.refresh.ms`, and
/// soon after a token names a key the set lacks (the provider may have rotated; at most once per
/// `minimumOnDemandIntervalMs`); a failed fetch is retried after `...retry.backoff.ms`, doubling up to
/// `...retry.backoff.max.ms`, and the keys already fetched stay in force. Fetches are asynchronous on NIO's event
/// loops; `tick` (the broker's maintenance thread, every second) starts the ones that are due.
public final class JwksEndpoint: Sendable {
    public struct Settings: Sendable {
        public var refreshMs: Int64 = 3_600_000
        public var retryBackoffMs: Int64 = 100
        public var retryBackoffMaxMs: Int64 = 10_000
        public var minimumOnDemandIntervalMs: Int64 = 10_000
        public var timeout: TimeAmount = .seconds(10)

        public init() {}
    }

    public let url: String
    let endpoint: HTTPEndpoint
    let tls: NIOSSLContext?
    let settings: Settings
    let logger: Logger

    private struct FetchFailure: Error {
        var reason: String
    }

    private struct State {
        var keys = JsonWebKeySet.empty
        var fetching = false
        var lastSuccessMs: Int64?
        var lastAttemptMs: Int64?
        var nextAttemptMs: Int64 = 0
        var failures = 0
        var wanted = false
    }
    private let state = Mutex(State())

    public init(url: String, tls: NIOSSLContext?, settings: Settings, logger: Logger) throws(HTTPURLError) {
        self.url = url
        endpoint = try HTTPEndpoint(url: url)
        self.tls = tls
        self.settings = settings
        self.logger = logger
    }

    /// The keys of the last successful fetch (none before it).
    public var keys: JsonWebKeySet { state.withLock { $0.keys } }

    /// Asks for a fetch soon: a token named a key the set lacks.
    public func keyMissing(_ keyId: String?) {
        state.withLock { $0.wanted = true }
    }

    /// Starts a fetch if one is due (none running; the first, a refresh, a retry after its backoff, or one asked for
    /// by a missing key and not too soon after the last).
    public func tick(nowMs: Int64) {
        let due = state.withLock { state -> Bool in
            guard !state.fetching, nowMs >= state.nextAttemptMs else { return false }
            let refreshDue = state.lastSuccessMs.map { nowMs - $0 >= settings.refreshMs } ?? true
            let onDemand = state.wanted && state.lastAttemptMs.map { nowMs - $0 >= settings.minimumOnDemandIntervalMs } ?? true
            guard refreshDue || onDemand || state.failures > 0 else { return false }
            state.fetching = true
            state.wanted = false
            state.lastAttemptMs = nowMs
            return true
        }
        if due { fetch(startedMs: nowMs) }
    }

    private func fetch(startedMs: Int64) {
        let headers = HTTPHeaders([("Accept", "application/json")])
        let answer = HTTPExchange.exchange(
            endpoint: endpoint, method: .GET, target: "", headers: headers, body: [], tls: tls,
            on: MultiThreadedEventLoopGroup.singleton.next(), connectTimeout: settings.timeout, timeout: settings.timeout)
        answer.whenComplete { result in
            let outcome: Result<JsonWebKeySet, FetchFailure>
            switch result {
            case let .success(answer) where answer.status == 200:
                do {
                    outcome = .success(try JsonWebKeySet(json: Data(answer.body), source: "the JWKS at \(self.url)"))
                } catch {
                    outcome = .failure(FetchFailure(reason: "\(error)"))
                }
            case let .success(answer):
                outcome = .failure(FetchFailure(reason: "HTTP status \(answer.status) from \(self.url)"))
            case let .failure(error):
                outcome = .failure(FetchFailure(reason: "cannot fetch \(self.url): \(TLSFailure.describe(error) ?? "\(error)")"))
            }
            self.finish(outcome, startedMs: startedMs)
        }
    }

    private func finish(_ outcome: Result<JsonWebKeySet, FetchFailure>, startedMs: Int64) {
        switch outcome {
        case let .success(keys):
            let changed = state.withLock { state -> Bool in
                let changed = state.keys.keys.map { $0.keyId } != keys.keys.map { $0.keyId }
                state.keys = keys
                state.fetching = false
                state.failures = 0
                state.lastSuccessMs = startedMs
                state.nextAttemptMs = 0
                return changed
            }
            if changed {
                logger.info("JWKS fetched", metadata: [
                    "url": "\(url)", "keys": "\(keys.keys.compactMap { $0.keyId }.joined(separator: ","))",
                    "skipped": "\(keys.skipped.count)",
                ])
            }
        case let .failure(failure):
            let backoff = state.withLock { state -> Int64 in
                state.fetching = false
                state.failures += 1
                let backoff = min(settings.retryBackoffMaxMs,
                                  settings.retryBackoffMs << Int64(min(state.failures - 1, 20)))
                state.nextAttemptMs = startedMs + backoff
                return backoff
            }
            logger.warning("JWKS not fetched; keeping the keys in force and trying again", metadata: [
                "error": "\(failure.reason)", "retryInMs": "\(backoff)",
            ])
        }
    }
}
