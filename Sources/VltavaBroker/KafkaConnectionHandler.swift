import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS
import VltavaSecurity

/// One client connection: a thin channel handler around `ConnectionStateMachine`. It splits the incoming bytes
/// into request frames, starts each request (on the broker's request-handler pool), and writes the answers in
/// request order, as Kafka clients require. Reading stops while too many answers are outstanding, while the
/// answers queued for a slow reader are over the limit, or while the request memory pool is full; idle
/// connections and frames that never complete are closed. Whatever pending answers hold (file descriptors of
/// fetches) is released when the connection goes away.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let broker: Broker
    private let listenerName: String
    private let logger: Logger
    private let memory: RequestMemoryPool
    private var machine: ConnectionStateMachine
    private var frameAccumulator: KafkaFrameAccumulator
    private var frames: [Int: KafkaRequestFrame] = [:]
    /// Answers ready and waiting for their turn to be written, with the header of their request.
    private var results: [Int: (header: AnswerHeader, result: Result<BrokerResponse, Error>)] = [:]
    private var readHeldBack = false
    private var connection: ConnectionContext?
    private var timer: Scheduled<Void>?
    private var onClose: (() -> Void)?
    private var authenticator: SaslAuthenticator
    private let security: ListenerSecurity
    /// Answers made on the event loop (SASL), waiting for their request's turn to start.
    private var prepared: [Int: (answer: SaslAuthenticator.Answer, header: AnswerHeader)] = [:]

    init(broker: Broker, listenerName: String, security: ListenerSecurity = .plaintext, credentials: SaslCredentials = SaslCredentials(),
         limits: ConnectionLimits, memory: RequestMemoryPool, logger: Logger, onClose: (() -> Void)? = nil) {
        self.broker = broker
        self.listenerName = listenerName
        self.logger = logger
        self.memory = memory
        self.onClose = onClose
        self.security = security
        self.authenticator = SaslAuthenticator(security: security, credentials: credentials)
        self.machine = ConnectionStateMachine(limits: limits, nowMs: Self.nowMs())
        if authenticator.isAuthenticating { machine.unauthenticatedFrameLimit = security.maximumUnauthenticatedBytes }
        // Over TLS each frame is copied out of the read: NIOSSLHandler decrypts the next bytes into the same storage.
        self.frameAccumulator = KafkaFrameAccumulator(maximumFrameSize: limits.maximumRequestBytes, copiesFrames: security.tls != nil)
    }

    static func nowMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    func channelActive(context: ChannelHandlerContext) {
        let local = context.channel.localAddress
        connection = ConnectionContext(
            eventLoop: context.eventLoop, listenerName: listenerName,
            localHost: local?.ipAddress ?? "localhost", localPort: local?.port ?? 9092,
            clientHost: context.channel.remoteAddress?.ipAddress ?? "unknown", principal: authenticator.principal,
            usesTls: security.tls != nil)
        if let connection { jobs = ConnectionJobQueue(throttle: connection.throttle, eventLoop: context.eventLoop) }
        let clientHost = connection?.clientHost ?? "unknown"
        let delay = broker.quotas.isActive ? broker.quotas.recordConnection(ip: clientHost, nowMs: broker.clock()) : 0
        if delay > 0 {
            // connection_creation_rate (KIP-612): over it, the connection is held unread, then closed.
            logger.info("closing a connection over its IP's connection_creation_rate", metadata: [
                "client": "\(clientHost)", "delayMs": "\(delay)"])
            overConnectionRate = true
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(delay)) { context.close(promise: nil) }
            context.fireChannelActive()
            return
        }
        scheduleTick(context: context)
        context.fireChannelActive()
    }

    /// Once TLS is set up, an SSL listener's client is who its certificate says (`ssl.principal.mapping.rules`); a
    /// certificate no rule maps is refused, as Kafka refuses it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = security.tls, !security.securityProtocol.usesSasl, case TLSUserEvent.handshakeCompleted = event {
            let certificate = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate
            if let certificate {
                guard let name = TLSServerSettings.distinguishedName(of: certificate), let user = tls.settings.principalMapper.name(for: name) else {
                    carryOut([.close(reason: "no ssl.principal.mapping.rules rule maps the client certificate's name")], context: context)
                    return
                }
                connection?.principal = "User:\(user)"
                logger.debug("client certificate accepted", metadata: ["client": "\(connection?.clientHost ?? "?")", "principal": "User:\(user)"])
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        memory.release(machine.closed().memory)
        releaseAll()
        frames.removeAll()
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    /// Drops every answer still waiting, closing what they hold.
    private func releaseAll() {
        for (_, waiting) in results { release(waiting.result) }
        results.removeAll()
        prepared.removeAll()
    }

    /// Closes the descriptors a fetch answer holds that will never be written.
    private func release(_ result: Result<BrokerResponse, Error>?) {
        if case let .success(.fetch(_, records)) = result { records.close() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let now = Self.nowMs()
        let memory = self.memory
        carryOut(machine.bytesReceived(bytes, nowMs: now, reserve: { memory.reserve($0) }), context: context)
        guard !machine.isClosed else { return }
        inRead = true
        defer {
            inRead = false
            dispatchGathered(context: context)
            machine.brokerWasBusy(milliseconds: Self.nowMs() - now)
        }
        do {
            try frameAccumulator.process(bytes) { payload in
                self.frameReceived(payload, context: context)
            }
        } catch {
            logger.info("closing connection after an unreadable request frame", metadata: [
                "client": "\(connection?.clientHost ?? "?")", "error": "\(error)",
            ])
            context.close(promise: nil)
        }
    }

    private func frameReceived(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        guard !machine.isClosed else { return }
        let now = Self.nowMs()
        if authenticator.expectsRawToken {
            switch authenticator.authenticate(rawToken: Array(payload.readableBytesView), nowMs: now) {
            case let .token(bytes):
                authenticationProgressed()
                prepare(SaslAuthenticator.Answer(response: .saslToken(bytes), closeReason: nil),
                        header: AnswerHeader(correlationId: 0, apiKey: nil, version: 0), nowMs: now, context: context)
            case let .close(reason):
                carryOut([.close(reason: reason)], context: context)
            }
            return
        }
        let frame: KafkaRequestFrame
        do {
            frame = try KafkaRequestFrame(payload: payload)
        } catch {
            logger.info("closing connection after an unreadable request header", metadata: [
                "client": "\(connection?.clientHost ?? "?")", "error": "\(error)",
            ])
            context.close(promise: nil)
            return
        }
        switch authenticator.admission(of: frame.apiKey, nowMs: now) {
        case .serve:
            let (sequence, actions) = machine.requestReceived(nowMs: now)
            frames[sequence] = frame
            carryOut(actions, context: context)
        case .authenticate:
            let header = AnswerHeader(correlationId: frame.header.correlationId, apiKey: frame.apiKey, version: frame.header.requestApiVersion)
            prepare(authenticate(frame, nowMs: now), header: header, nowMs: now, context: context)
        case let .close(reason):
            carryOut([.close(reason: reason)], context: context)
        }
    }

    /// Answers a SaslHandshake or SaslAuthenticate here, on the event loop, at once: the next frame's admission
    /// depends on it (the exchange is a few hashes; SCRAM's slow key derivation happened when the user was made).
    private func authenticate(_ frame: KafkaRequestFrame, nowMs: Int64) -> SaslAuthenticator.Answer {
        let version = frame.header.requestApiVersion
        var body = frame.body
        let answer: SaslAuthenticator.Answer
        switch frame.apiKey.flatMap({ try? KafkaRequestBody.decode(apiKey: $0, version: version, from: &body) }) {
        case let .saslHandshake(request)? where SaslHandshakeRequest.validVersions.contains(version):
            answer = authenticator.handshake(request, version: version)
        case let .saslAuthenticate(request)? where SaslAuthenticateRequest.validVersions.contains(version):
            answer = authenticator.authenticate(request, version: version, nowMs: nowMs)
        default:
            return SaslAuthenticator.Answer(response: .none, closeReason: "malformed or unsupported \(frame.apiKey?.name ?? "SASL") request")
        }
        authenticationProgressed()
        return answer
    }

    /// After a step of authentication: the principal of later requests, and the frame limit.
    private func authenticationProgressed() {
        if connection?.principal != authenticator.principal {
            logger.debug("SASL client authenticated", metadata: [
                "client": "\(connection?.clientHost ?? "?")", "principal": "\(authenticator.principal)"])
        }
        connection?.principal = authenticator.principal
        if !authenticator.isAuthenticating { machine.unauthenticatedFrameLimit = nil }
    }

    /// Queues an answer made here in request order: it is written when the requests before it are answered.
    private func prepare(_ answer: SaslAuthenticator.Answer, header: AnswerHeader, nowMs: Int64, context: ChannelHandlerContext) {
        if case .none = answer.response, let reason = answer.closeReason {
            carryOut([.close(reason: reason)], context: context)
            return
        }
        let (sequence, actions) = machine.requestReceived(nowMs: nowMs)
        prepared[sequence] = (answer, header)
        carryOut(actions, context: context)
    }

    /// Requests to start, gathered while a read is processed, so that the frames of one read go to the
    /// request-handler pool as one job (one thread wake-up, not one per request).
    private var toDispatch: [(Int, KafkaRequestFrame)] = []
    /// Keeps this connection's requests starting in order on the pool.
    private var jobs = ConnectionJobQueue()
    private var inRead = false

    private func dispatch(_ sequence: Int, context: ChannelHandlerContext) {
        if let (answer, header) = prepared.removeValue(forKey: sequence) {
            answered(sequence, header: header, result: .success(answer.response), closeAfter: answer.closeReason, context: context)
            return
        }
        guard let frame = frames.removeValue(forKey: sequence) else { return }
        toDispatch.append((sequence, frame))
        if !inRead { dispatchGathered(context: context) }
    }

    /// True while `dispatchGathered` runs: an answer that is ready at once (ApiVersions) frees a slot and lets
    /// the next parked request start from inside the loop below; that request is gathered and started by the same
    /// loop, never by a nested call (thousands of pipelined ApiVersions would otherwise recurse until the stack
    /// overflows).
    private var dispatching = false

    /// A flush asked for while a read or `dispatchGathered` runs: done once at its end, so that the answers of
    /// many pipelined requests leave in one write, not one each.
    private var flushWanted = false

    private func dispatchGathered(context: ChannelHandlerContext) {
        guard !dispatching, let connection else { return }
        dispatching = true
        defer { dispatching = false }
        repeat {
            while !toDispatch.isEmpty, !machine.isClosed {
                let batch = toDispatch
                toDispatch.removeAll(keepingCapacity: true)
                let futures = broker.submit(batch.map(\.1), connection: connection, queue: jobs)
                let arrived = NIODeadline.now().uptimeNanoseconds
                for ((sequence, frame), future) in zip(batch, futures) {
                    // Only the header is kept while the answer is awaited (a JoinGroup may wait a whole rebalance):
                    // the frame's bytes must not stay alive with it.
                    let header = AnswerHeader(correlationId: frame.header.correlationId, apiKey: frame.apiKey,
                                              version: frame.header.requestApiVersion, arrivedNanoseconds: arrived)
                    future.hop(to: context.eventLoop)
                        .assumeIsolated()
                        .whenComplete { result in
                            self.answered(sequence, header: header, result: result, context: context)
                        }
                }
            }
            // Writes that complete during the flush may let held requests start: they are gathered above.
            if flushWanted, !machine.isClosed {
                flushWanted = false
                context.flush()
            }
        } while (!toDispatch.isEmpty || flushWanted) && !machine.isClosed
        toDispatch.removeAll()
    }

    private struct AnswerHeader {
        var correlationId: Int32
        var apiKey: ApiKey?
        var version: Int16
        /// When the request was handed to the broker (uptime), for the latency histogram; 0 for answers made
        /// on the event loop during authentication, which are not measured.
        var arrivedNanoseconds: UInt64 = 0
    }

    private func answered(_ sequence: Int, header: AnswerHeader, result: Result<BrokerResponse, Error>,
                          closeAfter: String? = nil, context: ChannelHandlerContext) {
        if machine.isClosed {
            release(result)
            return
        }
        if header.arrivedNanoseconds > 0, let apiKey = header.apiKey, case let .success(response) = result {
            let elapsed = NIODeadline.now().uptimeNanoseconds &- header.arrivedNanoseconds
            broker.metrics.requestAnswered(apiKey, nanoseconds: Int64(truncatingIfNeeded: elapsed), errorCodes: .of(response))
        }
        let outcome: ConnectionStateMachine.Outcome
        switch result {
        case let .success(.none):
            if header.apiKey == .produce {
                outcome = .noAnswer
            } else {
                outcome = .failed("no answer for \(header.apiKey?.name ?? "unknown API") v\(header.version)")
            }
        case .success:
            outcome = closeAfter.map { .answeredThenClose($0) } ?? .answered
        case let .failure(error):
            outcome = .failed("\(header.apiKey?.name ?? "unknown API") request failed: \(error)")
        }
        results[sequence] = (header, result)
        carryOut(machine.responseReady(sequence: sequence, outcome, nowMs: Self.nowMs()), context: context)
    }

    private func carryOut(_ actions: [ConnectionStateMachine.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case let .dispatch(sequence):
                dispatch(sequence, context: context)
            case let .write(sequence):
                guard let (header, result) = results.removeValue(forKey: sequence), case let .success(response) = result else {
                    continue
                }
                write(response, correlationId: header.correlationId, apiKey: header.apiKey, version: header.version, context: context)
            case .flush:
                if inRead || dispatching { flushWanted = true } else { context.flush() }
            case let .releaseMemory(bytes):
                memory.release(bytes)
            case let .close(reason):
                logger.info("closing connection", metadata: ["client": "\(connection?.clientHost ?? "?")", "reason": "\(reason)"])
                releaseAll()
                context.close(promise: nil)
                return
            case let .closeAfterSending(reason):
                logger.info("closing connection", metadata: ["client": "\(connection?.clientHost ?? "?")", "reason": "\(reason)"])
                releaseAll()
                // Writes complete in order: once this empty one is done, the answers before it have been sent.
                let promise = context.eventLoop.makePromise(of: Void.self)
                context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
                promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
        }
        resumeReadingIfAllowed(context: context)
    }

    private func write(_ response: BrokerResponse, correlationId: Int32, apiKey: ApiKey?, version: Int16,
                       context: ChannelHandlerContext) {
        do {
            switch response {
            case .none:
                return
            case let .saslToken(bytes):
                var buffer = context.channel.allocator.buffer(capacity: 4 + bytes.count)
                buffer.writeInteger(UInt32(bytes.count))
                buffer.writeBytes(bytes)
                send([.byteBuffer(buffer)], context: context, whenSent: nil)
            case let .message(body):
                var buffer = context.channel.allocator.buffer(capacity: 256)
                let start = buffer.startKafkaFrame()
                try ResponseHeader(correlationId: correlationId)
                    .write(to: &buffer, version: body.apiKey.responseHeaderVersion(apiVersion: version))
                try body.write(to: &buffer, version: version)
                try buffer.finishKafkaFrame(sizeAt: start)
                send([.byteBuffer(buffer)], context: context, whenSent: nil)
            case let .fetch(body, records):
                let parts: [IOData]
                do {
                    parts = try FetchResponseWriter.encode(
                        body, version: version, correlationId: correlationId, records: records,
                        allocator: context.channel.allocator)
                } catch {
                    records.close()
                    throw error
                }
                send(parts, context: context, whenSent: { records.close() })
            }
        } catch {
            logger.error("cannot encode response; closing connection", metadata: [
                "api": "\(apiKey?.name ?? "unknown")", "version": "\(version)", "error": "\(error)",
            ])
            context.close(promise: nil)
        }
    }

    /// Writes the parts of one answer, counting their bytes as queued until the socket took them.
    private func send(_ parts: [IOData], context: ChannelHandlerContext, whenSent: (() -> Void)?) {
        let size = parts.reduce(0) { $0 + $1.readableBytes }
        machine.responseBytesQueued(size)
        let promise = context.eventLoop.makePromise(of: Void.self)
        for (index, part) in parts.enumerated() {
            context.write(wrapOutboundOut(part), promise: index == parts.count - 1 ? promise : nil)
        }
        promise.futureResult.assumeIsolated().whenComplete { _ in
            whenSent?()
            self.carryOut(self.machine.responseBytesSent(size, nowMs: Self.nowMs()), context: context)
        }
    }

    private func resumeReadingIfAllowed(context: ChannelHandlerContext) {
        if readHeldBack && machine.shouldRead && !isThrottled(context: context) {
            readHeldBack = false
            machine.readingResumed(nowMs: Self.nowMs())
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if machine.shouldRead && !isThrottled(context: context) {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    /// Whether a quota keeps this connection from reading now (the answer that earned the throttle still goes
    /// out); reading resumes when the throttle ends.
    private var unthrottleScheduled = false
    /// Set for a connection over its IP's `connection_creation_rate`: it is never read, and closed after a delay.
    private var overConnectionRate = false

    private func isThrottled(context: ChannelHandlerContext) -> Bool {
        if overConnectionRate { return true }
        guard let until = connection?.throttle.mutedUntil else { return false }
        if !unthrottleScheduled {
            unthrottleScheduled = true
            context.eventLoop.assumeIsolated().scheduleTask(deadline: until) {
                self.unthrottleScheduled = false
                self.resumeReadingIfAllowed(context: context)
            }
        }
        return true
    }

    private func scheduleTick(context: ChannelHandlerContext) {
        let interval = max(10, min(1000, min(machine.limits.frameTimeoutMs, machine.limits.idleTimeoutMs) / 4))
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(interval)) {
            self.tick(context: context)
        }
    }

    private func tick(context: ChannelHandlerContext) {
        guard !machine.isClosed else { return }
        let memory = self.memory
        if machine.isWaitingForMemory { machine.retryMemory(reserve: { memory.reserve($0) }) }
        carryOut(machine.tick(nowMs: Self.nowMs()), context: context)
        if !machine.isClosed { scheduleTick(context: context) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("closing connection", metadata: ["client": "\(connection?.clientHost ?? "?")", "error": "\(error)"])
        context.close(promise: nil)
    }
}

/// `queued.max.request.bytes`: memory for requests read and not yet answered, shared by every connection; a
/// connection whose next frame does not fit stops reading until it does. Unlimited when the limit is negative,
/// as in Kafka.
final class RequestMemoryPool: Sendable {
    private let limit: Int
    private let used = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    var inUse: Int { used.withLockedValue { $0 } }

    func reserve(_ bytes: Int) -> Bool {
        if limit < 0 { return true }
        return used.withLockedValue { used in
            // A frame larger than the whole pool may still go alone, as in Kafka.
            guard used == 0 || used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        if limit < 0 || bytes <= 0 { return }
        used.withLockedValue { $0 = max(0, $0 - bytes) }
    }
}
