import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VltavaHTTP

/// An etcd client speaking etcd 3.4's JSON gateway (grpc-gateway) on the client port: `POST /v3/kv/*`,
/// `/v3/lease/*` and `/v3/watch` with JSON bodies. Each call opens a connection of its own and closes it after the
/// answer (a watch keeps its connection for as long as it runs). Of several endpoints, the one that last answered
/// is tried first and the next ones when it cannot be connected to; a call whose request may have reached etcd is
/// never sent again, since a put or a transaction must not run twice.
public final class EtcdGatewayClient: EtcdClient {
    /// The client URLs of etcd's members, `http://host:port`.
    public let endpoints: [HTTPEndpoint]
    /// The longest a call waits for its answer (for a watch: until etcd has set it up).
    public let requestTimeout: TimeAmount
    /// The longest a connection may take to be made before the next endpoint is tried.
    public let connectTimeout: TimeAmount
    let group: any EventLoopGroup
    let logger: Logger
    private let preferred = NIOLockedValueBox(0)

    /// A client of the etcd members at `endpoints` (`http://127.0.0.1:2379` or `127.0.0.1:2379`; TLS is not spoken
    /// yet, so `https://` endpoints are refused).
    public init(endpoints: [String], requestTimeout: TimeAmount = .seconds(5), connectTimeout: TimeAmount = .seconds(2),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "vltava.etcd")) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw EtcdError.invalidRequest("no etcd endpoint given") }
        var parsed: [HTTPEndpoint] = []
        for text in endpoints {
            let url = text.contains("://") ? text : "http://" + text
            let endpoint: HTTPEndpoint
            do {
                endpoint = try HTTPEndpoint(url: url)
            } catch {
                throw EtcdError.invalidRequest("etcd endpoint \(error.description)")
            }
            guard !endpoint.usesTLS else {
                throw EtcdError.invalidRequest("etcd endpoint \(text): https is not supported yet; use the http client URL")
            }
            parsed.append(endpoint)
        }
        self.endpoints = parsed
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.group = group
        self.logger = logger
    }

    public func range(key: [UInt8], rangeEnd: [UInt8], revision: Int64, limit: Int64, keysOnly: Bool) async throws(EtcdError)
        -> EtcdRangeResult {
        let request = GatewayRequests.range(key: key, rangeEnd: rangeEnd, revision: revision, limit: limit, keysOnly: keysOnly)
        return try await call("/v3/kv/range", request, as: GatewayJSON.RangeResponse.self, revision: revision).answer.model
    }

    public func put(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdPutResult {
        let request = GatewayRequests.put(key: key, value: value, lease: lease, prevKV: prevKV)
        return try await call("/v3/kv/put", request, as: GatewayJSON.PutResponse.self, lease: lease).answer.model
    }

    public func delete(key: [UInt8], rangeEnd: [UInt8], prevKV: Bool) async throws(EtcdError) -> EtcdDeleteResult {
        let request = GatewayRequests.delete(key: key, rangeEnd: rangeEnd, prevKV: prevKV)
        return try await call("/v3/kv/deleterange", request, as: GatewayJSON.DeleteRangeResponse.self).answer.model
    }

    public func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) async throws(EtcdError)
        -> EtcdTxnResult {
        let request = GatewayRequests.txn(compare: compare, success: success, failure: failure)
        let (answer, endpoint) = try await call("/v3/kv/txn", request, as: GatewayJSON.TxnResponse.self)
        let succeeded = answer.succeeded ?? false
        let operations = succeeded ? success : failure
        let responses = answer.responses ?? []
        guard responses.count == operations.count else {
            throw EtcdError.malformedAnswer(endpoint: endpoint, path: "/v3/kv/txn",
                                            detail: "\(responses.count) responses to \(operations.count) operations")
        }
        var results: [EtcdOperationResult] = []
        for (operation, response) in zip(operations, responses) {
            switch operation {
            case .range: results.append(.range((response.responseRange ?? .init()).model))
            case .put: results.append(.put((response.responsePut ?? .init()).model))
            case .delete: results.append(.delete((response.responseDeleteRange ?? .init()).model))
            }
        }
        return EtcdTxnResult(succeeded: succeeded, responses: results, revision: answer.header?.revision?.value ?? 0)
    }

    public func compact(revision: Int64) async throws(EtcdError) {
        _ = try await call("/v3/kv/compaction", GatewayJSON.CompactionRequest(revision: .init(revision)),
                           as: GatewayJSON.Acknowledgement.self, revision: revision)
    }

    public func grant(ttl: Int64) async throws(EtcdError) -> EtcdLease {
        let (answer, endpoint) = try await call("/v3/lease/grant", GatewayJSON.LeaseGrantRequest(ttl: .init(ttl)),
                                                as: GatewayJSON.LeaseResponse.self)
        if let error = answer.error, !error.isEmpty {
            throw EtcdError.server(endpoint: endpoint, path: "/v3/lease/grant", code: 2, message: error)
        }
        return EtcdLease(id: answer.id?.value ?? 0, ttl: answer.ttl?.value ?? 0)
    }

    public func keepAlive(id: Int64) async throws(EtcdError) -> Int64 {
        // The gateway's keepalive is a stream: one request message, one `{"result": …}`, then the stream ends with
        // the request body. etcd answers a lease it does not know with no TTL (zero).
        let (answer, endpoint) = try await call("/v3/lease/keepalive", GatewayJSON.LeaseRequest(id: .init(id)),
                                                as: GatewayJSON.StreamMessage<GatewayJSON.LeaseResponse>.self, lease: id)
        if let error = answer.error {
            throw EtcdError.server(endpoint: endpoint, path: "/v3/lease/keepalive", code: error.grpcCode ?? error.code ?? 2,
                                   message: error.message ?? "")
        }
        guard let ttl = answer.result?.ttl?.value, ttl > 0 else { throw EtcdError.leaseNotFound(id) }
        return ttl
    }

    public func revoke(id: Int64) async throws(EtcdError) {
        _ = try await call("/v3/lease/revoke", GatewayJSON.LeaseRequest(id: .init(id)), as: GatewayJSON.Acknowledgement.self,
                           lease: id)
    }

    public func timeToLive(id: Int64) async throws(EtcdError) -> EtcdLeaseTimeToLive {
        let answer = try await call("/v3/lease/timetolive", GatewayJSON.LeaseRequest(id: .init(id)),
                                    as: GatewayJSON.LeaseResponse.self, lease: id).answer
        // etcd answers a lease it does not know with TTL -1.
        let ttl = answer.ttl?.value ?? 0
        guard ttl >= 0 else { throw EtcdError.leaseNotFound(id) }
        return EtcdLeaseTimeToLive(id: id, ttl: ttl, grantedTTL: answer.grantedTTL?.value ?? 0)
    }

    public func watch(key: [UInt8], rangeEnd: [UInt8], startRevision: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdWatch {
        let body = GatewayJSON.encode(GatewayRequests.watch(key: key, rangeEnd: rangeEnd, startRevision: startRevision, prevKV: prevKV))
        return try await withEndpoints { endpoint throws(EtcdError) in
            try await GatewayWatch.start(endpoint: endpoint, body: body, startRevision: startRevision,
                                         on: group.next(), connectTimeout: connectTimeout, timeout: requestTimeout)
        }
    }

    // MARK: Calls

    /// Sends `request` to `path` and decodes the answer, with the endpoint that gave it, turning etcd's refusals into
    /// `EtcdError`s (`revision` and `lease` name what a compaction or lease error is about).
    private func call<Answer: Decodable>(_ path: String, _ request: some Encodable, as type: Answer.Type,
                                         revision: Int64 = 0, lease: Int64 = 0) async throws(EtcdError)
        -> (answer: Answer, endpoint: String) {
        let body = GatewayJSON.encode(request)
        let (answer, name) = try await withEndpoints { endpoint throws(EtcdError) in
            (try await self.unary(endpoint: endpoint, path: path, body: body), GatewayConnection.display(endpoint))
        }
        switch answer {
        case let .object(object):
            do throws(GatewayJSON.DecodeFailure) {
                return (try GatewayJSON.decode(type, from: object), name)
            } catch {
                throw EtcdError.malformedAnswer(endpoint: name, path: path, detail: error.detail)
            }
        case let .refused(status, body):
            throw GatewayRequests.refusal(endpoint: name, path: path, status: status, body: body, revision: revision, lease: lease)
        }
    }

    /// Runs `attempt` against each endpoint in turn, from the one that last answered, while it cannot connect.
    private func withEndpoints<Result>(_ attempt: (HTTPEndpoint) async throws(EtcdError) -> Result) async throws(EtcdError) -> Result {
        let first = preferred.withLockedValue { $0 }
        var reasons: [String] = []
        for step in 0..<endpoints.count {
            let index = (first + step) % endpoints.count
            do {
                let result = try await attempt(endpoints[index])
                preferred.withLockedValue { $0 = index }
                return result
            } catch let EtcdError.unreachable(reason) {
                reasons += reason
                logger.debug("etcd endpoint unreachable", metadata: ["reason": "\(reason.joined())"])
            }
        }
        throw EtcdError.unreachable(reasons)
    }

    private enum UnaryAnswer: Sendable {
        case object([UInt8])
        case refused(status: Int, body: [UInt8])
    }

    /// One request and its one-object answer from one endpoint.
    private func unary(endpoint: HTTPEndpoint, path: String, body: [UInt8]) async throws(EtcdError) -> UnaryAnswer {
        let eventLoop = group.next()
        let promise = eventLoop.makePromise(of: UnaryAnswer.self)
        let objects = NIOLockedValueBox<[[UInt8]]>([])
        let name = GatewayConnection.display(endpoint)
        let connected = GatewayConnection.post(endpoint: endpoint, path: path, body: body, on: eventLoop,
                                               connectTimeout: connectTimeout) { part in
            switch part {
            case let .object(object):
                objects.withLockedValue { $0.append(object) }
            case let .refused(status, body):
                promise.succeed(.refused(status: status, body: body))
            case .ended:
                let received = objects.withLockedValue { $0 }
                if received.count == 1, let object = received.first {
                    promise.succeed(.object(object))
                } else {
                    promise.fail(EtcdError.malformedAnswer(endpoint: name, path: path,
                                                           detail: "\(received.count) JSON objects where one was expected"))
                }
            case let .failed(error):
                promise.fail(error)
            }
        }
        connected.whenFailure { error in
            promise.fail(EtcdError.unreachable(["\(name): \(GatewayConnection.connectFailure(error))"]))
        }
        let timeout = requestTimeout
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(EtcdError.timedOut(endpoint: name, path: path, milliseconds: timeout.nanoseconds / 1_000_000))
            connected.whenSuccess { $0.close(promise: nil) }
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch let error as EtcdError {
            throw error
        } catch {
            throw EtcdError.connectionLost(endpoint: name, detail: "\(error)")
        }
    }
}
