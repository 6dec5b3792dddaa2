import Crypto
import NIOCore
import VltavaSecurity

/// One message from a PostgreSQL server: its type byte and its body (the length prefix taken off).
struct PostgresFrame: Sendable {
    var type: UInt8
    var body: ByteBuffer
}

/// Cuts the server's byte stream into frames. A frame longer than `maximumLength` (a server gone wrong, or not a
/// PostgreSQL server) is an error rather than memory spent waiting for it.
struct PostgresFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = PostgresFrame
    static let maximumLength = 256 * 1024 * 1024

    struct Oversized: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self) else { return .needMoreData }
        guard length >= 4, Int(length) <= Self.maximumLength else { throw Oversized() }
        guard buffer.readableBytes >= 1 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 5)
        guard let body = buffer.readSlice(length: Int(length) - 4) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(PostgresFrame(type: type, body: body)))
        return .continue
    }
}

/// The client side of a logical replication connection (`replication=database`), as a state machine without I/O:
/// the start-up message, authentication (trust, password, MD5, SCRAM-SHA-256), `START_REPLICATION`, then the
/// stream's WAL data and keepalives. Each frame from the server gives the actions to take.
struct ReplicationSession {
    enum State {
        case authenticating
        case awaitingReady
        case starting
        case streaming
        case failed
    }

    enum Action: Equatable {
        /// Bytes to send to the server.
        case send(ByteBuffer)
        /// `START_REPLICATION` was accepted: WAL data follows.
        case started
        /// A pgoutput message at `walStart`.
        case data(walStart: UInt64, message: ByteBuffer)
        /// The server's position; a status update is due at once when `replyRequested`.
        case keepalive(walEnd: UInt64, replyRequested: Bool)
        /// The session cannot go on (PostgreSQL's message in plain words, its SQLSTATE when it sent one).
        case fail(message: String, sqlState: String?)
    }

    struct Settings {
        var user: String
        var password: String?
        var database: String
        var slot: String
        var publication: String
        var startLSN: UInt64
    }

    private(set) var state = State.authenticating
    private let settings: Settings
    private var scram: ScramClient?

    init(_ settings: Settings) {
        self.settings = settings
    }

