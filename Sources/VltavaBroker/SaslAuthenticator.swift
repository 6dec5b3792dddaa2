import KafkaProtocol
import NIOCore
import VltavaSecurity

/// One connection's SASL authentication, as Kafka's `SaslServerAuthenticator` runs it, without I/O: which
/// requests it lets through, and the answers to SaslHandshake, SaslAuthenticate and (after a v0 handshake) raw
/// SASL tokens. Until a client is authenticated only ApiVersions and the SASL APIs are served; anything else closes
/// the connection. An authenticated client may authenticate again on the same connection (KIP-368) with the same
/// mechanism and as the same user; once its session has expired, any other request closes the connection.
struct SaslAuthenticator {
    private enum State {
        /// A listener without SASL: every request is let through.
        case notRequired
        case awaitingHandshake
        /// After a handshake: SaslAuthenticate requests (v1) or raw tokens (v0) carry the exchange.
        case exchanging(SaslExchange, mechanism: SaslMechanism, rawTokens: Bool)
        case authenticated
        /// Authenticated, and a new handshake began a re-authentication (requests still go through meanwhile).
        case reauthenticating(SaslExchange?, mechanism: SaslMechanism)
        case failed
    }

    /// What to do with an incoming request frame.
    enum Admission: Equatable {
        /// Serve it as usual.
        case serve
        /// Answer it here (`handshake` or `authenticate`).
        case authenticate
        /// Close the connection without an answer.
        case close(reason: String)
    }

    /// An answer made here, and whether the connection closes once it is sent.
    struct Answer {
        var response: BrokerResponse
        var closeReason: String?
    }

    private let security: ListenerSecurity
    private let credentials: SaslCredentials
    private var state: State
    /// `User:<name>` once authenticated, `User:ANONYMOUS` on a listener without SASL.
    private(set) var principal: String = "User:ANONYMOUS"
    private var authenticatedMechanism: SaslMechanism?
    private var user: String?
    private var sessionExpiresAtMs: Int64?

    init(security: ListenerSecurity, credentials: SaslCredentials) {
        self.security = security
        self.credentials = credentials
        self.state = security.securityProtocol.usesSasl ? .awaitingHandshake : .notRequired
    }

    /// Whether the client has not proven who it is yet (frames are then capped at `sasl.server.max.receive.size`).
    var isAuthenticating: Bool {
        switch state {
        case .awaitingHandshake, .exchanging, .failed: return true
        case .notRequired, .authenticated, .reauthenticating: return false
        }
    }

    /// After a v0 handshake, the exchange goes on in raw frames, not requests.
    var expectsRawToken: Bool {
        if case let .exchanging(_, _, rawTokens) = state { return rawTokens }
        return false
    }

    /// Whether a request of `apiKey` may be served, is answered here, or closes the connection.
    func admission(of apiKey: ApiKey?, nowMs: Int64) -> Admission {
        switch state {
        case .notRequired:
            return .serve
        case .failed:
            return .close(reason: "request after a failed SASL authentication")
        case .awaitingHandshake, .exchanging:
            switch apiKey {
            case .apiVersions: return .serve
            case .saslHandshake, .saslAuthenticate: return .authenticate
            default: return .close(reason: "\(apiKey?.name ?? "unknown API") request before SASL authentication")
            }
        case .authenticated, .reauthenticating:
            if apiKey == .saslHandshake || apiKey == .saslAuthenticate { return .authenticate }
            if let expires = sessionExpiresAtMs, nowMs >= expires {
                return .close(reason: "SASL session expired (connections.max.reauth.ms) and the client did not authenticate again")
            }
            return .serve
        }
    }

    mutating func handshake(_ request: SaslHandshakeRequest, version: Int16) -> Answer {
        var response = SaslHandshakeResponse()
        response.mechanisms = security.mechanisms.map(\.rawValue)
        let requested = SaslMechanism(rawValue: request.mechanism)
        let enabled = requested.map { security.mechanisms.contains($0) } ?? false
        switch state {
        case .awaitingHandshake:
            guard let mechanism = requested, enabled else {
                return fail(handshake: response, .unsupportedSaslMechanism,
                            "SASL mechanism '\(request.mechanism)' is not enabled on this listener")
            }
            state = .exchanging(SaslExchange(mechanism: mechanism, credentials: credentials), mechanism: mechanism, rawTokens: version == 0)
        case .authenticated:
            // Re-authentication (KIP-368) needs SaslAuthenticate, hence a v1 handshake, and the same mechanism.
            guard version >= 1 else {
                return fail(handshake: response, .illegalSaslState, "re-authentication with a v0 SaslHandshake")
            }
            guard let mechanism = requested, enabled else {
                return fail(handshake: response, .unsupportedSaslMechanism,
                            "SASL mechanism '\(request.mechanism)' is not enabled on this listener")
            }
            guard mechanism == authenticatedMechanism else {
                return fail(handshake: response, .illegalSaslState,
                            "SASL mechanism changed during re-authentication (\(authenticatedMechanism?.rawValue ?? "?") to \(mechanism.rawValue))")
            }
            state = .reauthenticating(SaslExchange(mechanism: mechanism, credentials: credentials), mechanism: mechanism)
        default:
            return fail(handshake: response, .illegalSaslState, "unexpected SaslHandshake during SASL authentication")
        }
        return Answer(response: .message(.saslHandshake(response)), closeReason: nil)
    }

