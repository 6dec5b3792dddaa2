/// Kafka's `TopicNameMatches`: true for records whose whole topic name matches `pattern`.
public struct TopicNameMatches: Predicate {
    private var pattern: JavaRegex?

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let value = try TransformConfig(configs).requiredString("pattern")
        guard !value.isEmpty else { throw .config(name: "pattern", message: "String must be non-empty") }
        do {
            pattern = try JavaRegex(value)
        } catch {
            throw .config(name: "pattern", message: "entry must be a Java-compatible regular expression: \(error)")
        }
    }

    public func test(_ record: ConnectRecord) -> Bool {
        pattern?.matchesWhole(record.topic) ?? false
    }
}

/// Kafka's `HasHeaderKey`: true for records with at least one header named `name`.
public struct HasHeaderKey: Predicate {
    private var name = ""

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        name = try TransformConfig(configs).requiredString("name")
        guard !name.isEmpty else { throw .config(name: "name", message: "String must be non-empty") }
    }

    public func test(_ record: ConnectRecord) -> Bool {
        record.headers.contains { $0.key == name }
    }
}

/// Kafka's `RecordIsTombstone`: true for records whose value is null.
public struct RecordIsTombstone: Predicate {
    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {}

    public func test(_ record: ConnectRecord) -> Bool { record.value.isNull }
}
