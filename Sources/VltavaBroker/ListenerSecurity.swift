#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VltavaSecurity

/// How one listener authenticates its clients: its protocol, and for SASL the mechanisms it offers and the users
/// of their JAAS configuration.
public struct ListenerSecurity: Sendable {
    public var securityProtocol: SecurityProtocol
    /// `sasl.enabled.mechanisms` (or `listener.name.<l>.sasl.enabled.mechanisms`), in the configured order.
    public var mechanisms: [SaslMechanism]
    /// `user_<name>` of the listener's `PlainLoginModule`.
    public var plainUsers: [String: String]
    /// The unsecured-JWT validator the listener's `OAuthBearerLoginModule` options configure.
    public var oauthBearer = UnsecuredJwtValidator()
    /// `connections.max.reauth.ms`: the session lifetime told to SASL clients (0: sessions do not expire).
    public var reauthenticationMs: Int64
    /// `sasl.server.max.receive.size`: the largest frame read before a client is authenticated.
    public var maximumUnauthenticatedBytes: Int
    /// The TLS server side of SSL and SASL_SSL listeners.
    public var tls: TLSServerSettings?

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
                security.tls = try TLSServerSettings(properties: properties)
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
            let handlerName = prefix + "oauthbearer.sasl.server.callback.handler.class"
            if let value = listenerProperties[handlerName] {
                throw .invalidValue(name: handlerName, value: value, reason: "no callback handler class is loaded: OAUTHBEARER tokens are "
                    + "checked by Kafka's unsecured JWT validator (the options of the listener's OAuthBearerLoginModule)")
            }
            let jaas = try jaas(of: listener, mechanism: "oauthbearer")
            let module = jaas?.configuration.modules.first { $0.className == JaasConfiguration.oauthBearerModule }
            do {
                security.oauthBearer = try UnsecuredJwtValidator(jaasOptions: module?.options ?? [:])
            } catch {
                throw .invalidValue(name: jaas?.setting ?? prefix + "oauthbearer.sasl.jaas.config", value: "(hidden)", reason: error.description)
            }
        }
        return security
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
        brokerListeners.first { (try? securityProtocol(of: $0)) == .plaintext }
    }
}
