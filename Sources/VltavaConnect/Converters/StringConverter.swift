import NIOCore

/// Kafka's `org.apache.kafka.connect.storage.StringConverter`: writes any value as its Java `toString()` text (see
/// `JavaObjectText`) in the configured encoding, and reads bytes as an optional string. Null stays null.
///
/// Property: `converter.encoding` (default `UTF-8`), overridden, as in Kafka, by `key.serializer.encoding` /
/// `value.serializer.encoding` when writing and `key.deserializer.encoding` / `value.deserializer.encoding` when
/// reading. Encodings: UTF-8, UTF-16 (written big-endian with a byte-order mark, read by its mark),
/// UTF-16BE, UTF-16LE, US-ASCII and ISO-8859-1, under Java's names and common aliases. As Java does, characters an
/// encoding cannot hold are written as `?` and undecodable bytes read as U+FFFD.
public struct StringConverter: Converter, HeaderConverter {
    public static let encodingConfig = "converter.encoding"

    /// The charsets this converter knows.
    public enum Encoding: String, Sendable, CaseIterable {
        case utf8 = "UTF-8"
        case utf16 = "UTF-16"
        case utf16BigEndian = "UTF-16BE"
        case utf16LittleEndian = "UTF-16LE"
        case ascii = "US-ASCII"
        case latin1 = "ISO-8859-1"

        /// The charset Java's `Charset.forName` finds for `name` (case-insensitive, with common aliases).
        public init?(javaName name: String) {
            switch name.uppercased() {
            case "UTF-8", "UTF8": self = .utf8
            case "UTF-16", "UTF16", "UNICODE": self = .utf16
            case "UTF-16BE", "UTF_16BE", "X-UTF-16BE", "UNICODEBIGUNMARKED": self = .utf16BigEndian
            case "UTF-16LE", "UTF_16LE", "X-UTF-16LE", "UNICODELITTLEUNMARKED": self = .utf16LittleEndian
            case "US-ASCII", "ASCII", "US", "ISO646-US", "ASCII7", "646", "CP367", "DEFAULT": self = .ascii
            case "ISO-8859-1", "ISO8859-1", "ISO8859_1", "ISO_8859_1", "LATIN1", "L1", "CP819", "IBM819": self = .latin1
            default: return nil
            }
        }
    }

    public private(set) var serializerEncoding = Encoding.utf8
    public private(set) var deserializerEncoding = Encoding.utf8

    public init() {}

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {
        let prefix = isKey ? "key." : "value."
        func encoding(_ names: [String]) throws(ConnectError) -> Encoding {
            for name in names {
                guard let text = configs[name] else { continue }
                guard let encoding = Encoding(javaName: text) else { throw .config(name: name, message: "Unsupported encoding \(text)") }
                return encoding
            }
            return .utf8
        }
        serializerEncoding = try encoding([prefix + "serializer.encoding", Self.encodingConfig])
        deserializerEncoding = try encoding([prefix + "deserializer.encoding", Self.encodingConfig])
    }

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        switch value {
        case .null: return nil
        // Kafka would write the JVM's identity of the byte array; the bytes themselves are of more use.
        case let .bytes(bytes) where schema?.name == nil: return bytes
        default: return Self.encode(JavaObjectText.text(value, schema: schema), serializerEncoding)
        }
    }

    /// A UTF-8 string goes into the buffer without an intermediate array.
    public func fromConnectDataBuffer(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                      headers: [ConnectHeader]) throws(ConnectError) -> ByteBuffer? {
        if case let .string(text) = value, serializerEncoding == .utf8 { return ByteBuffer(string: text) }
        return try fromConnectData(topic: topic, schema: schema, value: value, headers: headers).map { ByteBuffer(bytes: $0) }
    }

    /// UTF-8 is decoded from the buffer without an intermediate array.
    public func toConnectDataBuffer(topic: String, buffer: ByteBuffer?,
                                    headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let buffer else { return (.optionalString, .null) }
        guard deserializerEncoding == .utf8 else { return try toConnectData(topic: topic, bytes: Array(buffer.readableBytesView), headers: headers) }
        return (.optionalString, .string(String(decoding: buffer.readableBytesView, as: UTF8.self)))
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (.optionalString, .null) }
        return (.optionalString, .string(Self.decode(bytes, deserializerEncoding)))
    }

    static func encode(_ text: String, _ encoding: Encoding) -> [UInt8] {
        switch encoding {
        case .utf8:
            return Array(text.utf8)
        case .utf16:
            return [0xFE, 0xFF] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case .utf16BigEndian:
            return text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case .utf16LittleEndian:
            return text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case .ascii:
            // Java encodes a character outside the charset (a surrogate pair counting as one) as '?'.
            return text.unicodeScalars.map { $0.value < 0x80 ? UInt8($0.value) : UInt8(ascii: "?") }
        case .latin1:
            return text.unicodeScalars.map { $0.value < 0x100 ? UInt8($0.value) : UInt8(ascii: "?") }
        }
    }

    static func decode(_ bytes: [UInt8], _ encoding: Encoding) -> String {
        switch encoding {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .utf16:
            if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xFE { return utf16(bytes.dropFirst(2), bigEndian: false) }
            if bytes.count >= 2, bytes[0] == 0xFE, bytes[1] == 0xFF { return utf16(bytes.dropFirst(2), bigEndian: true) }
            return utf16(bytes[...], bigEndian: true)
        case .utf16BigEndian:
            return utf16(bytes[...], bigEndian: true)
        case .utf16LittleEndian:
            return utf16(bytes[...], bigEndian: false)
        case .ascii:
            return String(String.UnicodeScalarView(bytes.map { $0 < 0x80 ? Unicode.Scalar($0) : "\u{FFFD}" }))
        case .latin1:
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
    }

    private static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            let high = UInt16(bytes[index]), low = UInt16(bytes[index + 1])
            units.append(bigEndian ? high << 8 | low : low << 8 | high)
            index += 2
        }
        var text = String(decoding: units, as: UTF16.self)
        // Java decodes a trailing odd byte as a replacement character.
        if bytes.count % 2 == 1 { text.unicodeScalars.append("\u{FFFD}") }
        return text
    }
}
