#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import VltavaCoordinator
import VltavaSecurity
import VltavaStorage

/// What a connection needs to know to answer a request: where it came in and who sent it.
struct ConnectionContext: Sendable {
    var eventLoop: EventLoop
    var listenerName: String
    /// The address the client connected to, advertised when the listener has no advertised address.
    var localHost: String
    var localPort: Int
    var clientHost: String
    /// Who the client authenticated as (`User:ANONYMOUS` without SASL or a client certificate).
    var principal: String = "User:ANONYMOUS"
    /// Set by a handler when the client is over a quota: the connection stops reading for a while.
    var throttle = ConnectionThrottle()
    /// TLS cannot carry sendfile's file regions: fetch answers on such a connection carry their records as bytes.
    var usesTls = false
}

/// The answer to one request.
enum BrokerResponse: Sendable {
    /// acks=0 produce: the client expects no answer.
    case none
    case message(KafkaResponseBody)
    /// A fetch answer whose record data is read from segment files when it is written.
    case fetch(FetchResponse, FetchedRecords)
    /// A raw SASL token (after a v0 SaslHandshake): a size and the bytes, no response header.
    case saslToken([UInt8])

    /// The answer with its `throttle_time_ms` at least `milliseconds`, for answers that carry one.
    func raisingThrottleTime(to milliseconds: Int64) -> BrokerResponse {
        let clamped = Int32(clamping: milliseconds)
        switch self {
        case var .message(body):
            body.raiseThrottleTime(to: clamped)
            return .message(body)
        case var .fetch(body, records):
            body.throttleTimeMs = max(body.throttleTimeMs, clamped)
            return .fetch(body, records)
        case .none, .saslToken:
            return self
        }
    }
}

/// The single-node broker: the API handlers over the log manager and the metadata store. Each handler runs on
/// the connection's event loop and returns a future of its answer.
public final class Broker: Sendable {
    let configuration: BrokerConfiguration
    let logs: LogManager
    let logger: Logger
    let clock: @Sendable () -> Int64
    /// The classic consumer groups and committed offsets this node coordinates.
    public let groups: GroupCoordinator
    /// The transactional ids this node coordinates (`__transaction_state`).
    public let transactions: TransactionCoordinator
    /// The schema registry asked by topics with `confluent.*.schema.validation`; nil refuses their records.
    let schemaIdValidator: (any SchemaIdValidator)?
    /// The request-handler pool (Kafka's `num.io.threads`): requests run there, so that no disk call or lock wait
    /// stalls an event loop. Nil runs them on the connection's event loop (unit tests).
    let requestHandlers: NIOThreadPool?
    /// The ACL checks (every request allowed unless `authorizer.class.name` is set).
    let authorization: Authorization
    /// Client quotas (AlterClientQuotas) and the rates they are measured against.
    let quotas: ClientQuotaManager
    /// Request counts, latencies, errors and connections for `/metrics`.
    public let metrics: BrokerMetrics
    /// Cluster mode: the other brokers and who leads each partition. Nil on a single node, which leads everything.
    let cluster: (any ClusterView)?

    /// The versions of each API this broker can serve; `supportedVersions` leaves out what its configuration turns off.
    static let allVersions: [ApiKey: ClosedRange<Int16>] = [
        .produce: 3...11,
        .fetch: 4...17,
        .listOffsets: 1...10,
        .metadata: 0...12,
        .apiVersions: 0...4,
        .createTopics: 2...7,
        .deleteTopics: 1...6,
        .initProducerId: 0...5,
        .deleteRecords: 0...2,
        .offsetForLeaderEpoch: 0...4,
        .describeConfigs: 0...4,
        .alterConfigs: 0...2,
        .describeLogDirs: 0...4,
        .createPartitions: 0...3,
        .incrementalAlterConfigs: 0...1,
        .describeCluster: 0...1,
        .findCoordinator: 0...6,
        .joinGroup: 0...9,
        .syncGroup: 0...5,
        .heartbeat: 0...4,
        .leaveGroup: 0...5,
        .offsetCommit: 0...9,
        .offsetFetch: 0...9,
        .listGroups: 0...5,
        .describeGroups: 0...5,
        .deleteGroups: 0...2,
        .offsetDelete: 0...0,
        .addPartitionsToTxn: 0...3,
        .addOffsetsToTxn: 0...4,
        .endTxn: 0...4,
        .txnOffsetCommit: 0...3,
        .consumerGroupHeartbeat: 0...1,
        .consumerGroupDescribe: 0...0,
        .describeTransactions: 0...0,
        .listTransactions: 0...1,
        .describeProducers: 0...0,
        .writeTxnMarkers: 0...1,
        .saslHandshake: 0...1,
        .saslAuthenticate: 0...2,
        .describeUserScramCredentials: 0...0,
        .alterUserScramCredentials: 0...0,
        .createAcls: 0...3,
        .describeAcls: 0...3,
        .deleteAcls: 0...3,
        .describeClientQuotas: 0...1,
        .alterClientQuotas: 0...1,
    ]

