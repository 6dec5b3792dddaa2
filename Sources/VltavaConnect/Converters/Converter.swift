import NIOCore

/// Kafka Connect's `Converter` (`org.apache.kafka.connect.storage.Converter`): turns a record's key or value between
/// Connect's data model and the bytes stored in Kafka. A converter is a value: configure it once, then call it from
/// any task (its conversions do not mutate it).
public protocol Converter: Sendable {
    /// Applies the converter's configuration (the worker's or connector's `key.converter.*`/`value.converter.*`
    /// properties with the prefix removed). `isKey` says whether it converts keys or values.
    mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError)

    /// Serializes a Connect value; `nil` stands for Kafka's null bytes (a tombstone).
    func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                         headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]?

    /// Deserializes bytes (`nil` for null) into a schema, when the format carries one, and a value.
    func toConnectData(topic: String, bytes: [UInt8]?,
                       headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue)

    /// `fromConnectData` in the buffer a produced record carries (a converter that can write one directly saves
    /// the worker a copy per record).
    func fromConnectDataBuffer(topic: String, schema: ConnectSchema?, value: ConnectValue,
                               headers: [ConnectHeader]) throws(ConnectError) -> ByteBuffer?

    /// `toConnectData` from the buffer a consumed record carries (a converter that reads it directly saves the
    /// worker a copy per record).
    func toConnectDataBuffer(topic: String, buffer: ByteBuffer?,
                             headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue)
}

extension Converter {
    public func toConnectDataBuffer(topic: String, buffer: ByteBuffer?,
                                    headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        try toConnectData(topic: topic, bytes: buffer.map { Array($0.readableBytesView) }, headers: headers)
    }

    public func fromConnectDataBuffer(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                      headers: [ConnectHeader]) throws(ConnectError) -> ByteBuffer? {
        try fromConnectData(topic: topic, schema: schema, value: value, headers: headers).map { ByteBuffer(bytes: $0) }
    }

    /// Serializes a value of a record without headers.
    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue) throws(ConnectError) -> [UInt8]? {
        try fromConnectData(topic: topic, schema: schema, value: value, headers: [])
    }

    /// Deserializes the bytes of a record without headers.
    public func toConnectData(topic: String, bytes: [UInt8]?) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        try toConnectData(topic: topic, bytes: bytes, headers: [])
    }
}

/// Kafka Connect's `HeaderConverter`: converts the value of one header. Every converter of this module is also a
/// header converter, as in Kafka, converting a header's value as it would a record's value.
public protocol HeaderConverter: Sendable {
    /// Applies the configuration (`header.converter.*` with the prefix removed).
    mutating func configureHeaders(_ configs: [String: String]) throws(ConnectError)

    /// Serializes the value of the header `headerKey`; `nil` for null.
    func fromConnectHeader(topic: String, headerKey: String, schema: ConnectSchema?,
                           value: ConnectValue) throws(ConnectError) -> [UInt8]?

    /// Deserializes the value of the header `headerKey`.
    func toConnectHeader(topic: String, headerKey: String,
                         bytes: [UInt8]?) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue)
}

extension HeaderConverter where Self: Converter {
    /// Kafka configures a header converter with `converter.type=header`, which these converters treat as a value.
    public mutating func configureHeaders(_ configs: [String: String]) throws(ConnectError) {
        try configure(configs, isKey: false)
    }

    public func fromConnectHeader(topic: String, headerKey: String, schema: ConnectSchema?,
                                  value: ConnectValue) throws(ConnectError) -> [UInt8]? {
        try fromConnectData(topic: topic, schema: schema, value: value, headers: [])
    }

    public func toConnectHeader(topic: String, headerKey: String,
                                bytes: [UInt8]?) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        try toConnectData(topic: topic, bytes: bytes, headers: [])
    }
}

/// Reading converter properties as Kafka's `ConfigDef` does, with its messages.
enum ConverterConfig {
    /// A BOOLEAN property: `true` or `false` in any case, surrounding spaces ignored.
    static func boolean(_ configs: [String: String], _ name: String, default defaultValue: Bool) throws(ConnectError) -> Bool {
        guard let text = configs[name] else { return defaultValue }
        switch text.trimmingSpaces.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .config(name: name, message: "\(text): Expected value to be either true or false")
        }
    }

    /// An INT property (a 32-bit signed integer).
    static func int(_ configs: [String: String], _ name: String, default defaultValue: Int32) throws(ConnectError) -> Int32 {
        guard let text = configs[name] else { return defaultValue }
        guard let value = Int32(text.trimmingSpaces) else {
            throw .config(name: name, message: "\(text): Not a number of type INT")
        }
        return value
    }
}

extension String {
    var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}

extension ConnectValue {
    /// The Java class Kafka would name in an error message for a value of this kind (`class java.lang.Integer`).
    var javaClassName: String {
        isNull ? "null" : "class " + javaTypeName
    }
}

extension ConnectSchema.Kind {
    /// The name Kafka's `Schema.Type` prints (`INT32`, `STRUCT`).
    var javaName: String { rawValue.uppercased() }
}
