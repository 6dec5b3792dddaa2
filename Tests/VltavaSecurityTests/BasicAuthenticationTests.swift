import Foundation
import Testing
@testable import VltavaSecurity

@Suite("HTTP Basic authentication (Jetty user files)")
struct BasicAuthenticationTests {
    @Test func jettyObfuscationBothWays() {
        // Strings from Jetty's and Confluent's documentation.
        #expect(JettyCredential.deobfuscate("OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v") == "password")
        #expect(JettyCredential.deobfuscate("OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x") == "letmein")
        #expect(JettyCredential.obfuscate("letmein") == "OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x")
        #expect(JettyCredential.deobfuscate(JettyCredential.obfuscate("pässwörd")) == "pässwörd")
        #expect(JettyCredential.deobfuscate("OBF:1w8") == nil)
    }

    @Test func credentialKinds() {
        #expect(JettyCredential.verifies(stored: "changeme", password: "changeme"))
        #expect(!JettyCredential.verifies(stored: "changeme", password: "changem"))
        #expect(JettyCredential.verifies(stored: "OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x", password: "letmein"))
        #expect(JettyCredential.verifies(stored: "MD5:5F4DCC3B5AA765D61D8327DEB882CF99", password: "password"))
        #expect(!JettyCredential.verifies(stored: "MD5:5f4dcc3b5aa765d61d8327deb882cf99", password: "Password"))
        if UnixCrypt.function != nil {
            #expect(JettyCredential.verifies(stored: "CRYPT:abJnggxhB/yWI", password: "password"))
            #expect(!JettyCredential.verifies(stored: "CRYPT:abJnggxhB/yWI", password: "passwore"))
        }
    }

    @Test func decisions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("basic-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let users = directory.appendingPathComponent("users").path
        try "fred: letmein,user,admin\ndino: roar,user\n".write(toFile: users, atomically: true, encoding: .utf8)
        let authentication = BasicAuthentication(
            realm: "SchemaRegistry", roles: ["admin"], skipPaths: ["/v1/metadata/*", "/"], users: try PropertyFileUserStore(path: users))
        func header(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }
        #expect(authentication.decide(authorization: header("fred:letmein"), path: "/subjects") == .allowed(user: "fred"))
        #expect(authentication.decide(authorization: "bAsIc " + Data("fred:letmein".utf8).base64EncodedString(), path: "/x")
            == .allowed(user: "fred"))
        #expect(authentication.decide(authorization: header("dino:roar"), path: "/subjects") == .forbidden(user: "dino"))
        #expect(authentication.decide(authorization: header("fred:wrong"), path: "/subjects") == .unauthorized)
        #expect(authentication.decide(authorization: header("fred"), path: "/subjects") == .unauthorized)
        #expect(authentication.decide(authorization: "Bearer abc", path: "/subjects") == .unauthorized)
        #expect(authentication.decide(authorization: nil, path: "/subjects") == .unauthorized)
        #expect(authentication.decide(authorization: nil, path: "/v1/metadata/id") == .allowed(user: nil))
        #expect(authentication.decide(authorization: nil, path: "/") == .allowed(user: nil))
        #expect(authentication.decide(authorization: nil, path: "/v1/metadatax") == .unauthorized)
        #expect(authentication.challenge == "Basic realm=\"SchemaRegistry\"")
    }

    @Test func configurationRefusals() throws {
        #expect(try BasicAuthentication.configured(properties: [:], javaOptions: nil) == nil)
        for (properties, fragment) in [
            (["authentication.method": "BEARER"], "BEARER is not supported"),
            (["authentication.method": "BASIC"], "authentication.realm"),
            (["authentication.method": "BASIC", "authentication.realm": "R"], "java.security.auth.login.config"),
            (["authentication.method": "BASIC", "authentication.realm": "R", "java.security.auth.login.config": "/nonexistent"],
             "cannot read the JAAS file /nonexistent"),
        ] {
            #expect(throws: SecurityError.self) { try BasicAuthentication.configured(properties: properties, javaOptions: nil) }
            do {
                _ = try BasicAuthentication.configured(properties: properties, javaOptions: nil)
            } catch {
                #expect(error.description.contains(fragment), "\(error.description)")
            }
        }
        #expect(JaasConfiguration.loginConfigPath(javaOptions: "-Xmx1G -Djava.security.auth.login.config=/etc/sr/jaas.conf -Dx=y")
            == "/etc/sr/jaas.conf")
    }

    @Test func kafkaConnectsExtension() throws {
        #expect(try BasicAuthentication.connect(restExtensionClasses: nil, javaOptions: nil) == nil)
        #expect(throws: SecurityError.self) {
            try BasicAuthentication.connect(restExtensionClasses: "com.example.Other", javaOptions: nil)
        }
        #expect(throws: SecurityError.self) {
            try BasicAuthentication.connect(restExtensionClasses: BasicAuthentication.connectBasicAuthExtension, javaOptions: "-Xmx1G")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("connect-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let users = directory.appendingPathComponent("users").path
        try "admin: MD5:5f4dcc3b5aa765d61d8327deb882cf99,x\n".write(toFile: users, atomically: true, encoding: .utf8)
        let store = try PropertyFileUserStore(path: users, format: .plain)
        // Kafka Connect's module compares the whole value as it is: no credential prefixes, no roles.
        #expect(store.roles(of: "admin", password: "MD5:5f4dcc3b5aa765d61d8327deb882cf99,x") == [])
        #expect(store.roles(of: "admin", password: "password") == nil)
    }
}
