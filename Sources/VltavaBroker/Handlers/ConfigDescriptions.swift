import KafkaProtocol
import Logging
import VltavaStorage

/// Kafka's `ConfigResource.Type` codes used by the config APIs.
enum ConfigResourceType: Int8 {
    case topic = 2
    case broker = 4
    case brokerLogger = 8
}

/// Kafka's `DescribeConfigsResponse.ConfigSource` codes: where a config's value comes from.
enum ConfigSource: Int8 {
    case topicConfig = 1
    case dynamicBrokerConfig = 2
    case dynamicDefaultBrokerConfig = 3
    case staticBrokerConfig = 4
    case defaultConfig = 5
    case dynamicBrokerLoggerConfig = 6
}

/// One config as DescribeConfigs reports it, before it is cut down to what the request and version ask for.
struct ConfigDescription {
    struct Synonym {
        var name: String
        var value: String?
        var source: ConfigSource
    }

    var name: String
    var value: String?
    var source: ConfigSource
    var type: ConfigValueType
    var readOnly: Bool
    var documentation: String
    /// The value's origins, most specific first (Kafka lists the topic override, then broker settings, then
    /// the broker default).
    var synonyms: [Synonym]
}

/// A broker property as Vltava reports it under Kafka's name: its value, Kafka's default, and its type.
struct BrokerProperty {
    var name: String
    var value: String?
    var kafkaDefault: String?
    var type: ConfigValueType
    var documentation: String
    /// Whether the value was set by the operator rather than left at Kafka's default.
    var isSet: Bool
}

extension Broker {
    /// Broker properties that Kafka lists as lower-priority synonyms of another (`log.retention.ms` is also set by
    /// `log.retention.minutes` and `log.retention.hours`), with Kafka's defaults.
    private static let brokerSynonymDefaults: [String: [(name: String, kafkaDefault: String?)]] = [
        "log.retention.ms": [("log.retention.minutes", nil), ("log.retention.hours", "168")],
        "log.roll.ms": [("log.roll.hours", "168")],
        "log.roll.jitter.ms": [("log.roll.jitter.hours", "0")],
    ]

    /// Broker properties setting a topic default whose Kafka default is null (a lower-priority synonym applies).
    private static let brokerPropertiesWithoutDefault: Set<String> = [
        "log.retention.ms", "log.roll.ms", "log.roll.jitter.ms", "log.flush.interval.ms",
    ]

    /// The broker property that sets each topic config's default (`retention.ms` ← `log.retention.ms`).
    static let brokerPropertyForTopicConfig: [String: String] = Dictionary(
        uniqueKeysWithValues: BrokerConfiguration.topicDefaultProperties.map { ($0.value, $0.key) })

