/// The names, help texts and buckets of Vltava's live metrics (those kept in the registry and changed as things
/// happen). Counters end in `_total`, units are part of the name, as Prometheus' naming rules ask.
public enum MetricCatalog {
    public static let buildInfo = "vltava_build_info"
    public static let kafkaRequests = "vltava_kafka_requests_total"
    public static let kafkaRequestErrors = "vltava_kafka_request_errors_total"
    public static let kafkaRequestDuration = "vltava_kafka_request_duration_seconds"
    public static let kafkaConnections = "vltava_kafka_connections"
    public static let kafkaConnectionsAccepted = "vltava_kafka_connections_accepted_total"
    public static let produceRejections = "vltava_kafka_produce_rejections_total"
    public static let logFlushDuration = "vltava_log_flush_duration_seconds"
    public static let schemaRegistryRequests = "vltava_schema_registry_requests_total"
    public static let schemaRegistryRequestDuration = "vltava_schema_registry_request_duration_seconds"

    static let helpTexts: [String: String] = [
        buildInfo: "Vltava's version; the value is always 1.",
        kafkaRequests: "Kafka requests answered, by API.",
        kafkaRequestErrors: "Error codes in Kafka answers (top-level, and per partition for Produce and Fetch), by API and error.",
        kafkaRequestDuration: "Time from a Kafka request's arrival to its answer being ready, by API.",
        kafkaConnections: "Open Kafka client connections, by listener.",
        kafkaConnectionsAccepted: "Kafka client connections accepted, by listener.",
        produceRejections: "Produce partition answers with an error, by the error's name.",
        logFlushDuration: "Time of one fsync (fdatasync) of a partition log by the flusher.",
        schemaRegistryRequests: "Schema registry HTTP requests, by method and status code.",
        schemaRegistryRequestDuration: "Time of a schema registry HTTP request.",
    ]

    /// Request latencies from 100 µs to 10 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The help text of a metric; a name missing from the catalog gets its own name, so that no family is
    /// written without one.
    public static func help(_ name: String) -> String {
        helpTexts[name] ?? name
    }

    static func durationBuckets(_ name: String) -> [Duration] {
        latencyBuckets
    }

    static func valueBuckets(_ name: String) -> [Double] {
        [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]
    }
}
