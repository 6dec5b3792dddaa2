import Foundation
import Testing
@testable import VltavaSecurity

@Suite("SCRAM")
struct ScramTests {
    /// RFC 7677, section 3: user "user", password "pencil".
    static let salt = Array(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ==")!)
    static let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    static let clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    static let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

    static func credentials(users: [String: (ScramMechanism, String)]) throws -> SaslCredentials {
        var stored: [String: ScramCredential] = [:]
        for (user, (mechanism, password)) in users {
            stored["\(mechanism.rawValue) \(user)"] = ScramCredential(
                mechanism: mechanism, saltedPassword: try mechanism.saltedPassword(password, salt: salt, iterations: 4096),
                salt: salt, iterations: 4096)
        }
        let frozen = stored
        return SaslCredentials(scramCredential: { user, mechanism in frozen["\(mechanism.rawValue) \(user)"] })
    }

    static func server(_ credentials: SaslCredentials, mechanism: ScramMechanism = .sha256) -> ScramServer {
        var server = ScramServer(mechanism: mechanism, credentials: credentials)
        server.fixedServerNonce = serverNonce
        return server
    }

    @Test func rfc7677ExchangeGivesTheSameMessages() throws {
        var server = Self.server(try Self.credentials(users: ["user": (.sha256, "pencil")]))
        #expect(server.evaluate(Array(Self.clientFirst.utf8)) == .challenge(Array(Self.serverFirst.utf8)))
        #expect(server.evaluate(Array(Self.clientFinal.utf8)) == .authenticated(user: "user", finalMessage: Array(Self.serverFinal.utf8)))
    }

    @Test func rfc7677ClientGivesTheSameProof() throws {
        var client = ScramClient(mechanism: .sha256, user: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(String(decoding: client.firstMessage, as: UTF8.self) == Self.clientFirst)
        let final = try client.finalMessage(for: Array(Self.serverFirst.utf8))
        #expect(String(decoding: final, as: UTF8.self) == Self.clientFinal)
        #expect(client.verifies(serverFinal: Array(Self.serverFinal.utf8)))
        #expect(!client.verifies(serverFinal: Array("v=AAAA".utf8)))
    }

    @Test(arguments: ScramMechanism.allCases)
    func clientAndServerAgree(mechanism: ScramMechanism) throws {
        var server = ScramServer(mechanism: mechanism, credentials: try Self.credentials(users: ["al=ice,x": (mechanism, "secret")]))
        var client = ScramClient(mechanism: mechanism, user: "al=ice,x", password: "secret")
        guard case let .challenge(challenge) = server.evaluate(client.firstMessage) else { Issue.record("no challenge"); return }
        guard case let .authenticated(user, final) = server.evaluate(try client.finalMessage(for: challenge)) else {
            Issue.record("not authenticated")
            return
        }
        #expect(user == "al=ice,x")
        #expect(client.verifies(serverFinal: final))
    }

    static func failureDetail(_ step: SaslStep) -> String? {
        if case let .failed(_, detail) = step { return detail }
        return nil
    }

    @Test func wrongPasswordUnknownUserAndTamperedNonceFail() throws {
        let credentials = try Self.credentials(users: ["alice": (.sha256, "secret")])
        for (user, password) in [("alice", "wrong"), ("mallory", "secret")] {
            var server = ScramServer(mechanism: .sha256, credentials: credentials)
            var client = ScramClient(mechanism: .sha256, user: user, password: password)
            guard case let .challenge(challenge) = server.evaluate(client.firstMessage) else {
                Issue.record("an unknown user must get a challenge like a known one")
                return
            }
            let step = server.evaluate(try client.finalMessage(for: challenge))
            guard case let .failed(message, _) = step else { Issue.record("\(user) authenticated"); return }
            #expect(message == "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256")
        }
        // The same unknown user gets the same salt each time.
        var first = ScramServer(mechanism: .sha256, credentials: credentials)
        var second = ScramServer(mechanism: .sha256, credentials: credentials)
        let probe = ScramClient(mechanism: .sha256, user: "mallory", password: "x", clientNonce: "abc")
        guard case let .challenge(one) = first.evaluate(probe.firstMessage), case let .challenge(two) = second.evaluate(probe.firstMessage) else {
            Issue.record("no challenge")
            return
        }
        let saltOf = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self).split(separator: ",")[1] }
        #expect(saltOf(one) == saltOf(two))

        var server = ScramServer(mechanism: .sha256, credentials: credentials)
        var client = ScramClient(mechanism: .sha256, user: "alice", password: "secret")
        guard case let .challenge(challenge) = server.evaluate(client.firstMessage) else { Issue.record("no challenge"); return }
        let final = String(decoding: try client.finalMessage(for: challenge), as: UTF8.self)
        let tampered = final.replacingOccurrences(of: ",r=", with: ",r=X")
        #expect(Self.failureDetail(server.evaluate(Array(tampered.utf8)))?.contains("nonce") == true)
    }

