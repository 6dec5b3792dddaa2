import KafkaProtocol
import NIOCore
import VltavaSecurity
import NIOPosix

/// A client of a Kafka cluster: bootstraps from a list of addresses, keeps one connection per broker and the
/// latest metadata, and sends typed requests to the right broker.
public actor KafkaClient {
    /// Timeouts and identity of a client.
    public struct Configuration: Sendable {
        /// The client id sent in every request header.
        public var clientId: String = "vltava"
        /// How long a TCP connect may take.
        public var connectTimeout: TimeAmount = .seconds(10)
        /// How long a response may take once its request is written (long-poll fetches add their wait to it).
        public var requestTimeout: TimeAmount = .seconds(30)
        /// How connections reach the brokers: PLAINTEXT, or TLS and SASL as `security.protocol` and the rest set.
        public var security: ClientSecurity = .plaintext
        /// The event loops the connections run on.
        public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

        public init() {}
    }

    /// The addresses tried, in order, until one answers.
    public let bootstrapServers: [BrokerAddress]
    /// The configuration the client was made with.
    public let configuration: Configuration

    private var bootstrapConnection: BrokerConnection?
    private var brokerConnections: [Int32: Task<BrokerConnection, any Error>] = [:]
    /// The metadata of the last refresh, if any.
    public private(set) var metadata: ClusterMetadata?
    /// Topic metadata for produce, fetch and list offsets, reused until `dataPathMetadataMaxAge` has passed or an
    /// answer says it is stale (see `dataPathTopicMetadata`).
    private var dataPathTopics: [String: (topic: ClusterMetadata.Topic, expires: NIODeadline)] = [:]
    /// How long produce, fetch and list offsets reuse a topic's metadata (Kafka's clients: `metadata.max.age.ms`,
    /// 5 minutes; shorter here, so that added partitions are seen soon).
    public static let dataPathMetadataMaxAge: TimeAmount = .seconds(30)

    /// A client of the cluster reachable through `bootstrapServers`. Nothing is connected until the first request.
    public init(bootstrapServers: [BrokerAddress], configuration: Configuration = Configuration()) {
        self.bootstrapServers = bootstrapServers
        self.configuration = configuration
    }

    /// A client of the cluster reachable through a comma-separated list such as `localhost:9092`.
    public init(bootstrapServers: String, configuration: Configuration = Configuration()) throws(KafkaClientError) {
        self.init(bootstrapServers: try BrokerAddress.parseList(bootstrapServers), configuration: configuration)
    }

    /// Closes every connection.
    public func close() async {
        let connections = brokerConnections.values
        brokerConnections = [:]
        for task in connections {
            if let connection = try? await task.value { await connection.close() }
        }
        if let bootstrapConnection { await bootstrapConnection.close() }
        bootstrapConnection = nil
    }

    // MARK: Connections

    /// A connection to any broker: the bootstrap connection, opened to the first address that answers.
    public func anyConnection() async throws(KafkaClientError) -> BrokerConnection {
        if let bootstrapConnection {
            if bootstrapConnection.isActive { return bootstrapConnection }
            retire(bootstrapConnection)
            self.bootstrapConnection = nil
        }
        var lastError = KafkaClientError.invalidArgument("no bootstrap server given")
        for address in bootstrapServers {
            do {
                let connection = try await connect(to: address)
                bootstrapConnection = connection
                return connection
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// A connection to the broker with node id `nodeId`, found through the metadata.
    public func connection(toBroker nodeId: Int32) async throws(KafkaClientError) -> BrokerConnection {
        if let task = brokerConnections[nodeId], let connection = try? await task.value {
            if connection.isActive { return connection }
            retire(connection)
        }
        var broker = metadata?.broker(id: nodeId)
        if broker == nil {
            broker = try await refreshMetadata(topics: []).broker(id: nodeId)
        }
        guard let address = broker?.address else {
            throw .broker(code: .brokerNotAvailable, message: "no broker with id \(nodeId) in the metadata", resource: nil)
        }
        let task = Task { () async throws -> BrokerConnection in try await self.connect(to: address) }
        brokerConnections[nodeId] = task
        do {
            return try await task.value
        } catch {
            brokerConnections[nodeId] = nil
            throw error as? KafkaClientError ?? .connectionFailed(address: address.description, reason: NetworkFailure.describe(error))
        }
    }

    private func connect(to address: BrokerAddress) async throws(KafkaClientError) -> BrokerConnection {
        try await BrokerConnection.connect(
            to: address, clientId: configuration.clientId, connectTimeout: configuration.connectTimeout,
            requestTimeout: configuration.requestTimeout, security: configuration.security,
            eventLoopGroup: configuration.eventLoopGroup)
    }

    /// A connection no longer used: closed at once if the broker closed it, else (a spent SASL session) once the
    /// requests still on it had their request timeout to finish.
    private func retire(_ connection: BrokerConnection) {
        let grace = connection.isOpen ? configuration.requestTimeout : .zero
        Task {
            if grace > .zero { try? await Task.sleep(nanoseconds: UInt64(grace.nanoseconds)) }
            await connection.close()
        }
    }

    /// Forgets the connection to a broker that answered NOT_LEADER or the like, so the next request reconnects.
    func dropConnection(toBroker nodeId: Int32) {
        brokerConnections[nodeId] = nil
    }

    // MARK: Requests

    /// Sends a request to any broker (or to `broker`) at the negotiated version and returns its response.
    public func send<Request: KafkaRequestMessage>(
        _ request: Request, to broker: Int32? = nil, maximumVersion: Int16? = nil, timeout: TimeAmount? = nil
    ) async throws(KafkaClientError) -> Request.Response {
        let connection: BrokerConnection
        if let broker {
            connection = try await self.connection(toBroker: broker)
        } else {
            connection = try await anyConnection()
        }
        return try await connection.send(request, maximumVersion: maximumVersion, timeout: timeout)
    }

    /// Asks for fresh metadata: of `topics`, or of every topic when nil (an empty list asks only for brokers).
    @discardableResult
    public func refreshMetadata(topics: [String]? = nil) async throws(KafkaClientError) -> ClusterMetadata {
        let connection = try await anyConnection()
        let version = try connection.negotiatedVersion(MetadataRequest.self)
        var request = MetadataRequest()
        request.allowAutoTopicCreation = false
        if let topics {
            // Before v1 an empty list meant "all topics", so ask v0 brokers for them by name only.
            request.topics = topics.map { MetadataRequest.MetadataRequestTopic(topicId: .zero, name: $0) }
        } else {
            request.topics = version == 0 ? [] : nil
        }
        let fresh = ClusterMetadata(try await connection.send(request, version: version))
        metadata = fresh
        return fresh
    }

    /// The metadata of a topic for the data path: asked once, then reused for `dataPathMetadataMaxAge` unless
    /// `forgetTopicMetadata` is called (a leader moved, a partition is unknown). A client that produces or fetches in
    /// a loop would otherwise send a Metadata request before every batch.
    func dataPathTopicMetadata(_ topic: String) async throws(KafkaClientError) -> ClusterMetadata.Topic {
        if let cached = dataPathTopics[topic], NIODeadline.now() < cached.expires { return cached.topic }
        let fresh = try await topicMetadata(topic)
        dataPathTopics[topic] = (fresh, NIODeadline.now() + Self.dataPathMetadataMaxAge)
        return fresh
    }

    /// Drops the data path's metadata of `topic`, so that the next produce or fetch asks again.
    func forgetTopicMetadata(_ topic: String) {
        dataPathTopics[topic] = nil
    }

    /// Whether an error means the cached metadata of the topic may be stale.
    static func metadataMayBeStale(_ error: KafkaClientError) -> Bool {
        switch error {
        case .connectionClosed, .connectionFailed, .timedOut: return true
        case let .broker(code, _, _):
            return [.notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .fencedLeaderEpoch,
                    .unknownLeaderEpoch, .unknownTopicId, .offsetNotAvailable, .notEnoughReplicas].contains(code)
        default: return false
        }
    }

    /// The metadata of one topic; throws the topic's error (such as UNKNOWN_TOPIC_OR_PARTITION).
    public func topicMetadata(_ topic: String) async throws(KafkaClientError) -> ClusterMetadata.Topic {
        let metadata = try await refreshMetadata(topics: [topic])
        guard let found = metadata.topic(named: topic) else {
            throw .broker(code: .unknownTopicOrPartition, message: nil, resource: topic)
        }
        try KafkaClientError.check(found.errorCode.rawValue, resource: topic)
        return found
    }
}
