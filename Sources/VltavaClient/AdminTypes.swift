import KafkaProtocol

/// A topic to create.
public struct NewTopic: Hashable, Sendable {
    public var name: String
    /// The number of partitions, or -1 for the broker's `num.partitions`.
    public var partitions: Int32
    /// The replication factor, or -1 for the broker's `default.replication.factor`.
    public var replicationFactor: Int16
    /// Topic configs such as `cleanup.policy`, in the order given.
    public var configs: [ConfigAssignment]

    public init(name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1, configs: [ConfigAssignment] = []) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What a broker reports about a topic it created.
public struct CreatedTopic: Hashable, Sendable {
    public var name: String
    /// Zero when the broker's version of CreateTopics does not return ids.
    public var topicId: KafkaUUID
    /// -1 when the broker's version of CreateTopics does not return it.
    public var partitions: Int32
    /// -1 when the broker's version of CreateTopics does not return it.
    public var replicationFactor: Int16
}

/// A thing that has configs: Kafka's ConfigResource.
public enum ConfigResource: Hashable, Sendable, CustomStringConvertible {
    case topic(String)
    case broker(Int32)

    /// The resource type on the wire (TOPIC = 2, BROKER = 4).
    var resourceType: Int8 {
        switch self {
        case .topic: return 2
        case .broker: return 4
        }
    }

    /// The broker that must answer requests about the resource: a broker's own configs are known only to it.
    var owningBroker: Int32? {
        if case let .broker(id) = self { return id }
        return nil
    }

    /// The resource name on the wire: the topic name or the broker id.
    var resourceName: String {
        switch self {
        case let .topic(name): return name
        case let .broker(id): return String(id)
        }
    }

    public var description: String {
        switch self {
        case let .topic(name): return "topic \(name)"
        case let .broker(id): return "broker \(id)"
        }
    }
}

/// One config of a resource, as DescribeConfigs reports it.
public struct ConfigEntry: Hashable, Sendable {
    /// Where a config's value comes from (Kafka's ConfigSource).
    public enum Source: Int8, Hashable, Sendable {
        case unknown = 0
        case dynamicTopicConfig = 1
        case dynamicBrokerConfig = 2
        case dynamicDefaultBrokerConfig = 3
        case staticBrokerConfig = 4
        case defaultConfig = 5
        case dynamicBrokerLoggerConfig = 6
        case clientMetricsConfig = 7
        case groupConfig = 8
    }

    public var name: String
    /// Nil for sensitive values and for configs without a value.
    public var value: String?
    public var source: Source
    public var isReadOnly: Bool
    public var isSensitive: Bool

    /// Whether the value is the default rather than set for this resource.
    public var isDefault: Bool { source == .defaultConfig || source == .staticBrokerConfig || source == .unknown }
}

/// One change of an IncrementalAlterConfigs request.
public struct ConfigAlteration: Hashable, Sendable {
    /// Kafka's AlterConfigOp types.
    public enum Operation: Int8, Hashable, Sendable {
        case set = 0
        case delete = 1
        case append = 2
        case subtract = 3
    }

    public var name: String
    public var operation: Operation
    /// Ignored for `.delete`.
    public var value: String?

    public init(name: String, operation: Operation = .set, value: String?) {
        self.name = name
        self.operation = operation
        self.value = value
    }
}

/// A topic with its partitions and the configs set on it.
public struct TopicDescription: Hashable, Sendable {
    public var topic: ClusterMetadata.Topic
    /// Every config DescribeConfigs reported for the topic.
    public var configs: [ConfigEntry]

    /// The replication factor: the replica count of the first partition.
    public var replicationFactor: Int { topic.partitions.first?.replicas.count ?? 0 }
}

/// The cluster's id, controller and brokers.
public struct ClusterDescription: Hashable, Sendable {
    public var clusterId: String?
    public var controllerId: Int32
    public var brokers: [ClusterMetadata.Broker]
}
