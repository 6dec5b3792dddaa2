import KafkaProtocol
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import VltavaSecurity

/// One TCP connection to one broker: requests go out in order, responses are matched to them in order.
///
/// Created by `connect`, which also asks the broker for its API versions, so every request afterwards is sent
/// at the highest version both sides speak.
public final class BrokerConnection: Sendable {
    /// Where the connection goes.
    public let address: BrokerAddress
    /// The versions the broker announced.
    public let apiVersions: ApiVersionTable
    private let channel: any Channel
    /// How long a response may take once its request is written.
    public let requestTimeout: TimeAmount

    /// When a SASL session the broker limits (`connections.max.reauth.ms`) should be renewed: past it the
    /// connection counts as inactive, so the client opens and authenticates a new one.
    private let sessionRenewal: NIODeadline?

    private init(
        address: BrokerAddress, channel: any Channel, apiVersions: ApiVersionTable, requestTimeout: TimeAmount,
        sessionRenewal: NIODeadline? = nil
    ) {
        self.address = address
        self.channel = channel
        self.apiVersions = apiVersions
        self.requestTimeout = requestTimeout
        self.sessionRenewal = sessionRenewal
    }

    /// Whether the socket is still open (whatever the SASL session).
    var isOpen: Bool { channel.isActive }

    /// Whether the connection is still open (and its SASL session not about to expire).
    public var isActive: Bool {
        guard channel.isActive else { return false }
        if let sessionRenewal, NIODeadline.now() >= sessionRenewal { return false }
        return true
    }

