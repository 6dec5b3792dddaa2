import NIOCore
import Testing
@testable import VltavaSecurity
@testable import VltavaConnect

/// The replication connection's protocol state machine (start-up, authentication, the stream) and the CDC task's
/// position (what a resent stream repeats, how far the slot may be confirmed), without sockets.
struct PostgresReplicationTests {
    static let settings = ReplicationSession.Settings(user: "cdc", password: "secret", database: "shop", slot: "my\"slot",
                                                      publication: "it's", startLSN: 0x1_0000_0010)

    static func frame(_ type: Character, _ build: (inout ByteBuffer) -> Void = { _ in }) -> PostgresFrame {
        var body = ByteBuffer()
        build(&body)
        return PostgresFrame(type: UInt8(ascii: type.unicodeScalars.first ?? "?"), body: body)
    }

    static func sent(_ actions: [ReplicationSession.Action]) -> [ByteBuffer] {
        actions.compactMap { if case let .send(bytes) = $0 { return bytes } else { return nil } }
    }

    @Test func startupMessageAsksForALogicalReplicationConnection() {
        var startup = ReplicationSession(Self.settings).startup
        #expect(startup.readInteger(as: Int32.self) == Int32(startup.readableBytes + 4))
        #expect(startup.readInteger(as: Int32.self) == 196_608)
        let text = startup.readString(length: startup.readableBytes) ?? ""
        #expect(text == "user\0cdc\0database\0shop\0replication\0database\0application_name\0vltava-connect\0\0")
    }

