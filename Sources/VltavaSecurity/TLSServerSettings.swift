import Foundation
import NIOSSL
import X509

/// `ssl.client.auth`: whether a listener asks clients for a certificate.
public enum ClientAuthentication: String, Sendable {
    case none
    case requested
    case required
}

/// A TLS listener's server side, from Kafka's `ssl.*` properties: the key and certificate chain (a PEM file with
/// both, inline PEM text, or a PKCS12 file), the trusted certificates for client certificates, `ssl.client.auth`,
/// `ssl.enabled.protocols`, `ssl.cipher.suites` (TLS 1.2 suites; TLS 1.3 suites are always on) and
/// `ssl.principal.mapping.rules`. Confluent images' `ssl.keystore.filename` / `ssl.keystore.credentials` (files
/// under /etc/kafka/secrets) are read as those images read them. A Java KeyStore (JKS) is refused with the way out.
public struct TLSServerSettings: Sendable {
    public let context: NIOSSLContext
    /// What the context was made from (for servers that build their own, as Hummingbird's TLS channel does).
    public let configuration: TLSConfiguration
    public let clientAuthentication: ClientAuthentication
    public let principalMapper: SslPrincipalMapper

    static let confluentSecrets = "/etc/kafka/secrets"

    /// The files settings of `properties` are read from (keystore, truststore, Confluent's credential files).
    static func files(_ properties: [String: String]) -> [String] {
        var properties = properties
        try? resolveConfluentFiles(&properties)
        var files = ["ssl.keystore.location", "ssl.truststore.location"].compactMap { properties[$0] }
        for credentials in ["ssl.keystore.credentials", "ssl.key.credentials", "ssl.truststore.credentials"] {
            if let name = properties[credentials] { files.append("\(confluentSecrets)/\(name)") }
        }
        return files
    }

