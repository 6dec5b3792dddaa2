import Foundation
import KafkaProtocol
import NIOCore
import VltavaSecurity

/// The client side of Kafka's SASL authentication on a fresh connection: SaslHandshake v1 naming the mechanism,
/// then SaslAuthenticate frames (PLAIN: one; SCRAM: client-first and client-final, the server's signature
/// checked so a server without the credential cannot pass itself off).
enum SaslLogin {
    /// Authenticates `channel`; returns when the session should be renewed if the broker limits its lifetime.
    static func authenticate(
        _ credentials: ClientSecurity.Credentials, channel: any Channel, address: BrokerAddress,
        apiVersions: ApiVersionTable, timeout: TimeAmount
    ) async throws(KafkaClientError) -> NIODeadline? {
        guard let handshakeVersion = apiVersions.negotiatedVersion(of: .saslHandshake, ours: 1...1),
              let authenticateVersion = apiVersions.negotiatedVersion(of: .saslAuthenticate, ours: SaslAuthenticateRequest.validVersions)
        else {
            throw .connectionFailed(address: address.description,
                                    reason: "the broker does not offer SASL authentication (is this listener PLAINTEXT or SSL?)")
        }
        let started = NIODeadline.now()
        let handshake = try await send(
            SaslHandshakeRequest(mechanism: credentials.mechanism), version: handshakeVersion, channel: channel, address: address,
            timeout: timeout)
        if handshake.errorCode == ErrorCode.unsupportedSaslMechanism.rawValue {
            throw failure(address, "the broker does not enable \(credentials.mechanism) on this listener (it offers "
                + (handshake.mechanisms.isEmpty ? "none" : handshake.mechanisms.joined(separator: ", ")) + ")")
        }
        try KafkaClientError.check(handshake.errorCode, resource: "SaslHandshake")

        var lifetimeMs: Int64 = 0
        func round(_ token: [UInt8]) async throws(KafkaClientError) -> [UInt8] {
            var request = SaslAuthenticateRequest()
            request.authBytes = ByteBuffer(bytes: token)
            let response = try await send(request, version: authenticateVersion, channel: channel, address: address, timeout: timeout)
            guard response.errorCode == 0 else {
                let message = response.errorMessage.flatMap { $0.isEmpty ? nil : $0 } ?? ErrorCode(rawValue: response.errorCode).name
                throw failure(address, message)
            }
            lifetimeMs = response.sessionLifetimeMs
            return Array(response.authBytes.readableBytesView)
        }

        /// OAUTHBEARER's one message; an RFC 7628 error challenge (`{"status":"invalid_token"}`) is acknowledged with
        /// ^A, and the broker then fails the exchange.
        func bearer(_ message: [UInt8]) async throws(KafkaClientError) {
            let challenge = try await round(message)
            guard !challenge.isEmpty else { return }
            let status = String(decoding: challenge, as: UTF8.self)
            _ = try? await round([0x01])
            throw failure(address, "the broker refused the OAUTHBEARER token: \(status)")
        }

        switch credentials {
        case let .plain(user, password):
            _ = try await round(Array("\0\(user)\0\(password)".utf8))
        case let .scram(mechanism, user, password):
            var client = ScramClient(mechanism: mechanism, user: user, password: password)
            let serverFirst = try await round(client.firstMessage)
            let clientFinal: [UInt8]
            do {
                clientFinal = try client.finalMessage(for: serverFirst)
            } catch {
                throw failure(address, "\(error)")
            }
            let serverFinal = try await round(clientFinal)
            guard client.verifies(serverFinal: serverFinal) else {
                throw failure(address, "the broker's SCRAM signature is wrong (it does not hold this user's credential)")
            }
        case let .oauthBearer(login):
            try await bearer(login.initialResponse(nowMs: Int64(Date().timeIntervalSince1970 * 1000)))
        case let .oauthBearerProvider(provider):
            let token = try await OAuthBearerTokens.token(for: provider, timeout: timeout)
            try await bearer(OAuthBearerUnsecuredLogin.initialResponse(token: token, extensions: provider.extensions))
        }
        guard lifetimeMs > 0 else { return nil }
        // Kafka's clients re-authenticate between 85 % and 95 % of the session; a new connection does the same here.
        return started + .milliseconds(lifetimeMs * 85 / 100)
    }

    private static func failure(_ address: BrokerAddress, _ reason: String) -> KafkaClientError {
        .connectionFailed(address: address.description, reason: "authentication failed: \(reason)")
    }

    private static func send<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, channel: any Channel, address: BrokerAddress, timeout: TimeAmount
    ) async throws(KafkaClientError) -> Request.Response {
        guard var frame = try await BrokerConnection.exchange(
            request, version: version, expectsResponse: true, timeout: timeout, channel: channel, address: address)
        else { throw .malformedResponse("no response to \(Request.apiKey.name)") }
        return try BrokerConnection.decodeResponse(Request.Response.self, apiKey: Request.apiKey, version: version, frame: &frame)
    }
}
