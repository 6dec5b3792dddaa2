import KafkaProtocol
import Logging
import NIOCore

/// One client connection: decodes request frames, hands them to the broker, and writes the answers in the
/// order the requests came, as Kafka clients require. While `maximumPendingRequests` answers are outstanding it
/// stops reading from the socket, so a client that pipelines faster than the broker answers is slowed down.
final class KafkaConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    static let maximumPendingRequests = 32

    private struct Pending {
        var correlationId: Int32
        var apiKey: ApiKey?
        var version: Int16
        var result: Result<BrokerResponse, Error>?
    }

    private let broker: Broker
    private let listenerName: String
    private let logger: Logger
    private var pending = CircularBuffer<Pending>()
    private var firstPendingSequence = 0
    private var readHeldBack = false
    private var connection: ConnectionContext?

    init(broker: Broker, listenerName: String, logger: Logger) {
        self.broker = broker
        self.listenerName = listenerName
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        let local = context.channel.localAddress
        connection = ConnectionContext(
            eventLoop: context.eventLoop, listenerName: listenerName,
            localHost: local?.ipAddress ?? "localhost", localPort: local?.port ?? 9092,
            clientHost: context.channel.remoteAddress?.ipAddress ?? "unknown")
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        let frame: KafkaRequestFrame
        do {
            frame = try KafkaRequestFrame(payload: payload)
        } catch {
            logger.info("closing connection after an unreadable request header", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        guard let connection else { return }
        let sequence = firstPendingSequence + pending.count
        pending.append(Pending(correlationId: frame.header.correlationId, apiKey: frame.apiKey,
                               version: frame.header.requestApiVersion, result: nil))
        broker.handle(frame, connection: connection)
            .hop(to: context.eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                self.complete(sequence: sequence, result: result, context: context)
            }
    }

    private func complete(sequence: Int, result: Result<BrokerResponse, Error>, context: ChannelHandlerContext) {
        let index = sequence - firstPendingSequence
        guard index >= 0, index < pending.count else { return }
        pending[pending.index(pending.startIndex, offsetBy: index)].result = result
        var wrote = false
        while let first = pending.first, let result = first.result {
            pending.removeFirst()
            firstPendingSequence += 1
            switch result {
            case let .success(response):
                wrote = write(response, for: first, context: context) || wrote
            case let .failure(error):
                logger.warning("request failed; closing connection", metadata: [
                    "api": "\(first.apiKey?.name ?? "unknown")", "error": "\(error)",
                ])
                context.close(promise: nil)
                return
            }
        }
        if wrote { context.flush() }
        if readHeldBack && pending.count < Self.maximumPendingRequests {
            readHeldBack = false
            context.read()
        }
    }

    private func write(_ response: BrokerResponse, for request: Pending, context: ChannelHandlerContext) -> Bool {
        do {
            switch response {
            case .none:
                if request.apiKey != .produce {
                    logger.info("closing connection: no answer for request", metadata: [
                        "api": "\(request.apiKey?.name ?? "unknown")", "version": "\(request.version)",
                    ])
                    context.close(promise: nil)
                }
                return false
            case let .message(body):
                var buffer = context.channel.allocator.buffer(capacity: 256)
                let start = buffer.startKafkaFrame()
                try ResponseHeader(correlationId: request.correlationId)
                    .write(to: &buffer, version: body.apiKey.responseHeaderVersion(apiVersion: request.version))
                try body.write(to: &buffer, version: request.version)
                buffer.finishKafkaFrame(sizeAt: start)
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            case let .fetch(body, records):
                let parts = try FetchResponseWriter.encode(
                    body, version: request.version, correlationId: request.correlationId, records: records,
                    allocator: context.channel.allocator)
                for part in parts.dropLast() {
                    context.write(wrapOutboundOut(part), promise: nil)
                }
                let promise = context.eventLoop.makePromise(of: Void.self)
                context.write(wrapOutboundOut(parts.last!), promise: promise)
                promise.futureResult.whenComplete { _ in records.close() }
            }
            return true
        } catch {
            logger.error("cannot encode response; closing connection", metadata: [
                "api": "\(request.apiKey?.name ?? "unknown")", "version": "\(request.version)", "error": "\(error)",
            ])
            context.close(promise: nil)
            return false
        }
    }

    func read(context: ChannelHandlerContext) {
        if pending.count >= Self.maximumPendingRequests {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.info("closing connection", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
