#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VltavaCoordinator
import VltavaSecurity
import VltavaStorage

/// A listener: a name (PLAINTEXT, PLAINTEXT_HOST, ...), a host and a port.
public struct ListenerEndpoint: Equatable, Sendable {
    public var name: String
    public var host: String
    public var port: Int

    /// Parses Kafka's `NAME://host:port` form (IPv6 hosts in brackets).
    public init(parsing text: String) throws(ConfigurationError) {
        let trimmed = text.trimmedWhitespace
        guard let separator = trimmed.firstRange(of: "://") else { throw .invalidValue(name: "listeners", value: text, reason: "expected NAME://host:port") }
        name = String(trimmed[..<separator.lowerBound]).uppercased()
        let address = trimmed[separator.upperBound...]
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
            throw .invalidValue(name: "listeners", value: text, reason: "expected a port")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = port
    }

    public init(name: String, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }
}

/// A configuration the broker cannot start with.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unknownOption(String)
    case invalidValue(name: String, value: String, reason: String)
    /// A listener's security settings that cannot be used.
    case invalidListener(name: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidListener(name, reason): return "listener \(name): \(reason)"
        case let .unknownOption(name): return "unknown configuration option '\(name)'"
        case let .invalidValue(name, value, reason): return "invalid value '\(value)' for '\(name)': \(reason)"
        }
    }
}

/// Everything `vltava serve` is configured with, from Kafka's property names.
public struct BrokerConfiguration: Sendable {
    public var listeners: [ListenerEndpoint] = [ListenerEndpoint(name: "PLAINTEXT", host: "0.0.0.0", port: 9092)]
    public var advertisedListeners: [ListenerEndpoint] = []
    public var securityProtocolMap: [String: String] = [:]
    public var controllerListenerNames: [String] = []
    public var dataDirectory = "./data"
    public var nodeId: Int32 = 1
    public var clusterId: String?
    public var autoCreateTopics = true
    public var defaultPartitions: Int32 = 1
    public var defaultReplicationFactor: Int16 = 1
    public var groupInitialRebalanceDelayMs: Int64 = 3000
    public var offsetsRetentionMinutes: Int64 = 10080
    /// Consumer groups of the KIP-848 protocol (`group.consumer.*`).
    public var consumerGroups = ConsumerGroupConfiguration()
    /// `group.coordinator.rebalance.protocols`: the group protocols served, `classic` always (as Kafka requires)
    /// and `consumer` unless left out (KIP-848's ConsumerGroupHeartbeat and ConsumerGroupDescribe).
    public var consumerProtocolEnabled = true
    /// The bounds `group.consumer.heartbeat.interval.ms` and `group.consumer.session.timeout.ms` must keep to,
    /// by Kafka's property names (`group.consumer.min.*` and `group.consumer.max.*`), with Kafka's defaults.
    public var consumerGroupBounds: [String: Int32] = [
        "group.consumer.min.heartbeat.interval.ms": 5000, "group.consumer.max.heartbeat.interval.ms": 15000,
        "group.consumer.min.session.timeout.ms": 45000, "group.consumer.max.session.timeout.ms": 60000,
    ]
    /// `transaction.max.timeout.ms`, `transactional.id.expiration.ms` and the coordinator's timer intervals.
    public var transactions = TransactionConfiguration()
    public var maximumRequestSize = 104_857_600
    public var retentionCheckIntervalMs: Int64 = 300_000
    public var deleteTopicEnable = true
    /// `num.io.threads`: the request-handler threads that run every request's disk and lock work, so that the
    /// event loops only move bytes.
    public var ioThreads = 8
    /// Per-connection limits (`connections.max.idle.ms`, `request.read.timeout.ms`, `socket.request.max.bytes`).
    public var connectionLimits = ConnectionLimits()
    /// `queued.max.request.bytes`: memory for requests read and not answered, across connections (-1: unlimited).
    public var queuedMaxRequestBytes = -1
    /// `max.connections`: connections accepted at once on all listeners.
    public var maxConnections = Int(Int32.max)
    /// `max.connections.per.ip` and its `max.connections.per.ip.overrides` (`host:count,...`).
    public var maxConnectionsPerIp = Int(Int32.max)
    public var maxConnectionsPerIpOverrides: [String: Int] = [:]
    /// `sasl.enabled.mechanisms` for SASL listeners without their own (Kafka's default, GSSAPI, is not supported:
    /// a SASL listener left at it is refused at start-up, naming the setting).
    public var saslEnabledMechanisms = "GSSAPI"
    /// `connections.max.reauth.ms` (KIP-368): 0 lets SASL sessions last as long as their connection.
    public var connectionsMaxReauthMs: Int64 = 0
    /// `quota.window.num` and `quota.window.size.seconds`: client quotas are measured over this many windows of
    /// this many seconds (Kafka's defaults: 11 of 1 s).
    public var quotaWindowNum = 11
    public var quotaWindowSizeSeconds = 1
    /// `sasl.server.max.receive.size`: the largest frame read before authentication.
    public var saslServerMaximumReceiveSize = 524_288
    /// The JAAS file (`java.security.auth.login.config`, also taken from `-D...` in `KAFKA_OPTS`).
    public var jaasFile: String?
    /// `listener.name.<listener>.*` properties (per-listener mechanisms and JAAS configurations).
    public var listenerProperties: [String: String] = [:]
    /// `ssl.*` properties of TLS listeners (per listener with the `listener.name.<listener>.` prefix).
    public var sslProperties: [String: String] = [:]
    /// `sasl.oauthbearer.*` properties of the brokers' signed-token validator (also per listener with the
    /// `listener.name.<listener>.oauthbearer.` prefix).
    public var oauthBearerProperties: [String: String] = [:]
    /// `authorizer.class.name` set to Kafka's ACL authorizer: every request is checked against the ACLs.
    public var aclsEnabled = false
    /// `super.users` (`User:admin;User:ops`): allowed everything.
    public var superUsers: Set<String> = []
    /// `allow.everyone.if.no.acl.found`: a resource no ACL covers is open to all (Kafka's default: false).
    public var allowEveryoneIfNoAclFound = false
    /// The log cleaner's settings (`log.cleaner.dedupe.buffer.size`, `log.cleaner.io.buffer.size`, ...).
    public var cleanerProperties: [String: String] = [:]
    /// Broker-wide defaults of topic configs (`log.retention.ms` → `retention.ms`, ...).
    public var topicDefaults: [String: String] = [:]
    /// Cluster mode: etcd's client URLs (`etcd.endpoints`, `KAFKA_ETCD_ENDPOINTS`); empty for a single node.
    public var etcdEndpoints: [String] = []
    /// The cluster's name: its state lives under `/vltava/<name>/` in etcd (`cluster.name`).
    public var clusterName = "vltava"
    /// How long a broker's etcd lease lasts without a keepalive (`broker.session.timeout.ms`, as in KRaft).
    public var brokerSessionTimeoutMs: Int64 = 10_000
    /// The broker's rack (`broker.rack`), told to clients in Metadata.
    public var rack: String?

