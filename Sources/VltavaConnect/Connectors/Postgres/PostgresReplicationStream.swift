import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import VltavaClient
import VltavaSecurity

/// Why a replication stream could not start or went on no longer: the failure in plain words, and PostgreSQL's SQLSTATE
/// when the server refused.
struct ReplicationFailure: Error, CustomStringConvertible {
    var message: String
    var sqlState: String?

    var description: String { sqlState.map { "\(message) [SQLSTATE \($0)]" } ?? message }

    /// Another session streams the slot (object_in_use): one PostgreSQL has not yet seen close, usually.
    var isSlotInUse: Bool { sqlState == "55006" }
}

/// A logical replication stream from PostgreSQL (the streaming replication protocol, as Debezium reads it): each
/// change is decoded once by the server and pushed at its commit. Used from a connector task's blocking thread: `take`
/// waits for what arrived, `confirm` tells the server how far Kafka has stored it, which moves the slot.
///
/// Reading stops while more than `ReplicationInbox.limit` bytes wait to be taken, so a slow task holds the server back
/// rather than filling memory.
final class PostgresReplicationStream: @unchecked Sendable {
    enum Event {
        /// A pgoutput message and the LSN of its change.
        case message(lsn: UInt64, ByteBuffer)
        /// The server has sent everything up to `walEnd`.
        case keepalive(walEnd: UInt64)
    }

    private let channel: any Channel
    private let inbox: ReplicationInbox
    let target: String

    private init(channel: any Channel, inbox: ReplicationInbox, target: String) {
        self.channel = channel
        self.inbox = inbox
        self.target = target
    }

