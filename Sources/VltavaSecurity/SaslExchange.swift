import Foundation

/// One step of a SASL exchange on the server: what to send back, and whether the client is now known.
public enum SaslStep: Equatable, Sendable {
    /// Send this challenge and wait for the client's next message.
    case challenge([UInt8])
    /// The client proved who it is; send `finalMessage` (empty for PLAIN) as the last answer.
    case authenticated(user: String, finalMessage: [UInt8])
    /// The exchange failed: send `SASL_AUTHENTICATION_FAILED` with `clientMessage` (generic: it never says whether
    /// the user exists) and close; `detail` is for the broker's log.
    case failed(clientMessage: String, detail: String)
}

/// The SASL mechanisms the broker can serve.
public enum SaslMechanism: String, CaseIterable, Sendable {
    case plain = "PLAIN"
    case scramSha256 = "SCRAM-SHA-256"
    case scramSha512 = "SCRAM-SHA-512"
    case oauthBearer = "OAUTHBEARER"

    public var scram: ScramMechanism? {
        switch self {
        case .plain, .oauthBearer: return nil
        case .scramSha256: return .sha256
        case .scramSha512: return .sha512
        }
    }
}

/// Where the server side of an exchange looks up what a user must prove: the PLAIN users of the listener's JAAS
/// configuration, and the SCRAM credentials of the cluster.
public struct SaslCredentials: Sendable {
    /// `user_<name>="<password>"` of the listener's `PlainLoginModule`.
    public var plainUsers: [String: String]
    public var scramCredential: @Sendable (_ user: String, _ mechanism: ScramMechanism) -> ScramCredential?
    /// How OAUTHBEARER tokens are checked (the listener's validator callback handler and its options).
    public var oauthBearer: OAuthBearerValidator
    /// The wall clock, in milliseconds since the epoch, for token expiry.
    public var nowMs: @Sendable () -> Int64

    public init(plainUsers: [String: String] = [:],
                scramCredential: @escaping @Sendable (String, ScramMechanism) -> ScramCredential? = { _, _ in nil },
                oauthBearer: OAuthBearerValidator = .unsecured(UnsecuredJwtValidator()),
                nowMs: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.plainUsers = plainUsers
        self.scramCredential = scramCredential
        self.oauthBearer = oauthBearer
        self.nowMs = nowMs
    }
}

/// The server side of one SASL exchange, whichever the mechanism.
public enum SaslExchange: Sendable {
    case plain(PlainServer)
    case scram(ScramServer)
    case oauthBearer(OAuthBearerServer)

    public init(mechanism: SaslMechanism, credentials: SaslCredentials) {
        switch mechanism {
        case .plain: self = .plain(PlainServer(credentials: credentials))
        case .scramSha256: self = .scram(ScramServer(mechanism: .sha256, credentials: credentials))
        case .scramSha512: self = .scram(ScramServer(mechanism: .sha512, credentials: credentials))
        case .oauthBearer: self = .oauthBearer(OAuthBearerServer(validator: credentials.oauthBearer, nowMs: credentials.nowMs))
        }
    }

    /// How long the credential the client proved has left (an OAUTHBEARER token's `exp`), if it expires.
    public var credentialLifetimeMs: Int64? {
        if case let .oauthBearer(server) = self { return server.lifetimeMs }
        return nil
    }

    /// Takes the client's next message.
    public mutating func evaluate(_ message: [UInt8]) -> SaslStep {
        switch self {
        case var .plain(server):
            let step = server.evaluate(message)
            self = .plain(server)
            return step
        case var .scram(server):
            let step = server.evaluate(message)
            self = .scram(server)
            return step
        case var .oauthBearer(server):
            let step = server.evaluate(message)
            self = .oauthBearer(server)
            return step
        }
    }
}

/// SASL PLAIN (RFC 4616) against the users of the listener's `PlainLoginModule`, as Kafka's
/// `PlainServerCallbackHandler` checks them.
public struct PlainServer: Sendable {
    private let credentials: SaslCredentials
    private var done = false

    init(credentials: SaslCredentials) {
        self.credentials = credentials
    }

    mutating func evaluate(_ message: [UInt8]) -> SaslStep {
        guard !done else { return .failed(clientMessage: "Authentication failed: unexpected SASL message", detail: "PLAIN message after the exchange ended") }
        done = true
        let parts = message.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let authorizationId = String(validating: parts[0], as: UTF8.self),
              let user = String(validating: parts[1], as: UTF8.self) else {
            return .failed(clientMessage: "Authentication failed: Invalid SASL/PLAIN response: expected 3 tokens",
                           detail: "malformed PLAIN message")
        }
        let password = Array(parts[2])
        if user.isEmpty {
            return .failed(clientMessage: "Authentication failed: username not specified", detail: "PLAIN without a user name")
        }
        if password.isEmpty {
            return .failed(clientMessage: "Authentication failed: password not specified", detail: "PLAIN without a password for \(user)")
        }
        if !authorizationId.isEmpty && authorizationId != user {
            return .failed(clientMessage: "Authentication failed: Client requested an authorization id that is different from username",
                           detail: "PLAIN authorization id '\(authorizationId)' for user '\(user)'")
        }
        let expected = credentials.plainUsers[user].map { Array($0.utf8) }
        // Unknown users are compared too, so the time taken does not tell whether a user exists.
        let matches = SecureRandom.constantTimeEqual(expected ?? password.map { ~$0 }, password)
        guard expected != nil, matches else {
            return .failed(clientMessage: "Authentication failed: Invalid username or password",
                           detail: expected == nil ? "PLAIN login of unknown user '\(user)'" : "wrong PLAIN password for user '\(user)'")
        }
        return .authenticated(user: user, finalMessage: [])
    }
}
