#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOSSL

/// Kafka's security protocols, of a listener and of a client (`security.protocol`).
public enum SecurityProtocol: String, Sendable, CaseIterable {
    case plaintext = "PLAINTEXT"
    case ssl = "SSL"
    case saslPlaintext = "SASL_PLAINTEXT"
    case saslSsl = "SASL_SSL"

    public var usesSasl: Bool { self == .saslPlaintext || self == .saslSsl }
    public var usesTls: Bool { self == .ssl || self == .saslSsl }
}

/// How a Kafka client (the CLI, the registry's store, Connect's workers) reaches a secured listener, from the
/// properties Kafka's clients take (`security.protocol`, `sasl.mechanism`, `sasl.jaas.config`, `ssl.*`) or
/// librdkafka's spelling of them (`sasl.username`, `sasl.password`, `ssl.ca.location`, ...). Settings that would
/// be silently ignored otherwise — Kerberos, tokens from an identity provider, a Java KeyStore — are refused, naming them.
public struct ClientSecurity: Sendable {
    /// The SASL mechanism and what it proves.
    public enum Credentials: Sendable, Equatable {
        case plain(user: String, password: String)
        case scram(ScramMechanism, user: String, password: String)
        /// An unsecured token made at each login (no identity provider).
        case oauthBearer(OAuthBearerUnsecuredLogin)
        /// A token from an identity provider (client credentials grant, or a token file).
        case oauthBearerProvider(OAuthBearerClientCredentials)

        /// The mechanism's name as SaslHandshake sends it.
        public var mechanism: String {
            switch self {
            case .plain: return "PLAIN"
            case let .scram(mechanism, _, _): return mechanism.rawValue
            case .oauthBearer, .oauthBearerProvider: return "OAUTHBEARER"
            }
        }

        public var user: String {
            switch self {
            case let .plain(user, _), let .scram(_, user, _): return user
            case let .oauthBearer(login): return login.principal
            case let .oauthBearerProvider(provider): return provider.clientId ?? provider.tokenEndpoint
            }
        }
    }

    public let securityProtocol: SecurityProtocol
    /// Set when the protocol is SASL_*.
    public let credentials: Credentials?
    /// Set when the protocol is SSL or SASL_SSL: trust roots, client certificate, protocol versions.
    public let tlsContext: NIOSSLContext?
    /// Whether the broker's certificate must name the host connected to (`ssl.endpoint.identification.algorithm`
    /// `https`, Kafka's default); certificate chains are verified either way unless verification is turned off.
    public let verifiesHostname: Bool

    /// Plain TCP, no authentication.
    public static let plaintext = ClientSecurity(securityProtocol: .plaintext, credentials: nil, tlsContext: nil, verifiesHostname: false)

    init(securityProtocol: SecurityProtocol, credentials: Credentials?, tlsContext: NIOSSLContext?, verifiesHostname: Bool) {
        self.securityProtocol = securityProtocol
        self.credentials = credentials
        self.tlsContext = tlsContext
        self.verifiesHostname = verifiesHostname
    }

    /// The settings `properties` describe; names the property that cannot be used. Properties that are not about
    /// security are ignored (a client.properties file holds others).
    public init(properties: [String: String]) throws(SecurityError) {
        let protocolText = (properties["security.protocol"] ?? "PLAINTEXT").trimmingCharacters(in: .whitespaces).uppercased()
        guard let securityProtocol = SecurityProtocol(rawValue: protocolText) else {
            throw .invalidConfiguration("security.protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, not '\(protocolText)'")
        }
        self.securityProtocol = securityProtocol
        credentials = securityProtocol.usesSasl ? try Self.credentials(properties) : nil
        if securityProtocol.usesTls {
            let (context, verifiesHostname) = try Self.tls(properties)
            tlsContext = context
            self.verifiesHostname = verifiesHostname
        } else {
            tlsContext = nil
            verifiesHostname = false
        }
    }