    @Test func malformedMessagesFailWithoutTrapping() throws {
        let credentials = try Self.credentials(users: ["alice": (.sha256, "secret")])
        let inputs = ["", "n", "n,,", "p=tls-unique,,n=alice,r=abc", "n,a=bob,n=alice,r=abc", "n,,n=al=ice,r=abc", "n,,n=alice,r=",
                      "n,,n=alice,r=abc,tokenauth=true", "\u{FF}", "n,,r=abc,n=alice"]
        for input in inputs {
            var server = ScramServer(mechanism: .sha256, credentials: credentials)
            #expect(Self.failureDetail(server.evaluate(Array(input.utf8))) != nil, "\(input)")
        }
        for final in ["", "c=biws", "c=biws,r=abc,p=!!", "c=eSws,r=abc%x,p=AAAA", "p=AAAA"] {
            var server = Self.server(credentials)
            _ = server.evaluate(Array("n,,n=alice,r=abc".utf8))
            #expect(Self.failureDetail(server.evaluate(Array(final.utf8))) != nil, "\(final)")
        }
    }

    @Test func saslNames() {
        #expect(ScramServer.decodeSaslName("a=2Cb=3Dc") == "a,b=c")
        #expect(ScramServer.decodeSaslName("a=2") == nil)
        #expect(ScramServer.decodeSaslName("a=XYb") == nil)
        #expect(ScramServer.encodeSaslName("a,b=c") == "a=2Cb=3Dc")
    }
}

@Suite("PLAIN")
struct PlainTests {
    static let credentials = SaslCredentials(plainUsers: ["alice": "alice-secret"])

    func evaluate(_ message: String) -> SaslStep {
        var server = SaslExchange(mechanism: .plain, credentials: Self.credentials)
        return server.evaluate(Array(message.utf8))
    }

    @Test func rightPasswordAuthenticates() {
        #expect(evaluate("\0alice\0alice-secret") == .authenticated(user: "alice", finalMessage: []))
        #expect(evaluate("alice\0alice\0alice-secret") == .authenticated(user: "alice", finalMessage: []))
    }

    @Test func refusals() {
        let cases: [(String, String)] = [
            ("\0alice\0wrong", "Authentication failed: Invalid username or password"),
            ("\0bob\0alice-secret", "Authentication failed: Invalid username or password"),
            ("bob\0alice\0alice-secret", "Authentication failed: Client requested an authorization id that is different from username"),
            ("\0\0x", "Authentication failed: username not specified"),
            ("\0alice\0", "Authentication failed: password not specified"),
            ("alice-secret", "Authentication failed: Invalid SASL/PLAIN response: expected 3 tokens"),
        ]
        for (message, expected) in cases {
            guard case let .failed(clientMessage, _) = evaluate(message) else { Issue.record("\(message) authenticated"); continue }
            #expect(clientMessage == expected)
        }
    }
}

@Suite("JAAS")
struct JaasTests {
    @Test func plainLoginModuleUsers() throws {
        let text = #"org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="a \"quoted\" ;secret";"#
        let jaas = try JaasConfiguration(parsing: text)
        #expect(jaas.plainUsers == ["admin": "admin-secret", "alice": "a \"quoted\" ;secret"])
        #expect(jaas.modules.first?.options["username"] == "admin")
    }

