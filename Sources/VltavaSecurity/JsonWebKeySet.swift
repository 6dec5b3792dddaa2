import Crypto
import CryptoExtras
import Foundation
import Logging
import Synchronization

/// A JWS signature algorithm (RFC 7518 §3) that a signed OAUTHBEARER token may use. `none` and the HMAC algorithms
/// are not among them: Kafka's validator refuses `none`, and a JWKS of public keys cannot check an HMAC.
public enum JwsAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
}

/// One public key of a JSON Web Key Set (RFC 7517): RSA (`n`, `e`) or elliptic curve (`crv` P-256, P-384, P-521 with
/// `x`, `y`), with its optional `kid`, `use` and `alg`.
public struct JsonWebKey: Sendable {
    public enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
    }

    public var keyId: String?
    public var use: String?
    public var algorithm: String?
    public var material: Material

    /// The key described by one member of a JWKS's `keys`; a key of another type (`oct`, `OKP`) or a malformed one
    /// is an error naming what is wrong.
    public init(json: [String: Any]) throws(SecurityError) {
        keyId = json["kid"] as? String
        use = json["use"] as? String
        algorithm = json["alg"] as? String
        let name = keyId.map { "key '\($0)'" } ?? "a key without kid"
        func bytes(_ member: String) throws(SecurityError) -> [UInt8] {
            guard let text = json[member] as? String, let value = Base64URL.decode(text), !value.isEmpty else {
                throw .invalidConfiguration("\(name) has no base64url member \"\(member)\"")
            }
            return value
        }
        switch json["kty"] as? String {
        case "RSA":
            let n = try bytes("n"), e = try bytes("e")
            do {
                material = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            } catch {
                throw .invalidConfiguration("\(name) is not a usable RSA public key (at least 2048 bits)")
            }
        case "EC":
            let x = try bytes("x"), y = try bytes("y")
            let curve = json["crv"] as? String
            let point = [0x04] + x + y
            do {
                switch curve {
                case "P-256": material = .p256(try P256.Signing.PublicKey(x963Representation: point))
                case "P-384": material = .p384(try P384.Signing.PublicKey(x963Representation: point))
                case "P-521": material = .p521(try P521.Signing.PublicKey(x963Representation: point))
                default: throw SecurityError.invalidConfiguration("\(name) has curve \(curve ?? "(none)"); P-256, P-384 and P-521 are supported")
                }
            } catch let error as SecurityError {
                throw error
            } catch {
                throw .invalidConfiguration("\(name) is not a point of curve \(curve ?? "")")
            }
        case let type:
            throw .invalidConfiguration("\(name) has key type \(type ?? "(none)"); RSA and EC public keys are supported")
        }
    }

    /// Whether this key can check a signature of `algorithm`: the right key type and curve, a `use` of `sig` if
    /// any, and the same `alg` if the key names one.
    public func suits(_ algorithm: JwsAlgorithm) -> Bool {
        if let use, use != "sig" { return false }
        if let own = self.algorithm, own != algorithm.rawValue { return false }
        switch (material, algorithm) {
        case (.rsa, .rs256), (.rsa, .rs384), (.rsa, .rs512), (.rsa, .ps256), (.rsa, .ps384), (.rsa, .ps512): return true
        case (.p256, .es256), (.p384, .es384), (.p521, .es512): return true
        default: return false
        }
    }

    /// Whether `signature` is this key's signature of `input` with `algorithm` (JWS encodings: RSA signatures as
    /// they are, ECDSA ones as `r || s`).
    public func verifies(_ signature: [UInt8], of input: [UInt8], with algorithm: JwsAlgorithm) -> Bool {
        switch (material, algorithm) {
        case let (.rsa(key), _):
            let rsa = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch algorithm {
            case .rs256: return key.isValidSignature(rsa, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            case .rs384: return key.isValidSignature(rsa, for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
            case .rs512: return key.isValidSignature(rsa, for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
            case .ps256: return key.isValidSignature(rsa, for: SHA256.hash(data: input), padding: .PSS)
            case .ps384: return key.isValidSignature(rsa, for: SHA384.hash(data: input), padding: .PSS)
            case .ps512: return key.isValidSignature(rsa, for: SHA512.hash(data: input), padding: .PSS)
            default: return false
            }
        case let (.p256(key), .es256):
            guard signature.count == 64, let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: input))
        case let (.p384(key), .es384):
            guard signature.count == 96, let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA384.hash(data: input))
        case let (.p521(key), .es512):
            guard signature.count == 132, let ecdsa = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA512.hash(data: input))
        default:
            return false
        }
    }
}

