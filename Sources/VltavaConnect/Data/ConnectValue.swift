/// A value of Kafka Connect's data model, carried between converters, transformations and connectors. Logical
/// types travel as their physical values (see `ConnectLogical`).
/// Not `indirect`: its recursive cases hold arrays, which are already references, so a value needs no box of its own
/// (a boxed string or number was an allocation per value).
public enum ConnectValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case int8(Int8)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case string(String)
    case bytes([UInt8])
    case array([ConnectValue])
    /// Entries in order (Kafka's maps keep the converter's order).
    case map([ConnectMapEntry])
    case structure(ConnectStruct)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The value of the field `name` of a struct value.
    public subscript(field name: String) -> ConnectValue? {
        guard case let .structure(value) = self else { return nil }
        return value[name]
    }

    /// The value of the string key `key` of a map value (source partitions and offsets are such maps).
    public subscript(entry key: String) -> ConnectValue? {
        guard case let .map(entries) = self else { return nil }
        return entries.first { $0.key == .string(key) }?.value
    }

    /// An integer of any width (stored offsets come back from JSON as the narrowest that fits).
    public var integerValue: Int64? {
        switch self {
        case let .int8(value): return Int64(value)
        case let .int16(value): return Int64(value)
        case let .int32(value): return Int64(value)
        case let .int64(value): return value
        default: return nil
        }
    }

    public var stringValue: String? { if case let .string(text) = self { return text } else { return nil } }

    public var booleanValue: Bool? { if case let .boolean(flag) = self { return flag } else { return nil } }
}

/// One entry of a map value.
public struct ConnectMapEntry: Sendable, Hashable {
    public var key: ConnectValue
    public var value: ConnectValue

    public init(key: ConnectValue, value: ConnectValue) {
        self.key = key
        self.value = value
    }
}

/// A struct value: a struct schema and one value per field, in field order.
public struct ConnectStruct: Sendable, Hashable {
    public let schema: ConnectSchema
    public private(set) var values: [ConnectValue]

    /// A struct of `schema` with every field null (or its default).
    public init(schema: ConnectSchema) {
        self.schema = schema
        self.values = schema.fields.map { $0.schema.defaultValue ?? .null }
    }

    public init(schema: ConnectSchema, values: [ConnectValue]) {
        self.schema = schema
        self.values = values
    }

    public subscript(name: String) -> ConnectValue? {
        get { schema.field(name).map { values[$0.index] } }
        set {
            guard let field = schema.field(name) else { return }
            values[field.index] = newValue ?? .null
        }
    }

    /// Sets a field, returning self (for building values in a line).
    public func putting(_ name: String, _ value: ConnectValue) -> ConnectStruct {
        var copy = self
        copy[name] = value
        return copy
    }
}

/// A header of a Connect record.
public struct ConnectHeader: Sendable, Hashable {
    public var key: String
    public var schema: ConnectSchema?
    public var value: ConnectValue

    public init(key: String, schema: ConnectSchema?, value: ConnectValue) {
        self.key = key
        self.schema = schema
        self.value = value
    }
}

/// A record in Connect's model, as transformations see it: topic, partition, key and value with their schemas,
/// timestamp and headers. A sink record also has its Kafka offset; a source record its source partition and offset.
public struct ConnectRecord: Sendable, Hashable {
    public var topic: String
    public var kafkaPartition: Int32?
    public var keySchema: ConnectSchema?
    public var key: ConnectValue
    public var valueSchema: ConnectSchema?
    public var value: ConnectValue
    public var timestamp: Int64?
    public var headers: [ConnectHeader]
    /// Sink records: the offset in Kafka.
    public var kafkaOffset: Int64?
    /// Source records: the connector's source partition and offset (JSON-like maps, stored in `connect-offsets`).
    public var sourcePartition: ConnectValue?
    public var sourceOffset: ConnectValue?

    public init(topic: String, kafkaPartition: Int32? = nil, keySchema: ConnectSchema? = nil, key: ConnectValue = .null,
                valueSchema: ConnectSchema? = nil, value: ConnectValue = .null, timestamp: Int64? = nil,
                headers: [ConnectHeader] = [], kafkaOffset: Int64? = nil, sourcePartition: ConnectValue? = nil,
                sourceOffset: ConnectValue? = nil) {
        self.topic = topic
        self.kafkaPartition = kafkaPartition
        self.keySchema = keySchema
        self.key = key
        self.valueSchema = valueSchema
        self.value = value
        self.timestamp = timestamp
        self.headers = headers
        self.kafkaOffset = kafkaOffset
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
    }
}

/// The one error type of the Connect layer.
public enum ConnectError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A configuration value is missing or invalid (Kafka's ConfigException).
    case config(name: String, message: String)
    /// Data does not fit the schema or the converter (Kafka's DataException).
    case data(String)
    /// A connector or task failed (Kafka's ConnectException).
    case failed(String)

    public var description: String {
        switch self {
        case let .config(name, message): return "Invalid value for configuration \(name): \(message)"
        case let .data(message): return message
        case let .failed(message): return message
        }
    }
}
