/// Kafka's `RegexRouter`: a topic that `regex` matches whole is renamed by `replacement` (Java's replacement syntax,
/// `$1` for a group); other topics are kept.
public struct RegexRouter: Transformation {
    private var regex: JavaRegex?
    private var replacement = ""

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        let pattern = try config.requiredString("regex")
        replacement = try config.requiredString("replacement")
        do {
            regex = try JavaRegex(pattern)
        } catch {
            throw .config(name: "regex", message: "\(error)")
        }
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        guard let regex, regex.matchesWhole(record.topic) else { return record }
        var result = record
        result.topic = try regex.replaceFirst(in: record.topic, with: replacement)
        return result
    }
}