    public init() {}

    /// Broker properties whose value only matters to a cluster or to Kafka's JVM: accepted and ignored.
    static let acceptedAndIgnored: Set<String> = [
        "process.roles", "controller.quorum.voters", "controller.quorum.bootstrap.servers", "inter.broker.listener.name",
        "offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
        "confluent.license.topic.replication.factor", "confluent.balancer.topic.replication.factor",
        "confluent.metrics.reporter.topic.replicas", "confluent.support.metrics.enable", "metric.reporters",
        "jmx.port", "jmx.hostname", "log.dir.failure.timeout.ms", "num.network.threads",
        "num.recovery.threads.per.data.dir", "socket.send.buffer.bytes", "socket.receive.buffer.bytes",
        "offsets.topic.num.partitions", "transaction.state.log.num.partitions", "min.insync.replicas",
        "unclean.leader.election.enable", "zookeeper.connect", "confluent.metrics.enable",
        "replica.fetch.max.bytes", "num.replica.fetchers", "auto.leader.rebalance.enable", "log.cleaner.enable",
        "sasl.mechanism.inter.broker.protocol", "transactional.id.expiration.ms",
    ]

    /// Kafka's `ssl.*` broker properties (and the file-name forms of Confluent's images): a misspelt one is an
    /// error, not a TLS listener quietly set up without it. Those of the JVM's key and trust managers are accepted
    /// and have no effect.
    static let sslPropertyNames: Set<String> = [
        "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
        "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.type", "ssl.truststore.location",
        "ssl.truststore.password", "ssl.truststore.certificates", "ssl.client.auth", "ssl.enabled.protocols", "ssl.protocol",
        "ssl.cipher.suites", "ssl.principal.mapping.rules", "ssl.endpoint.identification.algorithm",
        "ssl.secure.random.implementation", "ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.provider",
        "ssl.allow.dn.changes", "ssl.allow.san.changes", "ssl.keystore.filename", "ssl.keystore.credentials",
        "ssl.key.credentials", "ssl.truststore.filename", "ssl.truststore.credentials",
    ]

