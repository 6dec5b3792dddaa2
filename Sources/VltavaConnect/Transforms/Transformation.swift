/// A single message transformation (Kafka's `org.apache.kafka.connect.transforms.Transformation`): configured once
/// from the alias's own keys of a connector config, then applied to every record of the connector.
public protocol Transformation: Sendable {
    /// Reads and validates the transformation's configuration (the `transforms.<alias>.` prefix removed).
    mutating func configure(_ configs: [String: String]) throws(ConnectError)
    /// The transformed record, or nil to drop it.
    func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord?
}

/// A condition on a record that decides whether a transformation applies (Kafka's
/// `org.apache.kafka.connect.transforms.predicates.Predicate`).
public protocol Predicate: Sendable {
    /// Reads and validates the predicate's configuration (the `predicates.<alias>.` prefix removed).
    mutating func configure(_ configs: [String: String]) throws(ConnectError)
    func test(_ record: ConnectRecord) -> Bool
}

/// Which part of a record a transformation works on: Kafka's `$Key` and `$Value` variants.
public enum RecordSide: String, Sendable, Hashable {
    case key = "Key"
    case value = "Value"
}

extension ConnectRecord {
    /// The schema of the key or the value.
    func schema(of side: RecordSide) -> ConnectSchema? {
        side == .key ? keySchema : valueSchema
    }

    /// The key or the value.
    func value(of side: RecordSide) -> ConnectValue {
        side == .key ? key : value
    }

    /// A copy with the key or the value (and its schema) replaced, as Kafka's `newRecord` does.
    func replacing(_ side: RecordSide, schema: ConnectSchema?, value newValue: ConnectValue) -> ConnectRecord {
        var copy = self
        switch side {
        case .key:
            copy.keySchema = schema
            copy.key = newValue
        case .value:
            copy.valueSchema = schema
            copy.value = newValue
        }
        return copy
    }
}
