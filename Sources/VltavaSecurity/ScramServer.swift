#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The server side of a SCRAM exchange (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer` runs it: client-first,
/// server-first, client-final, server-final; no channel binding; the authorization id, if any, must be the user;
/// extensions other than Kafka's are ignored and delegation tokens (`tokenauth=true`) are refused.
public struct ScramServer: Sendable {
    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(Exchange)
        case finished
    }

    private struct Exchange: Sendable {
        var user: String
        /// False for an unknown user: the exchange goes on with a made-up credential and fails at the end, as it
        /// would for a wrong password, so that the answers do not tell which users exist.
        var known: Bool
        var credential: ScramCredential
        var gs2Header: String
        var clientFirstBare: String
        var serverFirst: String
        var nonce: String
    }

    let mechanism: ScramMechanism
    private let credentials: SaslCredentials
    private var state = State.awaitingClientFirst
    /// The server's part of the nonce, fixed by tests that replay a known exchange (RFC 7677's example).
    var fixedServerNonce: String?

    /// The salt of an unknown user's made-up credential is a keyed hash of the user name: the same user gets the
    /// same salt every time (a real user's salt does not change either).
    private static let unknownUserKey = SecureRandom.bytes(32)

    init(mechanism: ScramMechanism, credentials: SaslCredentials) {
        self.mechanism = mechanism
        self.credentials = credentials
    }

    private var failureMessage: String {
        "Authentication failed during authentication due to invalid credentials with SASL mechanism \(mechanism.rawValue)"
    }

    mutating func evaluate(_ message: [UInt8]) -> SaslStep {
        let current = state
        state = .finished
        guard let text = String(validating: message, as: UTF8.self) else {
            return invalid("a SCRAM message that is not UTF-8")
        }
        switch current {
        case .awaitingClientFirst:
            return clientFirst(text)
        case let .awaitingClientFinal(exchange):
            return clientFinal(text, exchange)
        case .finished:
            return invalid("a SCRAM message after the exchange ended")
        }
    }

    private func invalid(_ detail: String) -> SaslStep {
        .failed(clientMessage: "Authentication failed: Invalid SCRAM message", detail: detail)
    }

    private mutating func clientFirst(_ text: String) -> SaslStep {
        // gs2-header: a channel-binding flag, then an optional authorization id.
        let fields = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3 else { return invalid("client-first message without a gs2 header") }
        switch fields[0] {
        case "n", "y": break
        default: return invalid("channel binding '\(fields[0])' requested (not supported)")
        }
        var authorizationId: String?
        if !fields[1].isEmpty {
            guard fields[1].hasPrefix("a="), let decoded = Self.decodeSaslName(fields[1].dropFirst(2)) else {
                return invalid("malformed authorization id in the gs2 header")
            }
            authorizationId = decoded
        }
        let bare = String(fields[2])
        let attributes = bare.split(separator: ",", omittingEmptySubsequences: false)
        guard attributes.count >= 2, attributes[0].hasPrefix("n="), attributes[1].hasPrefix("r="),
              let user = Self.decodeSaslName(attributes[0].dropFirst(2)), !user.isEmpty else {
            return invalid("client-first message without a user name and a nonce")
        }
        let clientNonce = String(attributes[1].dropFirst(2))
        guard !clientNonce.isEmpty, clientNonce.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x2C }) else {
            return invalid("client nonce of characters outside printable ASCII")
        }
        for extensionField in attributes.dropFirst(2) where extensionField == "tokenauth=true" {
            return .failed(clientMessage: "Authentication failed: delegation tokens are not supported",
                           detail: "SCRAM delegation-token login of '\(user)'")
        }
        if let authorizationId, authorizationId != user {
            return .failed(clientMessage: "Authentication failed: Invalid user credentials",
                           detail: "SCRAM authorization id '\(authorizationId)' for user '\(user)'")
        }
        let stored = credentials.scramCredential(user, mechanism)
        let credential = stored ?? madeUpCredential(for: user)
        let nonce = clientNonce + (fixedServerNonce ?? Self.serverNonce())
        let serverFirst = "r=\(nonce),s=\(Data(credential.salt).base64EncodedString()),i=\(credential.iterations)"
        state = .awaitingClientFinal(Exchange(
            user: user, known: stored != nil, credential: credential, gs2Header: "\(fields[0]),\(fields[1]),",
            clientFirstBare: bare, serverFirst: serverFirst, nonce: nonce))
        return .challenge(Array(serverFirst.utf8))
    }

    private func clientFinal(_ text: String, _ exchange: Exchange) -> SaslStep {
        guard let proofRange = text.ranges(of: ",p=").last else {
            return invalid("client-final message without a proof")
        }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let attributes = withoutProof.split(separator: ",", omittingEmptySubsequences: false)
        guard attributes.count >= 2, attributes[0].hasPrefix("c="), attributes[1].hasPrefix("r="),
              let proof = Data(base64Encoded: String(text[proofRange.upperBound...])).map(Array.init) else {
            return invalid("malformed client-final message")
        }
        guard attributes[0].dropFirst(2) == Data(exchange.gs2Header.utf8).base64EncodedString() else {
            return invalid("channel binding of the client-final message differs from the gs2 header")
        }
        guard attributes[1].dropFirst(2) == exchange.nonce else {
            return invalid("client-final message with a nonce that is not the exchange's")
        }
        let authMessage = Array("\(exchange.clientFirstBare),\(exchange.serverFirst),\(withoutProof)".utf8)
        let credential = exchange.credential
        let clientSignature = mechanism.hmac(key: credential.storedKey, authMessage)
        guard proof.count == clientSignature.count else {
            return .failed(clientMessage: failureMessage, detail: "SCRAM proof of the wrong length for '\(exchange.user)'")
        }
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        let matches = SecureRandom.constantTimeEqual(mechanism.hash(clientKey), credential.storedKey)
        guard exchange.known, matches else {
            return .failed(clientMessage: failureMessage,
                           detail: exchange.known ? "wrong SCRAM proof for user '\(exchange.user)'" : "SCRAM login of unknown user '\(exchange.user)'")
        }
        let serverSignature = mechanism.hmac(key: credential.serverKey, authMessage)
        return .authenticated(user: exchange.user, finalMessage: Array("v=\(Data(serverSignature).base64EncodedString())".utf8))
    }

    private func madeUpCredential(for user: String) -> ScramCredential {
        let salt = mechanism.hmac(key: Self.unknownUserKey, Array(user.utf8))
        return ScramCredential(salt: Array(salt.prefix(32)), storedKey: SecureRandom.bytes(salt.count),
                               serverKey: SecureRandom.bytes(salt.count), iterations: ScramMechanism.minimumIterations)
    }

    /// 32 random printable characters (Kafka's formatter makes its nonces the same way).
    private static func serverNonce() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return String(decoding: SecureRandom.bytes(32).map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    /// A `saslname` (RFC 5802): `=2C` stands for `,` and `=3D` for `=`; any other `=` is invalid.
    static func decodeSaslName(_ name: Substring) -> String? {
        var result = ""
        var rest = name[...]
        while let index = rest.firstIndex(of: "=") {
            result += rest[..<index]
            let escape = rest[index...].prefix(3)
            switch escape {
            case "=2C": result += ","
            case "=3D": result += "="
            default: return nil
            }
            rest = rest[index...].dropFirst(3)
        }
        return result + rest
    }

    /// The `saslname` form of a user name.
    public static func encodeSaslName(_ name: String) -> String {
        name.replacing("=", with: "=3D").replacing(",", with: "=2C")
    }
}