    /// Broker properties that set a topic config default, and the topic config each sets.
    static let topicDefaultProperties: [String: String] = [
        "log.retention.ms": "retention.ms", "log.retention.bytes": "retention.bytes",
        "log.segment.bytes": "segment.bytes", "log.roll.ms": "segment.ms", "log.roll.jitter.ms": "segment.jitter.ms",
        "log.index.interval.bytes": "index.interval.bytes", "log.flush.interval.messages": "flush.messages",
        "log.flush.interval.ms": "flush.ms", "message.max.bytes": "max.message.bytes",
        "log.message.timestamp.type": "message.timestamp.type", "log.cleanup.policy": "cleanup.policy",
        "compression.type": "compression.type", "log.message.timestamp.before.max.ms": "message.timestamp.before.max.ms",
        "log.message.timestamp.after.max.ms": "message.timestamp.after.max.ms", "log.preallocate": "preallocate",
        "log.segment.delete.delay.ms": "file.delete.delay.ms", "log.cleaner.delete.retention.ms": "delete.retention.ms",
    ]

    /// Applies Kafka broker properties in order; later ones win. Unknown names are an error naming them.
    public mutating func apply(_ properties: [(String, String)]) throws(ConfigurationError) {
        var retentionHours: String?
        var retentionMinutes: String?
        var rollHours: String?
        for (rawName, rawValue) in properties {
            let name = rawName.trimmedWhitespace
            let value = rawValue.trimmedWhitespace
            switch name {
            case "listeners":
                listeners = try value.split(separator: ",").map { (item) throws(ConfigurationError) in try ListenerEndpoint(parsing: String(item)) }
            case "advertised.listeners", "advertised.host.name":
                advertisedListeners = try value.split(separator: ",").map { (item) throws(ConfigurationError) in try ListenerEndpoint(parsing: String(item)) }
            case "listener.security.protocol.map":
                for pair in value.split(separator: ",") {
                    let parts = pair.split(separator: ":")
                    guard parts.count == 2 else { throw .invalidValue(name: name, value: value, reason: "expected NAME:PROTOCOL pairs") }
                    securityProtocolMap[parts[0].trimmedWhitespace.uppercased()] = parts[1].trimmedWhitespace.uppercased()
                }
            case "authorizer.class.name":
                let authorizers: Set<String> = [
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer",
                    "kafka.security.auth.SimpleAclAuthorizer",
                ]
                guard value.isEmpty || authorizers.contains(value) else {
                    throw .invalidValue(name: name, value: value, reason: "Vltava has Kafka's ACL authorizer only ("
                        + "org.apache.kafka.metadata.authorizer.StandardAuthorizer); no other class can be loaded")
                }
                aclsEnabled = !value.isEmpty
            case "super.users":
                superUsers = Set(value.split(separator: ";").map { $0.trimmedWhitespace }.filter { !$0.isEmpty })
            case "allow.everyone.if.no.acl.found":
                allowEveryoneIfNoAclFound = try parseBool(name, value)
            case "sasl.enabled.mechanisms":
                saslEnabledMechanisms = value
            case "connections.max.reauth.ms":
                connectionsMaxReauthMs = try parse(name, value, as: Int64.self, atLeast: 0)
            case "quota.window.num":
                quotaWindowNum = try parse(name, value, as: Int.self, atLeast: 1)
            case "quota.window.size.seconds":
                quotaWindowSizeSeconds = try parse(name, value, as: Int.self, atLeast: 1)
            case "client.quota.callback.class":
                throw .invalidValue(name: name, value: value, reason: "Vltava loads no classes; quotas are Kafka's default ones")
            case "sasl.server.max.receive.size":
                saslServerMaximumReceiveSize = try parse(name, value, as: Int.self, atLeast: 1)
            case "java.security.auth.login.config":
                jaasFile = value
            case "controller.listener.names":
                controllerListenerNames = value.split(separator: ",").map { $0.trimmedWhitespace.uppercased() }
            case "log.dirs", "log.dir":
                dataDirectory = String(value.split(separator: ",").first ?? "./data")
            case "node.id", "broker.id":
                nodeId = try parse(name, value, as: Int32.self)
            case "cluster.id":
                clusterId = value
            case "auto.create.topics.enable":
                autoCreateTopics = try parseBool(name, value)
            case "delete.topic.enable":
                deleteTopicEnable = try parseBool(name, value)
            case "num.partitions":
                defaultPartitions = try parse(name, value, as: Int32.self, atLeast: 1)
            case "default.replication.factor":
                defaultReplicationFactor = try parse(name, value, as: Int16.self)
            case "group.initial.rebalance.delay.ms":
                groupInitialRebalanceDelayMs = try parse(name, value, as: Int64.self)
            case "offsets.retention.minutes":
                offsetsRetentionMinutes = try parse(name, value, as: Int64.self)
            case "group.consumer.heartbeat.interval.ms":
                consumerGroups.heartbeatIntervalMs = try parse(name, value, as: Int32.self, atLeast: 1)
            case "group.consumer.session.timeout.ms":
                consumerGroups.sessionTimeoutMs = try parse(name, value, as: Int32.self, atLeast: 1)
            case "group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms",
                 "group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms":
                consumerGroupBounds[name] = try parse(name, value, as: Int32.self, atLeast: 1)
            case "group.coordinator.rebalance.protocols":
                let protocols = Set(value.split(separator: ",").map { $0.trimmedWhitespace.lowercased() }.filter { !$0.isEmpty })
                guard protocols.contains("classic") else {
                    throw .invalidValue(name: name, value: value, reason: "the classic protocol cannot be disabled")
                }
                if let other = protocols.subtracting(["classic", "consumer"]).sorted().first {
                    throw .invalidValue(name: name, value: value,
                                        reason: "\(other) groups are not served; the protocols are classic and consumer")
                }
                consumerProtocolEnabled = protocols.contains("consumer")
            case "group.consumer.max.size":
                consumerGroups.maxSize = Int(try parse(name, value, as: Int32.self, atLeast: 1))
            case "group.consumer.assignors":
                var assignors: [ConsumerGroupAssignor] = []
                for entry in value.split(separator: ",").map({ $0.trimmedWhitespace }) where !entry.isEmpty {
                    // Kafka's class names are accepted for the two assignors it ships.
                    let short = entry.hasSuffix("UniformAssignor") ? "uniform" : entry.hasSuffix("RangeAssignor") ? "range" : entry
                    guard let assignor = ConsumerGroupAssignor(rawValue: short.lowercased()) else {
                        throw .invalidValue(name: name, value: value, reason: "the server-side assignors are uniform and range")
                    }
                    assignors.append(assignor)
                }
                guard !assignors.isEmpty else { throw .invalidValue(name: name, value: value, reason: "name at least one assignor") }
                consumerGroups.assignors = assignors
            case "transaction.max.timeout.ms":
                transactions.maxTimeoutMs = try parse(name, value, as: Int32.self, atLeast: 1)
            case "transactional.id.expiration.ms":
                transactions.idExpirationMs = try parse(name, value, as: Int64.self, atLeast: 1)
            case "transaction.abort.timed.out.transaction.cleanup.interval.ms":
                transactions.abortTimedOutIntervalMs = try parse(name, value, as: Int64.self, atLeast: 1)
            case "transaction.remove.expired.transaction.cleanup.interval.ms":
                transactions.removeExpiredIntervalMs = try parse(name, value, as: Int64.self, atLeast: 1)
            case "socket.request.max.bytes":
                maximumRequestSize = try parse(name, value, as: Int.self, atLeast: 1)
                connectionLimits.maximumRequestBytes = maximumRequestSize
            case "num.io.threads":
                ioThreads = try parse(name, value, as: Int.self, atLeast: 1)
            case "connections.max.idle.ms":
                connectionLimits.idleTimeoutMs = try parse(name, value, as: Int64.self, atLeast: 1)
            case "request.read.timeout.ms":
                connectionLimits.frameTimeoutMs = try parse(name, value, as: Int64.self, atLeast: 1)
            case "queued.max.request.bytes":
                queuedMaxRequestBytes = try parse(name, value, as: Int.self)
            case "max.connections":
                maxConnections = try parse(name, value, as: Int.self, atLeast: 0)
            case "max.connections.per.ip":
                maxConnectionsPerIp = try parse(name, value, as: Int.self, atLeast: 0)
            case "max.connections.per.ip.overrides":
                maxConnectionsPerIpOverrides = [:]
                for entry in value.split(separator: ",") where !entry.trimmedWhitespace.isEmpty {
                    guard let colon = entry.lastIndex(of: ":"), let count = Int(entry[entry.index(after: colon)...].trimmedWhitespace),
                          count >= 0 else {
                        throw .invalidValue(name: name, value: value, reason: "expected host:count pairs")
                    }
                    maxConnectionsPerIpOverrides[entry[..<colon].trimmedWhitespace] = count
                }
            case "log.retention.check.interval.ms":
                retentionCheckIntervalMs = try parse(name, value, as: Int64.self)
            case "log.retention.hours":
                retentionHours = try String(parse(name, value, as: Int64.self))
            case "log.retention.minutes":
                retentionMinutes = try String(parse(name, value, as: Int64.self))
            case "etcd.endpoints":
                etcdEndpoints = value.split(separator: ",").map { String($0).trimmedWhitespace }.filter { !$0.isEmpty }
            case "cluster.name":
                guard !value.isEmpty, !value.contains("/") else {
                    throw .invalidValue(name: name, value: value, reason: "a cluster name must be non-empty and without '/'")
                }
                clusterName = value
            case "broker.session.timeout.ms":
                brokerSessionTimeoutMs = try parse(name, value, as: Int64.self, atLeast: 1000)
            case "broker.rack":
                rack = value.isEmpty ? nil : value
            case "log.roll.hours":
                rollHours = try String(parse(name, value, as: Int64.self))
            default:
                if LogCleanerSettings.propertyNames.contains(name) {
                    cleanerProperties[name] = value
                    do {
                        _ = try LogCleanerSettings(properties: cleanerProperties)
                    } catch {
                        throw .invalidValue(name: name, value: value, reason: "\(error)")
                    }
                } else if let topicConfig = Self.topicDefaultProperties[name] {
                    if let problem = TopicConfigs.definition(topicConfig)?.problem(with: value) {
                        throw .invalidValue(name: name, value: value, reason: problem)
                    }
                    topicDefaults[topicConfig] = value
                } else if name.hasPrefix("ssl.") {
                    guard Self.sslPropertyNames.contains(name) else {
                        if name == "ssl.engine.factory.class" {
                            throw .invalidValue(name: name, value: value, reason: "Vltava loads no classes; its TLS is swift-nio-ssl")
                        }
                        throw .unknownOption(name)
                    }
                    sslProperties[name] = value
                } else if name.hasPrefix("sasl.oauthbearer.") {
                    guard Self.oauthBearerServerProperties.contains(name)
                        || Self.oauthBearerClientProperties.contains(name) else { throw .unknownOption(name) }
                    oauthBearerProperties[name] = value
                } else if name.hasPrefix("listener.name.") {
                    listenerProperties[name.lowercased()] = value
                } else if !Self.acceptedAndIgnored.contains(name) {
                    throw .unknownOption(name)
                }
            }
        }
        if topicDefaults["retention.ms"] == nil {
            if let minutes = retentionMinutes, let value = Int64(minutes) {
                topicDefaults["retention.ms"] = String(value * 60_000)
            } else if let hours = retentionHours, let value = Int64(hours) {
                topicDefaults["retention.ms"] = String(value * 3_600_000)
            }
        }
        if topicDefaults["segment.ms"] == nil, let hours = rollHours, let value = Int64(hours) {
            topicDefaults["segment.ms"] = String(value * 3_600_000)
        }
        try checkBounds("group.consumer.heartbeat.interval.ms", consumerGroups.heartbeatIntervalMs)
        try checkBounds("group.consumer.session.timeout.ms", consumerGroups.sessionTimeoutMs)
        if consumerGroups.heartbeatIntervalMs >= consumerGroups.sessionTimeoutMs {
            throw .invalidValue(name: "group.consumer.heartbeat.interval.ms", value: String(consumerGroups.heartbeatIntervalMs),
                                reason: "must be less than group.consumer.session.timeout.ms (\(consumerGroups.sessionTimeoutMs))")
        }
    }

