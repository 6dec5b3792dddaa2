#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOSSL
import VltavaSecurity

/// How one listener authenticates its clients: its protocol, and for SASL the mechanisms it offers and the users
/// of their JAAS configuration.
public struct ListenerSecurity: Sendable {
    public var securityProtocol: SecurityProtocol
    /// `sasl.enabled.mechanisms` (or `listener.name.<l>.sasl.enabled.mechanisms`), in the configured order.
    public var mechanisms: [SaslMechanism]
    /// `user_<name>` of the listener's `PlainLoginModule`.
    public var plainUsers: [String: String]
    /// How the listener checks OAUTHBEARER tokens: the unsecured-JWT validator the listener's
    /// `OAuthBearerLoginModule` options configure, or signed tokens against a JWKS file.
    public var oauthBearer = OAuthBearerValidator.unsecured(UnsecuredJwtValidator())
    /// The JWKS file of a signed-token validator, read again when it changes.
    public var jwksFile: JwksFile?
    /// The JWKS endpoint of a signed-token validator (an identity provider's https URL), fetched and refreshed.
    public var jwksEndpoint: JwksEndpoint?
    /// `connections.max.reauth.ms`: the session lifetime told to SASL clients (0: sessions do not expire).
    public var reauthenticationMs: Int64
    /// `sasl.server.max.receive.size`: the largest frame read before a client is authenticated.
    public var maximumUnauthenticatedBytes: Int
    /// The TLS server side of SSL and SASL_SSL listeners, read again when its files change.
    public var tls: TLSServerReloader?

    public static let plaintext = ListenerSecurity(
        securityProtocol: .plaintext, mechanisms: [], plainUsers: [:], reauthenticationMs: 0, maximumUnauthenticatedBytes: 524_288,
        tls: nil)
}