    /// Connects (TLS as `sslmode` says), authenticates and starts streaming `slot` from its confirmed position.
    static func open(_ settings: PostgresSettings, slot: String, publication: String,
                     logger: Logger) throws(ReplicationFailure) -> PostgresReplicationStream {
        let inbox = ReplicationInbox()
        let session = ReplicationSession(ReplicationSession.Settings(
            user: settings.user, password: settings.password, database: settings.database, slot: slot,
            publication: publication, startLSN: 0))
        let sslContext: NIOSSLContext?
        do {
            sslContext = try settings.sslContext()
        } catch {
            throw ReplicationFailure(message: error.description)
        }
        let required = settings.requiresTLS
        // A host name is sent for SNI and checked against the certificate; an IP address literal is not a host name.
        let hostname = (try? SocketAddress(ipAddress: settings.host, port: 0)) == nil ? settings.host : nil
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers: [any ChannelHandler] = [ByteToMessageHandler(PostgresFrameDecoder()),
                                                         ReplicationHandler(session: session, inbox: inbox)]
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(TLSNegotiation(
                            context: sslContext, hostname: hostname, required: required, then: handlers, inbox: inbox))
                    } else {
                        try channel.pipeline.syncOperations.addHandlers(handlers)
                    }
                }
            }
        let channel: any Channel
        do {
            channel = try bootstrap.connect(host: settings.host, port: settings.port).wait()
        } catch {
            throw ReplicationFailure(message: "cannot connect to PostgreSQL at \(settings.target): \(NetworkFailure.describe(error))")
        }
        let stream = PostgresReplicationStream(channel: channel, inbox: inbox, target: settings.target)
        do throws(ReplicationFailure) {
            try inbox.waitUntilStarted(timeout: .seconds(30))
        } catch {
            stream.close()
            throw ReplicationFailure(message: "PostgreSQL at \(settings.target): \(error.message)", sqlState: error.sqlState)
        }
        logger.debug("replication stream started", metadata: ["slot": "\(slot)", "server": "\(settings.target)"])
        return stream
    }

    /// What arrived, waiting up to `wait` when nothing has; the stream's failure once everything before it was taken.
    func take(waitingUpTo wait: Duration) throws(ConnectError) -> [Event] {
        let (events, failure, resume) = inbox.take(waitingUpTo: wait)
        if resume { channel.read() }
        if events.isEmpty, let failure { throw .failed("PostgreSQL at \(target): \(failure)") }
        return events
    }

    /// Tells the server that everything before `lsn` is stored, so the slot may move past it.
    func confirm(_ lsn: UInt64) {
        guard inbox.confirm(lsn) else { return }
        channel.writeAndFlush(ReplicationSession.statusUpdate(flushed: lsn, micros: ReplicationHandler.postgresMicros()),
                              promise: nil)
    }

    func close() {
        let channel = self.channel
        channel.eventLoop.execute {
            guard channel.isActive else { return }
            channel.writeAndFlush(ReplicationSession.terminate).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    deinit {
        close()
    }
}

/// What the event loop received, waiting for the task's thread: events, the stream's failure, the confirmed position.
final class ReplicationInbox: @unchecked Sendable {
    static let limit = 8 * 1024 * 1024

    /// 1 when there is something for the task (events, the start, a failure), 0 otherwise.
    private let condition = ConditionLock(value: 0)
    private var events: [PostgresReplicationStream.Event] = []
    private var bytes = 0
    private var started = false
    private var paused = false
    private var failure: ReplicationFailure?
    private var confirmed: UInt64 = 0

    /// Adds events; false when the task is this far behind and reading should pause until it takes them.
    func append(_ new: [PostgresReplicationStream.Event], bytes size: Int) -> Bool {
        condition.lock()
        events += new
        bytes += size
        paused = bytes >= Self.limit
        let keepReading = !paused
        condition.unlock(withValue: 1)
        return keepReading
    }

    func markStarted() {
        condition.lock()
        started = true
        condition.unlock(withValue: 1)
    }

    func fail(_ message: String, sqlState: String? = nil) {
        condition.lock()
        if failure == nil { failure = ReplicationFailure(message: message, sqlState: sqlState) }
        condition.unlock(withValue: 1)
    }

    func waitUntilStarted(timeout: Duration) throws(ReplicationFailure) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, condition.lock(whenValue: 1, timeoutSeconds: Self.seconds(remaining)) else {
                throw ReplicationFailure(message: "the replication stream did not start within \(timeout)")
            }
            let (isStarted, failure) = (started, self.failure)
            condition.unlock(withValue: events.isEmpty && failure == nil ? 0 : 1)
            if let failure { throw failure }
            if isStarted { return }
        }
    }

    func take(waitingUpTo wait: Duration) -> (events: [PostgresReplicationStream.Event], failure: ReplicationFailure?, resume: Bool) {
        if wait <= .zero || !condition.lock(whenValue: 1, timeoutSeconds: Self.seconds(wait)) { condition.lock() }
        let taken = events
        events = []
        bytes = 0
        let resume = paused
        paused = false
        let failure = self.failure
        condition.unlock(withValue: failure == nil ? 0 : 1)
        return (taken, failure, resume)
    }

    /// Records a new confirmed position; false when it does not move forward.
    func confirm(_ lsn: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard lsn > confirmed else { return false }
        confirmed = lsn
        return true
    }

    var confirmedPosition: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return confirmed
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The thin channel side of `ReplicationSession`: sends what it asks, hands WAL data to the inbox a read at a time,
/// answers keepalives and sends a status update every ten seconds.
final class ReplicationHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = PostgresFrame
    typealias OutboundOut = ByteBuffer

    private var session: ReplicationSession
    private let inbox: ReplicationInbox
    private var pending: [PostgresReplicationStream.Event] = []
    private var pendingBytes = 0
    private var keepReading = true
    private var begun = false
    private var statusTask: RepeatedTask?

    init(session: ReplicationSession, inbox: ReplicationInbox) {
        self.session = session
        self.inbox = inbox
    }

    /// Microseconds since 2000-01-01, PostgreSQL's epoch.
    static func postgresMicros() -> Int64 {
        WallClock.microseconds() - PostgresParameter.postgresEpochMicros
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    private func begin(_ context: ChannelHandlerContext) {
        guard !begun else { return }
        begun = true
        context.writeAndFlush(wrapOutboundOut(session.startup), promise: nil)
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        for action in session.received(unwrapInboundIn(data)) {
            switch action {
            case let .send(bytes):
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            case .started:
                inbox.markStarted()
                let channel = context.channel, inbox = self.inbox
                statusTask = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(10), delay: .seconds(10)) { _ in
                    channel.writeAndFlush(ReplicationSession.statusUpdate(flushed: inbox.confirmedPosition, micros: Self.postgresMicros()),
                                          promise: nil)
                }
            case let .data(walStart, message):
                pending.append(.message(lsn: walStart, message))
                pendingBytes += message.readableBytes + 64
            case let .keepalive(walEnd, replyRequested):
                pending.append(.keepalive(walEnd: walEnd))
                if replyRequested {
                    let update = ReplicationSession.statusUpdate(flushed: inbox.confirmedPosition, micros: Self.postgresMicros())
                    context.writeAndFlush(wrapOutboundOut(update), promise: nil)
                }
            case let .fail(message, sqlState):
                inbox.fail(message, sqlState: sqlState)
                context.close(promise: nil)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !pending.isEmpty {
            keepReading = inbox.append(pending, bytes: pendingBytes)
            pending = []
            pendingBytes = 0
        }
        if keepReading { context.read() }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.fail(error is PostgresFrameDecoder.Oversized ? "the server sent a message larger than 256 MiB"
                                                           : NetworkFailure.describe(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        statusTask?.cancel()
        statusTask = nil
        if !pending.isEmpty {
            _ = inbox.append(pending, bytes: pendingBytes)
            pending = []
        }
        inbox.fail("the connection was closed")
        context.fireChannelInactive()
    }
}

/// PostgreSQL's TLS start: an SSLRequest, answered by one byte (`S` yes, `N` no). On yes TLS is set up in front of the
/// pipeline, then the protocol's handlers take over; on no the connection goes on in the clear unless TLS is required.
final class TLSNegotiation: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let sslContext: NIOSSLContext
    private let hostname: String?
    private let required: Bool
    private let handlers: [any ChannelHandler]
    private let inbox: ReplicationInbox
    private var answered = false

    init(context: NIOSSLContext, hostname: String?, required: Bool, then handlers: [any ChannelHandler], inbox: ReplicationInbox) {
        self.sslContext = context
        self.hostname = hostname
        self.required = required
        self.handlers = handlers
        self.inbox = inbox
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = ByteBuffer()
        request.writeInteger(Int32(8))
        request.writeInteger(Int32(80_877_103))
        context.writeAndFlush(NIOAny(request), promise: nil)
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !answered, let answer = bytes.readInteger(as: UInt8.self) else { return }
        answered = true
        // Bytes after the answer would have been sent before the TLS handshake: refuse them (CVE-2021-23214).
        guard bytes.readableBytes == 0 else { return fail(context, "the server sent data before the TLS handshake") }
        do {
            switch answer {
            case UInt8(ascii: "S"):
                let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: hostname)
                try context.pipeline.syncOperations.addHandler(tls, position: .first)
            case UInt8(ascii: "N") where !required:
                break
            case UInt8(ascii: "N"):
                return fail(context, "the server does not accept TLS (set sslmode=disable or prefer)")
            default:
                return fail(context, "the server answered the TLS request with an unknown byte")
            }
            try context.pipeline.syncOperations.addHandlers(handlers, position: .after(self))
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        } catch {
            fail(context, NetworkFailure.describe(error))
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ message: String) {
        inbox.fail(message)
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, NetworkFailure.describe(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.fail("the connection was closed")
        context.fireChannelInactive()
    }
}
