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
        var server = OAuthBearerServer(validator: UnsecuredJwtValidator(), nowMs: { Self.now })
        #expect(server.evaluate(Array("n,,\u{1}auth=Bearer \(good)\u{1}host=x\u{1}\u{1}".utf8)) == .authenticated(user: "alice", finalMessage: []))
        #expect(server.lifetimeMs == 30_000)

        var refused = OAuthBearerServer(validator: UnsecuredJwtValidator(), nowMs: { Self.now + 60_000 })
        #expect(refused.evaluate(Array("n,,\u{1}auth=Bearer \(good)\u{1}\u{1}".utf8)) == .challenge(Array(#"{"status":"invalid_token"}"#.utf8)))
        guard case .failed = refused.evaluate([1]) else { Issue.record("no failure after the error challenge"); return }

        var other = OAuthBearerServer(validator: UnsecuredJwtValidator(), nowMs: { Self.now })
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
