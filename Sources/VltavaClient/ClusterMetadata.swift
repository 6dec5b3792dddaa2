import KafkaProtocol

/// What a Metadata response says about the cluster, in plain types.
public struct ClusterMetadata: Hashable, Sendable {
    /// A broker of the cluster.
    public struct Broker: Hashable, Sendable {
        public var nodeId: Int32
        public var address: BrokerAddress
        public var rack: String?
    }

    /// One partition of a topic.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// The leader's node id, or -1 when there is none.
        public var leader: Int32
        public var leaderEpoch: Int32
        public var replicas: [Int32]
        public var isr: [Int32]
        public var offlineReplicas: [Int32]
        public var errorCode: ErrorCode
    }

    /// One topic and its partitions, sorted by partition index.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var topicId: KafkaUUID
        public var isInternal: Bool
        public var errorCode: ErrorCode
        public var partitions: [Partition]
    }

    public var clusterId: String?
    public var controllerId: Int32
    /// Brokers sorted by node id.
    public var brokers: [Broker]
    /// Topics sorted by name.
    public private(set) var topics: [Topic]

    /// The plain form of a Metadata response.
    public init(_ response: MetadataResponse) {
        clusterId = response.clusterId
        controllerId = response.controllerId
        brokers = response.brokers
            .map { Broker(nodeId: $0.nodeId, address: BrokerAddress(host: $0.host, port: Int($0.port)), rack: $0.rack) }
            .sorted { $0.nodeId < $1.nodeId }
        topics = response.topics.map { topic in
            Topic(
                name: topic.name ?? "", topicId: topic.topicId, isInternal: topic.isInternal,
                errorCode: ErrorCode(rawValue: topic.errorCode),
                partitions: topic.partitions.map {
                    Partition(
                        partition: $0.partitionIndex, leader: $0.leaderId, leaderEpoch: $0.leaderEpoch,
                        replicas: $0.replicaNodes, isr: $0.isrNodes, offlineReplicas: $0.offlineReplicas,
                        errorCode: ErrorCode(rawValue: $0.errorCode))
                }.sorted { $0.partition < $1.partition })
        }.sorted { $0.name < $1.name }
    }

    /// The topic named `name`, if the response listed it: a binary search, `topics` being sorted by name (the console
    /// looks up every topic of a cluster of thousands).
    public func topic(named name: String) -> Topic? {
        var (low, high) = (0, topics.count)
        while low < high {
            let middle = (low + high) / 2
            if topics[middle].name < name { low = middle + 1 } else { high = middle }
        }
        return low < topics.count && topics[low].name == name ? topics[low] : nil
    }

    /// The broker with node id `nodeId`, if the response listed it.
    public func broker(id nodeId: Int32) -> Broker? {
        brokers.first { $0.nodeId == nodeId }
    }
}