    /// The versions of each API this broker serves; ApiVersions advertises exactly these. Without the consumer
    /// group protocol (`group.coordinator.rebalance.protocols=classic`) its two APIs are not served, as in Kafka.
    let supportedVersions: [ApiKey: ClosedRange<Int16>]

    public init(configuration: BrokerConfiguration, logs: LogManager, logger: Logger,
                schemaIdValidator: (any SchemaIdValidator)? = nil, requestHandlers: NIOThreadPool? = nil,
                metrics: BrokerMetrics = BrokerMetrics(), cluster: (any ClusterView)? = nil,
                clock: @escaping @Sendable () -> Int64 = Broker.wallClockMilliseconds) {
        self.configuration = configuration
        self.cluster = cluster
        self.metrics = metrics
        self.supportedVersions = configuration.consumerProtocolEnabled
            ? Self.allVersions : Self.allVersions.filter { ![.consumerGroupHeartbeat, .consumerGroupDescribe].contains($0.key) }
        self.requestHandlers = requestHandlers
        self.schemaIdValidator = schemaIdValidator
        self.logs = logs
        self.logger = logger
        self.clock = clock
        self.authorization = Authorization(configuration: configuration, acls: logs.metadata.acls())
        self.quotas = ClientQuotaManager(
            quotas: logs.metadata.clientQuotas(), windowMs: Int64(configuration.quotaWindowSizeSeconds) * 1000,
            samples: configuration.quotaWindowNum)
        var groupConfiguration = GroupConfiguration()
        groupConfiguration.initialRebalanceDelayMs = configuration.groupInitialRebalanceDelayMs
        groupConfiguration.offsetsRetentionMs = configuration.offsetsRetentionMinutes * 60_000
        groupConfiguration.consumer = configuration.consumerGroups
        let groups = GroupCoordinator(logs: logs, configuration: groupConfiguration, logger: logger, clock: clock)
        self.groups = groups
        self.transactions = TransactionCoordinator(
            logs: logs, groups: groups, configuration: configuration.transactions, logger: logger, clock: clock,
            offload: { job in
                if let requestHandlers { requestHandlers.submit { _ in job() } } else { job() }
            })
    }

