import Foundation

/// Kafka's validator of signed OAUTHBEARER tokens (`OAuthBearerValidatorCallbackHandler`, KIP-768): a compact JWS
/// whose header names an asymmetric algorithm (never `none`) and whose signature one key of the JWKS checks (the key
/// of the header's `kid`, or without one any key suited to the algorithm); claims `exp` and `iat` present, `nbf` if
/// present reached, `exp` not passed (both with `sasl.oauthbearer.clock.skew.seconds`), the subject in
/// `sasl.oauthbearer.sub.claim.name`, and `aud` / `iss` equal to the expected ones when those are configured.
public struct SignedJwtValidator: Sendable {
    public var keys: @Sendable () -> JsonWebKeySet
    /// Told when no key suits a token (a JWKS endpoint then fetches its keys again: the provider may have rotated).
    public var missingKey: (@Sendable (_ keyId: String?) -> Void)?
    public var subClaimName = "sub"
    public var scopeClaimName = "scope"
    /// `sasl.oauthbearer.clock.skew.seconds` (Kafka's default: 30).
    public var clockSkewSeconds: Int64 = 30
    /// `sasl.oauthbearer.expected.audience`: the token's `aud` must hold one of them (none: not checked).
    public var expectedAudiences: [String] = []
    /// `sasl.oauthbearer.expected.issuer`: the token's `iss` must be it (nil: not checked).
    public var expectedIssuer: String?

    public init(keys: @escaping @Sendable () -> JsonWebKeySet) {
        self.keys = keys
    }

    public func validate(_ compact: String, nowMs: Int64) -> Result<OAuthBearerToken, OAuthBearerTokenFailure> {
        func invalid(_ reason: String) -> Result<OAuthBearerToken, OAuthBearerTokenFailure> {
            .failure(OAuthBearerTokenFailure(status: "invalid_token", reason: reason))
        }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return invalid("a signed JWT has three dot-separated parts") }
        guard let header = UnsecuredJwtValidator.jsonObject(parts[0]) else { return invalid("the JWT header is not base64url-encoded JSON") }
        guard let name = header["alg"] as? String else { return invalid("the JWT header names no algorithm (alg)") }
        guard let algorithm = JwsAlgorithm(rawValue: name) else {
            return invalid(name == "none" ? "the JWT is not signed (alg none)"
                : "the JWT's algorithm \(name) is not one of " + JwsAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if header["crit"] != nil { return invalid("the JWT header has critical extensions (crit), which are not understood") }
        let keyId = header["kid"] as? String
        guard let signature = Base64URL.decode(parts[2]), !signature.isEmpty else { return invalid("the JWT's signature is not base64url") }
        let candidates = keys().candidates(for: algorithm, keyId: keyId)
        guard !candidates.isEmpty else {
            missingKey?(keyId)
            return invalid("no key of the JWKS suits the JWT (alg \(name)" + (keyId.map { ", kid \($0)" } ?? "") + ")")
        }
        let input = Array(compact.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard candidates.contains(where: { $0.verifies(signature, of: input, with: algorithm) }) else {
            return invalid("the JWT's signature does not verify")
        }
        guard let claims = UnsecuredJwtValidator.jsonObject(parts[1]) else { return invalid("the JWT claims are not base64url-encoded JSON") }
        guard let exp = UnsecuredJwtValidator.milliseconds(claims["exp"]) else { return invalid("the JWT has no expiration time (exp)") }
        guard claims["iat"] != nil else { return invalid("the JWT has no issued-at time (iat)") }
        guard UnsecuredJwtValidator.milliseconds(claims["iat"]) != nil else { return invalid("the JWT's issued-at time (iat) is not a number") }
        let skewMs = clockSkewSeconds * 1000
        if nowMs >= exp + skewMs { return invalid("the JWT expired") }
        if claims["nbf"] != nil {
            guard let nbf = UnsecuredJwtValidator.milliseconds(claims["nbf"]) else { return invalid("the JWT's not-before time (nbf) is not a number") }
            if nowMs + skewMs < nbf { return invalid("the JWT is not valid yet (nbf)") }
        }
        if let expectedIssuer, claims["iss"] as? String != expectedIssuer {
            return invalid("the JWT's issuer (iss) is not \(expectedIssuer)")
        }
        if !expectedAudiences.isEmpty {
            let audiences = UnsecuredJwtValidator.strings(claims["aud"])
            guard audiences.contains(where: expectedAudiences.contains) else {
                return invalid("the JWT's audience (aud) is none of " + expectedAudiences.joined(separator: ", "))
            }
        }
        guard let subject = claims[subClaimName] as? String, !subject.trimmingCharacters(in: .whitespaces).isEmpty else {
            return invalid("the JWT has no subject claim \"\(subClaimName)\"")
        }
        let scope = UnsecuredJwtValidator.strings(claims[scopeClaimName], separator: " ")
        return .success(OAuthBearerToken(principal: subject.trimmingCharacters(in: .whitespaces), expiresAtMs: exp, scope: scope))
    }
}