    private static func credentials(_ properties: [String: String]) throws(SecurityError) -> Credentials {
        let mechanism = (properties["sasl.mechanism"] ?? properties["sasl.mechanisms"] ?? "GSSAPI").trimmingCharacters(in: .whitespaces)
        var user = properties["sasl.username"]
        var password = properties["sasl.password"]
        if mechanism.uppercased() == "OAUTHBEARER" { return try oauthBearerCredentials(properties) }
        if let jaasText = properties["sasl.jaas.config"] {
            let jaas = try JaasConfiguration(parsing: jaasText)
            guard let module = jaas.modules.first else { throw .invalidConfiguration("sasl.jaas.config has no login module") }
            guard module.className == JaasConfiguration.plainModule || module.className == JaasConfiguration.scramModule else {
                throw .invalidConfiguration("sasl.jaas.config: \(module.className) is not supported with sasl.mechanism \(mechanism) "
                    + "(PlainLoginModule or ScramLoginModule)")
            }
            user = module.options["username"] ?? user
            password = module.options["password"] ?? password
        }
        switch mechanism.uppercased() {
        case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
            guard let user, let password else {
                throw .invalidConfiguration("sasl.mechanism \(mechanism) needs a user and password: sasl.jaas.config with username=\"...\" "
                    + "password=\"...\" (or sasl.username and sasl.password)")
            }
            if mechanism.uppercased() == "PLAIN" { return .plain(user: user, password: password) }
            guard let scram = ScramMechanism(rawValue: mechanism.uppercased()) else { throw .invalidConfiguration("unknown mechanism \(mechanism)") }
            return .scram(scram, user: user, password: password)
        case "GSSAPI":
            throw .invalidConfiguration("sasl.mechanism is GSSAPI (Kafka's default): Kerberos is not supported; set sasl.mechanism to "
                + "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
        default:
            throw .invalidConfiguration("sasl.mechanism \(mechanism) is not supported here (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)")
        }
    }

    /// OAUTHBEARER: tokens from an identity provider (Kafka's `OAuthBearerLoginCallbackHandler` with
    /// `sasl.oauthbearer.token.endpoint.url`, or librdkafka's `sasl.oauthbearer.method=oidc`), else unsecured tokens
    /// from Kafka's `OAuthBearerLoginModule` options in `sasl.jaas.config` or librdkafka's `sasl.oauthbearer.config`.
    private static func oauthBearerCredentials(_ properties: [String: String]) throws(SecurityError) -> Credentials {
        if let method = properties["sasl.oauthbearer.method"]?.lowercased(), method != "default" {
            guard method == "oidc" else {
                throw .invalidConfiguration("sasl.oauthbearer.method must be default or oidc, not '\(method)'")
            }
            return .oauthBearerProvider(try OAuthBearerClientCredentials(librdkafka: properties))
        }
        if let handler = properties["sasl.login.callback.handler.class"]?.trimmingCharacters(in: .whitespaces), !handler.isEmpty {
            guard OAuthBearerClientCredentials.loginHandlers.contains(handler) else {
                throw .invalidConfiguration("sasl.login.callback.handler.class \(handler) is not loaded: Vltava's clients get tokens "
                    + "as Kafka's OAuthBearerLoginCallbackHandler does (sasl.oauthbearer.token.endpoint.url), or make unsecured ones")
            }
            guard let endpoint = properties["sasl.oauthbearer.token.endpoint.url"] else {
                throw .invalidConfiguration("sasl.login.callback.handler.class \(handler) needs sasl.oauthbearer.token.endpoint.url")
            }
            let jaas = try JaasConfiguration(parsing: properties["sasl.jaas.config"] ?? "")
            guard let module = jaas.modules.first, module.className == JaasConfiguration.oauthBearerModule else {
                throw .invalidConfiguration("sasl.jaas.config must name \(JaasConfiguration.oauthBearerModule) with clientId and clientSecret")
            }
            return .oauthBearerProvider(try OAuthBearerClientCredentials(tokenEndpoint: endpoint, jaasOptions: module.options,
                                                                         properties: properties))
        }
        if let endpoint = properties["sasl.oauthbearer.token.endpoint.url"], !endpoint.trimmingCharacters(in: .whitespaces).isEmpty {
            throw .invalidConfiguration("sasl.oauthbearer.token.endpoint.url is set without sasl.login.callback.handler.class="
                + "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler (Kafka's clients need both)")
        }
        if let jaasText = properties["sasl.jaas.config"] {
            let jaas = try JaasConfiguration(parsing: jaasText)
            guard let module = jaas.modules.first else { throw .invalidConfiguration("sasl.jaas.config has no login module") }
            guard module.className == JaasConfiguration.oauthBearerModule else {
                throw .invalidConfiguration("sasl.jaas.config: \(module.className) is not the OAUTHBEARER login module (\(JaasConfiguration.oauthBearerModule))")
            }
            return .oauthBearer(try OAuthBearerUnsecuredLogin(jaasOptions: module.options))
        }
        if let config = properties["sasl.oauthbearer.config"] {
            return .oauthBearer(try OAuthBearerUnsecuredLogin(librdkafkaConfig: config))
        }
        throw .invalidConfiguration("sasl.mechanism OAUTHBEARER needs sasl.jaas.config with OAuthBearerLoginModule and "
            + "unsecuredLoginStringClaim_sub=\"<principal>\" (or librdkafka's sasl.oauthbearer.config=principal=<name>)")
    }

    /// A TLS client context from Kafka's client `ssl.*` settings (truststore, client keystore, protocols, host name
    /// check): what an HTTPS client of a worker or registry uses.
    public static func tlsContext(properties: [String: String]) throws(SecurityError) -> NIOSSLContext {
        try tls(properties).0
    }

    private static func tls(_ properties: [String: String]) throws(SecurityError) -> (NIOSSLContext, Bool) {
        var properties = properties
        // librdkafka's names for the same files.
        if properties["ssl.truststore.location"] == nil, let location = properties["ssl.ca.location"] {
            properties["ssl.truststore.location"] = location
            properties["ssl.truststore.type"] = "PEM"
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let roots = try TLSServerSettings.truststore(properties) {
            configuration.trustRoots = .certificates(roots)
        }
        if let certificate = properties["ssl.certificate.location"], let key = properties["ssl.key.location"] {
            let chain = try TLSServerSettings.certificates(try TLSServerSettings.read(certificate, what: "ssl.certificate.location"),
                                                           what: "ssl.certificate.location \(certificate)")
            let privateKey = try TLSServerSettings.privateKey(try TLSServerSettings.read(key, what: "ssl.key.location"),
                                                              password: properties["ssl.key.password"], what: "ssl.key.location \(key)")
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(privateKey)
        } else if properties["ssl.keystore.location"] != nil || properties["ssl.keystore.certificate.chain"] != nil {
            let (chain, key) = try TLSServerSettings.keystore(properties)
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        if let protocols = properties["ssl.enabled.protocols"] {
            let versions = try TLSServerSettings.versions(protocols)
            configuration.minimumTLSVersion = versions.contains(.tlsv12) ? .tlsv12 : .tlsv13
            configuration.maximumTLSVersion = versions.contains(.tlsv13) ? .tlsv13 : .tlsv12
        }
        let algorithm = (properties["ssl.endpoint.identification.algorithm"] ?? "https").trimmingCharacters(in: .whitespaces).lowercased()
        guard algorithm == "https" || algorithm.isEmpty || algorithm == "none" else {
            throw .invalidConfiguration("ssl.endpoint.identification.algorithm must be https or empty, not '\(algorithm)'")
        }
        let verifiesHostname = algorithm == "https"
        let verification = (properties["enable.ssl.certificate.verification"] ?? "true").lowercased()
        if verification == "false" {
            configuration.certificateVerification = .none
        } else {
            configuration.certificateVerification = verifiesHostname ? .fullVerification : .noHostnameVerification
        }
        do {
            return (try NIOSSLContext(configuration: configuration), verifiesHostname && verification != "false")
        } catch {
            throw .invalidConfiguration("cannot set up TLS with the configured certificates: \(error)")
        }
    }
}