    /// Opens a connection and negotiates API versions with the broker.
    public static func connect(
        to address: BrokerAddress, clientId: String, connectTimeout: TimeAmount, requestTimeout: TimeAmount,
        security: ClientSecurity = .plaintext,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(KafkaClientError) -> BrokerConnection {
        let channel: any Channel
        // Over TLS the handshake's outcome is awaited before the first request: a failed handshake is then said
        // as such, however its error and the closed connection race each other.
        let handshake = security.tlsContext == nil ? nil : eventLoopGroup.next().makePromise(of: Void.self)
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context = security.tlsContext {
                            // SNI and the name check use the host name; an IP address is checked against the
                            // certificate's IP entries instead (and is not sent as SNI).
                            let hostname = address.isIPAddress ? nil : address.host
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: context, serverHostname: hostname))
                            if let handshake {
                                try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(handshake: handshake))
                            }
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            ResponseRouter(clientId: clientId, address: address))
                    }
                }
                .connect(host: address.host, port: address.port).get()
        } catch {
            handshake?.fail(error)
            throw .connectionFailed(address: address.description, reason: NetworkFailure.describe(error))
        }
        if let handshake {
            do {
                try await handshake.futureResult.get()
            } catch {
                channel.close(promise: nil)
                throw closure(address: address, error: error)
            }
        }
        do {
            let apiVersions = try await negotiateApiVersions(channel: channel, address: address, timeout: requestTimeout)
            var sessionRenewal: NIODeadline?
            if let credentials = security.credentials {
                sessionRenewal = try await SaslLogin.authenticate(
                    credentials, channel: channel, address: address, apiVersions: apiVersions, timeout: requestTimeout)
            }
            return BrokerConnection(
                address: address, channel: channel, apiVersions: apiVersions, requestTimeout: requestTimeout,
                sessionRenewal: sessionRenewal)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Closes the connection; waiting requests fail with `connectionClosed`.
    public func close() async {
        try? await channel.close()
    }

    /// The version `Request` would be sent at, or nil if the broker speaks none of ours.
    public func version<Request: KafkaRequestMessage>(of request: Request.Type) -> Int16? {
        apiVersions.negotiatedVersion(of: Request.apiKey, ours: Request.validVersions)
    }

    /// Sends a request at the negotiated version (or at most `maximumVersion`) and waits for its response.
    public func send<Request: KafkaRequestMessage>(
        _ request: Request, maximumVersion: Int16? = nil, timeout: TimeAmount? = nil
    ) async throws(KafkaClientError) -> Request.Response {
        let version = try negotiatedVersion(Request.self, maximum: maximumVersion)
        return try await send(request, version: version, timeout: timeout)
    }

    /// The version to use for `Request`, within `minimum...maximum` where given.
    func negotiatedVersion<Request: KafkaRequestMessage>(
        _ request: Request.Type, minimum: Int16? = nil, maximum: Int16? = nil
    ) throws(KafkaClientError) -> Int16 {
        let lower = max(minimum ?? Request.validVersions.lowerBound, Request.validVersions.lowerBound)
        let upper = min(maximum ?? Request.validVersions.upperBound, Request.validVersions.upperBound)
        guard lower <= upper else { throw .unsupportedApi(Request.apiKey) }
        let ours = lower...upper
        guard let version = apiVersions.negotiatedVersion(of: Request.apiKey, ours: ours) else {
            throw .unsupportedApi(Request.apiKey)
        }
        return version
    }

    /// Sends a request at `version` and decodes its response.
    public func send<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, timeout: TimeAmount? = nil
    ) async throws(KafkaClientError) -> Request.Response {
        let frame = try await exchange(request, version: version, expectsResponse: true, timeout: timeout ?? requestTimeout)
        guard var frame else { throw .malformedResponse("no response to \(Request.apiKey.name)") }
        return try Self.decodeResponse(Request.Response.self, apiKey: Request.apiKey, version: version, frame: &frame)
    }

    /// Sends a request that the broker does not answer (Produce with acks=0); returns once it is written.
    public func sendWithoutResponse<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16
    ) async throws(KafkaClientError) {
        _ = try await exchange(request, version: version, expectsResponse: false, timeout: requestTimeout)
    }

    private func exchange<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, expectsResponse: Bool, timeout: TimeAmount
    ) async throws(KafkaClientError) -> ByteBuffer? {
        try await Self.exchange(request, version: version, expectsResponse: expectsResponse, timeout: timeout,
                                channel: channel, address: address)
    }

    static func exchange<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, expectsResponse: Bool, timeout: TimeAmount,
        channel: any Channel, address: BrokerAddress
    ) async throws(KafkaClientError) -> ByteBuffer? {
        let body: ByteBuffer
        do {
            body = try request.encoded(version: version, allocator: channel.allocator)
        } catch {
            throw .invalidArgument("cannot encode \(Request.apiKey.name) v\(version): \(error)")
        }
        let eventLoop = channel.eventLoop
        let responsePromise = expectsResponse ? eventLoop.makePromise(of: ByteBuffer.self) : nil
        let outgoing = OutgoingRequest(
            apiKey: Request.apiKey, apiVersion: version, body: body, responsePromise: responsePromise)
        let writePromise = eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(outgoing, promise: writePromise)
        let written = writePromise.futureResult
        let seconds = Double(timeout.nanoseconds) / 1e9
        let operation = "\(Request.apiKey.name) request to \(address)"
        guard let responsePromise else {
            do {
                try await written.get()
            } catch {
                throw closure(address: address, error: error)
            }
            return nil
        }
        // A late response would leave the connection out of step, so a timeout closes it: every request still
        // waiting on it then fails instead of hanging.
        let timer = eventLoop.scheduleTask(in: timeout) {
            responsePromise.fail(KafkaClientError.timedOut(operation: operation, seconds: seconds))
            channel.close(promise: nil)
        }
        written.whenFailure { error in responsePromise.fail(error) }
        defer { timer.cancel() }
        do {
            return try await responsePromise.futureResult.get()
        } catch let error as KafkaClientError {
            throw error
        } catch {
            throw closure(address: address, error: error)
        }
    }

    /// The client error for a failed write or wait: a TLS failure in plain words, otherwise a closed connection.
    private static func closure(address: BrokerAddress, error: any Error) -> KafkaClientError {
        if let text = TLSFailure.describe(error) { return .connectionFailed(address: address.description, reason: text) }
        return .connectionClosed(address: address.description)
    }

    static func decodeResponse<Response: KafkaResponseMessage>(
        _ type: Response.Type, apiKey: ApiKey, version: Int16, frame: inout ByteBuffer
    ) throws(KafkaClientError) -> Response {
        do {
            _ = try ResponseHeader(from: &frame, version: apiKey.responseHeaderVersion(apiVersion: version))
            return try Response.decode(from: frame, version: version)
        } catch {
            throw .malformedResponse("\(apiKey.name) v\(version): \(error)")
        }
    }

    /// Asks for the broker's API versions. A broker that does not know our ApiVersions version answers with
    /// UNSUPPORTED_VERSION and a v0 body that lists the versions it does know; then we ask again with those.
    private static func negotiateApiVersions(
        channel: any Channel, address: BrokerAddress, timeout: TimeAmount
    ) async throws(KafkaClientError) -> ApiVersionTable {
        var version = ApiVersionsRequest.validVersions.upperBound
        let request = ApiVersionsRequest(clientSoftwareName: "vltava", clientSoftwareVersion: "0.1.0")
        for _ in 0..<2 {
            guard var frame = try await exchange(
                request, version: version, expectsResponse: true, timeout: timeout, channel: channel, address: address)
            else { break }
            let bodyStart = frame.readerIndex
            if let response = try? decodeResponse(ApiVersionsResponse.self, apiKey: .apiVersions, version: version, frame: &frame),
               response.errorCode == 0 {
                return ApiVersionTable(response)
            }
            frame.moveReaderIndex(to: bodyStart)
            let fallback = try decodeResponse(ApiVersionsResponse.self, apiKey: .apiVersions, version: 0, frame: &frame)
            let table = ApiVersionTable(fallback)
            guard fallback.errorCode == ErrorCode.unsupportedVersion.rawValue,
                  let retry = table.negotiatedVersion(of: .apiVersions, ours: ApiVersionsRequest.validVersions),
                  retry != version
            else {
                try KafkaClientError.check(fallback.errorCode, resource: "ApiVersions")
                return table
            }
            version = retry
        }
        throw .unsupportedApi(.apiVersions)
    }
}

