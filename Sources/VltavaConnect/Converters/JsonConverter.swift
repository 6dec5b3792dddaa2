import SchemaRegistry

/// Kafka's `org.apache.kafka.connect.json.JsonConverter`, byte for byte. With `schemas.enable=true` (the default)
/// each key or value is an envelope `{"schema":…,"payload":…}` whose schema is written as Kafka writes it; with
/// `schemas.enable=false` it is plain JSON, read back without a schema (integers as int64, other numbers as
/// float64, objects as maps with string keys).
///
/// Properties: `schemas.enable` (default true), `schemas.cache.size` (default 1000; accepted and checked — the
/// converter keeps the envelope opening of the schema last written and last read, `JsonEnvelopeCache`), `decimal.format` (`BASE64`, the default, or `NUMERIC`,
/// in any case), `replace.null.with.default` (default true).
///
/// Where Kafka is lenient through Jackson's accessors (a JSON string read for an int32 field gives 0, a number for a
/// string field gives null, a non-array for an array gives an empty list), this converter refuses the value with a
/// `ConnectError.data`; floats that are not finite, which Kafka writes as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"`, are read back as those values.
public struct JsonConverter: Converter, HeaderConverter {
    /// How Decimal values are written (`decimal.format`).
    public enum DecimalFormat: String, Sendable {
        /// The unscaled value's two's-complement bytes in Base64 (`"AJw="` for 1.56 at scale 2).
        case base64 = "BASE64"
        /// A JSON number (`1.56`).
        case numeric = "NUMERIC"
    }

    public static let schemasEnableConfig = "schemas.enable"
    public static let schemasCacheSizeConfig = "schemas.cache.size"
    public static let decimalFormatConfig = "decimal.format"
    public static let replaceNullWithDefaultConfig = "replace.null.with.default"

    /// The deepest JSON nesting read (Jackson allows 1000; a bound keeps recursion within a task's stack).
    static let maximumDepth = 256

    public private(set) var schemasEnabled = true
    public private(set) var schemasCacheSize: Int32 = 1000
    public private(set) var decimalFormat = DecimalFormat.base64
    public private(set) var replaceNullWithDefault = true
    public private(set) var isKey = false
    /// The schema last written and last read, with their envelope openings (reset by `configure`).
    private(set) var envelopes = JsonEnvelopeCache()

    /// A converter with Kafka's defaults; `configure` changes them.
    public init() {}

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {
        schemasEnabled = try ConverterConfig.boolean(configs, Self.schemasEnableConfig, default: true)
        schemasCacheSize = try ConverterConfig.int(configs, Self.schemasCacheSizeConfig, default: 1000)
        replaceNullWithDefault = try ConverterConfig.boolean(configs, Self.replaceNullWithDefaultConfig, default: true)
        if let text = configs[Self.decimalFormatConfig] {
            guard let format = DecimalFormat(rawValue: text.uppercased()) else {
                throw .config(name: Self.decimalFormatConfig,
                              message: "\(text): String must be one of (case insensitive): BASE64, NUMERIC")
            }
            decimalFormat = format
        } else {
            decimalFormat = .base64
        }
        self.isKey = isKey
        envelopes = JsonEnvelopeCache()
    }

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        if schema == nil && value.isNull { return nil }
        if schemasEnabled { return try envelope(schema: schema, value: value) }
        var output: [UInt8] = []
        // As Jackson writes it: compact, members in order, control characters with upper-case hex escapes.
        try convertToJson(schema, value).write(to: &output, uppercaseHex: true)
        return output
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (nil, .null) }
        if schemasEnabled, let (schema, payload) = payloadAfterKnownOpening(bytes) {
            return (schema, try convertToConnect(schema, payload))
        }
        // Jackson reads no bytes as a "missing" node: no value without schemas, no envelope with them.
        let json: JSONValue?
        if JSONParser.skippingWhitespace(bytes, from: 0) == bytes.count {
            json = nil
        } else {
            json = try Self.parse(bytes)
        }
        guard schemasEnabled else { return (nil, try convertToConnect(nil, json)) }
        guard let json, let members = json.objectValue, members.count == 2,
              let schemaJson = json["schema"], let payload = json["payload"] else {
            throw .data("JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain "
                + "additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your "
                + "converter configuration.")
        }
        let schema = try asConnectSchema(schemaJson)
        envelopes.rememberRead(schemaJson: schemaJson, schema: schema)
        return (schema, try convertToConnect(schema, payload))
    }

    /// Parses as Kafka's deserializer does, which also allows leading zeros in numbers (`0012` is 12).
    static func parse(_ bytes: [UInt8]) throws(ConnectError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes: bytes, maximumDepth: maximumDepth)
        } catch {
            guard error.message == "leading zero in a number" else {
                throw .data("Converting byte[] to Kafka Connect data failed due to serialization error: \(error)")
            }
        }
        do {
            return try JSONParser.parse(bytes: withoutLeadingZeros(bytes), maximumDepth: maximumDepth)
        } catch {
            throw .data("Converting byte[] to Kafka Connect data failed due to serialization error: \(error)")
        }
    }

    /// The text with the redundant leading zeros of numbers (outside strings) removed.
    static func withoutLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        var index = 0
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        let numberBytes = Array("0123456789.eE+-".utf8)
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                output.append(byte)
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\"") { inString = true }
            if byte == UInt8(ascii: "-") || isDigit(byte), !numberBytes.contains(output.last ?? 0) {
                if byte == UInt8(ascii: "-") {
                    output.append(byte)
                    index += 1
                }
                while index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), isDigit(bytes[index + 1]) { index += 1 }
                guard index < bytes.count else { break }
            }
            output.append(bytes[index])
            index += 1
        }
        return output
    }
}