    /// Milliseconds since the Unix epoch.
    public static let wallClockMilliseconds: @Sendable () -> Int64 = {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    var metadata: ClusterMetadataStore { logs.metadata }
    var nodeId: Int32 { configuration.nodeId }

    /// Answers request frames of one connection on the request-handler pool, in the order they came: a
    /// connection's requests start one after another (as in Kafka, where a connection has one request in progress
    /// at a time), so that two produce requests are appended in their order. ApiVersions, which touches nothing, is
    /// answered at once. One future per frame.
    func submit(_ frames: [KafkaRequestFrame], connection: ConnectionContext, queue: ConnectionJobQueue)
        -> [EventLoopFuture<BrokerResponse>] {
        guard let requestHandlers else { return frames.map { handle($0, connection: connection) } }
        var futures: [EventLoopFuture<BrokerResponse>] = []
        var jobs: [(KafkaRequestFrame, EventLoopPromise<BrokerResponse>)] = []
        for frame in frames {
            if frame.apiKey == .apiVersions && jobs.isEmpty {
                futures.append(handle(frame, connection: connection))
            } else {
                let promise = connection.eventLoop.makePromise(of: BrokerResponse.self)
                jobs.append((frame, promise))
                futures.append(promise.futureResult)
            }
        }
        if !jobs.isEmpty {
            queue.enqueue(on: requestHandlers, jobs.map { frame, promise in
                {
                    guard self.quotas.isActive else {
                        self.handle(frame, connection: connection).cascade(to: promise)
                        return
                    }
                    let started = NIODeadline.now()
                    let answer = self.handle(frame, connection: connection)
                    let throttle = self.recordRequestTime(since: started, frame: frame, connection: connection)
                    guard throttle > 0 else { return answer.cascade(to: promise) }
                    answer.map { $0.raisingThrottleTime(to: throttle) }.cascade(to: promise)
                }
            })
        }
        return futures
    }

    /// Runs `work` on the request-handler pool (on `eventLoop` when there is none).
    func offload(on eventLoop: EventLoop, _ work: @escaping @Sendable () -> Void) {
        guard let requestHandlers else {
            eventLoop.execute(work)
            return
        }
        requestHandlers.submit { _ in work() }
    }

    /// Decodes and answers one request frame.
    func handle(_ frame: KafkaRequestFrame, connection: ConnectionContext) -> EventLoopFuture<BrokerResponse> {
        let version = frame.header.requestApiVersion
        guard let apiKey = frame.apiKey, let supported = supportedVersions[apiKey], supported.contains(version) else {
            return connection.eventLoop.makeSucceededFuture(unsupported(frame))
        }
        var body = frame.body
        let request: KafkaRequestBody
        do {
            request = try KafkaRequestBody.decode(apiKey: apiKey, version: version, from: &body)
        } catch {
            logger.info("malformed request", metadata: [
                "api": "\(apiKey.name)", "version": "\(version)", "client": "\(connection.clientHost)", "error": "\(error)",
                "body": "\(frame.body.readableBytesView.prefix(256).map { String($0, radix: 16) }.joined(separator: " "))",
            ])
            if let response = KafkaResponseBody.errorResponse(apiKey: apiKey, errorCode: .corruptMessage) {
                return connection.eventLoop.makeSucceededFuture(.message(response))
            }
            return connection.eventLoop.makeFailedFuture(error)
        }
        if body.readableBytes > 0 {
            logger.debug("ignoring bytes after the request body, as Kafka does", metadata: [
                "api": "\(apiKey.name)", "version": "\(version)", "bytes": "\(body.readableBytes)", "client": "\(connection.clientHost)",
            ])
        }
        let context = RequestContext(header: frame.header, connection: connection)
        if let refusal = notCoordinatorResponse(request, apiKey: apiKey) {
            return connection.eventLoop.makeSucceededFuture(.message(refusal))
        }
        switch request {
        case let .apiVersions(request):
            return connection.eventLoop.makeSucceededFuture(.message(.apiVersions(handleApiVersions(request, context: context))))
        case let .metadata(request):
            return connection.eventLoop.makeSucceededFuture(.message(.metadata(handleMetadata(request, context: context))))
        case let .produce(request):
            return throttledProduce(request, context: context)
        case let .fetch(request):
            return throttledFetch(request, context: context)
        case let .listOffsets(request):
            return connection.eventLoop.makeSucceededFuture(.message(.listOffsets(handleListOffsets(request, context: context))))
        case let .createTopics(request):
            return connection.eventLoop.makeSucceededFuture(.message(.createTopics(withMutationQuota(context: context, strictFrom: 6, throttleTime: \.throttleTimeMs) {
                handleCreateTopics(request, context: context, admit: $0)
            })))
        case let .deleteTopics(request):
            return connection.eventLoop.makeSucceededFuture(.message(.deleteTopics(withMutationQuota(context: context, strictFrom: 5, throttleTime: \.throttleTimeMs) {
                handleDeleteTopics(request, context: context, admit: $0)
            })))
        case let .initProducerId(request):
            return handleInitProducerId(request, context: context)
        case let .addPartitionsToTxn(request):
            return handleAddPartitionsToTxn(request, context: context)
        case let .addOffsetsToTxn(request):
            return handleAddOffsetsToTxn(request, context: context)
        case let .endTxn(request):
            return handleEndTxn(request, context: context)
        case let .describeTransactions(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.describeTransactions(handleDescribeTransactions(request, context: context))))
        case let .describeProducers(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeProducers(handleDescribeProducers(request, context: context))))
        case let .writeTxnMarkers(request):
            return connection.eventLoop.makeSucceededFuture(.message(.writeTxnMarkers(handleWriteTxnMarkers(request, context: context))))
        case let .listTransactions(request):
            return connection.eventLoop.makeSucceededFuture(.message(.listTransactions(handleListTransactions(request, context: context))))
        case let .createPartitions(request):
            return connection.eventLoop.makeSucceededFuture(.message(.createPartitions(withMutationQuota(context: context, strictFrom: 3, throttleTime: \.throttleTimeMs) {
                handleCreatePartitions(request, context: context, admit: $0)
            })))
        case let .describeConfigs(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeConfigs(handleDescribeConfigs(request, context: context))))
        case let .alterConfigs(request):
            return connection.eventLoop.makeSucceededFuture(.message(.alterConfigs(handleAlterConfigs(request, context: context))))
        case let .incrementalAlterConfigs(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.incrementalAlterConfigs(handleIncrementalAlterConfigs(request, context: context))))
        case let .deleteRecords(request):
            return connection.eventLoop.makeSucceededFuture(.message(.deleteRecords(handleDeleteRecords(request, context: context))))
        case let .describeCluster(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeCluster(handleDescribeCluster(request, context: context))))
        case let .describeLogDirs(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeLogDirs(handleDescribeLogDirs(request, context: context))))
        case let .offsetForLeaderEpoch(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.offsetForLeaderEpoch(handleOffsetForLeaderEpoch(request, context: context))))
        case let .findCoordinator(request):
            return connection.eventLoop.makeSucceededFuture(.message(.findCoordinator(handleFindCoordinator(request, context: context))))
        case let .joinGroup(request):
            return handleJoinGroup(request, context: context)
        case let .syncGroup(request):
            return handleSyncGroup(request, context: context)
        case let .heartbeat(request):
            return connection.eventLoop.makeSucceededFuture(.message(.heartbeat(handleHeartbeat(request, context: context))))
        case let .leaveGroup(request):
            return connection.eventLoop.makeSucceededFuture(.message(.leaveGroup(handleLeaveGroup(request, context: context))))
        case let .offsetCommit(request):
            return handleOffsetCommit(request, context: context)
        case let .offsetFetch(request):
            return connection.eventLoop.makeSucceededFuture(.message(.offsetFetch(handleOffsetFetch(request, context: context))))
        case let .listGroups(request):
            return connection.eventLoop.makeSucceededFuture(.message(.listGroups(handleListGroups(request, context: context))))
        case let .describeGroups(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeGroups(handleDescribeGroups(request, context: context))))
        case let .deleteGroups(request):
            return connection.eventLoop.makeSucceededFuture(.message(.deleteGroups(handleDeleteGroups(request, context: context))))
        case let .offsetDelete(request):
            return connection.eventLoop.makeSucceededFuture(.message(.offsetDelete(handleOffsetDelete(request, context: context))))
        case let .txnOffsetCommit(request):
            return handleTxnOffsetCommit(request, context: context)
        case let .consumerGroupHeartbeat(request):
            return handleConsumerGroupHeartbeat(request, context: context)
        case let .consumerGroupDescribe(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.consumerGroupDescribe(handleConsumerGroupDescribe(request, context: context))))
        case .saslHandshake, .saslAuthenticate:
            // Reached only on a listener without SASL (on a SASL listener the connection answers them).
            return connection.eventLoop.makeSucceededFuture(.message(saslOnPlainListener(apiKey)))
        case let .describeUserScramCredentials(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.describeUserScramCredentials(handleDescribeUserScramCredentials(request, context: context))))
        case let .createAcls(request):
            return connection.eventLoop.makeSucceededFuture(.message(.createAcls(handleCreateAcls(request, context: context))))
        case let .describeAcls(request):
            return connection.eventLoop.makeSucceededFuture(.message(.describeAcls(handleDescribeAcls(request, context: context))))
        case let .deleteAcls(request):
            return connection.eventLoop.makeSucceededFuture(.message(.deleteAcls(handleDeleteAcls(request, context: context))))
        case let .describeClientQuotas(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.describeClientQuotas(handleDescribeClientQuotas(request, context: context))))
        case let .alterClientQuotas(request):
            return connection.eventLoop.makeSucceededFuture(.message(.alterClientQuotas(handleAlterClientQuotas(request, context: context))))
        case let .alterUserScramCredentials(request):
            return connection.eventLoop.makeSucceededFuture(
                .message(.alterUserScramCredentials(handleAlterUserScramCredentials(request, context: context))))
        default:
            return connection.eventLoop.makeSucceededFuture(unsupported(frame))
        }
    }

    /// The answer to an API or version this broker does not serve: for ApiVersions, a v0 answer with
    /// UNSUPPORTED_VERSION and the versions it does serve (so the client can retry); for other APIs with a
    /// top-level error code, that code; otherwise the connection is closed, as Kafka does.
    private func unsupported(_ frame: KafkaRequestFrame) -> BrokerResponse {
        if frame.apiKey == .apiVersions {
            var response = apiVersionsResponse()
            response.errorCode = ErrorCode.unsupportedVersion.rawValue
            return .message(.apiVersions(response))
        }
        if let apiKey = frame.apiKey, apiKey.validVersions.contains(frame.header.requestApiVersion),
           let response = KafkaResponseBody.errorResponse(apiKey: apiKey, errorCode: .unsupportedVersion) {
            return .message(response)
        }
        return .none
    }

    // MARK: Topics

    /// Kafka's legal topic names: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..".
    static func topicNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "topic name is empty" }
        if name == "." || name == ".." { return "topic name cannot be '.' or '..'" }
        if name.utf8.count > 249 { return "topic name is longer than 249 characters" }
        let legal = name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        return legal ? nil : "topic name '\(name)' has characters other than ASCII alphanumerics, '.', '_' and '-'"
    }

    /// Creates a topic with the broker's defaults (auto-creation), returning nil if it cannot.
    func autoCreateTopic(_ name: String, budget: inout Int64) -> TopicMetadata? {
        if let existing = metadata.topic(named: name) { return existing }
        guard configuration.autoCreateTopics, Self.topicNameProblem(name) == nil,
              budget >= Int64(configuration.defaultPartitions) else { return nil }
        budget -= Int64(configuration.defaultPartitions)
        // Another request may create it at the same moment: then that one is the topic.
        return try? logs.ensureTopic(name: name, partitions: configuration.defaultPartitions, configs: [:])
    }

    /// NOT_LEADER_OR_FOLLOWER for a partition another broker of the cluster leads, KAFKA_STORAGE_ERROR for a
    /// partition kept offline because its files are damaged, else UNKNOWN_TOPIC_OR_PARTITION.
    func storageErrorOrUnknown(_ topic: String, _ partition: Int32) -> ErrorCode {
        if ledElsewhere(TopicPartition(topic: topic, partition: partition)) != nil { return .notLeaderOrFollower }
        return logs.isOffline(TopicPartition(topic: topic, partition: partition)) ? .kafkaStorageError : .unknownTopicOrPartition
    }

    func topic(withId id: KafkaUUID) -> TopicMetadata? {
        metadata.topic(withId: id)
    }
}