    @Test func trustThenStartReplicationWithQuotedNames() throws {
        var session = ReplicationSession(Self.settings)
        #expect(session.received(Self.frame("R") { $0.writeInteger(Int32(0)) }).isEmpty)
        #expect(session.received(Self.frame("S") { $0.writeString("server_version\u{0}15\u{0}") }).isEmpty)
        let ready = session.received(Self.frame("Z") { $0.writeInteger(UInt8(ascii: "I")) })
        var query = try #require(Self.sent(ready).first)
        #expect(query.readInteger(as: UInt8.self) == UInt8(ascii: "Q"))
        _ = query.readInteger(as: Int32.self)
        #expect(query.readString(length: query.readableBytes) ==
            "START_REPLICATION SLOT \"my\"\"slot\" LOGICAL 1/10 (proto_version '1', publication_names '\"it''s\"')\0")
        #expect(session.received(Self.frame("W")) == [.started])
        #expect(session.state == .streaming)
    }

    @Test func streamCarriesWalDataAndKeepalives() {
        var session = ReplicationSession(Self.settings)
        _ = session.received(Self.frame("R") { $0.writeInteger(Int32(0)) })
        _ = session.received(Self.frame("Z") { $0.writeInteger(UInt8(ascii: "I")) })
        _ = session.received(Self.frame("W"))
        let data = session.received(Self.frame("d") { body in
            body.writeInteger(UInt8(ascii: "w"))
            body.writeInteger(UInt64(0x2A))
            body.writeInteger(UInt64(0x30))
            body.writeInteger(Int64(1))
            body.writeString("B...")
        })
        #expect(data == [.data(walStart: 0x2A, message: ByteBuffer(string: "B..."))])
        let keepalive = session.received(Self.frame("d") { body in
            body.writeInteger(UInt8(ascii: "k"))
            body.writeInteger(UInt64(0x40))
            body.writeInteger(Int64(1))
            body.writeInteger(UInt8(1))
        })
        #expect(keepalive == [.keepalive(walEnd: 0x40, replyRequested: true)])
        // A truncated message is an error, never a crash.
        let truncated = session.received(Self.frame("d") { $0.writeInteger(UInt8(ascii: "w")) })
        #expect(truncated == [.fail(message: "the server sent unreadable WAL data", sqlState: nil)])
        #expect(session.received(Self.frame("d")).isEmpty, "nothing after a failure")
    }

    @Test func serverErrorsKeepTheirMessageAndSQLState() {
        var session = ReplicationSession(Self.settings)
        let error = session.received(Self.frame("E") { body in
            body.writeString("SERROR\0C55006\0Mreplication slot \"s\" is active for PID 7\0\0")
        })
        #expect(error == [.fail(message: "replication slot \"s\" is active for PID 7", sqlState: "55006")])
        #expect(ReplicationFailure(message: "PostgreSQL at h: x", sqlState: "55006").isSlotInUse)
        #expect(!ReplicationFailure(message: "PostgreSQL at h: x", sqlState: "42704").isSlotInUse)
        #expect("\(ReplicationFailure(message: "x", sqlState: "55006"))" == "x [SQLSTATE 55006]")
    }

    @Test func passwordAndMD5Authentication() throws {
        var session = ReplicationSession(Self.settings)
        let asked = session.received(Self.frame("R") { $0.writeInteger(Int32(3)) })
        var clear = try #require(Self.sent(asked).first)
        #expect(clear.readInteger(as: UInt8.self) == UInt8(ascii: "p"))
        _ = clear.readInteger(as: Int32.self)
        #expect(clear.readString(length: clear.readableBytes) == "secret\0")
        // libpq's answer for user cdc, password secret, salt 01 02 03 04.
        #expect(ReplicationSession.md5Password(user: "cdc", password: "secret", salt: [1, 2, 3, 4]) == "md5a2a90023bf0b36ae45fecaf1fdb2af7f")
        var noPassword = ReplicationSession(ReplicationSession.Settings(user: "u", password: nil, database: "d", slot: "s", publication: "p", startLSN: 0))
        #expect(noPassword.received(Self.frame("R") { $0.writeInteger(Int32(5)); $0.writeBytes([1, 2, 3, 4]) }) ==
            [.fail(message: "the server asks for a password and none was given", sqlState: nil)])
        var kerberos = ReplicationSession(Self.settings)
        #expect(kerberos.received(Self.frame("R") { $0.writeInteger(Int32(7)) }) ==
            [.fail(message: "the server asks for an authentication method this client does not support (code 7)", sqlState: nil)])
    }

    @Test func scramSha256WithPostgresAsTheServer() throws {
        // The server side is Vltava's own SCRAM server, which checks the proof as PostgreSQL does (PostgreSQL ignores
        // the SCRAM user name: the start-up message's counts; the client sends it anyway).
        let credential = try ScramCredential(mechanism: .sha256, password: "secret", iterations: 4096)
        var server = ScramServer(mechanism: .sha256, credentials: SaslCredentials(scramCredential: { _, _ in credential }))
        var session = ReplicationSession(Self.settings)
        let offered = session.received(Self.frame("R") { body in
            body.writeInteger(Int32(10))
            body.writeString("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")
        })
        var first = try #require(Self.sent(offered).first)
        #expect(first.readInteger(as: UInt8.self) == UInt8(ascii: "p"))
        _ = first.readInteger(as: Int32.self)
        #expect(first.readString(length: 14) == "SCRAM-SHA-256\0")
        let length = first.readInteger(as: Int32.self) ?? 0
        let clientFirst = first.readBytes(length: Int(length)) ?? []
        guard case let .challenge(challenge) = server.evaluate(clientFirst) else { Issue.record("no challenge"); return }
        let continued = session.received(Self.frame("R") { $0.writeInteger(Int32(11)); $0.writeBytes(challenge) })
        var final = try #require(Self.sent(continued).first)
        _ = final.readInteger(as: UInt8.self)
        _ = final.readInteger(as: Int32.self)
        let proof = final.readBytes(length: final.readableBytes) ?? []
        guard case let .authenticated(_, serverFinal) = server.evaluate(proof) else {
            Issue.record("the server refused the proof")
            return
        }
        #expect(session.received(Self.frame("R") { $0.writeInteger(Int32(12)); $0.writeBytes(serverFinal) }).isEmpty)
        #expect(session.received(Self.frame("R") { $0.writeInteger(Int32(0)) }).isEmpty)
        #expect(session.state == .awaitingReady)
    }

    @Test func statusUpdateReportsTheConfirmedPosition() {
        var update = ReplicationSession.statusUpdate(flushed: 0x1_0000_0020, micros: 5)
        #expect(update.readInteger(as: UInt8.self) == UInt8(ascii: "d"))
        #expect(update.readInteger(as: Int32.self) == 38)
        #expect(update.readInteger(as: UInt8.self) == UInt8(ascii: "r"))
        for _ in 0..<3 { #expect(update.readInteger(as: UInt64.self) == 0x1_0000_0020) }
        #expect(update.readInteger(as: Int64.self) == 5)
        #expect(update.readInteger(as: UInt8.self) == 0)
        #expect(update.readableBytes == 0)
    }

    @Test func aResentStreamSkipsWhatWasEmitted() {
        var position = CdcPosition()
        #expect(position.began(commit: 100) == 0)
        position.emitted(offset: CdcPosition.offset(commit: 100, lsn: 90, xid: 1, commitMicros: 0, complete: false), commit: 100, lsn: 90, complete: false)
        position.restarted()
        #expect(position.began(commit: 100) == 90, "the change emitted before the restart is skipped, the rest are not")
        position.emitted(offset: CdcPosition.offset(commit: 100, lsn: 95, xid: 1, commitMicros: 0, complete: true), commit: 100, lsn: 95, complete: true)
        position.committed(commit: 100, end: 108, emittedWhole: true)
        #expect(position.began(commit: 100) == .max)
        #expect(position.began(commit: 200) == 0)
        // From stored offsets, as a restarted task sees them.
        var stored = CdcPosition(stored: CdcPosition.offset(commit: 300, lsn: 250, xid: 2, commitMicros: 0, complete: false))
        #expect(stored.began(commit: 200) == 0, "an earlier transaction not emitted whole is not known to this offset")
        #expect(stored.began(commit: 300) == 250)
        var whole = CdcPosition(stored: CdcPosition.offset(commit: 300, lsn: 250, xid: 2, commitMicros: 0, complete: true))
        #expect(whole.began(commit: 300) == .max)
        #expect(whole.lastCommit == 300)
    }

    @Test func theSlotIsConfirmedOnlyPastWhatKafkaAcknowledged() {
        var position = CdcPosition()
        position.keepalive(walEnd: 50)
        #expect(position.confirmable(acknowledged: nil) == 50, "nothing emitted: everything read may go")
        _ = position.began(commit: 100)
        position.keepalive(walEnd: 70)  // inside a transaction: not a safe point
        let first = CdcPosition.offset(commit: 100, lsn: 90, xid: 1, commitMicros: 0, complete: true)
        position.emitted(offset: first, commit: 100, lsn: 90, complete: true)
        position.committed(commit: 100, end: 108, emittedWhole: true)
        _ = position.began(commit: 200)
        let second = CdcPosition.offset(commit: 200, lsn: 150, xid: 2, commitMicros: 0, complete: false)
        position.emitted(offset: second, commit: 200, lsn: 150, complete: false)
        #expect(position.confirmable(acknowledged: nil) == 0, "nothing acknowledged")
        #expect(position.confirmable(acknowledged: first) == 108, "past the acknowledged transaction's commit")
        #expect(position.confirmable(acknowledged: second) == 108, "a part of a transaction does not move the slot past it")
        let last = CdcPosition.offset(commit: 200, lsn: 160, xid: 2, commitMicros: 0, complete: true)
        position.emitted(offset: last, commit: 200, lsn: 160, complete: true)
        position.committed(commit: 200, end: 208, emittedWhole: true)
        position.committed(commit: 300, end: 320, emittedWhole: false)  // a transaction of tables not captured
        position.keepalive(walEnd: 400)
        #expect(position.confirmable(acknowledged: last) == 400, "caught up: past everything read")
    }

    @Test func heartbeatsCarryTheWholeTransactionsPosition() {
        var position = CdcPosition()
        position.keepalive(walEnd: 40)
        let idle = position.heartbeat(micros: 7)
        #expect(idle?[entry: "lsn_commit"]?.integerValue == 0 && idle?[entry: "tx_complete"]?.booleanValue == true)
        #expect(position.confirmable(acknowledged: idle) == 40, "an acknowledged heartbeat lets the slot follow")
        _ = position.began(commit: 100)
        #expect(position.heartbeat(micros: 8) == nil, "not inside a transaction")
        let part = CdcPosition.offset(commit: 100, lsn: 90, xid: 1, commitMicros: 0, complete: false)
        position.emitted(offset: part, commit: 100, lsn: 90, complete: false)
        position.committed(commit: 100, end: 108, emittedWhole: false)
        #expect(position.heartbeat(micros: 9) == nil, "not while a transaction is emitted in part")
        var restored = CdcPosition(stored: idle)
        #expect(restored.began(commit: 100) == 0, "a heartbeat's offset skips nothing that was not emitted")
    }
}

