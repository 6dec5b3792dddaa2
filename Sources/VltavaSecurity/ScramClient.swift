#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The client side of a SCRAM exchange: the first message, the final message with its proof from the server's
/// challenge, and the check of the server's signature (so a client knows the server holds the credential).
public struct ScramClient: Sendable {
    public let mechanism: ScramMechanism
    let user: String
    let password: String
    let clientNonce: String
    private var authMessage: [UInt8] = []
    private var saltedPassword: [UInt8] = []

    public init(mechanism: ScramMechanism, user: String, password: String, clientNonce: String? = nil) {
        self.mechanism = mechanism
        self.user = user
        self.password = password
        self.clientNonce = clientNonce ?? Data(SecureRandom.bytes(24)).base64EncodedString()
    }

    private var clientFirstBare: String { "n=\(ScramServer.encodeSaslName(user)),r=\(clientNonce)" }

    public var firstMessage: [UInt8] { Array("n,,\(clientFirstBare)".utf8) }

    /// The client-final message for the server-first message `challenge`.
    public mutating func finalMessage(for challenge: [UInt8]) throws(SecurityError) -> [UInt8] {
        guard let text = String(validating: challenge, as: UTF8.self) else { throw .invalidConfiguration("SCRAM challenge is not UTF-8") }
        var attributes: [Character: String] = [:]
        for field in text.split(separator: ",") where field.dropFirst().first == "=" {
            if let key = field.first { attributes[key] = String(field.dropFirst(2)) }
        }
        guard let nonce = attributes["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count,
              let salt = attributes["s"].flatMap({ Data(base64Encoded: $0) }), let iterations = attributes["i"].flatMap(Int.init),
              iterations >= ScramMechanism.minimumIterations, iterations <= 1_000_000 else {
            throw .invalidConfiguration("invalid SCRAM challenge from the server")
        }
        saltedPassword = try mechanism.saltedPassword(password, salt: Array(salt), iterations: iterations)
        let withoutProof = "c=\(Data("n,,".utf8).base64EncodedString()),r=\(nonce)"
        authMessage = Array("\(clientFirstBare),\(text),\(withoutProof)".utf8)
        let clientKey = mechanism.hmac(key: saltedPassword, Array("Client Key".utf8))
        let signature = mechanism.hmac(key: mechanism.hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Whether the server-final message carries the server signature this exchange expects.
    public func verifies(serverFinal: [UInt8]) -> Bool {
        guard let text = String(validating: serverFinal, as: UTF8.self), text.hasPrefix("v="),
              let signature = Data(base64Encoded: String(text.dropFirst(2))) else { return false }
        let serverKey = mechanism.hmac(key: saltedPassword, Array("Server Key".utf8))
        return SecureRandom.constantTimeEqual(Array(signature), mechanism.hmac(key: serverKey, authMessage))
    }
}
