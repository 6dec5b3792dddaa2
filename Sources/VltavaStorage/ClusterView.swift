/// One listener of a broker as clients reach it: the listener's name, the advertised address and its security
/// protocol.
public struct BrokerListener: Codable, Equatable, Sendable {
    public var name: String
    public var host: String
    public var port: Int32
    public var securityProtocol: String

    public init(name: String, host: String, port: Int32, securityProtocol: String) {
        self.name = name
        self.host = host
        self.port = port
        self.securityProtocol = securityProtocol
    }
}

/// A live broker of the cluster.
public struct ClusterBroker: Codable, Equatable, Sendable {
    public var nodeId: Int32
    public var listeners: [BrokerListener]
    public var rack: String?
    /// The broker epoch: the revision that registered it (0 when not known).
    public var epoch: Int64

    public init(nodeId: Int32, listeners: [BrokerListener], rack: String?, epoch: Int64 = 0) {
        self.nodeId = nodeId
        self.listeners = listeners
        self.rack = rack
        self.epoch = epoch
    }

    /// The listener of this name, as Kafka answers Metadata with the listener the request came in on.
    public func listener(named name: String) -> BrokerListener? {
        listeners.first { $0.name == name }
    }
}

/// Who leads a partition and who is in sync with it, as the cluster records it.
public struct PartitionLeadership: Codable, Equatable, Sendable {
    /// The leader's node id; -1 when the partition has none.
    public var leader: Int32
    public var leaderEpoch: Int32
    public var isr: [Int32]
    /// The controller epoch of the writer that last changed it.
    public var controllerEpoch: Int64

    public init(leader: Int32, leaderEpoch: Int32, isr: [Int32], controllerEpoch: Int64) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.isr = isr
        self.controllerEpoch = controllerEpoch
    }
}

/// What a broker of a cluster knows about the others: who is alive, who is controller, who leads each partition.
/// A single node has no cluster view (every partition is its own); cluster mode keeps one fed from etcd.
public protocol ClusterView: Sendable {
    /// This broker's node id.
    var localNodeId: Int32 { get }
    /// The registered (live) brokers, by node id.
    func liveBrokers() -> [ClusterBroker]
    /// The controller's node id, nil while there is none.
    func controllerId() -> Int32?
    /// The partition's leadership, nil for a partition the cluster does not know.
    func leadership(of partition: TopicPartition) -> PartitionLeadership?
}

extension ClusterView {
    /// Whether this broker leads the partition (and so keeps its log).
    public func leadsLocally(_ partition: TopicPartition) -> Bool {
        leadership(of: partition)?.leader == localNodeId
    }
}
