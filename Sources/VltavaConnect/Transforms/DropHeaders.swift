/// Kafka's `DropHeaders`: removes every header with one of the configured names.
public struct DropHeaders: Transformation {
    private var headers: Set<String> = []

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        headers = Set(try TransformConfig(configs).nonEmptyList("headers"))
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        var result = record
        result.headers.removeAll { headers.contains($0.key) }
        return result
    }
}