/// A JSON Web Key Set (`{"keys":[...]}`): the public keys that sign OAUTHBEARER tokens. Keys that cannot verify
/// signatures here (symmetric `oct` keys, `OKP`, private-only members) are skipped and listed in `skipped`, as a
/// JWKS from an identity provider may hold them; a set with no usable key at all is refused.
public struct JsonWebKeySet: Sendable {
    public var keys: [JsonWebKey]
    /// Why each skipped key was skipped.
    public var skipped: [String]

    /// No keys (an endpoint's set before its first answer).
    public static let empty = JsonWebKeySet(keys: [], skipped: [])

    public init(keys: [JsonWebKey], skipped: [String] = []) {
        self.keys = keys
        self.skipped = skipped
    }

    public init(json data: Data, source: String) throws(SecurityError) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let members = object["keys"] as? [Any] else {
            throw .invalidConfiguration("\(source) is not a JSON Web Key Set (a JSON object with a \"keys\" array)")
        }
        keys = []
        skipped = []
        for member in members {
            guard let json = member as? [String: Any] else {
                skipped.append("a member of \"keys\" that is not an object")
                continue
            }
            do {
                keys.append(try JsonWebKey(json: json))
            } catch {
                skipped.append(error.description)
            }
        }
        if keys.isEmpty {
            throw .invalidConfiguration("\(source) holds no RSA or EC public key"
                + (skipped.isEmpty ? "" : " (" + skipped.joined(separator: "; ") + ")"))
        }
    }

    /// The keys that may have signed a token of `algorithm` with key id `keyId`: with a key id only the keys of
    /// that id, without one every key suited to the algorithm.
    public func candidates(for algorithm: JwsAlgorithm, keyId: String?) -> [JsonWebKey] {
        keys.filter { key in key.suits(algorithm) && (keyId == nil || key.keyId == keyId) }
    }
}

/// A JWKS file (`sasl.oauthbearer.jwks.endpoint.url=file:///...`), read at start-up and again when it changes:
/// `reloadIfChanged()` runs off the event loops (the broker's maintenance thread) and a file that cannot be read
/// again keeps the keys it had.
public final class JwksFile: Sendable {
    public let path: String
    private struct Loaded {
        var keys: JsonWebKeySet
        var stamp: FileStamp?
    }
    private let loaded: Mutex<Loaded>

    public init(path: String) throws(SecurityError) {
        self.path = path
        let stamp = FileStamp.of(path)
        loaded = Mutex(Loaded(keys: try Self.read(path), stamp: stamp))
    }

    public var keys: JsonWebKeySet { loaded.withLock { $0.keys } }

    /// Reads the file again if its modification time or size changed: `.success(true)` when new keys were taken,
    /// `.failure` (the old keys kept) when the changed file is not a usable JWKS.
    public func reloadIfChanged() -> Result<Bool, SecurityError> {
        let stamp = FileStamp.of(path)
        guard stamp != loaded.withLock({ $0.stamp }) else { return .success(false) }
        do {
            let keys = try Self.read(path)
            loaded.withLock { $0 = Loaded(keys: keys, stamp: stamp) }
            return .success(true)
        } catch {
            loaded.withLock { $0.stamp = stamp }
            return .failure(error)
        }
    }

    /// `reloadIfChanged()`, saying what happened in the log.
    public func reloadAndLog(logger: Logger) {
        switch reloadIfChanged() {
        case .success(true):
            logger.info("JWKS file read again", metadata: ["path": "\(path)", "keys": "\(keys.keys.count)"])
        case .success(false):
            break
        case let .failure(error):
            logger.warning("JWKS file changed but cannot be used; keeping its previous keys", metadata: [
                "path": "\(path)", "error": "\(error.description)",
            ])
        }
    }

    private static func read(_ path: String) throws(SecurityError) -> JsonWebKeySet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("cannot read the JWKS file \(path)")
        }
        return try JsonWebKeySet(json: data, source: "the JWKS file \(path)")
    }
}
