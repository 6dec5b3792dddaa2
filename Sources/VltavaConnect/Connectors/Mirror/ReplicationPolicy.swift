/// How MirrorMaker 2 names remote topics (Kafka's `ReplicationPolicy`, chosen by `replication.policy.class`).
public struct ReplicationPolicy: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// `DefaultReplicationPolicy`: `<source>.<topic>`, so topics can be traced back and cycles detected.
        case prefixed
        /// `IdentityReplicationPolicy`: the source's names unchanged (heartbeats excepted); cycles cannot be seen.
        case identity
    }

    public static let defaultClass = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
    public static let identityClass = "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"

    public var kind: Kind
    /// `replication.policy.separator` (default ".").
    public var separator: String
    /// `replication.policy.internal.topic.separator.enabled` (default true): whether the internal topics' names use
    /// the separator too (else always ".").
    public var internalSeparatorEnabled: Bool
    /// The alias a topic without a prefix comes from under the identity policy (`source.cluster.alias`).
    public var sourceClusterAlias: String?

    public init(kind: Kind = .prefixed, separator: String = ".", internalSeparatorEnabled: Bool = true, sourceClusterAlias: String? = nil) {
        self.kind = kind
        self.separator = separator
        self.internalSeparatorEnabled = internalSeparatorEnabled
        self.sourceClusterAlias = sourceClusterAlias
    }

    /// The policy of a connector's configuration.
    public init(config: [String: String]) throws(ConnectError) {
        let className = (config["replication.policy.class"] ?? Self.defaultClass).trimmedWhitespace
        switch className {
        case Self.defaultClass, "DefaultReplicationPolicy": kind = .prefixed
        case Self.identityClass, "IdentityReplicationPolicy": kind = .identity
        default:
            throw .config(name: "replication.policy.class",
                          message: "Invalid value \(className) for configuration replication.policy.class: Class \(className) could not be found "
                              + "(built in: \(Self.defaultClass), \(Self.identityClass))")
        }
        separator = config["replication.policy.separator"] ?? "."
        guard !separator.isEmpty else {
            throw .config(name: "replication.policy.separator", message: "replication.policy.separator must not be empty")
        }
        internalSeparatorEnabled = try ConnectConfig.boolean(config, "replication.policy.internal.topic.separator.enabled", default: true)
        sourceClusterAlias = config["source.cluster.alias"]
    }

    public static let heartbeatsTopic = "heartbeats"

    private var internalSeparator: String { internalSeparatorEnabled ? separator : "." }
    private var internalSuffix: String { internalSeparator + "internal" }

    /// The name of `topic` of cluster `source` on the target.
    public func formatRemoteTopic(source: String, topic: String) -> String {
        if kind == .identity, !isHeartbeatsTopic(topic) { return topic }
        return source + separator + topic
    }

    /// The cluster a remote topic came from, if its name says so.
    public func topicSource(_ topic: String) -> String? {
        if kind == .identity, !isHeartbeatsTopic(topic) { return sourceClusterAlias }
        guard let range = topic.firstRange(of: separator), range.lowerBound != topic.startIndex else { return nil }
        return String(topic[..<range.lowerBound])
    }

    /// The topic's name one hop upstream, if it is a remote topic.
    public func upstreamTopic(_ topic: String) -> String? {
        if kind == .identity, !isHeartbeatsTopic(topic) { return topic }
        guard let source = topicSource(topic) else { return nil }
        return String(topic.dropFirst(source.count + separator.count))
    }

    /// The topic's name where it was first written, every hop undone.
    public func originalTopic(_ topic: String) -> String {
        var current = topic
        while let upstream = upstreamTopic(current), upstream != current { current = upstream }
        return current
    }

    public func offsetSyncsTopic(target: String) -> String { "mm2-offset-syncs" + internalSeparator + target + internalSuffix }
    public func checkpointsTopic(source: String) -> String { source + internalSeparator + "checkpoints" + internalSuffix }

    public func isHeartbeatsTopic(_ topic: String) -> Bool {
        topic == Self.heartbeatsTopic || topic.hasSuffix(separator + Self.heartbeatsTopic)
            && originalTopic(topic) == Self.heartbeatsTopic
    }

    public func isCheckpointsTopic(_ topic: String) -> Bool { topic.hasSuffix(internalSeparator + "checkpoints" + internalSuffix) }

    /// MirrorMaker's own topics and the clusters' internal ones, never replicated.
    public func isInternalTopic(_ topic: String) -> Bool {
        let mirrorInternal = topic.hasSuffix(internalSuffix)
            && (topic.hasPrefix("mm2") || isCheckpointsTopic(topic))
        return mirrorInternal || topic.hasPrefix("__") || topic.hasPrefix(".") || topic.hasSuffix(".internal")
            || topic.hasSuffix("-internal")
    }

    /// Whether `topic` came from `target` somewhere upstream: replicating it there would close a cycle.
    public func isCycle(_ topic: String, target: String) -> Bool {
        var current = topic
        while let source = topicSource(current) {
            if source == target { return true }
            guard let upstream = upstreamTopic(current), upstream != current else { return false }
            current = upstream
        }
        return false
    }
}

/// Kafka's `DefaultTopicFilter`/`DefaultGroupFilter`: names matching one of the include patterns and none of the
/// exclude patterns (Java regular expressions, whole-name matches).
struct MirrorNameFilter: Sendable {
    let include: [JavaRegex]
    let exclude: [JavaRegex]

    static let defaultTopicsExclude = #".*[\-\.]internal, .*\.replica, __.*"#
    static let defaultGroupsExclude = "console-consumer-.*, connect-.*, __.*"

    init(config: [String: String], includeKey: String, excludeKey: String, defaultExclude: String) throws(ConnectError) {
        include = try Self.patterns(config[includeKey] ?? ".*", key: includeKey)
        exclude = try Self.patterns(config[excludeKey] ?? defaultExclude, key: excludeKey)
    }

    static func topics(_ config: [String: String]) throws(ConnectError) -> MirrorNameFilter {
        try MirrorNameFilter(config: config, includeKey: "topics", excludeKey: "topics.exclude", defaultExclude: defaultTopicsExclude)
    }

    static func groups(_ config: [String: String]) throws(ConnectError) -> MirrorNameFilter {
        try MirrorNameFilter(config: config, includeKey: "groups", excludeKey: "groups.exclude", defaultExclude: defaultGroupsExclude)
    }

    func accepts(_ name: String) -> Bool {
        include.contains { $0.matchesWhole(name) } && !exclude.contains { $0.matchesWhole(name) }
    }

    /// A LIST value's entries as patterns; an entry that does not compile is a configuration error naming it.
    static func patterns(_ text: String, key: String) throws(ConnectError) -> [JavaRegex] {
        var patterns: [JavaRegex] = []
        for entry in ConnectConfig.list([key: text], key) {
            do {
                patterns.append(try JavaRegex(entry))
            } catch {
                throw .config(name: key, message: "Invalid value \(entry) for configuration \(key): not a regular expression (\(error))")
            }
        }
        return patterns
    }
}