extension BrokerConfiguration {
    /// The security of a listener, from `listener.security.protocol.map`, `sasl.enabled.mechanisms`,
    /// `listener.name.<l>.<mechanism>.sasl.jaas.config` and the JAAS file's `<l>.KafkaServer` or `KafkaServer`
    /// section; an error names the setting that cannot be used.
    public func security(of listener: ListenerEndpoint) throws(ConfigurationError) -> ListenerSecurity {
        let securityProtocol = try securityProtocol(of: listener)
        let prefix = "listener.name.\(listener.name.lowercased())."
        var security = ListenerSecurity.plaintext
        security.securityProtocol = securityProtocol
        security.maximumUnauthenticatedBytes = saslServerMaximumReceiveSize
        if securityProtocol.usesTls {
            var properties = sslProperties
            for (name, value) in listenerProperties where name.hasPrefix(prefix + "ssl.") {
                properties[String(name.dropFirst(prefix.count))] = value
            }
            do {
                security.tls = try TLSServerReloader(properties: properties)
            } catch {
                throw .invalidListener(name: listener.name, reason: error.description)
            }
        }
        guard securityProtocol.usesSasl else { return security }
        let mechanismsProperty = listenerProperties[prefix + "sasl.enabled.mechanisms"].map { (prefix + "sasl.enabled.mechanisms", $0) }
            ?? ("sasl.enabled.mechanisms", saslEnabledMechanisms)
        var mechanisms: [SaslMechanism] = []
        for item in mechanismsProperty.1.split(separator: ",") {
            let text = item.trimmedWhitespace.uppercased()
            guard let mechanism = SaslMechanism(rawValue: text) else {
                throw .invalidValue(name: mechanismsProperty.0, value: mechanismsProperty.1,
                                    reason: "SASL mechanism \(text) is not supported (supported: "
                                        + SaslMechanism.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            if !mechanisms.contains(mechanism) { mechanisms.append(mechanism) }
        }
        if mechanisms.isEmpty {
            throw .invalidValue(name: mechanismsProperty.0, value: mechanismsProperty.1, reason: "a SASL listener needs at least one mechanism")
        }
        security.mechanisms = mechanisms
        security.reauthenticationMs = connectionsMaxReauthMs
        if mechanisms.contains(.plain), let jaas = try jaas(of: listener, mechanism: "plain") {
            security.plainUsers = jaas.configuration.plainUsers
        }
        if mechanisms.contains(.oauthBearer) {
            try configureOAuthBearer(&security, listener: listener)
        }
        return security
    }

    /// Kafka's callback handler classes for OAUTHBEARER tokens on a listener: the unsecured validator (the default)
    /// and the validator of signed tokens (its current and its deprecated name).
    static let unsecuredValidatorHandler = "org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler"
    static let signedValidatorHandlers: Set<String> = [
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
        "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler",
    ]
    /// The `sasl.oauthbearer.*` settings a broker's validator reads.
    static let oauthBearerServerProperties: Set<String> = [
        "sasl.oauthbearer.jwks.endpoint.url", "sasl.oauthbearer.jwks.endpoint.refresh.ms",
        "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
        "sasl.oauthbearer.scope.claim.name", "sasl.oauthbearer.sub.claim.name", "sasl.oauthbearer.clock.skew.seconds",
        "sasl.oauthbearer.expected.audience", "sasl.oauthbearer.expected.issuer",
    ]
    /// The `sasl.oauthbearer.*` settings of a client's login (a broker's own client connections), accepted and not used:
    /// Vltava's brokers open no SASL connections to each other.
    static let oauthBearerClientProperties: Set<String> = [
        "sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.header.urlencode",
    ]

    /// The OAUTHBEARER validator of a listener from `listener.name.<l>.oauthbearer.sasl.server.callback.handler.class`
    /// and, for signed tokens, the `sasl.oauthbearer.*` settings (each also under `listener.name.<l>.oauthbearer.` or
    /// `listener.name.<l>.`).
    func configureOAuthBearer(_ security: inout ListenerSecurity, listener: ListenerEndpoint) throws(ConfigurationError) {
        let prefix = "listener.name.\(listener.name.lowercased())."
        let handlerName = prefix + "oauthbearer.sasl.server.callback.handler.class"
        let handler = listenerProperties[handlerName]?.trimmedWhitespace ?? Self.unsecuredValidatorHandler
        if handler == Self.unsecuredValidatorHandler {
            let jaas = try jaas(of: listener, mechanism: "oauthbearer")
            let module = jaas?.configuration.modules.first { $0.className == JaasConfiguration.oauthBearerModule }
            do {
                security.oauthBearer = .unsecured(try UnsecuredJwtValidator(jaasOptions: module?.options ?? [:]))
            } catch {
                throw .invalidValue(name: jaas?.setting ?? prefix + "oauthbearer.sasl.jaas.config", value: "(hidden)", reason: error.description)
            }
            return
        }
        guard Self.signedValidatorHandlers.contains(handler) else {
            throw .invalidValue(name: handlerName, value: handler, reason: "no other callback handler class is loaded: OAUTHBEARER tokens are "
                + "checked by Kafka's unsecured JWT validator (\(Self.unsecuredValidatorHandler)) or its validator of signed tokens "
                + "(org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler)")
        }
        func setting(_ key: String) -> (name: String, value: String)? {
            for name in [prefix + "oauthbearer." + key, prefix + key] {
                if let value = listenerProperties[name] { return (name, value.trimmedWhitespace) }
            }
            return oauthBearerProperties[key].map { (key, $0.trimmedWhitespace) }
        }
        guard let url = setting("sasl.oauthbearer.jwks.endpoint.url") else {
            throw .invalidValue(name: handlerName, value: handler, reason: "the validator of signed tokens needs sasl.oauthbearer.jwks.endpoint.url")
        }
        var validator: SignedJwtValidator
        if let path = FileURL.path(url.value) {
            let file: JwksFile
            do {
                file = try JwksFile(path: path)
            } catch {
                throw .invalidValue(name: url.name, value: url.value, reason: error.description)
            }
            validator = SignedJwtValidator(keys: { file.keys })
            security.jwksFile = file
        } else {
            let endpoint = try jwksEndpoint(url, listener: listener, setting: setting)
            validator = SignedJwtValidator(keys: { endpoint.keys })
            validator.missingKey = { endpoint.keyMissing($0) }
            security.jwksEndpoint = endpoint
        }
        if let claim = setting("sasl.oauthbearer.sub.claim.name"), !claim.value.isEmpty { validator.subClaimName = claim.value }
        if let claim = setting("sasl.oauthbearer.scope.claim.name"), !claim.value.isEmpty { validator.scopeClaimName = claim.value }
        if let skew = setting("sasl.oauthbearer.clock.skew.seconds") {
            guard let seconds = Int64(skew.value), seconds >= 0, seconds <= Int64(Int32.max) else {
                throw .invalidValue(name: skew.name, value: skew.value, reason: "expected a number of seconds ≥ 0")
            }
            validator.clockSkewSeconds = seconds
        }
        if let audience = setting("sasl.oauthbearer.expected.audience") {
            validator.expectedAudiences = audience.value.split(separator: ",").map { $0.trimmedWhitespace }.filter { !$0.isEmpty }
        }
        if let issuer = setting("sasl.oauthbearer.expected.issuer"), !issuer.value.isEmpty { validator.expectedIssuer = issuer.value }
        security.oauthBearer = .signed(validator)
    }

    /// An identity provider's JWKS URL with its refresh and retry settings; an https URL is trusted through the
    /// `ssl.*` options of the listener's `OAuthBearerLoginModule` (Kafka's `JaasOptionsUtils`), else the system's roots.
    private func jwksEndpoint(_ url: (name: String, value: String), listener: ListenerEndpoint,
                              setting: (String) -> (name: String, value: String)?) throws(ConfigurationError) -> JwksEndpoint {
        var settings = JwksEndpoint.Settings()
        for (key, path) in [("sasl.oauthbearer.jwks.endpoint.refresh.ms", \JwksEndpoint.Settings.refreshMs),
                            ("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", \.retryBackoffMs),
                            ("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", \.retryBackoffMaxMs)] {
            guard let value = setting(key) else { continue }
            guard let milliseconds = Int64(value.value), milliseconds > 0 else {
                throw .invalidValue(name: value.name, value: value.value, reason: "expected a number of milliseconds > 0")
            }
            settings[keyPath: path] = milliseconds
        }
        var tls: NIOSSLContext?
        if url.value.lowercased().hasPrefix("https://") {
            let module = try jaas(of: listener, mechanism: "oauthbearer")?.configuration.modules
                .first { $0.className == JaasConfiguration.oauthBearerModule }
            let ssl = (module?.options ?? [:]).filter { $0.key.hasPrefix("ssl.") }
            do {
                tls = try ClientSecurity.tlsContext(properties: ssl)
            } catch {
                throw .invalidValue(name: url.name, value: url.value, reason: "the TLS settings of the listener's OAuthBearerLoginModule: \(error.description)")
            }
        }
        do {
            return try JwksEndpoint(url: url.value, tls: tls, settings: settings, logger: Logger(label: "vltava"))
        } catch {
            throw .invalidValue(name: url.name, value: url.value, reason: "\(error.description) (a file:// or https:// URL is expected)")
        }
    }

    /// A listener's protocol from `listener.security.protocol.map` (a listener named after a protocol needs no entry).
    func securityProtocol(of listener: ListenerEndpoint) throws(ConfigurationError) -> SecurityProtocol {
        let name = listener.name.uppercased()
        let protocolName = securityProtocolMap[name] ?? name
        guard let securityProtocol = SecurityProtocol(rawValue: protocolName) else {
            throw .invalidValue(name: "listener.security.protocol.map", value: protocolName,
                                reason: "listener \(listener.name) needs a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)")
        }
        return securityProtocol
    }

    /// A mechanism's JAAS configuration on a listener — `listener.name.<l>.<mechanism>.sasl.jaas.config`, else the
    /// JAAS file's section — and the setting it came from, for messages.
    private func jaas(of listener: ListenerEndpoint, mechanism: String) throws(ConfigurationError)
        -> (configuration: JaasConfiguration, setting: String)? {
        let property = "listener.name.\(listener.name.lowercased()).\(mechanism).sasl.jaas.config"
        if let text = listenerProperties[property] {
            do {
                return (try JaasConfiguration(parsing: text), property)
            } catch {
                throw .invalidValue(name: property, value: "(hidden)", reason: error.description)
            }
        }
        return try jaasFileSection(for: listener).map { ($0, "java.security.auth.login.config") }
    }

    /// The `<listener>.KafkaServer` section of the JAAS file (`java.security.auth.login.config`), else its
    /// `KafkaServer` section.
    private func jaasFileSection(for listener: ListenerEndpoint) throws(ConfigurationError) -> JaasConfiguration? {
        guard let path = jaasFile else { return nil }
        let sections: [String: JaasConfiguration]
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            sections = try JaasConfiguration.sections(parsingFile: text)
        } catch let error as SecurityError {
            throw .invalidValue(name: "java.security.auth.login.config", value: path, reason: error.description)
        } catch {
            throw .invalidValue(name: "java.security.auth.login.config", value: path, reason: "cannot read the JAAS file")
        }
        return sections["\(listener.name.lowercased()).KafkaServer"] ?? sections["KafkaServer"]
    }

    /// Every broker listener's security, checked at start-up.
    public func listenerSecurities() throws(ConfigurationError) -> [String: ListenerSecurity] {
        var result: [String: ListenerSecurity] = [:]
        for listener in brokerListeners { result[listener.name] = try security(of: listener) }
        return result
    }

    /// The first listener a client inside this process can use without credentials (PLAINTEXT), for the
    /// registry's and Connect's own clients.
    public func plaintextListener() -> ListenerEndpoint? {
        listener(speaking: .plaintext)
    }

    /// The first broker listener of `securityProtocol`: where the registry and Connect inside `vltava serve` connect
    /// when their settings name a protocol.
    public func listener(speaking securityProtocol: SecurityProtocol) -> ListenerEndpoint? {
        brokerListeners.first { (try? self.securityProtocol(of: $0)) == securityProtocol }
    }
}
