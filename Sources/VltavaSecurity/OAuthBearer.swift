import Foundation

/// Kafka's unsecured JWT validator (`OAuthBearerUnsecuredValidatorCallbackHandler`), the broker's default for
/// OAUTHBEARER: a compact token `base64url(header).base64url(claims).` with `"alg":"none"`, its principal in the
/// claim `unsecuredValidatorPrincipalClaimName` (`sub`), an `exp` that has not passed and an `iat` not in the future
/// (both allowing `unsecuredValidatorAllowableClockSkewMs`), and every scope of `unsecuredValidatorRequiredScope`.
public struct UnsecuredJwtValidator: Sendable, Equatable {
    public var principalClaimName = "sub"
    public var scopeClaimName = "scope"
    public var requiredScope: [String] = []
    public var allowableClockSkewMs: Int64 = 0

    public init() {}

    /// The validator the options of an `OAuthBearerLoginModule` configure.
    public init(jaasOptions options: [String: String]) throws(SecurityError) {
        if let name = options["unsecuredValidatorPrincipalClaimName"]?.trimmingCharacters(in: .whitespaces), !name.isEmpty {
            principalClaimName = name
        }
        if let name = options["unsecuredValidatorScopeClaimName"]?.trimmingCharacters(in: .whitespaces), !name.isEmpty {
            scopeClaimName = name
        }
        if let scope = options["unsecuredValidatorRequiredScope"] {
            requiredScope = scope.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        }
        if let skew = options["unsecuredValidatorAllowableClockSkewMs"] {
            guard let value = Int64(skew.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw .invalidConfiguration("unsecuredValidatorAllowableClockSkewMs must be a number of milliseconds ≥ 0, not '\(skew)'")
            }
            allowableClockSkewMs = value
        }
    }

    public typealias Token = OAuthBearerToken
    public typealias Failure = OAuthBearerTokenFailure

    public func validate(_ compact: String, nowMs: Int64) -> Result<Token, Failure> {
        func invalid(_ reason: String) -> Result<Token, Failure> { .failure(Failure(status: "invalid_token", reason: reason)) }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return invalid("an unsecured JWT has three dot-separated parts") }
        guard parts[2].isEmpty else { return invalid("an unsecured JWT has an empty signature") }
        guard let header = Self.jsonObject(parts[0]) else { return invalid("the JWT header is not base64url-encoded JSON") }
        guard header["alg"] as? String == "none" else { return invalid("an unsecured JWT's header must say \"alg\":\"none\"") }
        guard let claims = Self.jsonObject(parts[1]) else { return invalid("the JWT claims are not base64url-encoded JSON") }
        guard let principal = claims[principalClaimName] as? String, !principal.trimmingCharacters(in: .whitespaces).isEmpty else {
            return invalid("the JWT has no principal claim \"\(principalClaimName)\"")
        }
        guard let exp = Self.milliseconds(claims["exp"]) else { return invalid("the JWT has no expiration time (exp)") }
        if nowMs > exp + allowableClockSkewMs { return invalid("the JWT expired") }
        if claims["iat"] != nil {
            guard let iat = Self.milliseconds(claims["iat"]) else { return invalid("the JWT's issued-at time (iat) is not a number") }
            if nowMs + allowableClockSkewMs < iat { return invalid("the JWT was issued in the future") }
            if exp < iat { return invalid("the JWT expires before it was issued") }
        }
        let scope = Self.strings(claims[scopeClaimName], separator: " ")
        let missing = requiredScope.filter { !scope.contains($0) }
        if !missing.isEmpty {
            return .failure(Failure(status: "insufficient_scope", reason: "the JWT lacks the scope " + missing.joined(separator: " "),
                                    scope: requiredScope))
        }
        return .success(Token(principal: principal, expiresAtMs: exp, scope: scope))
    }

    static func jsonObject(_ part: Substring) -> [String: Any]? {
        guard let bytes = Base64URL.decode(part) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// A claim that is a string (split at `separator`, if given) or a list of strings (`scope`, `aud`).
    static func strings(_ value: Any?, separator: Character? = nil) -> [String] {
        switch value {
        case let text as String: return separator.map { text.split(separator: $0).map(String.init) } ?? [text]
        case let list as [Any]: return list.compactMap { $0 as? String }
        default: return []
        }
    }

    /// A NumericDate (seconds since the epoch, maybe with a fraction) in milliseconds.
    static func milliseconds(_ value: Any?) -> Int64? {
        guard let number = value as? NSNumber, !(value is Bool) else { return nil }
        let seconds = number.doubleValue
        guard seconds.isFinite, abs(seconds) < 1e13 else { return nil }
        return Int64(seconds * 1000)
    }
}

/// A token that passed: who it names and when it expires.
public struct OAuthBearerToken: Equatable, Sendable {
    public var principal: String
    public var expiresAtMs: Int64
    public var scope: [String]
}

/// Why a token did not pass, and the RFC 6750 status the server sends back (`invalid_token`, `insufficient_scope`).
public struct OAuthBearerTokenFailure: Error, Equatable, Sendable {
    public var status: String
    public var reason: String
    public var scope: [String] = []
}

