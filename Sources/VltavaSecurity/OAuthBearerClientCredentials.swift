import Foundation

/// OAUTHBEARER tokens from an identity provider, as Kafka's `OAuthBearerLoginCallbackHandler` gets them (KIP-768):
/// the OAuth client credentials grant at `sasl.oauthbearer.token.endpoint.url` with the `clientId`, `clientSecret`
/// and `scope` of the `OAuthBearerLoginModule` options (the provider's certificate checked against their `ssl.*`
/// options), or a token read from a `file:` URL. librdkafka's spelling: `sasl.oauthbearer.method=oidc` with
/// `sasl.oauthbearer.client.id`, `.client.secret`, `.scope`, `.extensions` and `https.ca.location`. The fetching
/// itself is the client's (VltavaClient); this is the configuration and the checks of what comes back.
public struct OAuthBearerClientCredentials: Sendable, Hashable {
    public var tokenEndpoint: String
    public var clientId: String?
    public var clientSecret: String?
    public var scope: String?
    /// SASL extensions sent beside the token.
    public var extensions: [String: String] = [:]
    /// `sasl.oauthbearer.header.urlencode`: URL-encode the client id and secret in the Basic header.
    public var urlEncodeHeader = false
    /// `sasl.oauthbearer.sub.claim.name`.
    public var subClaimName = "sub"
    /// The `ssl.*` settings of the endpoint's TLS client.
    public var tlsProperties: [String: String] = [:]

    public static let loginHandlers: Set<String> = [
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
        "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
    ]

    /// The path of a `file:` token endpoint, nil for an http(s) one.
    public var tokenFile: String? { FileURL.path(tokenEndpoint) }

    /// Kafka's settings: the token endpoint, the login module's options.
    public init(tokenEndpoint: String, jaasOptions options: [String: String], properties: [String: String]) throws(SecurityError) {
        self.tokenEndpoint = tokenEndpoint.trimmingCharacters(in: .whitespaces)
        clientId = options["clientId"]
        clientSecret = options["clientSecret"]
        scope = options["scope"]
        for (key, value) in options where key.hasPrefix("extension_") {
            let name = String(key.dropFirst("extension_".count))
            guard OAuthBearerUnsecuredLogin.validExtension(name: name, value: value) else {
                throw .invalidConfiguration("sasl.jaas.config: \(key) is not a valid SASL extension")
            }
            extensions[name] = value
        }
        tlsProperties = options.filter { $0.key.hasPrefix("ssl.") }
        urlEncodeHeader = (properties["sasl.oauthbearer.header.urlencode"] ?? "false").lowercased() == "true"
        if let claim = properties["sasl.oauthbearer.sub.claim.name"], !claim.isEmpty { subClaimName = claim }
        try check()
    }

    /// librdkafka's settings (`sasl.oauthbearer.method=oidc`).
    public init(librdkafka properties: [String: String]) throws(SecurityError) {
        guard let endpoint = properties["sasl.oauthbearer.token.endpoint.url"] else {
            throw .invalidConfiguration("sasl.oauthbearer.method=oidc needs sasl.oauthbearer.token.endpoint.url")
        }
        tokenEndpoint = endpoint.trimmingCharacters(in: .whitespaces)
        clientId = properties["sasl.oauthbearer.client.id"]
        clientSecret = properties["sasl.oauthbearer.client.secret"]
        scope = properties["sasl.oauthbearer.scope"]
        for pair in (properties["sasl.oauthbearer.extensions"] ?? "").split(separator: ",") {
            guard let equals = pair.firstIndex(of: "="),
                  OAuthBearerUnsecuredLogin.validExtension(name: String(pair[..<equals]), value: String(pair[pair.index(after: equals)...])) else {
                throw .invalidConfiguration("sasl.oauthbearer.extensions: '\(pair)' is not name=value")
            }
            extensions[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        if let ca = properties["https.ca.location"] ?? properties["ssl.ca.location"] {
            tlsProperties = ["ssl.truststore.location": ca, "ssl.truststore.type": "PEM"]
        }
        try check()
    }

    private func check() throws(SecurityError) {
        if tokenFile != nil { return }
        let lowered = tokenEndpoint.lowercased()
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://") else {
            throw .invalidConfiguration("sasl.oauthbearer.token.endpoint.url must be an https://, http:// or file: URL, not '\(tokenEndpoint)'")
        }
        guard let clientId, !clientId.isEmpty, let clientSecret, !clientSecret.isEmpty else {
            throw .invalidConfiguration("the client credentials grant at \(tokenEndpoint) needs clientId and clientSecret "
                + "(OAuthBearerLoginModule options, or librdkafka's sasl.oauthbearer.client.id and .client.secret)")
        }
    }

    /// The token request: its `Authorization` header and form body.
    public var tokenRequest: (authorization: String, body: String) {
        var id = clientId ?? "", secret = clientSecret ?? ""
        if urlEncodeHeader {
            id = Self.formEncoded(id)
            secret = Self.formEncoded(secret)
        }
        let authorization = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
        var body = "grant_type=client_credentials"
        if let scope, !scope.isEmpty { body += "&scope=" + Self.formEncoded(scope) }
        return (authorization, body)
    }

    /// The access token of a token endpoint's JSON answer.
    public static func accessToken(fromAnswer body: [UInt8]) throws(SecurityError) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let token = object["access_token"] as? String, !token.isEmpty else {
            throw .invalidConfiguration("the token endpoint's answer has no access_token")
        }
        return token
    }

    /// Kafka's `LoginAccessTokenValidator`: the token must be a JWT whose claims name a subject and an expiry (its
    /// signature is the broker's business). Returns the subject and the expiry.
    public func inspect(token: String) throws(SecurityError) -> (principal: String, expiresAtMs: Int64) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let claims = UnsecuredJwtValidator.jsonObject(parts[1]) else {
            throw .invalidConfiguration("the token from \(tokenEndpoint) is not a JWT")
        }
        guard let exp = UnsecuredJwtValidator.milliseconds(claims["exp"]) else {
            throw .invalidConfiguration("the token from \(tokenEndpoint) has no expiration time (exp)")
        }
        guard let subject = claims[subClaimName] as? String, !subject.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidConfiguration("the token from \(tokenEndpoint) has no subject claim \"\(subClaimName)\"")
        }
        return (subject, exp)
    }

    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: "%20", with: "+")
    }
}
