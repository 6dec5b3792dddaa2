/// Kafka's `Filter`: drops every record it is applied to; used with a predicate to drop some.
public struct Filter: Transformation {
    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {}

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? { nil }
}