/// How a listener checks OAUTHBEARER tokens: Kafka's default unsecured validator, or its
/// `OAuthBearerValidatorCallbackHandler` (signed tokens against a JWKS).
public enum OAuthBearerValidator: Sendable {
    case unsecured(UnsecuredJwtValidator)
    case signed(SignedJwtValidator)

    public func validate(_ compact: String, nowMs: Int64) -> Result<OAuthBearerToken, OAuthBearerTokenFailure> {
        switch self {
        case let .unsecured(validator): return validator.validate(compact, nowMs: nowMs)
        case let .signed(validator): return validator.validate(compact, nowMs: nowMs)
        }
    }

    /// The clock skew a token's expiry is allowed (its session gets the same grace).
    public var allowableClockSkewMs: Int64 {
        switch self {
        case let .unsecured(validator): return validator.allowableClockSkewMs
        case let .signed(validator): return validator.clockSkewSeconds * 1000
        }
    }
}

/// The server side of SASL OAUTHBEARER (RFC 7628) as Kafka's `OAuthBearerSaslServer`: the client's first message
/// `n,[a=authzid],^Aauth=Bearer <token>^A[key=value^A...]^A`; a token that does not pass is answered with an
/// RFC 7628 error challenge (`{"status":"invalid_token"}`), the client acknowledges it with `^A`, and the exchange
/// fails.
public struct OAuthBearerServer: Sendable {
    private let validator: OAuthBearerValidator
    private let nowMs: @Sendable () -> Int64
    private enum State { case initial, awaitingErrorAcknowledgement(Failure), done }
    private struct Failure { var json: String; var detail: String }
    private var state = State.initial
    /// How long the accepted token had left when it was checked (the session may last no longer).
    public private(set) var lifetimeMs: Int64?

    public init(validator: OAuthBearerValidator, nowMs: @escaping @Sendable () -> Int64) {
        self.validator = validator
        self.nowMs = nowMs
    }

    mutating func evaluate(_ message: [UInt8]) -> SaslStep {
        switch state {
        case .done:
            return .failed(clientMessage: "Authentication failed: unexpected SASL message", detail: "OAUTHBEARER message after the exchange ended")
        case let .awaitingErrorAcknowledgement(failure):
            state = .done
            return .failed(clientMessage: "Authentication failed: \(failure.json)", detail: failure.detail)
        case .initial:
            break
        }
        guard let (authorizationId, token) = Self.parseInitialResponse(message) else {
            state = .done
            return .failed(clientMessage: "Authentication failed: Invalid OAUTHBEARER client first message",
                           detail: "malformed OAUTHBEARER client first message")
        }
        let now = nowMs()
        switch validator.validate(token, nowMs: now) {
        case let .failure(failure):
            var json = "{\"status\":\"\(failure.status)\""
            if !failure.scope.isEmpty { json += ",\"scope\":\"\(failure.scope.joined(separator: " "))\"" }
            json += "}"
            state = .awaitingErrorAcknowledgement(Failure(json: json, detail: "OAUTHBEARER token refused: \(failure.reason)"))
            return .challenge(Array(json.utf8))
        case let .success(accepted):
            state = .done
            if let authorizationId, !authorizationId.isEmpty, authorizationId != accepted.principal {
                return .failed(clientMessage: "Authentication failed: Authorization ID does not match the token's principal",
                               detail: "OAUTHBEARER authorization id '\(authorizationId)' for principal '\(accepted.principal)'")
            }
            // The allowed skew counts here too: a token accepted within it gets the same grace for its session.
            lifetimeMs = max(1, accepted.expiresAtMs + validator.allowableClockSkewMs - now)
            return .authenticated(user: accepted.principal, finalMessage: [])
        }
    }

    /// The authorization id and the bearer token of a client first message, nil if it is not one.
    static func parseInitialResponse(_ message: [UInt8]) -> (String?, String)? {
        guard let text = String(validating: message, as: UTF8.self), text.hasPrefix("n,") else { return nil }
        let afterFlag = text.dropFirst(2)
        guard let comma = afterFlag.firstIndex(of: ",") else { return nil }
        let authorization = afterFlag[..<comma]
        var authorizationId: String?
        if !authorization.isEmpty {
            guard authorization.hasPrefix("a=") else { return nil }
            authorizationId = String(authorization.dropFirst(2))
        }
        let pairs = afterFlag[afterFlag.index(after: comma)...]
        // ^A key=value ^A ... ^A^A
        guard pairs.hasPrefix("\u{1}"), pairs.hasSuffix("\u{1}\u{1}") else { return nil }
        var token: String?
        for pair in pairs.split(separator: "\u{1}") {
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let key = pair[..<equals], value = pair[pair.index(after: equals)...]
            if key == "auth" {
                guard value.hasPrefix("Bearer ") else { return nil }
                token = value.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)
            }
        }
        guard let token, !token.isEmpty else { return nil }
        return (authorizationId, token)
    }
}
