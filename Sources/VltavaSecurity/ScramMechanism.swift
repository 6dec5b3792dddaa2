import Crypto
import CryptoExtras

/// A SCRAM mechanism Kafka knows (RFC 5802 with the hash of RFC 7677), its iteration bounds, and the keys it
/// derives from a password.
public enum ScramMechanism: String, CaseIterable, Sendable, Codable {
    case sha256 = "SCRAM-SHA-256"
    case sha512 = "SCRAM-SHA-512"

    /// Kafka's number for the mechanism in DescribeUserScramCredentials and AlterUserScramCredentials.
    public var kafkaType: Int8 {
        switch self {
        case .sha256: return 1
        case .sha512: return 2
        }
    }

    public init?(kafkaType: Int8) {
        guard let mechanism = Self.allCases.first(where: { $0.kafkaType == kafkaType }) else { return nil }
        self = mechanism
    }

    /// Kafka's bounds (`ScramMechanism.minIterations` / `maxIterations`).
    public static let minimumIterations = 4096
    public static let maximumIterations = 16384

    func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    /// `Hi(Normalize(password), salt, i)`: PBKDF2 with this mechanism's HMAC and an output of one hash. The
    /// password is used as UTF-8 without SASLprep, as Kafka's Java client does.
    public func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) throws(SecurityError) -> [UInt8] {
        let function: KDF.Insecure.PBKDF2.HashFunction = self == .sha256 ? .sha256 : .sha512
        let length = self == .sha256 ? SHA256.byteCount : SHA512.byteCount
        do {
            let key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(password.utf8), salt: salt, using: function, outputByteCount: length,
                unsafeUncheckedRounds: iterations)
            return key.withUnsafeBytes { Array($0) }
        } catch {
            throw .cryptography("cannot derive a \(rawValue) key: \(error)")
        }
    }
}

/// What a broker keeps of a SCRAM user, as Kafka keeps it: never the password, only the salt, the iteration
/// count and the two keys derived from the salted password.
public struct ScramCredential: Codable, Sendable, Equatable {
    public var salt: [UInt8]
    public var storedKey: [UInt8]
    public var serverKey: [UInt8]
    public var iterations: Int

    public init(salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8], iterations: Int) {
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
        self.iterations = iterations
    }

    /// The credential from a salted password (what AlterUserScramCredentials carries).
    public init(mechanism: ScramMechanism, saltedPassword: [UInt8], salt: [UInt8], iterations: Int) {
        let clientKey = mechanism.hmac(key: saltedPassword, Array("Client Key".utf8))
        self.init(
            salt: salt, storedKey: mechanism.hash(clientKey),
            serverKey: mechanism.hmac(key: saltedPassword, Array("Server Key".utf8)), iterations: iterations)
    }

    /// The credential from a password, with a new random salt.
    public init(mechanism: ScramMechanism, password: String, iterations: Int) throws(SecurityError) {
        let salt = SecureRandom.bytes(32)
        self.init(
            mechanism: mechanism, saltedPassword: try mechanism.saltedPassword(password, salt: salt, iterations: iterations),
            salt: salt, iterations: iterations)
    }
}

/// Comparisons and randomness for secrets.
public enum SecureRandom {
    /// `count` bytes from the system's secure generator.
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Whether two byte strings are equal, in a time that depends only on their lengths.
    public static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
