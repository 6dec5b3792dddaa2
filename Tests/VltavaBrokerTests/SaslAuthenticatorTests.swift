import Foundation
import KafkaProtocol
import NIOCore
import Testing
import VltavaSecurity

@testable import VltavaBroker

@Suite("SASL authenticator")
struct SaslAuthenticatorTests {
    static func authenticator(reauthenticationMs: Int64 = 0, mechanisms: [SaslMechanism] = [.plain, .scramSha256])
        -> SaslAuthenticator {
        var security = ListenerSecurity.plaintext
        security.securityProtocol = .saslPlaintext
        security.mechanisms = mechanisms
        security.reauthenticationMs = reauthenticationMs
        return SaslAuthenticator(security: security, credentials: SaslCredentials(plainUsers: ["alice": "a", "bob": "b"]))
    }

    static func handshake(_ mechanism: String) -> SaslHandshakeRequest { SaslHandshakeRequest(mechanism: mechanism) }

    static func plain(_ user: String, _ password: String) -> SaslAuthenticateRequest {
        SaslAuthenticateRequest(authBytes: ByteBuffer(string: "\0\(user)\0\(password)"))
    }

    static func errorCode(_ answer: SaslAuthenticator.Answer) -> Int16? {
        switch answer.response {
        case let .message(.saslHandshake(response)): return response.errorCode
        case let .message(.saslAuthenticate(response)): return response.errorCode
        default: return nil
        }
    }

    @Test func onlyApiVersionsAndSaslBeforeAuthentication() {
        var state = Self.authenticator()
        #expect(state.isAuthenticating)
        #expect(state.admission(of: .apiVersions, nowMs: 0) == .serve)
        #expect(state.admission(of: .saslHandshake, nowMs: 0) == .authenticate)
        guard case .close = state.admission(of: .metadata, nowMs: 0) else { Issue.record("metadata admitted"); return }
        guard case .close = state.admission(of: nil, nowMs: 0) else { Issue.record("unknown API admitted"); return }
        #expect(Self.errorCode(state.handshake(Self.handshake("PLAIN"), version: 1)) == 0)
        let answer = state.authenticate(Self.plain("alice", "a"), version: 2, nowMs: 0)
        #expect(Self.errorCode(answer) == 0 && answer.closeReason == nil)
        #expect(!state.isAuthenticating)
        #expect(state.principal == "User:alice")
        #expect(state.admission(of: .metadata, nowMs: 1_000_000) == .serve, "no session expiry without connections.max.reauth.ms")
    }

    @Test func refusalsAnswerAndClose() {
        var state = Self.authenticator()
        var answer = state.handshake(Self.handshake("SCRAM-SHA-512"), version: 1)
        #expect(Self.errorCode(answer) == ErrorCode.unsupportedSaslMechanism.rawValue && answer.closeReason != nil)
        if case let .message(.saslHandshake(response)) = answer.response {
            #expect(response.mechanisms == ["PLAIN", "SCRAM-SHA-256"])
        }
        guard case .close = state.admission(of: .apiVersions, nowMs: 0) else { Issue.record("served after a failure"); return }

        state = Self.authenticator()
        answer = state.authenticate(Self.plain("alice", "a"), version: 1, nowMs: 0)
        #expect(Self.errorCode(answer) == ErrorCode.illegalSaslState.rawValue && answer.closeReason != nil)

        state = Self.authenticator()
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        answer = state.authenticate(Self.plain("alice", "wrong"), version: 1, nowMs: 0)
        #expect(Self.errorCode(answer) == ErrorCode.saslAuthenticationFailed.rawValue && answer.closeReason != nil)

        state = Self.authenticator()
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        answer = state.handshake(Self.handshake("PLAIN"), version: 1)
        #expect(Self.errorCode(answer) == ErrorCode.illegalSaslState.rawValue && answer.closeReason != nil)
    }

    @Test(arguments: [(Int64(0), Int64(30_000)), (Int64(10_000), Int64(10_000)), (Int64(60_000), Int64(30_000))])
    func oauthBearerSessionsLastNoLongerThanTheToken(reauthenticationMs: Int64, expected: Int64) {
        var security = ListenerSecurity.plaintext
        security.securityProtocol = .saslPlaintext
        security.mechanisms = [.oauthBearer]
        security.reauthenticationMs = reauthenticationMs
        let wallClock: Int64 = 1_800_000_000_000
        var state = SaslAuthenticator(security: security, credentials: SaslCredentials(nowMs: { wallClock }))
        #expect(Self.errorCode(state.handshake(Self.handshake("OAUTHBEARER"), version: 1)) == 0)
        let claims = #"{"sub":"alice","exp":\#(wallClock / 1000 + 30)}"#
        let token = "eyJhbGciOiJub25lIn0." + Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "") + "."
        let answer = state.authenticate(SaslAuthenticateRequest(authBytes: ByteBuffer(string: "n,,\u{1}auth=Bearer \(token)\u{1}\u{1}")),
                                         version: 2, nowMs: 500)
        #expect(Self.errorCode(answer) == 0)
        if case let .message(.saslAuthenticate(response)) = answer.response { #expect(response.sessionLifetimeMs == expected) }
        #expect(state.principal == "User:alice")
        #expect(state.admission(of: .produce, nowMs: 500 + expected - 1) == .serve)
        guard case .close = state.admission(of: .produce, nowMs: 500 + expected) else { Issue.record("served after the token expired"); return }
    }

