import Testing
@testable import VltavaSecurity

@Suite("Client security settings")
struct ClientSecurityTests {
    @Test func javaPropertiesAsKafkaToolsReadThem() {
        let text = """
            # a comment
            ! another
            security.protocol = SASL_SSL
            sasl.mechanism:SCRAM-SHA-512
            sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\
                username="bob" \\
                password="bob-secret";
            empty=
            """
        let properties = JavaProperties.dictionary(text)
        #expect(properties["security.protocol"] == "SASL_SSL")
        #expect(properties["sasl.mechanism"] == "SCRAM-SHA-512")
        #expect(properties["sasl.jaas.config"]
            == "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"bob\" password=\"bob-secret\";")
        #expect(properties["empty"] == "")
        #expect(properties.count == 4)
    }

    @Test func credentialsFromJaasTextOrLibrdkafkaNames() throws {
        let scram = try ClientSecurity(properties: [
            "security.protocol": "sasl_plaintext", "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.jaas.config": #"org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="s";"#,
        ])
        #expect(scram.securityProtocol == .saslPlaintext)
        #expect(scram.credentials == .scram(.sha256, user: "bob", password: "s"))
        #expect(scram.tlsContext == nil)
        let plain = try ClientSecurity(properties: [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": "alice", "sasl.password": "p",
        ])
        #expect(plain.credentials == .plain(user: "alice", password: "p"))
        #expect(try ClientSecurity(properties: [:]).securityProtocol == .plaintext)
    }

    @Test(arguments: [
        (["security.protocol": "SASL_PLAINTEXT"], "GSSAPI"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN"], "needs a user and password"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"], "unsecuredLoginStringClaim_sub"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
          "sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"], "unsecuredLoginStringClaim_sub"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token.endpoint.url": "https://idp/token",
          "sasl.jaas.config": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"a\";"], "sasl.login.callback.handler.class"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc"], "token.endpoint.url"),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.config": "scope=a"], "principal="),
        (["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
          "sasl.jaas.config": #"com.example.Evil required username="a" password="b";"#], "com.example.Evil"),
        (["security.protocol": "PLAINTEXTS"], "security.protocol must be"),
        (["security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "ldap"], "ssl.endpoint.identification.algorithm"),
        (["security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ca.pem"], "cannot read /nonexistent/ca.pem"),
    ])
    func refusalsNameTheSetting(properties: [String: String], fragment: String) {
        do {
            _ = try ClientSecurity(properties: properties)
            Issue.record("accepted \(properties)")
        } catch {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }

    @Test func tlsWithTheSystemTrustAndNoHostnameCheckWhenAsked() throws {
        let verified = try ClientSecurity(properties: ["security.protocol": "SSL"])
        #expect(verified.tlsContext != nil && verified.verifiesHostname)
        let unnamed = try ClientSecurity(properties: ["security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.username": "a",
                                                      "sasl.password": "b", "ssl.endpoint.identification.algorithm": ""])
        #expect(unnamed.tlsContext != nil && !unnamed.verifiesHostname)
    }

    @Test func boringSSLErrorsInPlainWords() {
        #expect(TLSFailure.reason("Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at "
            + "/src/ssl/handshake.cc:393") == "certificate verify failed")
        #expect(TLSFailure.reason("Error: 1 error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER") == "wrong version number")
    }
}
