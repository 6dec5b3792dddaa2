import Crypto
import CryptoExtras
import Foundation
import Synchronization
import Testing
@testable import VltavaSecurity

@Suite("OAUTHBEARER tokens signed and checked against a JWKS")
struct SignedJwtTests {
    static let now: Int64 = 1_800_000_000_000

    static func b64(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func ecJwk(_ key: P256.Signing.PublicKey, kid: String?) -> String {
        let point = Array(key.x963Representation)
        return #"{"kty":"EC","crv":"P-256","x":"\#(b64(point[1..<33]))","y":"\#(b64(point[33...]))""# + (kid.map { #","kid":"\#($0)""# } ?? "") + "}"
    }

    static func rsaJwk(_ key: _RSA.Signing.PublicKey, kid: String) throws -> String {
        let primitives = try key.getKeyPrimitives()
        return #"{"kty":"RSA","kid":"\#(kid)","use":"sig","n":"\#(b64(primitives.modulus))","e":"\#(b64(primitives.publicExponent))"}"#
    }

    static func keySet(_ members: [String]) throws -> JsonWebKeySet {
        try JsonWebKeySet(json: Data(#"{"keys":[\#(members.joined(separator: ","))]}"#.utf8), source: "test")
    }

    /// A compact JWS of `claims` signed by `sign` over `header.claims`.
    static func token(_ claims: String, header: String, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = b64(Array(header.utf8)) + "." + b64(Array(claims.utf8))
        return input + "." + b64(try sign(Array(input.utf8)))
    }

    static func claims(sub: String = "alice", exp: Int64 = now / 1000 + 60, extra: String = "") -> String {
        #"{"sub":"\#(sub)","exp":\#(exp),"iat":\#(now / 1000 - 1)\#(extra)}"#
    }

    @Test func esAndRsSignaturesAreChecked() throws {
        let ec = P256.Signing.PrivateKey(), otherEc = P256.Signing.PrivateKey()
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let keys = try Self.keySet([Self.ecJwk(ec.publicKey, kid: "ec1"), try Self.rsaJwk(rsa.publicKey, kid: "rsa1")])
        let validator = SignedJwtValidator(keys: { keys })
        let es = try Self.token(Self.claims(), header: #"{"alg":"ES256","kid":"ec1"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        #expect(try validator.validate(es, nowMs: Self.now).get() == OAuthBearerToken(principal: "alice", expiresAtMs: (Self.now / 1000 + 60) * 1000, scope: []))
        // Without a kid every suitable key is tried.
        let noKid = try Self.token(Self.claims(sub: "bob"), header: #"{"alg":"ES256"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        #expect(try validator.validate(noKid, nowMs: Self.now).get().principal == "bob")
        for (alg, hash, padding) in [("RS256", 256, _RSA.Signing.Padding.insecurePKCS1v1_5), ("RS512", 512, .insecurePKCS1v1_5), ("PS256", 256, .PSS), ("PS384", 384, .PSS)] {
            let rs = try Self.token(Self.claims(), header: #"{"alg":"\#(alg)","kid":"rsa1"}"#) { input in
                switch hash {
                case 256: return Array(try rsa.signature(for: SHA256.hash(data: input), padding: padding).rawRepresentation)
                case 384: return Array(try rsa.signature(for: SHA384.hash(data: input), padding: padding).rawRepresentation)
                default: return Array(try rsa.signature(for: SHA512.hash(data: input), padding: padding).rawRepresentation)
                }
            }
            #expect(throws: Never.self, "\(alg)") { try validator.validate(rs, nowMs: Self.now).get() }
        }

        let forged = try Self.token(Self.claims(), header: #"{"alg":"ES256","kid":"ec1"}"#) { Array(try otherEc.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        let tampered = es.split(separator: ".").enumerated().map { $0.offset == 1 ? Substring(Self.b64(Array(Self.claims(sub: "mallory").utf8))) : $0.element }
            .joined(separator: ".")
        let unsigned = Self.b64(Array(#"{"alg":"none"}"#.utf8)) + "." + Self.b64(Array(Self.claims().utf8)) + "."
        let hmac = Self.token(Self.claims(), header: #"{"alg":"HS256"}"#) { Array(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(size: .bits256))) }
        let wrongKid = try Self.token(Self.claims(), header: #"{"alg":"ES256","kid":"nope"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        let esWithRsaKid = try Self.token(Self.claims(), header: #"{"alg":"ES256","kid":"rsa1"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        func signed(_ claims: String) throws -> String {
            try Self.token(claims, header: #"{"alg":"ES256","kid":"ec1"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        }
        for (token, reason) in [
            (forged, "signature"), (tampered, "signature"), (unsigned, "not signed"), (hmac, "HS256"), (wrongKid, "no key"),
            (esWithRsaKid, "no key"), ("a.b", "three"), (es + "x", "signature"),
            (try signed(Self.claims(exp: Self.now / 1000 - 31)), "expired"),
            (try signed(#"{"sub":"alice","iat":1}"#), "expiration"),
            (try signed(#"{"sub":"alice","exp":\#(Self.now / 1000 + 60)}"#), "issued-at"),
            (try signed(Self.claims(sub: " ")), "subject"),
            (try signed(Self.claims(extra: #","nbf":\#(Self.now / 1000 + 100)"#)), "not valid yet"),
        ] {
            guard case let .failure(failure) = validator.validate(token, nowMs: Self.now) else {
                Issue.record("accepted: \(reason)")
                continue
            }
            #expect(failure.status == "invalid_token")
            #expect(failure.reason.contains(reason), "\(failure.reason)")
        }
        // Expired within the default 30 s of skew still passes; an nbf within it too.
        #expect(throws: Never.self) { try validator.validate(try signed(Self.claims(exp: Self.now / 1000 - 29)), nowMs: Self.now).get() }
        #expect(throws: Never.self) { try validator.validate(try signed(Self.claims(extra: #","nbf":\#(Self.now / 1000 + 20)"#)), nowMs: Self.now).get() }
    }

    @Test func audienceIssuerAndClaimNames() throws {
        let ec = P256.Signing.PrivateKey()
        let keys = try Self.keySet([Self.ecJwk(ec.publicKey, kid: nil)])
        var validator = SignedJwtValidator(keys: { keys })
        validator.expectedAudiences = ["kafka", "other"]
        validator.expectedIssuer = "https://idp.example"
        validator.subClaimName = "client_id"
        validator.clockSkewSeconds = 0
        func signed(_ claims: String) throws -> String {
            try Self.token(claims, header: #"{"alg":"ES256"}"#) { Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation) }
        }
        let exp = Self.now / 1000 + 60, iat = Self.now / 1000
        let good = #"{"client_id":"svc","exp":\#(exp),"iat":\#(iat),"iss":"https://idp.example","aud":["x","kafka"],"scope":"a b"}"#
        #expect(try validator.validate(try signed(good), nowMs: Self.now).get() == OAuthBearerToken(principal: "svc", expiresAtMs: exp * 1000, scope: ["a", "b"]))
        for (claims, reason) in [
            (#"{"client_id":"svc","exp":\#(exp),"iat":\#(iat),"iss":"https://idp.example"}"#, "audience"),
            (#"{"client_id":"svc","exp":\#(exp),"iat":\#(iat),"iss":"https://idp.example","aud":"elsewhere"}"#, "audience"),
            (#"{"client_id":"svc","exp":\#(exp),"iat":\#(iat),"iss":"https://evil.example","aud":"kafka"}"#, "issuer"),
            (#"{"sub":"svc","exp":\#(exp),"iat":\#(iat),"iss":"https://idp.example","aud":"kafka"}"#, "client_id"),
            (#"{"client_id":"svc","exp":\#(Self.now / 1000),"iat":\#(iat),"iss":"https://idp.example","aud":"kafka"}"#, "expired"),
        ] {
            guard case let .failure(failure) = validator.validate(try signed(claims), nowMs: Self.now) else {
                Issue.record("accepted: \(reason)")
                continue
            }
            #expect(failure.reason.contains(reason), "\(failure.reason)")
        }
    }

    @Test func keySetsAndFiles() throws {
        let ec = P256.Signing.PrivateKey()
        // Keys that cannot check signatures are skipped; a set of only such keys is refused.
        let mixed = try Self.keySet([#"{"kty":"oct","k":"c2VjcmV0"}"#, Self.ecJwk(ec.publicKey, kid: "a"), #"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
                                     #"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#])
        #expect(mixed.keys.count == 1)
        #expect(mixed.skipped.count == 3)
        #expect(mixed.candidates(for: .es256, keyId: "a").count == 1)
        #expect(mixed.candidates(for: .es384, keyId: nil).isEmpty)
        #expect(mixed.candidates(for: .rs256, keyId: nil).isEmpty)
        #expect(throws: SecurityError.self) { try Self.keySet([#"{"kty":"oct","k":"c2VjcmV0"}"#]) }
        #expect(throws: SecurityError.self) { try JsonWebKeySet(json: Data("[]".utf8), source: "x") }
        let encryption = try Self.keySet([#"{"kty":"EC","crv":"P-256","use":"enc","x":"\#(Self.b64(Array(ec.publicKey.x963Representation)[1..<33]))","y":"\#(Self.b64(Array(ec.publicKey.x963Representation)[33...]))"}"#])
        #expect(encryption.candidates(for: .es256, keyId: nil).isEmpty)

        #expect(FileURL.path("file:///etc/jwks.json") == "/etc/jwks.json")
        #expect(FileURL.path("file:/etc/jwks.json") == "/etc/jwks.json")
        #expect(FileURL.path("file://localhost/etc/a%20b.json") == "/etc/a b.json")
        #expect(FileURL.path("https://idp/jwks") == nil)
        #expect(FileURL.path("file:relative.json") == nil)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("jwks.json").path
        try Data(#"{"keys":[\#(Self.ecJwk(ec.publicKey, kid: "one"))]}"#.utf8).write(to: URL(fileURLWithPath: path))
        let file = try JwksFile(path: path)
        #expect(file.keys.keys.first?.keyId == "one")
        #expect(try file.reloadIfChanged().get() == false)
        try Data("not json at all".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SecurityError.self) { try file.reloadIfChanged().get() }
        #expect(file.keys.keys.first?.keyId == "one", "a broken file keeps the previous keys")
        try Data(#"{"keys":[\#(Self.ecJwk(ec.publicKey, kid: "two-and-longer"))]}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try file.reloadIfChanged().get() == true)
        #expect(file.keys.keys.first?.keyId == "two-and-longer")
        #expect(throws: SecurityError.self) { try JwksFile(path: directory.appendingPathComponent("missing.json").path) }
    }

    @Test func aMissingKeyIsReported() throws {
        let ec = P256.Signing.PrivateKey()
        let empty = SignedJwtValidator(keys: { .empty })
        let asked = Mutex<[String?]>([])
        var validator = empty
        validator.missingKey = { keyId in asked.withLock { $0.append(keyId) } }
        let token = try Self.token(Self.claims(), header: #"{"alg":"ES256","kid":"new"}"#) {
            Array(try ec.signature(for: SHA256.hash(data: $0)).rawRepresentation)
        }
        guard case let .failure(failure) = validator.validate(token, nowMs: Self.now) else {
            Issue.record("a token was accepted without keys")
            return
        }
        #expect(failure.reason.contains("no key"))
        #expect(asked.withLock { $0 } == ["new"])
    }
}