/// Completes `handshake` when the TLS handshake succeeds, fails it with the error that ended it (or the closed
/// connection).
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private let handshake: EventLoopPromise<Void>

    init(handshake: EventLoopPromise<Void>) { self.handshake = handshake }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { handshake.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        handshake.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshake.fail(ChannelError.ioOnClosedChannel)
    }
}

/// A request on its way to the channel: the handler gives it a correlation id, frames it and remembers the promise.
struct OutgoingRequest: Sendable {
    var apiKey: ApiKey
    var apiVersion: Int16
    var body: ByteBuffer
    /// Nil for a request the broker does not answer.
    var responsePromise: EventLoopPromise<ByteBuffer>?
}

/// Frames outgoing requests and hands each response frame to the request it answers.
final class ResponseRouter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = ByteBuffer

    private var inFlight = InFlightRequests<EventLoopPromise<ByteBuffer>>()
    private let clientId: String
    private let address: BrokerAddress

    init(clientId: String, address: BrokerAddress) {
        self.clientId = clientId
        self.address = address
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let correlationId = inFlight.allocateCorrelationId()
        var frame = context.channel.allocator.buffer(capacity: request.body.readableBytes + 32 + clientId.utf8.count)
        let start = frame.startKafkaFrame()
        let header = RequestHeader(
            requestApiKey: request.apiKey.rawValue, requestApiVersion: request.apiVersion,
            correlationId: correlationId, clientId: clientId)
        do {
            try header.write(to: &frame, version: request.apiKey.requestHeaderVersion(apiVersion: request.apiVersion))
        } catch {
            request.responsePromise?.fail(error)
            promise?.fail(error)
            return
        }
        var body = request.body
        frame.writeBuffer(&body)
        do {
            try frame.finishKafkaFrame(sizeAt: start)
        } catch {
            request.responsePromise?.fail(error)
            promise?.fail(error)
            return
        }
        if let responsePromise = request.responsePromise {
            inFlight.append(correlationId: correlationId, waiter: responsePromise)
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let correlationId = frame.getInteger(at: frame.readerIndex, as: Int32.self) else {
            fail(context: context, error: KafkaClientError.malformedResponse("response frame without header"))
            return
        }
        switch inFlight.receive(correlationId: correlationId) {
        case let .matched(promise):
            promise.succeed(frame)
        case .unsolicited:
            fail(context: context, error: KafkaClientError.malformedResponse(
                "response with correlation id \(correlationId) to no request"))
        case let .outOfOrder(expected):
            fail(context: context, error: KafkaClientError.malformedResponse(
                "response with correlation id \(correlationId), expected \(expected)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = KafkaClientError.connectionClosed(address: address.description)
        for promise in inFlight.removeAll() { promise.fail(error) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error: error)
    }

    private func fail(context: ChannelHandlerContext, error: any Error) {
        for promise in inFlight.removeAll() { promise.fail(error) }
        context.close(promise: nil)
    }
}