/// One request's context.
struct RequestContext: Sendable {
    var header: RequestHeader
    var connection: ConnectionContext
    var version: Int16 { header.requestApiVersion }
    var eventLoop: EventLoop { connection.eventLoop }
}

/// The jobs of one connection, run on the request-handler pool one after another in the order they were queued
/// (different connections' jobs run in parallel). Only the start of each request is ordered: a request that waits
/// (a long-polling fetch, a JoinGroup) waits on its future, not on the queue. While the connection is throttled
/// by a quota, the next request waits for the throttle to end — as in Kafka, where a muted connection's next
/// request is not even read — so that requests a client pipelined do not slip past its quota.
final class ConnectionJobQueue: @unchecked Sendable {
    private let lock = NIOLock()
    private var jobs: [@Sendable () -> Void] = []
    private var running = false
    private let throttle: ConnectionThrottle?
    private let eventLoop: EventLoop?

    init(throttle: ConnectionThrottle? = nil, eventLoop: EventLoop? = nil) {
        self.throttle = throttle
        self.eventLoop = eventLoop
    }

    func enqueue(on pool: NIOThreadPool, _ newJobs: [@Sendable () -> Void]) {
        let start = lock.withLock { () -> Bool in
            jobs.append(contentsOf: newJobs)
            if running { return false }
            running = true
            return true
        }
        if start { pool.submit { _ in self.drain(on: pool) } }
    }

    private func drain(on pool: NIOThreadPool) {
        while true {
            if let throttle, let eventLoop, let until = throttle.mutedUntil {
                // Still `running`: jobs queued meanwhile wait for this resumption.
                eventLoop.scheduleTask(deadline: until) { pool.submit { _ in self.drain(on: pool) } }
                return
            }
            let next = lock.withLock { () -> (@Sendable () -> Void)? in
                if jobs.isEmpty {
                    running = false
                    return nil
                }
                return jobs.removeFirst()
            }
            guard let next else { return }
            next()
        }
    }
}
