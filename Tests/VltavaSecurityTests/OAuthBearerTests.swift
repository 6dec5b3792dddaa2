import Foundation
import Testing
@testable import VltavaSecurity

@Suite("OAUTHBEARER with Kafka's unsecured JWT validator")
struct OAuthBearerTests {
    static let now: Int64 = 1_800_000_000_000

    static func part(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func token(_ claims: String, header: String = #"{"alg":"none"}"#, signature: String = "") -> String {
        "\(part(header)).\(part(claims)).\(signature)"
    }

    @Test func acceptsAndRefusesAsKafkaDoes() throws {
        var validator = UnsecuredJwtValidator()
        let exp = Self.now / 1000 + 60
        #expect(try validator.validate(Self.token(#"{"sub":"alice","exp":\#(exp)}"#), nowMs: Self.now).get()
            == .init(principal: "alice", expiresAtMs: exp * 1000, scope: []))
        for (token, reason) in [
            (Self.token(#"{"sub":"alice","exp":\#(exp - 120)}"#), "expired"),
            (Self.token(#"{"sub":"alice"}"#), "expiration"),
            (Self.token(#"{"exp":\#(exp)}"#), "principal"),
            (Self.token(#"{"sub":"","exp":\#(exp)}"#), "principal"),
            (Self.token(#"{"sub":"alice","exp":\#(exp),"iat":\#(exp - 10)}"#, header: #"{"alg":"HS256"}"#), "alg"),
            (Self.token(#"{"sub":"alice","exp":\#(exp)}"#, signature: "abc"), "signature"),
            (Self.token(#"{"sub":"alice","exp":\#(exp),"iat":\#(exp + 10)}"#), "future"),
            (Self.token(#"{"sub":"alice","exp":"soon"}"#), "expiration"),
            ("a.b", "three"),
            (Self.part(#"{"alg":"none"}"#) + ".!!!.", "claims"),
        ] {
            guard case let .failure(failure) = validator.validate(token, nowMs: Self.now) else {
                Issue.record("accepted \(token)")
                continue
            }
            #expect(failure.status == "invalid_token")
            #expect(failure.reason.contains(reason), "\(failure.reason)")
        }
        validator.requiredScope = ["kafka", "write"]
        guard case let .failure(failure) = validator.validate(Self.token(#"{"sub":"a","exp":\#(exp),"scope":"kafka"}"#), nowMs: Self.now)
        else { Issue.record("a token without the scope passed"); return }
        #expect(failure.status == "insufficient_scope" && failure.scope == ["kafka", "write"])
        #expect(throws: Never.self) {
            try validator.validate(Self.token(#"{"sub":"a","exp":\#(exp),"scope":["write","kafka"]}"#), nowMs: Self.now).get()
        }
    }

    @Test func optionsFromTheLoginModule() throws {
        let validator = try UnsecuredJwtValidator(jaasOptions: [
            "unsecuredValidatorPrincipalClaimName": "client_id", "unsecuredValidatorRequiredScope": "a,b",
            "unsecuredValidatorAllowableClockSkewMs": "5000",
        ])
        let exp = Self.now / 1000 - 3
        #expect(try validator.validate(Self.token(#"{"client_id":"svc","exp":\#(exp),"scope":"a b"}"#), nowMs: Self.now).get().principal
            == "svc")
        #expect(throws: SecurityError.self) { try UnsecuredJwtValidator(jaasOptions: ["unsecuredValidatorAllowableClockSkewMs": "-1"]) }
    }

    @Test func theExchange() {
        let exp = Self.now / 1000 + 30
        let good = Self.token(#"{"sub":"alice","exp":\#(exp)}"#)
        var server = OAuthBearerServer(validator: .unsecured(UnsecuredJwtValidator()), nowMs: { Self.now })
        #expect(server.evaluate(Array("n,,\u{1}auth=Bearer \(good)\u{1}host=x\u{1}\u{1}".utf8)) == .authenticated(user: "alice", finalMessage: []))
        #expect(server.lifetimeMs == 30_000)

        var refused = OAuthBearerServer(validator: .unsecured(UnsecuredJwtValidator()), nowMs: { Self.now + 60_000 })
        #expect(refused.evaluate(Array("n,,\u{1}auth=Bearer \(good)\u{1}\u{1}".utf8)) == .challenge(Array(#"{"status":"invalid_token"}"#.utf8)))
        guard case .failed = refused.evaluate([1]) else { Issue.record("no failure after the error challenge"); return }

        var other = OAuthBearerServer(validator: .unsecured(UnsecuredJwtValidator()), nowMs: { Self.now })
        guard case .failed = other.evaluate(Array("n,a=bob,\u{1}auth=Bearer \(good)\u{1}\u{1}".utf8)) else {
            Issue.record("another authorization id passed"); return
        }
        #expect(OAuthBearerServer.parseInitialResponse(Array("n,a=alice,\u{1}auth=Bearer t.k.\u{1}\u{1}".utf8))! == ("alice", "t.k."))
        for malformed in ["", "y,,\u{1}auth=Bearer t\u{1}\u{1}", "n,,auth=Bearer t", "n,,\u{1}auth=Basic t\u{1}\u{1}", "n,,\u{1}\u{1}",
                          "n,x=1,\u{1}auth=Bearer t\u{1}\u{1}", "n,,\u{1}junk\u{1}\u{1}"] {
            #expect(OAuthBearerServer.parseInitialResponse(Array(malformed.utf8)) == nil, "\(malformed.debugDescription)")
        }
    }
}

@Suite("OAUTHBEARER unsecured tokens a client makes")
struct OAuthBearerLoginTests {
    static let now: Int64 = 1_800_000_000_000

    @Test func kafkasLoginModuleOptions() throws {
        let login = try OAuthBearerUnsecuredLogin(jaasOptions: [
            "unsecuredLoginStringClaim_sub": "alice", "unsecuredLoginListClaim_scope": ",kafka,admin",
            "unsecuredLoginNumberClaim_level": "3", "unsecuredLoginStringClaim_team": "a \"quoted\" team",
            "unsecuredLoginLifetimeSeconds": "600", "unsecuredLoginExtension_traceId": "abc123",
        ])
        #expect(login.principal == "alice" && login.scope == ["kafka", "admin"] && login.lifetimeSeconds == 600)
        let token = login.token(nowMs: Self.now)
        // The broker's own validator takes it, with its scope.
        var validator = UnsecuredJwtValidator()
        validator.requiredScope = ["kafka"]
        #expect(try validator.validate(token, nowMs: Self.now + 1000).get()
            == OAuthBearerToken(principal: "alice", expiresAtMs: Self.now + 600_000, scope: ["kafka", "admin"]))
        let claims = try #require(UnsecuredJwtValidator.jsonObject(token.split(separator: ".", omittingEmptySubsequences: false)[1]))
        #expect(claims["team"] as? String == "a \"quoted\" team")
        #expect((claims["level"] as? NSNumber)?.intValue == 3)
        let message = String(decoding: login.initialResponse(nowMs: Self.now), as: UTF8.self)
        #expect(message == "n,,\u{1}auth=Bearer \(token)\u{1}traceId=abc123\u{1}\u{1}")
        #expect(OAuthBearerServer.parseInitialResponse(Array(message.utf8))?.1 == token)
        // A broker refusing it: expired after its lifetime.
        #expect(throws: OAuthBearerTokenFailure.self) { try validator.validate(token, nowMs: Self.now + 601_000).get() }

        for (options, fragment) in [
            ([String: String](), "unsecuredLoginStringClaim_sub"),
            (["unsecuredLoginStringClaim_sub": "a", "unsecuredLoginNumberClaim_exp": "1"], "exp"),
            (["unsecuredLoginStringClaim_sub": "a", "unsecuredLoginNumberClaim_n": "many"], "must be a number"),
            (["unsecuredLoginStringClaim_sub": "a", "unsecuredLoginLifetimeSeconds": "0"], "unsecuredLoginLifetimeSeconds"),
            (["unsecuredLoginStringClaim_sub": "a", "unsecuredLoginExtension_bad-name": "x"], "not a valid SASL extension"),
        ] {
            #expect(throws: SecurityError.self, "\(options)") { try OAuthBearerUnsecuredLogin(jaasOptions: options) }
            do { _ = try OAuthBearerUnsecuredLogin(jaasOptions: options) } catch {
                #expect(error.description.contains(fragment), "\(error.description)")
            }
        }
    }

    @Test func librdkafkasConfig() throws {
        let login = try OAuthBearerUnsecuredLogin(librdkafkaConfig: "principal=bob scope=kafka,other lifeSeconds=60 extension_region=eu")
        #expect(login.principal == "bob" && login.scope == ["kafka", "other"] && login.lifetimeSeconds == 60 && login.extensions == ["region": "eu"])
        #expect(try UnsecuredJwtValidator().validate(login.token(nowMs: Self.now), nowMs: Self.now).get().principal == "bob")
        let renamed = try OAuthBearerUnsecuredLogin(librdkafkaConfig: "principal=carol principalClaimName=client_id")
        var validator = UnsecuredJwtValidator()
        validator.principalClaimName = "client_id"
        #expect(try validator.validate(renamed.token(nowMs: Self.now), nowMs: Self.now).get().principal == "carol")
        #expect(throws: SecurityError.self) { try OAuthBearerUnsecuredLogin(librdkafkaConfig: "scope=a") }
        #expect(throws: SecurityError.self) { try OAuthBearerUnsecuredLogin(librdkafkaConfig: "principal=a color=blue") }
        #expect(throws: SecurityError.self) { try OAuthBearerUnsecuredLogin(librdkafkaConfig: "principal=a lifeSeconds=-1") }
    }
}

@Suite("OAUTHBEARER tokens from an identity provider")
struct OAuthBearerClientCredentialsTests {
    @Test func kafkasAndLibrdkafkasSettings() throws {
        let security = try ClientSecurity(properties: [
            "security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER",
            "sasl.login.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
            "sasl.oauthbearer.token.endpoint.url": "https://idp.example/oauth2/token",
            "sasl.jaas.config": #"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app one" "#
                + #"clientSecret="s&cret:1" scope="kafka read" extension_tenant="t1" ssl.truststore.location="/ca.pem";"#,
        ])
        guard case let .oauthBearerProvider(provider)? = security.credentials else {
            Issue.record("not a provider: \(String(describing: security.credentials))")
            return
        }
        #expect(provider.clientId == "app one" && provider.extensions == ["tenant": "t1"])
        #expect(provider.tlsProperties == ["ssl.truststore.location": "/ca.pem"])
        let request = provider.tokenRequest
        #expect(request.authorization == "Basic " + Data("app one:s&cret:1".utf8).base64EncodedString())
        #expect(request.body == "grant_type=client_credentials&scope=kafka+read")
        var encoded = provider
        encoded.urlEncodeHeader = true
        #expect(encoded.tokenRequest.authorization == "Basic " + Data("app+one:s%26cret%3A1".utf8).base64EncodedString())

        let librdkafka = try OAuthBearerClientCredentials(librdkafka: [
            "sasl.oauthbearer.token.endpoint.url": "http://idp:8080/token", "sasl.oauthbearer.client.id": "c",
            "sasl.oauthbearer.client.secret": "s", "sasl.oauthbearer.extensions": "a=1,b=2", "https.ca.location": "/ca.pem",
        ])
        #expect(librdkafka.extensions == ["a": "1", "b": "2"] && librdkafka.tlsProperties["ssl.truststore.location"] == "/ca.pem")
        let file = try OAuthBearerClientCredentials(tokenEndpoint: "file:///run/secrets/token", jaasOptions: [:], properties: [:])
        #expect(file.tokenFile == "/run/secrets/token")

        for (properties, fragment) in [
            (["sasl.login.callback.handler.class": "com.example.Handler"], "is not loaded"),
            (["sasl.login.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"],
             "token.endpoint.url"),
            (["sasl.oauthbearer.token.endpoint.url": "https://idp/token"], "without sasl.login.callback.handler.class"),
            (["sasl.oauthbearer.method": "oidc", "sasl.oauthbearer.token.endpoint.url": "https://idp/token"], "clientId and clientSecret"),
            (["sasl.oauthbearer.method": "magic"], "default or oidc"),
        ] {
            do {
                _ = try ClientSecurity(properties: ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"]
                    .merging(properties) { $1 })
                Issue.record("accepted \(properties)")
            } catch {
                #expect(error.description.contains(fragment), "\(error.description)")
            }
        }
    }

    @Test func answersAndTokens() throws {
        #expect(try OAuthBearerClientCredentials.accessToken(fromAnswer: Array(#"{"access_token":"a.b.c","expires_in":300}"#.utf8)) == "a.b.c")
        #expect(throws: SecurityError.self) { try OAuthBearerClientCredentials.accessToken(fromAnswer: Array(#"{"error":"x"}"#.utf8)) }
        let provider = try OAuthBearerClientCredentials(tokenEndpoint: "https://idp/token", jaasOptions: ["clientId": "c", "clientSecret": "s"],
                                                        properties: [:])
        let login = OAuthBearerUnsecuredLogin(principal: "svc")
        let token = login.token(nowMs: 1_800_000_000_000)
        #expect(try provider.inspect(token: token) == ("svc", 1_800_003_600_000))
        #expect(throws: SecurityError.self) { try provider.inspect(token: "opaque-token") }
        var other = provider
        other.subClaimName = "client_id"
        #expect(throws: SecurityError.self) { try other.inspect(token: token) }
    }
}