    /// A consumer group timing within its `group.consumer.min.*` and `group.consumer.max.*` bounds.
    private func checkBounds(_ name: String, _ value: Int32) throws(ConfigurationError) {
        let suffix = name.dropFirst("group.consumer.".count)
        let (minName, maxName) = ("group.consumer.min.\(suffix)", "group.consumer.max.\(suffix)")
        let (minimum, maximum) = (consumerGroupBounds[minName] ?? 1, consumerGroupBounds[maxName] ?? Int32.max)
        guard (minimum...max(minimum, maximum)).contains(value), minimum <= maximum else {
            throw .invalidValue(name: name, value: String(value),
                                reason: "must be between \(minName) (\(minimum)) and \(maxName) (\(maximum))")
        }
    }

    /// An integer property that may not be below `minimum`.
    private func parse<T: FixedWidthInteger>(_ name: String, _ value: String, as type: T.Type, atLeast minimum: T)
        throws(ConfigurationError) -> T {
        let parsed = try parse(name, value, as: type)
        if parsed < minimum { throw .invalidValue(name: name, value: value, reason: "must be at least \(minimum)") }
        return parsed
    }

    private func parse<T: FixedWidthInteger>(_ name: String, _ value: String, as type: T.Type) throws(ConfigurationError) -> T {
        guard let parsed = T(value) else { throw .invalidValue(name: name, value: value, reason: "not an integer of \(T.self)") }
        return parsed
    }

