import Crypto
import Foundation
import Testing
import X509
@testable import VltavaSecurity

@Suite("TLS settings read again when their files change")
struct TLSServerReloaderTests {
    /// A PEM keystore (key and self-signed certificate) whose certificate is named `name`.
    static func keystore(named name: String) throws -> String {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date() - 60,
            notValidAfter: Date() + 3600, issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions {}, issuerPrivateKey: .init(key))
        return key.pemRepresentation + "\n" + (try certificate.serializeAsPEM().pemString) + "\n"
    }

    static func commonName(_ settings: TLSServerSettings) throws -> String? {
        guard case let .certificate(certificate)? = settings.configuration.certificateChain.first else { return nil }
        return TLSServerSettings.distinguishedName(of: certificate)
    }

    @Test func followsTheKeystore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keystore.pem").path
        try Data(try Self.keystore(named: "first").utf8).write(to: URL(fileURLWithPath: path))
        let reloader = try TLSServerReloader(properties: ["ssl.keystore.location": path, "ssl.keystore.type": "PEM"])
        #expect(reloader.files == [path])
        #expect(try Self.commonName(reloader.settings) == "CN=first")
        #expect(try reloader.reloadIfChanged().get() == false)

        // Replaced by a rename, as renewal tools do.
        let staged = directory.appendingPathComponent("staged.pem").path
        try Data(try Self.keystore(named: "second").utf8).write(to: URL(fileURLWithPath: staged))
        _ = rename(staged, path)
        #expect(try reloader.reloadIfChanged().get() == true)
        #expect(try Self.commonName(reloader.settings) == "CN=second")

        try Data("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SecurityError.self) { try reloader.reloadIfChanged().get() }
        #expect(try Self.commonName(reloader.settings) == "CN=second", "unusable files keep the settings in force")
        #expect(try reloader.reloadIfChanged().get() == false, "the same broken file is not tried again")
    }
}