    public init(properties: [String: String]) throws(SecurityError) {
        var properties = properties
        try Self.resolveConfluentFiles(&properties)
        let (chain, key) = try Self.keystore(properties)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        let clientAuthText = (properties["ssl.client.auth"] ?? "none").lowercased()
        guard let clientAuthentication = ClientAuthentication(rawValue: clientAuthText) else {
            throw .invalidConfiguration("ssl.client.auth must be none, requested or required, not '\(clientAuthText)'")
        }
        self.clientAuthentication = clientAuthentication
        switch clientAuthentication {
        case .none: configuration.certificateVerification = .none
        case .requested: configuration.certificateVerification = .optionalVerification
        case .required: configuration.certificateVerification = .noHostnameVerification
        }
        if let roots = try Self.truststore(properties) {
            configuration.trustRoots = .certificates(roots)
        }
        if let protocols = properties["ssl.enabled.protocols"] {
            let versions = try Self.versions(protocols)
            configuration.minimumTLSVersion = versions.contains(.tlsv12) ? .tlsv12 : .tlsv13
            configuration.maximumTLSVersion = versions.contains(.tlsv13) ? .tlsv13 : .tlsv12
        } else {
            configuration.minimumTLSVersion = .tlsv12
        }
        if let suites = properties["ssl.cipher.suites"], !suites.trimmingCharacters(in: .whitespaces).isEmpty {
            var values: [NIOTLSCipher] = []
            for name in suites.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if Self.tls13Suites.contains(name) { continue }
                guard let cipher = Self.tls12Suites[name] else {
                    throw .invalidConfiguration("ssl.cipher.suites: \(name) is not a supported cipher suite (supported: "
                        + Self.tls12Suites.keys.sorted().joined(separator: ", ") + ")")
                }
                values.append(cipher)
            }
            if !values.isEmpty { configuration.cipherSuiteValues = values }
        }
        principalMapper = try SslPrincipalMapper(parsing: properties["ssl.principal.mapping.rules"] ?? "DEFAULT")
        self.configuration = configuration
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidConfiguration("cannot set up TLS with the configured key and certificates: \(error)")
        }
    }

    /// The TLS versions of `ssl.enabled.protocols` text (`TLSv1.2,TLSv1.3`).
    static func versions(_ protocols: String) throws(SecurityError) -> [TLSVersion] {
        try protocols.split(separator: ",").map { (text) throws(SecurityError) -> TLSVersion in
            switch text.trimmingCharacters(in: .whitespaces) {
            case "TLSv1.2": return .tlsv12
            case "TLSv1.3": return .tlsv13
            case let other: throw .invalidConfiguration("ssl.enabled.protocols: \(other) is not supported (TLSv1.2, TLSv1.3)")
            }
        }
    }

    /// `ssl.keystore.filename` and `ssl.keystore.credentials` (and the key's and truststore's) of Confluent's
    /// images: file names under /etc/kafka/secrets, the credentials files holding the passwords.
    static func resolveConfluentFiles(_ properties: inout [String: String]) throws(SecurityError) {
        for store in ["keystore", "truststore"] where properties["ssl.\(store).location"] == nil {
            if let name = properties["ssl.\(store).filename"] { properties["ssl.\(store).location"] = "\(confluentSecrets)/\(name)" }
        }
        for (credentials, password) in [("ssl.keystore.credentials", "ssl.keystore.password"), ("ssl.key.credentials", "ssl.key.password"),
                                        ("ssl.truststore.credentials", "ssl.truststore.password")] where properties[password] == nil {
            guard let name = properties[credentials] else { continue }
            let text = try read("\(confluentSecrets)/\(name)", what: credentials)
            properties[password] = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static func read(_ path: String, what: String) throws(SecurityError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("\(what): cannot read \(path)")
        }
        return Array(data)
    }

    static func isPEM(_ bytes: [UInt8]) -> Bool {
        String(decoding: bytes.prefix(4096), as: UTF8.self).contains("-----BEGIN")
    }

    static func keystore(_ properties: [String: String]) throws(SecurityError) -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        let keyPassword = properties["ssl.key.password"]
        if let chainText = properties["ssl.keystore.certificate.chain"], let keyText = properties["ssl.keystore.key"] {
            return (try certificates(Array(chainText.utf8), what: "ssl.keystore.certificate.chain"),
                    try privateKey(Array(keyText.utf8), password: keyPassword, what: "ssl.keystore.key"))
        }
        guard let location = properties["ssl.keystore.location"] else {
            throw .invalidConfiguration("a TLS listener needs ssl.keystore.location (a PEM file with the key and the certificate chain, "
                + "or PKCS12) or ssl.keystore.certificate.chain with ssl.keystore.key")
        }
        let bytes = try read(location, what: "ssl.keystore.location")
        let declared = properties["ssl.keystore.type"]?.uppercased()
        try refuseJavaKeyStore(bytes, declared: declared, store: "keystore", location: location)
        if declared == "PKCS12" || (declared == nil && !isPEM(bytes)) {
            do {
                let bundle = try NIOSSLPKCS12Bundle(buffer: bytes, passphrase: properties["ssl.keystore.password"].map { Array($0.utf8) })
                return (bundle.certificateChain, bundle.privateKey)
            } catch {
                throw .invalidConfiguration("ssl.keystore.location \(location): not a PKCS12 file this password opens (ssl.keystore.password)")
            }
        }
        guard declared == nil || declared == "PEM" else {
            throw .invalidConfiguration("ssl.keystore.type \(declared ?? "") is not supported (PEM, PKCS12)")
        }
        return (try certificates(bytes, what: "ssl.keystore.location \(location)"),
                try privateKey(bytes, password: keyPassword ?? properties["ssl.keystore.password"], what: "ssl.keystore.location \(location)"))
    }

    static func certificates(_ bytes: [UInt8], what: String) throws(SecurityError) -> [NIOSSLCertificate] {
        let certificates = (try? NIOSSLCertificate.fromPEMBytes(bytes)) ?? []
        if certificates.isEmpty { throw .invalidConfiguration("\(what): no PEM certificate found") }
        return certificates
    }

    static func privateKey(_ bytes: [UInt8], password: String?, what: String) throws(SecurityError) -> NIOSSLPrivateKey {
        do {
            if let password {
                return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { setter in setter(Array(password.utf8)) }
            }
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw .invalidConfiguration("\(what): no PEM private key found, or ssl.key.password does not open it")
        }
    }

    /// A Java KeyStore (declared, or found by its magic number) is refused with the command that converts it.
    static func refuseJavaKeyStore(_ bytes: [UInt8], declared: String?, store: String, location: String) throws(SecurityError) {
        guard declared == "JKS" || (declared == nil && bytes.starts(with: [0xFE, 0xED, 0xFE, 0xED])) else { return }
        throw .invalidConfiguration("ssl.\(store).location \(location) is a Java KeyStore (JKS), which Vltava cannot read: convert it "
            + "with `keytool -importkeystore -srckeystore \(location) -destkeystore \(store).p12 -deststoretype PKCS12` "
            + "and set ssl.\(store).type=PKCS12, or use PEM")
    }

    static func truststore(_ properties: [String: String]) throws(SecurityError) -> [NIOSSLCertificate]? {
        if let text = properties["ssl.truststore.certificates"] {
            return try certificates(Array(text.utf8), what: "ssl.truststore.certificates")
        }
        guard let location = properties["ssl.truststore.location"] else { return nil }
        let bytes = try read(location, what: "ssl.truststore.location")
        let declared = properties["ssl.truststore.type"]?.uppercased()
        try refuseJavaKeyStore(bytes, declared: declared, store: "truststore", location: location)
        if declared == "PKCS12" || (declared == nil && !isPEM(bytes)) {
            do {
                let certificates = try PKCS12Truststore.certificates(bytes, password: properties["ssl.truststore.password"])
                let parsed = try certificates.map { try NIOSSLCertificate(bytes: $0, format: .der) }
                guard !parsed.isEmpty else { throw PKCS12Truststore.Failure("no certificate in it") }
                return parsed
            } catch let failure as PKCS12Truststore.Failure {
                throw .invalidConfiguration("ssl.truststore.location \(location): \(failure.message)")
            } catch {
                throw .invalidConfiguration("ssl.truststore.location \(location): a certificate in it cannot be read")
            }
        }
        guard declared == nil || declared == "PEM" else {
            throw .invalidConfiguration("ssl.truststore.type \(declared ?? "") is not supported (PEM, PKCS12)")
        }
        return try certificates(bytes, what: "ssl.truststore.location \(location)")
    }

    /// A certificate's subject as RFC 2253 text (`CN=alice,OU=ServiceUsers,O=Example`), as Kafka's principal
    /// builder sees it.
    public static func distinguishedName(of certificate: NIOSSLCertificate) -> String? {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return nil }
        return parsed.subject.description
    }

    static let tls13Suites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    static let tls12Suites: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    ]
}