    /// The start-up message: protocol 3.0, the user and database, and a logical replication connection.
    var startup: ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(Int32(196_608))
        for (name, value) in [("user", settings.user), ("database", settings.database), ("replication", "database"),
                              ("application_name", "vltava-connect")] {
            Self.writeCString(name, to: &body)
            Self.writeCString(value, to: &body)
        }
        body.writeInteger(UInt8(0))
        var message = ByteBuffer()
        message.writeInteger(Int32(body.readableBytes + 4))
        message.writeBuffer(&body)
        return message
    }

    /// The command that starts the stream, with identifiers quoted as PostgreSQL reads them.
    var startCommand: String {
        let publication = SQLIdentifier.quote(settings.publication).replacing("'", with: "''")
        return "START_REPLICATION SLOT \(SQLIdentifier.quote(settings.slot)) LOGICAL \(LSN.text(settings.startLSN)) (proto_version '1', publication_names '\(publication)')"
    }

    mutating func received(_ frame: PostgresFrame) -> [Action] {
        var body = frame.body
        switch (state, frame.type) {
        case (.failed, _):
            return []
        case (_, UInt8(ascii: "E")):
            state = .failed
            let fields = Self.errorFields(&body)
            var message = fields[UInt8(ascii: "M")] ?? "error"
            if let detail = fields[UInt8(ascii: "D")] { message += " (\(detail))" }
            return [.fail(message: message, sqlState: fields[UInt8(ascii: "C")])]
        case (.authenticating, UInt8(ascii: "R")):
            return authenticate(&body)
        case (.authenticating, UInt8(ascii: "Z")), (.awaitingReady, UInt8(ascii: "Z")):
            state = .starting
            return [.send(Self.query(startCommand))]
        case (.starting, UInt8(ascii: "W")):
            state = .streaming
            return [.started]
        case (.streaming, UInt8(ascii: "d")):
            return copyData(&body)
        case (.streaming, UInt8(ascii: "c")), (.streaming, UInt8(ascii: "C")), (.starting, UInt8(ascii: "C")):
            state = .failed
            return [.fail(message: "the server ended the replication stream", sqlState: nil)]
        default:
            // ParameterStatus, BackendKeyData, NoticeResponse, and anything this client does not need.
            return []
        }
    }

    private mutating func authenticate(_ body: inout ByteBuffer) -> [Action] {
        guard let code = body.readInteger(as: Int32.self) else { return failure("the server sent an unreadable authentication request") }
        switch code {
        case 0:
            state = .awaitingReady
            return []
        case 3:
            guard let password = settings.password else { return failure("the server asks for a password and none was given") }
            return [.send(Self.passwordMessage(password))]
        case 5:
            guard let password = settings.password else { return failure("the server asks for a password and none was given") }
            guard let salt = body.readBytes(length: 4) else { return failure("the server sent an unreadable MD5 salt") }
            return [.send(Self.passwordMessage(Self.md5Password(user: settings.user, password: password, salt: salt)))]
        case 10:
            var mechanisms: [String] = []
            while let name = Self.readCString(&body), !name.isEmpty { mechanisms.append(name) }
            guard mechanisms.contains(ScramMechanism.sha256.rawValue) else {
                return failure("the server offers none of the SASL mechanisms this client has (\(mechanisms.joined(separator: ", ")))")
            }
            guard let password = settings.password else { return failure("the server asks for a password and none was given") }
            let client = ScramClient(mechanism: .sha256, user: settings.user, password: password)
            scram = client
            var message = ByteBuffer()
            Self.writeCString(ScramMechanism.sha256.rawValue, to: &message)
            message.writeInteger(Int32(client.firstMessage.count))
            message.writeBytes(client.firstMessage)
            return [.send(Self.frame(UInt8(ascii: "p"), message))]
        case 11:
            guard var client = scram, let challenge = body.readBytes(length: body.readableBytes) else {
                return failure("the server continued a SASL exchange that was not started")
            }
            let final: [UInt8]
            do {
                final = try client.finalMessage(for: challenge)
            } catch {
                return failure("the server's SCRAM challenge is invalid")
            }
            scram = client
            return [.send(Self.frame(UInt8(ascii: "p"), ByteBuffer(bytes: final)))]
        case 12:
            guard let client = scram, let final = body.readBytes(length: body.readableBytes), client.verifies(serverFinal: final) else {
                return failure("the server's SCRAM signature does not match: it does not hold this user's password")
            }
            return []
        default:
            return failure("the server asks for an authentication method this client does not support (code \(code))")
        }
    }

    private mutating func copyData(_ body: inout ByteBuffer) -> [Action] {
        switch body.readInteger(as: UInt8.self) {
        case UInt8(ascii: "w"):
            guard let start = body.readInteger(as: UInt64.self), body.readInteger(as: UInt64.self) != nil,
                  body.readInteger(as: Int64.self) != nil else { return failure("the server sent unreadable WAL data") }
            return [.data(walStart: start, message: body)]
        case UInt8(ascii: "k"):
            guard let end = body.readInteger(as: UInt64.self), body.readInteger(as: Int64.self) != nil,
                  let reply = body.readInteger(as: UInt8.self) else { return failure("the server sent an unreadable keepalive") }
            return [.keepalive(walEnd: end, replyRequested: reply != 0)]
        default:
            return []
        }
    }

    private mutating func failure(_ message: String) -> [Action] {
        state = .failed
        return [.fail(message: message, sqlState: nil)]
    }

    /// A standby status update: everything up to `flushed` is safely stored by the client (Kafka acknowledged it), so
    /// the slot may move past it. `micros` is the client's clock in microseconds since 2000-01-01.
    static func statusUpdate(flushed: UInt64, micros: Int64, replyRequested: Bool = false) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeInteger(UInt8(ascii: "r"))
        body.writeInteger(flushed)
        body.writeInteger(flushed)
        body.writeInteger(flushed)
        body.writeInteger(micros)
        body.writeInteger(UInt8(replyRequested ? 1 : 0))
        return frame(UInt8(ascii: "d"), body)
    }

    static var terminate: ByteBuffer { frame(UInt8(ascii: "X"), ByteBuffer()) }

    static func query(_ sql: String) -> ByteBuffer {
        var body = ByteBuffer()
        writeCString(sql, to: &body)
        return frame(UInt8(ascii: "Q"), body)
    }

    /// `md5` and the hex digest of the hex digest of password and user, salted.
    static func md5Password(user: String, password: String, salt: [UInt8]) -> String {
        let inner = hex(Insecure.MD5.hash(data: Array((password + user).utf8)))
        return "md5" + hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt))
    }

    private static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func passwordMessage(_ password: String) -> ByteBuffer {
        var body = ByteBuffer()
        writeCString(password, to: &body)
        return frame(UInt8(ascii: "p"), body)
    }

    static func frame(_ type: UInt8, _ body: ByteBuffer) -> ByteBuffer {
        var body = body
        var message = ByteBuffer()
        message.reserveCapacity(5 + body.readableBytes)
        message.writeInteger(type)
        message.writeInteger(Int32(body.readableBytes + 4))
        message.writeBuffer(&body)
        return message
    }

    private static func writeCString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeString(text)
        buffer.writeInteger(UInt8(0))
    }

    private static func readCString(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: 0) else { return nil }
        let text = buffer.readString(length: end - buffer.readableBytesView.startIndex)
        buffer.moveReaderIndex(forwardBy: 1)
        return text
    }

    /// An ErrorResponse's fields by their type byte (`M` message, `D` detail, `C` SQLSTATE).
    private static func errorFields(_ body: inout ByteBuffer) -> [UInt8: String] {
        var fields: [UInt8: String] = [:]
        while let type = body.readInteger(as: UInt8.self), type != 0, let value = readCString(&body) {
            fields[type] = value
        }
        return fields
    }
}