    @Test func fileSections() throws {
        let text = """
            // a comment
            KafkaServer {
                org.apache.kafka.common.security.plain.PlainLoginModule required
                user_bob="bob-secret";
            };
            sasl_plaintext.KafkaServer { /* another */
                org.apache.kafka.common.security.scram.ScramLoginModule required;
                org.apache.kafka.common.security.plain.PlainLoginModule required user_carol='c';
            };
            """
        let sections = try JaasConfiguration.sections(parsingFile: text)
        #expect(sections["KafkaServer"]?.plainUsers == ["bob": "bob-secret"])
        #expect(sections["sasl_plaintext.KafkaServer"]?.plainUsers == ["carol": "c"])
    }

    @Test func otherLoginModulesAndBrokenTextAreRefused() {
        let texts = [
            "com.sun.security.auth.module.JndiLoginModule required user.provider.url=\"ldap://x\";",
            "org.apache.kafka.common.security.plain.PlainLoginModule user_a=\"b\";",
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b\"",
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"b;",
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=;",
            "",
        ]
        for text in texts {
            #expect(throws: SecurityError.self, "\(text)") { try JaasConfiguration(parsing: text) }
        }
    }
}

@Suite("ssl.principal.mapping.rules")
struct SslPrincipalMapperTests {
    @Test func firstMatchingRuleWins() throws {
        let mapper = try SslPrincipalMapper(parsing: #"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/ , RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$3/U, DEFAULT"#)
        #expect(mapper.name(for: "CN=alice,OU=ServiceUsers,O=Example") == "alice")
        #expect(mapper.name(for: "CN=bob,OU=Ops,O=example") == "BOB@EXAMPLE")
        #expect(mapper.name(for: "CN=carol") == "CN=carol")
        #expect(SslPrincipalMapper.default.name(for: "CN=dave,O=x") == "CN=dave,O=x")
    }

    @Test func lowerCaseEscapedSlashesAndNoMatch() throws {
        let mapper = try SslPrincipalMapper(parsing: #"RULE:^CN=([^,]*)\/x,.*$/$1/L"#)
        #expect(mapper.name(for: "CN=Eve/x,O=y") == "eve")
        #expect(mapper.name(for: "CN=Eve,O=y") == nil, "a name no rule matches is refused")
    }

    @Test func brokenRulesAreRefused() {
        for text in ["RULE:oops", "RULE:^(.*$/$1/", "SOMETHING", "DEFAULT DEFAULT", "RULE:a/b"] {
            #expect(throws: SecurityError.self, "\(text)") { try SslPrincipalMapper(parsing: text) }
        }
        #expect((try? SslPrincipalMapper(parsing: "")) != nil)
    }
}

@Suite("ACL authorizer")
struct AclAuthorizerTests {
    static func acl(_ type: AclResourceType, _ name: String, _ pattern: AclPatternType = .literal, principal: String = "User:alice",
                    operation: AclOperation, _ permission: AclPermission = .allow, host: String = "*") -> AclBinding {
        AclBinding(resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: host,
                   operation: operation, permission: permission)
    }

    static func check(_ authorizer: AclAuthorizer, _ principal: String, _ operation: AclOperation,
                      _ type: AclResourceType = .topic, name: String, host: String = "10.0.0.1") -> Bool {
        authorizer.authorize(principal: principal, host: host, operation: operation, resourceType: type, resourceName: name)
    }

    static func check(_ authorizer: AclAuthorizer, _ operation: AclOperation, _ type: AclResourceType = .topic, name: String,
                      host: String = "10.0.0.1") -> Bool {
        check(authorizer, "User:alice", operation, type, name: name, host: host)
    }

    @Test func noAclDeniesUnlessEveryoneIsAllowed() {
        let closed = AclAuthorizer(acls: [], superUsers: [], allowEveryoneIfNoAclFound: false)
        #expect(!Self.check(closed, .read, name: "t"))
        let open = AclAuthorizer(acls: [Self.acl(.topic, "other", operation: .read)], superUsers: [], allowEveryoneIfNoAclFound: true)
        #expect(Self.check(open, "User:bob", .write, name: "t"), "no ACL covers t")
        #expect(!Self.check(open, "User:bob", .read, name: "other"), "an ACL covers other, and not for bob")
    }

    @Test func prefixedLiteralWildcardAndImplications() {
        let authorizer = AclAuthorizer(acls: [
            Self.acl(.topic, "orders-", .prefixed, operation: .write),
            Self.acl(.topic, "*", principal: "User:bob", operation: .read),
            Self.acl(.group, "g1", operation: .read),
            Self.acl(.topic, "conf", operation: .alterConfigs),
        ], superUsers: [], allowEveryoneIfNoAclFound: false)
        #expect(Self.check(authorizer, .write, name: "orders-1"))
        #expect(!Self.check(authorizer, .write, name: "audit-1"))
        #expect(Self.check(authorizer, .describe, name: "orders-eu"), "WRITE implies DESCRIBE")
        #expect(!Self.check(authorizer, .read, name: "orders-1"))
        #expect(Self.check(authorizer, "User:bob", .read, name: "anything"))
        #expect(Self.check(authorizer, .describe, .group, name: "g1"))
        #expect(!Self.check(authorizer, .delete, .group, name: "g1"))
        #expect(Self.check(authorizer, .describeConfigs, name: "conf"), "ALTER_CONFIGS implies DESCRIBE_CONFIGS")
        #expect(!Self.check(authorizer, .describe, name: "conf"))
    }

    @Test func denyWinsAndHostsAndSuperUsers() {
        let authorizer = AclAuthorizer(acls: [
            Self.acl(.topic, "t", principal: "User:*", operation: .all),
            Self.acl(.topic, "t", operation: .write, .deny),
            Self.acl(.topic, "h", operation: .read, host: "10.0.0.2"),
        ], superUsers: ["User:root"], allowEveryoneIfNoAclFound: false)
        #expect(Self.check(authorizer, .read, name: "t"))
        #expect(!Self.check(authorizer, .write, name: "t"), "DENY overrides ALLOW")
        #expect(Self.check(authorizer, "User:bob", .write, name: "t"))
        #expect(!Self.check(authorizer, .read, name: "h"))
        #expect(Self.check(authorizer, .read, name: "h", host: "10.0.0.2"))
        #expect(Self.check(authorizer, "User:root", .delete, .cluster, name: "kafka-cluster"))
    }

    @Test func writeOnAnyTopic() {
        let authorizer = AclAuthorizer(acls: [Self.acl(.topic, "a-", .prefixed, operation: .write)], superUsers: [], allowEveryoneIfNoAclFound: false)
        #expect(authorizer.authorizeAny(principal: "User:alice", host: "h", operation: .write, resourceType: .topic))
        #expect(!authorizer.authorizeAny(principal: "User:bob", host: "h", operation: .write, resourceType: .topic))
    }

    @Test func filtersAndValidation() {
        let literal = Self.acl(.topic, "orders", operation: .read)
        let prefixed = Self.acl(.topic, "ord", .prefixed, operation: .read)
        let match = AclBindingFilter(resourceType: .topic, resourceName: "orders", patternType: .match, principal: nil, host: nil,
                                     operation: .any, permission: .any)
        #expect(match.matches(literal) && match.matches(prefixed))
        let exact = AclBindingFilter(resourceType: .any, resourceName: "ord", patternType: .prefixed, principal: "User:alice",
                                     host: nil, operation: .read, permission: .allow)
        #expect(!exact.matches(literal) && exact.matches(prefixed))
        #expect(literal.problem == nil)
        #expect(Self.acl(.cluster, "other", operation: .alter).problem != nil)
        #expect(Self.acl(.topic, "t", principal: "alice", operation: .read).problem != nil)
        #expect(Self.acl(.topic, "t", .match, operation: .read).problem != nil)
        #expect(Self.acl(.topic, "t", operation: .any).problem != nil)
    }
}
