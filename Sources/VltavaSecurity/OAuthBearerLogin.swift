import Foundation

/// The unsecured tokens a Kafka client makes for OAUTHBEARER when no identity provider is configured: Kafka's
/// `OAuthBearerUnsecuredLoginCallbackHandler` (the `unsecuredLogin*` options of `OAuthBearerLoginModule` in
/// `sasl.jaas.config`) and librdkafka's `sasl.oauthbearer.config` (`principal=... scope=... lifeSeconds=...`). Each
/// login makes a new token (`alg` none, `iat` now, `exp` after the lifetime).
public struct OAuthBearerUnsecuredLogin: Sendable, Equatable {
    public var principal: String
    public var principalClaimName = "sub"
    public var scopeClaimName = "scope"
    public var scope: [String] = []
    public var lifetimeSeconds: Int64 = 3600
    /// A further claim's value.
    public enum Claim: Sendable, Equatable {
        case string(String)
        case number(Double)
        case list([String])
    }

    /// Further claims, by name.
    public var claims: [String: Claim] = [:]
    /// SASL extensions sent beside the token (`unsecuredLoginExtension_<name>`, librdkafka's `extension_<name>`).
    public var extensions: [String: String] = [:]

    public init(principal: String) {
        self.principal = principal
    }

    /// Kafka's options: `unsecuredLoginStringClaim_<name>`, `unsecuredLoginNumberClaim_<name>`,
    /// `unsecuredLoginListClaim_<name>` (its first character separates the items), `unsecuredLoginExtension_<name>`,
    /// `unsecuredLoginPrincipalClaimName`, `unsecuredLoginScopeClaimName`, `unsecuredLoginLifetimeSeconds`.
    public init(jaasOptions options: [String: String]) throws(SecurityError) {
        let principalClaim = options["unsecuredLoginPrincipalClaimName"].map { $0.trimmingCharacters(in: .whitespaces) }
        let scopeClaim = options["unsecuredLoginScopeClaimName"].map { $0.trimmingCharacters(in: .whitespaces) }
        let principalClaimName = principalClaim.flatMap { $0.isEmpty ? nil : $0 } ?? "sub"
        guard let principal = options["unsecuredLoginStringClaim_\(principalClaimName)"], !principal.isEmpty else {
            throw .invalidConfiguration("sasl.jaas.config: OAuthBearerLoginModule needs unsecuredLoginStringClaim_\(principalClaimName) "
                + "(the principal of its unsecured token), or an identity provider, which Vltava's clients do not call")
        }
        self.init(principal: principal)
        self.principalClaimName = principalClaimName
        scopeClaimName = scopeClaim.flatMap { $0.isEmpty ? nil : $0 } ?? "scope"
        if let lifetime = options["unsecuredLoginLifetimeSeconds"] {
            guard let seconds = Int64(lifetime.trimmingCharacters(in: .whitespaces)), seconds > 0 else {
                throw .invalidConfiguration("sasl.jaas.config: unsecuredLoginLifetimeSeconds must be a number of seconds > 0, not '\(lifetime)'")
            }
            lifetimeSeconds = seconds
        }
        for (key, value) in options.sorted(by: { $0.key < $1.key }) {
            func name(after prefix: String) throws(SecurityError) -> String? {
                guard key.hasPrefix(prefix) else { return nil }
                let name = String(key.dropFirst(prefix.count))
                guard !name.isEmpty, !["iat", "exp"].contains(name) else {
                    throw .invalidConfiguration("sasl.jaas.config: \(key) cannot be set (the token's iat and exp are made at each login)")
                }
                return name
            }
            if let claim = try name(after: "unsecuredLoginStringClaim_"), claim != principalClaimName {
                claims[claim] = .string(value)
            } else if let claim = try name(after: "unsecuredLoginNumberClaim_") {
                guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                    throw .invalidConfiguration("sasl.jaas.config: \(key) must be a number, not '\(value)'")
                }
                claims[claim] = .number(number)
            } else if let claim = try name(after: "unsecuredLoginListClaim_") {
                let items = value.first.map { separator in
                    value.dropFirst().split(separator: separator, omittingEmptySubsequences: false).map(String.init)
                } ?? []
                if claim == scopeClaimName {
                    scope = items
                } else {
                    claims[claim] = .list(items)
                }
            } else if key.hasPrefix("unsecuredLoginExtension_") {
                let name = String(key.dropFirst("unsecuredLoginExtension_".count))
                guard Self.validExtension(name: name, value: value) else {
                    throw .invalidConfiguration("sasl.jaas.config: \(key) is not a valid SASL extension (RFC 7628: a name of letters, "
                        + "and a value of printable characters)")
                }
                extensions[name] = value
            }
        }
    }

    /// librdkafka's `sasl.oauthbearer.config`: space-separated `principal=`, `principalClaimName=`, `scope=` (comma
    /// separated), `scopeClaimName=`, `lifeSeconds=` and `extension_<name>=`.
    public init(librdkafkaConfig text: String) throws(SecurityError) {
        var values: [String: String] = [:]
        for item in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            guard let equals = item.firstIndex(of: "=") else {
                throw .invalidConfiguration("sasl.oauthbearer.config: '\(item)' is not name=value")
            }
            values[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        guard let principal = values.removeValue(forKey: "principal"), !principal.isEmpty else {
            throw .invalidConfiguration("sasl.oauthbearer.config needs principal=<name>")
        }
        self.init(principal: principal)
        if let name = values.removeValue(forKey: "principalClaimName"), !name.isEmpty { principalClaimName = name }
        if let name = values.removeValue(forKey: "scopeClaimName"), !name.isEmpty { scopeClaimName = name }
        if let scope = values.removeValue(forKey: "scope") { self.scope = scope.split(separator: ",").map(String.init) }
        if let life = values.removeValue(forKey: "lifeSeconds") {
            guard let seconds = Int64(life), seconds > 0 else {
                throw .invalidConfiguration("sasl.oauthbearer.config: lifeSeconds must be a number of seconds > 0, not '\(life)'")
            }
            lifetimeSeconds = seconds
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard key.hasPrefix("extension_"), Self.validExtension(name: String(key.dropFirst("extension_".count)), value: value) else {
                throw .invalidConfiguration("sasl.oauthbearer.config: \(key) is not understood (principal, principalClaimName, scope, "
                    + "scopeClaimName, lifeSeconds, extension_<name>)")
            }
            extensions[String(key.dropFirst("extension_".count))] = value
        }
    }

    /// A new token: `base64url({"alg":"none"}).base64url(claims).`
    public func token(nowMs: Int64) -> String {
        var object: [String: Any] = [:]
        for (name, value) in claims {
            switch value {
            case let .string(text): object[name] = text
            case let .number(number): object[name] = number == number.rounded() && abs(number) < 1e15 ? Int64(number) as Any : number
            case let .list(items): object[name] = items
            }
        }
        if !scope.isEmpty { object[scopeClaimName] = scope }
        object[principalClaimName] = principal
        let iat = nowMs / 1000
        object["iat"] = iat
        object["exp"] = iat + lifetimeSeconds
        // A dictionary of strings, numbers and string arrays always serializes.
        let claims = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Base64URL.encode(Data(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(claims) + "."
    }

    /// The client's first message (RFC 7628) with a new token.
    public func initialResponse(nowMs: Int64) -> [UInt8] {
        Self.initialResponse(token: token(nowMs: nowMs), extensions: extensions)
    }

    /// The client's first message (RFC 7628): `n,,^Aauth=Bearer <token>^A[name=value^A...]^A`.
    public static func initialResponse(token: String, extensions: [String: String]) -> [UInt8] {
        var message = "n,,\u{1}auth=Bearer \(token)\u{1}"
        for (name, value) in extensions.sorted(by: { $0.key < $1.key }) { message += "\(name)=\(value)\u{1}" }
        return Array((message + "\u{1}").utf8)
    }

    static func validExtension(name: String, value: String) -> Bool {
        !name.isEmpty && name != "auth" && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
            && value.unicodeScalars.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || (0x21...0x7E).contains($0.value) }
    }
}