    private mutating func fail(handshake response: SaslHandshakeResponse, _ code: ErrorCode, _ reason: String) -> Answer {
        var response = response
        response.errorCode = code.rawValue
        state = .failed
        return Answer(response: .message(.saslHandshake(response)), closeReason: reason)
    }

    mutating func authenticate(_ request: SaslAuthenticateRequest, version: Int16, nowMs: Int64) -> Answer {
        let token = Array(request.authBytes.readableBytesView)
        var response = SaslAuthenticateResponse()
        let exchange: SaslExchange
        let mechanism: SaslMechanism
        switch state {
        case let .exchanging(current, currentMechanism, false):
            exchange = current
            mechanism = currentMechanism
        case let .reauthenticating(current?, currentMechanism):
            exchange = current
            mechanism = currentMechanism
        default:
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            response.errorMessage = "Unexpected SaslAuthenticate request"
            state = .failed
            return Answer(response: .message(.saslAuthenticate(response)), closeReason: "SaslAuthenticate without a SaslHandshake first")
        }
        let (step, next) = evaluate(exchange, token)
        switch step {
        case let .challenge(bytes):
            state = isReauthenticating ? .reauthenticating(next, mechanism: mechanism) : .exchanging(next, mechanism: mechanism, rawTokens: false)
            response.authBytes = ByteBuffer(bytes: bytes)
            return Answer(response: .message(.saslAuthenticate(response)), closeReason: nil)
        case let .authenticated(user, finalMessage):
            if isReauthenticating, user != self.user {
                response.errorCode = ErrorCode.saslAuthenticationFailed.rawValue
                response.errorMessage = "Cannot change principals during re-authentication"
                state = .failed
                return Answer(response: .message(.saslAuthenticate(response)), closeReason: "re-authentication as another user ('\(user)')")
            }
            let lifetimeMs = completed(user: user, mechanism: mechanism, nowMs: nowMs, credentialLifetimeMs: next.credentialLifetimeMs)
            response.authBytes = ByteBuffer(bytes: finalMessage)
            if version >= 1 { response.sessionLifetimeMs = lifetimeMs }
            return Answer(response: .message(.saslAuthenticate(response)), closeReason: nil)
        case let .failed(clientMessage, detail):
            response.errorCode = ErrorCode.saslAuthenticationFailed.rawValue
            response.errorMessage = clientMessage
            state = .failed
            return Answer(response: .message(.saslAuthenticate(response)), closeReason: "SASL authentication failed: \(detail)")
        }
    }

    /// What a raw token (after a v0 handshake) gets: a raw token back, or the connection closed without an answer,
    /// as Kafka does for clients of that protocol.
    enum RawTokenAnswer: Equatable {
        case token([UInt8])
        case close(reason: String)
    }

    mutating func authenticate(rawToken: [UInt8], nowMs: Int64) -> RawTokenAnswer {
        guard case let .exchanging(exchange, mechanism, true) = state else {
            state = .failed
            return .close(reason: "a raw SASL token outside a v0 SASL exchange")
        }
        let (step, next) = evaluate(exchange, rawToken)
        switch step {
        case let .challenge(bytes):
            state = .exchanging(next, mechanism: mechanism, rawTokens: true)
            return .token(bytes)
        case let .authenticated(user, finalMessage):
            completed(user: user, mechanism: mechanism, nowMs: nowMs, credentialLifetimeMs: next.credentialLifetimeMs)
            return .token(finalMessage)
        case let .failed(_, detail):
            state = .failed
            return .close(reason: "SASL authentication failed: \(detail)")
        }
    }

    private var isReauthenticating: Bool {
        if case .reauthenticating = state { return true }
        return false
    }

    private func evaluate(_ exchange: SaslExchange, _ token: [UInt8]) -> (SaslStep, SaslExchange) {
        var exchange = exchange
        let step = exchange.evaluate(token)
        return (step, exchange)
    }

    /// Marks the connection authenticated; returns the session lifetime to tell the client (0: unlimited). As
    /// Kafka's `SaslServerAuthenticator`: `connections.max.reauth.ms` when set, shortened to the credential's own
    /// expiry (an OAUTHBEARER token's) when it has one.
    @discardableResult
    private mutating func completed(user: String, mechanism: SaslMechanism, nowMs: Int64, credentialLifetimeMs: Int64?) -> Int64 {
        state = .authenticated
        self.user = user
        principal = "User:\(user)"
        authenticatedMechanism = mechanism
        var lifetimeMs: Int64 = security.reauthenticationMs > 0 ? security.reauthenticationMs : 0
        if let credentialLifetimeMs {
            lifetimeMs = lifetimeMs > 0 ? min(lifetimeMs, credentialLifetimeMs) : credentialLifetimeMs
        }
        let limited = security.reauthenticationMs > 0 || credentialLifetimeMs != nil
        sessionExpiresAtMs = limited ? nowMs + lifetimeMs : nil
        return lifetimeMs
    }
}