    /// The configuration this broker runs with, under Kafka's property names.
    func brokerProperties() -> [BrokerProperty] {
        let defaults = BrokerConfiguration()
        let topicDefaults = configuration.topicDefaults
        func listeners(_ endpoints: [ListenerEndpoint]) -> String? {
            endpoints.isEmpty ? nil : endpoints.map { endpoint in
                let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
                return "\(endpoint.name)://\(host):\(endpoint.port)"
            }.joined(separator: ",")
        }
        func property(_ name: String, _ value: String?, _ kafkaDefault: String?, _ type: ConfigValueType, _ documentation: String,
                      isSet: Bool? = nil) -> BrokerProperty {
            BrokerProperty(name: name, value: value, kafkaDefault: kafkaDefault, type: type, documentation: documentation,
                           isSet: isSet ?? (value != kafkaDefault))
        }
        let securityProtocolMap = configuration.securityProtocolMap.isEmpty
            ? nil : configuration.securityProtocolMap.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
        var result = [
            property("advertised.listeners", listeners(configuration.advertisedListeners), nil, .string,
                     "Listeners to publish to clients if different from listeners."),
            property("auto.create.topics.enable", String(configuration.autoCreateTopics), "true", .boolean,
                     "Enable auto creation of topics on the server."),
            property("broker.id", String(nodeId), "-1", .int, "The broker id (the node id on a KRaft node)."),
            property("controller.listener.names", configuration.controllerListenerNames.isEmpty
                        ? nil : configuration.controllerListenerNames.joined(separator: ","), nil, .string,
                     "Listener names used by the controller; not served by the broker."),
            property("default.replication.factor", String(configuration.defaultReplicationFactor), "1", .int,
                     "The replication factor of automatically created topics."),
            property("delete.topic.enable", String(configuration.deleteTopicEnable), "true", .boolean,
                     "Whether topics can be deleted."),
            property("group.coordinator.rebalance.protocols", configuration.consumerProtocolEnabled ? "classic,consumer" : "classic",
                     "classic,consumer", .list, "The group protocols the coordinator serves."),
            property("group.consumer.heartbeat.interval.ms", String(configuration.consumerGroups.heartbeatIntervalMs), "5000", .int,
                     "The heartbeat interval given to members of consumer groups."),
            property("group.consumer.session.timeout.ms", String(configuration.consumerGroups.sessionTimeoutMs), "45000", .int,
                     "The time after which a silent member of a consumer group is removed."),
            property("group.consumer.max.size", configuration.consumerGroups.maxSize == Int(Int32.max)
                        ? String(Int32.max) : String(configuration.consumerGroups.maxSize), String(Int32.max), .int,
                     "The largest number of members a consumer group may have."),
            property("group.consumer.assignors", configuration.consumerGroups.assignors.map(\.rawValue).joined(separator: ","),
                     "uniform,range", .list, "The server-side assignors of consumer groups; the first is the default."),
            property("group.initial.rebalance.delay.ms", String(configuration.groupInitialRebalanceDelayMs), "3000", .int,
                     "How long the group coordinator waits for more consumers before the first rebalance."),
            property("listener.security.protocol.map", securityProtocolMap ?? Self.kafkaSecurityProtocolMap,
                     Self.kafkaSecurityProtocolMap, .string, "Map between listener names and security protocols."),
            property("listeners", listeners(configuration.listeners), "PLAINTEXT://:9092", .string,
                     "Listeners the broker binds: NAME://host:port, comma-separated."),
            property("log.dirs", configuration.dataDirectory, nil, .string, "The directory in which the log data is kept.",
                     isSet: configuration.dataDirectory != defaults.dataDirectory),
            property("log.retention.check.interval.ms", String(configuration.retentionCheckIntervalMs), "300000", .long,
                     "How often retention is checked."),
            property("node.id", String(nodeId), "-1", .int, "The node id of this server."),
            property("num.partitions", String(configuration.defaultPartitions), "1", .int,
                     "The default number of partitions of automatically created topics."),
            property("offsets.retention.minutes", String(configuration.offsetsRetentionMinutes), "10080", .int,
                     "How long committed offsets of an empty group are kept."),
            property("socket.request.max.bytes", String(configuration.maximumRequestSize), "104857600", .int,
                     "The largest request the broker accepts."),
        ]
        for (name, value) in configuration.consumerGroupBounds {
            result.append(property(name, String(value), String(defaults.consumerGroupBounds[name] ?? value), .int,
                                   "A bound of the consumer group timing it names."))
        }
        for (name, topicConfig) in BrokerConfiguration.topicDefaultProperties {
            guard let definition = TopicConfigs.definition(topicConfig) else { continue }
            let kafkaDefault = Self.brokerPropertiesWithoutDefault.contains(name) ? nil : definition.defaultValue
            let value = topicDefaults[topicConfig] ?? kafkaDefault
            result.append(property(name, value, kafkaDefault, definition.type,
                                   "The default \(topicConfig) of topics: \(definition.documentation).",
                                   isSet: topicDefaults[topicConfig] != nil))
            for synonym in Self.brokerSynonymDefaults[name] ?? [] {
                result.append(property(synonym.name, synonym.kafkaDefault, synonym.kafkaDefault,
                                       synonym.name.hasSuffix("hours") ? .int : .long,
                                       "A lower-priority form of \(name).", isSet: false))
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    private static let kafkaSecurityProtocolMap =
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"

    /// Where a broker property's value comes from, as synonyms: the operator's setting, then Kafka's defaults of
    /// it and of its lower-priority forms.
    private func brokerSynonyms(of name: String, in properties: [String: BrokerProperty]) -> [ConfigDescription.Synonym] {
        guard let property = properties[name] else { return [] }
        var synonyms: [ConfigDescription.Synonym] = []
        if property.isSet { synonyms.append(.init(name: name, value: property.value, source: .staticBrokerConfig)) }
        if let kafkaDefault = property.kafkaDefault {
            synonyms.append(.init(name: name, value: kafkaDefault, source: .defaultConfig))
        }
        for synonym in Self.brokerSynonymDefaults[name] ?? [] {
            if let kafkaDefault = synonym.kafkaDefault {
                synonyms.append(.init(name: synonym.name, value: kafkaDefault, source: .defaultConfig))
            }
        }
        return synonyms
    }

    /// Every config of a broker resource.
    func brokerConfigDescriptions() -> [ConfigDescription] {
        let all = brokerProperties()
        let byName = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
        return all.map { property in
            ConfigDescription(
                name: property.name, value: property.value, source: property.isSet ? .staticBrokerConfig : .defaultConfig,
                type: property.type, readOnly: true, documentation: property.documentation,
                synonyms: brokerSynonyms(of: property.name, in: byName))
        }
    }

    /// Every config of a topic: its override, or the broker's default, or Kafka's.
    func topicConfigDescriptions(_ topic: TopicMetadata) -> [ConfigDescription] {
        let effective = logs.config(forTopic: topic)
        let brokerProperties = Dictionary(uniqueKeysWithValues: self.brokerProperties().map { ($0.name, $0) })
        return TopicConfigs.definitions.map { definition in
            var synonyms: [ConfigDescription.Synonym] = []
            if let override = topic.configs[definition.name] {
                synonyms.append(.init(name: definition.name, value: override, source: .topicConfig))
            }
            if let brokerProperty = Self.brokerPropertyForTopicConfig[definition.name] {
                synonyms += brokerSynonyms(of: brokerProperty, in: brokerProperties)
            }
            return ConfigDescription(
                name: definition.name, value: effective.value(definition.name), source: synonyms.first?.source ?? .defaultConfig,
                type: definition.type, readOnly: false, documentation: definition.documentation, synonyms: synonyms)
        }
    }

    /// The broker's one logger, named `root` as Kafka's log4j root logger, with its level in log4j's words.
    func brokerLoggerDescriptions() -> [ConfigDescription] {
        let level: String
        switch logger.logLevel {
        case .trace: level = "TRACE"
        case .debug: level = "DEBUG"
        case .info, .notice: level = "INFO"
        case .warning: level = "WARN"
        case .error: level = "ERROR"
        case .critical: level = "FATAL"
        }
        return [ConfigDescription(name: "root", value: level, source: .dynamicBrokerLoggerConfig, type: .string,
                                  readOnly: true, documentation: "The level of the broker's log.", synonyms: [])]
    }
}