    @Test func sessionsExpireUnlessAuthenticatedAgain() {
        var state = Self.authenticator(reauthenticationMs: 1000)
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        let answer = state.authenticate(Self.plain("alice", "a"), version: 1, nowMs: 100)
        if case let .message(.saslAuthenticate(response)) = answer.response { #expect(response.sessionLifetimeMs == 1000) }
        #expect(state.admission(of: .produce, nowMs: 1099) == .serve)
        guard case .close = state.admission(of: .produce, nowMs: 1100) else { Issue.record("served after expiry"); return }
        // Re-authentication (same mechanism, same user) extends the session; requests go on meanwhile.
        #expect(state.admission(of: .saslHandshake, nowMs: 1050) == .authenticate)
        #expect(Self.errorCode(state.handshake(Self.handshake("PLAIN"), version: 1)) == 0)
        #expect(state.admission(of: .fetch, nowMs: 1060) == .serve)
        #expect(Self.errorCode(state.authenticate(Self.plain("alice", "a"), version: 1, nowMs: 1070)) == 0)
        #expect(state.admission(of: .produce, nowMs: 2000) == .serve)
        guard case .close = state.admission(of: .produce, nowMs: 2070) else { Issue.record("served after expiry"); return }
    }

    @Test func reauthenticationKeepsMechanismAndUser() {
        var state = Self.authenticator(reauthenticationMs: 1000)
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        _ = state.authenticate(Self.plain("alice", "a"), version: 1, nowMs: 0)
        var answer = state.handshake(Self.handshake("SCRAM-SHA-256"), version: 1)
        #expect(Self.errorCode(answer) == ErrorCode.illegalSaslState.rawValue && answer.closeReason != nil)

        state = Self.authenticator(reauthenticationMs: 1000)
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        _ = state.authenticate(Self.plain("alice", "a"), version: 1, nowMs: 0)
        _ = state.handshake(Self.handshake("PLAIN"), version: 1)
        answer = state.authenticate(Self.plain("bob", "b"), version: 1, nowMs: 10)
        #expect(Self.errorCode(answer) == ErrorCode.saslAuthenticationFailed.rawValue && answer.closeReason != nil)
    }

    @Test func rawTokensAfterAVersionZeroHandshake() {
        var state = Self.authenticator()
        _ = state.handshake(Self.handshake("PLAIN"), version: 0)
        #expect(state.expectsRawToken)
        #expect(state.authenticate(rawToken: Array("\0alice\0a".utf8), nowMs: 0) == .token([]))
        #expect(!state.expectsRawToken && !state.isAuthenticating)

        state = Self.authenticator()
        _ = state.handshake(Self.handshake("PLAIN"), version: 0)
        guard case .close = state.authenticate(rawToken: Array("\0alice\0x".utf8), nowMs: 0) else { Issue.record("accepted"); return }
    }

    @Test func plaintextListenersAdmitEverything() {
        let state = SaslAuthenticator(security: .plaintext, credentials: SaslCredentials())
        #expect(!state.isAuthenticating)
        #expect(state.admission(of: .produce, nowMs: 0) == .serve)
        #expect(state.principal == "User:ANONYMOUS")
    }

    @Test func unauthenticatedFramesAreCapped() {
        var machine = ConnectionStateMachine(limits: ConnectionLimits(), nowMs: 0)
        machine.unauthenticatedFrameLimit = 524_288
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(600 * 1024))
        guard case .close = machine.bytesReceived(buffer, nowMs: 0, reserve: { _ in true }).first else {
            Issue.record("a 600 KiB frame was read before authentication")
            return
        }
    }

    @Test func answerThenCloseWritesBeforeClosing() {
        var machine = ConnectionStateMachine(limits: ConnectionLimits(), nowMs: 0)
        _ = machine.requestReceived(nowMs: 0)
        let actions = machine.responseReady(sequence: 0, .answeredThenClose("refused"), nowMs: 0)
        #expect(actions == [.write(sequence: 0), .flush, .closeAfterSending(reason: "refused")])
        #expect(machine.isClosed)
    }
}
