#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The type of a topic config value, as Kafka's DescribeConfigs reports it.
public enum ConfigValueType: Int8, Sendable {
    case boolean = 1, string = 2, int = 3, short = 4, long = 5, double = 6, list = 7, `class` = 8, password = 9
}

/// One topic config Kafka defines: its name, type, default and the check a value must pass.
public struct TopicConfigDefinition: Sendable {
    public let name: String
    public let type: ConfigValueType
    public let defaultValue: String
    public let allowedValues: [String]?
    public let minimum: Int64?
    public let documentation: String

    init(_ name: String, _ type: ConfigValueType, _ defaultValue: String, allowed: [String]? = nil, minimum: Int64? = nil,
         _ documentation: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.allowedValues = allowed
        self.minimum = minimum
        self.documentation = documentation
    }

    /// Checks `value` against the definition, returning the reason it is invalid.
    public func problem(with value: String) -> String? {
        switch type {
        case .int, .short, .long:
            guard let number = Int64(value) else { return "not an integer" }
            if type == .int && (number < Int64(Int32.min) || number > Int64(Int32.max)) { return "out of range for an int" }
            if let minimum, number < minimum { return "must be at least \(minimum)" }
        case .double:
            guard Double(value) != nil else { return "not a number" }
        case .string where name == "message.format.version":
            // Kafka 3.x accepts any known inter-broker protocol version here (0.8.0 ... 3.9-IV0) and ignores it.
            let parts = value.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
            guard (2...3).contains(numbers.count), numbers.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }),
                  parts.count == 1 || (parts[1].hasPrefix("IV") && parts[1].count <= 5 && parts[1].dropFirst(2).allSatisfy(\.isNumber))
            else { return "not a Kafka version such as 2.8 or 3.0-IV1" }
        case .boolean:
            guard ["true", "false"].contains(value.lowercased()) else { return "not a boolean" }
        case .list:
            if let allowedValues {
                let items = value.split(separator: ",").map { $0.trimmedWhitespace.lowercased() }
                if items.isEmpty || !items.allSatisfy(allowedValues.contains) { return "must be a list of \(allowedValues)" }
            }
        default:
            if let allowedValues, !allowedValues.contains(value.lowercased()) && !allowedValues.contains(value) {
                return "must be one of \(allowedValues)"
            }
        }
        return nil
    }
}

/// Kafka's topic configs with their names and defaults (Kafka 4.0), plus the schema-validation switches.
public enum TopicConfigs {
    public static let definitions: [TopicConfigDefinition] = [
        .init("cleanup.policy", .list, "delete", allowed: ["delete", "compact"], "delete and/or compact old segments"),
        .init("compression.type", .string, "producer", allowed: ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"],
              "final compression of the topic's data"),
        .init("compression.gzip.level", .int, "-1", "gzip level"),
        .init("compression.lz4.level", .int, "9", "lz4 level"),
        .init("compression.zstd.level", .int, "3", "zstd level"),
        .init("delete.retention.ms", .long, "86400000", minimum: 0, "how long delete tombstones are kept on compacted topics"),
        .init("file.delete.delay.ms", .long, "60000", minimum: 0, "delay before a deleted file is removed"),
        .init("flush.messages", .long, "9223372036854775807", minimum: 1, "messages written before an fsync is forced"),
        .init("flush.ms", .long, "9223372036854775807", minimum: 0, "time before an fsync is forced"),
        .init("follower.replication.throttled.replicas", .list, "", "throttled follower replicas"),
        .init("index.interval.bytes", .int, "4096", minimum: 0, "bytes between offset index entries"),
        .init("leader.replication.throttled.replicas", .list, "", "throttled leader replicas"),
        .init("local.retention.bytes", .long, "-2", minimum: -2, "local retention size with tiered storage"),
        .init("local.retention.ms", .long, "-2", minimum: -2, "local retention time with tiered storage"),
        .init("max.compaction.lag.ms", .long, "9223372036854775807", minimum: 1, "maximum time a message stays uncompacted"),
        .init("max.message.bytes", .int, "1048588", minimum: 0, "largest record batch size allowed"),
        .init("message.downconversion.enable", .boolean, "true", "deprecated: kept for older tools, no effect"),
        .init("message.format.version", .string, "3.0-IV1", "deprecated: accepted for older tools, no effect (the v2 format is always used)"),
        .init("message.timestamp.after.max.ms", .long, "9223372036854775807", minimum: 0, "how far a timestamp may be in the future"),
        .init("message.timestamp.before.max.ms", .long, "9223372036854775807", minimum: 0, "how far a timestamp may be in the past"),
        .init("message.timestamp.type", .string, "CreateTime", allowed: ["CreateTime", "LogAppendTime"], "which timestamp is kept"),
        .init("min.cleanable.dirty.ratio", .double, "0.5", "dirty ratio that triggers compaction"),
        .init("min.compaction.lag.ms", .long, "0", minimum: 0, "minimum time a message stays uncompacted"),
        .init("min.insync.replicas", .int, "1", minimum: 1, "replicas that must acknowledge an acks=all write"),
        .init("preallocate", .boolean, "false", "preallocate segment files"),
        .init("remote.storage.enable", .boolean, "false", "tiered storage"),
        .init("retention.bytes", .long, "-1", "partition size kept before old segments are deleted (-1: unlimited)"),
        .init("retention.ms", .long, "604800000", minimum: -1, "time data is kept (-1: forever)"),
        .init("segment.bytes", .int, "1073741824", minimum: 14, "segment file size"),
        .init("segment.index.bytes", .int, "10485760", minimum: 4, "offset index size"),
        .init("segment.jitter.ms", .long, "0", minimum: 0, "random jitter subtracted from segment.ms"),
        .init("segment.ms", .long, "604800000", minimum: 1, "time after which a segment is rolled"),
        .init("unclean.leader.election.enable", .boolean, "false", "allow out-of-sync replicas to become leader"),
        .init("confluent.key.schema.validation", .boolean, "false", "require registered schema ids in keys"),
        .init("confluent.value.schema.validation", .boolean, "false", "require registered schema ids in values"),
    ]