    private func parseBool(_ name: String, _ value: String) throws(ConfigurationError) -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .invalidValue(name: name, value: value, reason: "expected true or false")
        }
    }

    /// The listeners the broker binds: all but the controller's (a single node has no controller quorum).
    public var brokerListeners: [ListenerEndpoint] {
        listeners.filter { !controllerListenerNames.contains($0.name) }
    }

    /// Kafka property names from Confluent-image environment variables: `KAFKA_LOG_RETENTION_MS` → `log.retention.ms`
    /// (`__` stands for `_` and `___` for `-`); `CLUSTER_ID` → `cluster.id`. Variables of the image itself
    /// (heap, JMX, log4j options) are not broker properties and are skipped.
    public static func properties(fromEnvironment environment: [String: String]) -> [(String, String)] {
        let imageVariables: Set<String> = [
            "KAFKA_HEAP_OPTS", "KAFKA_JMX_OPTS", "KAFKA_JMX_PORT", "KAFKA_JMX_HOSTNAME", "KAFKA_OPTS", "KAFKA_LOG4J_OPTS",
            "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JVM_PERFORMANCE_OPTS",
            "KAFKA_GC_LOG_OPTS", "KAFKA_DEBUG", "KAFKA_VERSION", "KAFKA_HOME",
        ]
        var result: [(String, String)] = []
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            if key == "CLUSTER_ID" {
                result.append(("cluster.id", value))
            } else if key == "KAFKA_OPTS" {
                // The JVM options of Confluent's images name the JAAS file of SASL listeners.
                if let path = JaasConfiguration.loginConfigPath(javaOptions: value) {
                    result.append(("java.security.auth.login.config", path))
                }
            } else if key.hasPrefix("KAFKA_"), !imageVariables.contains(key) {
                result.append((JavaProperties.propertyName(confluentVariable: key.dropFirst(6)), value))
            }
        }
        return result
    }

    /// Parses a `server.properties` file: `name=value` or `name: value` lines, `#` and `!` comments.
    public static func properties(fromFile text: String) -> [(String, String)] {
        var result: [(String, String)] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmedWhitespace
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("!") { continue }
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
            result.append((String(trimmed[..<separator]).trimmedWhitespace,
                           String(trimmed[trimmed.index(after: separator)...]).trimmedWhitespace))
        }
        return result
    }
}
