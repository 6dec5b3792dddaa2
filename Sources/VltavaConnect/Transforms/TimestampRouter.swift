/// Kafka's `TimestampRouter`: renames the topic from `topic.format` (default `${topic}-${timestamp}`), the record's
/// timestamp written with `timestamp.format` (default `yyyyMMdd`, UTC).
public struct TimestampRouter: Transformation {
    private var topicFormat = "${topic}-${timestamp}"
    private var timestampFormat: JavaDateFormat?

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        topicFormat = config.string("topic.format", default: "${topic}-${timestamp}") ?? ""
        let pattern = config.string("timestamp.format", default: "yyyyMMdd") ?? ""
        do {
            timestampFormat = try JavaDateFormat(pattern)
        } catch {
            throw .config(name: "timestamp.format", message: "\(error)")
        }
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        guard let timestamp = record.timestamp else { throw .data("Timestamp missing on record: \(record)") }
        let formatted = timestampFormat?.format(millis: timestamp) ?? String(timestamp)
        var result = record
        result.topic = topicFormat.replacingAll("${topic}", with: record.topic).replacingAll("${timestamp}", with: formatted)
        return result
    }
}

extension String {
    /// Every occurrence of `target` replaced, left to right.
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