    private static let byName: [String: TopicConfigDefinition] = Dictionary(
        uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// The definition of a topic config, or nil for a name Kafka does not know.
    public static func definition(_ name: String) -> TopicConfigDefinition? {
        byName[name]
    }

    /// Checks a set of topic config overrides; throws on an unknown name or an invalid value.
    public static func validate(_ configs: [String: String]) throws(StorageError) {
        for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
            guard let definition = byName[name] else {
                throw .invalidConfig(name: name, value: value, reason: "unknown topic config")
            }
            if let problem = definition.problem(with: value) {
                throw .invalidConfig(name: name, value: value, reason: problem)
            }
        }
    }
}

/// The effective configuration of one partition log: topic overrides over broker defaults over Kafka's defaults.
/// The typed values are worked out once, as they are read on every append.
public struct LogConfig: Sendable, Equatable {
    /// The topic's own overrides.
    public let overrides: [String: String]
    /// Broker-level defaults (from `log.retention.ms`, `KAFKA_LOG_SEGMENT_BYTES` and so on).
    public let brokerDefaults: [String: String]

    public let segmentBytes: Int
    public let segmentMs: Int64
    public let retentionMs: Int64
    public let retentionBytes: Int64
    public let deleteRetentionMs: Int64
    public let indexIntervalBytes: Int
    public let flushMessages: Int64
    public let flushMs: Int64
    public let maxMessageBytes: Int
    public let messageTimestampBeforeMaxMs: Int64
    public let messageTimestampAfterMaxMs: Int64
    public let usesLogAppendTime: Bool
    public let isCompacted: Bool
    public let isDeletePolicy: Bool
    public let compressionType: String
    public let keySchemaValidation: Bool
    public let valueSchemaValidation: Bool

    public init(overrides: [String: String] = [:], brokerDefaults: [String: String] = [:]) {
        self.overrides = overrides
        self.brokerDefaults = brokerDefaults
        func value(_ name: String) -> String {
            Self.effectiveValue(name, overrides: overrides, brokerDefaults: brokerDefaults)
        }
        func long(_ name: String) -> Int64 {
            Int64(value(name)) ?? Int64(TopicConfigs.definition(name)?.defaultValue ?? "0") ?? 0
        }
        segmentBytes = Int(long("segment.bytes"))
        segmentMs = long("segment.ms")
        retentionMs = long("retention.ms")
        retentionBytes = long("retention.bytes")
        deleteRetentionMs = long("delete.retention.ms")
        indexIntervalBytes = Int(long("index.interval.bytes"))
        flushMessages = long("flush.messages")
        flushMs = long("flush.ms")
        maxMessageBytes = Int(long("max.message.bytes"))
        messageTimestampBeforeMaxMs = long("message.timestamp.before.max.ms")
        messageTimestampAfterMaxMs = long("message.timestamp.after.max.ms")
        usesLogAppendTime = value("message.timestamp.type") == "LogAppendTime"
        isCompacted = value("cleanup.policy").lowercased().contains("compact")
        isDeletePolicy = value("cleanup.policy").lowercased().contains("delete")
        compressionType = value("compression.type").lowercased()
        keySchemaValidation = value("confluent.key.schema.validation").lowercased() == "true"
        valueSchemaValidation = value("confluent.value.schema.validation").lowercased() == "true"
    }

    /// A config's effective value.
    public func value(_ name: String) -> String {
        Self.effectiveValue(name, overrides: overrides, brokerDefaults: brokerDefaults)
    }

    private static func effectiveValue(_ name: String, overrides: [String: String], brokerDefaults: [String: String]) -> String {
        overrides[name] ?? brokerDefaults[name] ?? TopicConfigs.definition(name)?.defaultValue ?? ""
    }
}
