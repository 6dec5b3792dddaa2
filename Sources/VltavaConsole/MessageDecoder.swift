import NIOConcurrencyHelpers
import NIOCore
import SchemaRegistry
import VltavaConnect

/// Shows a record's key or value as text: bytes in Confluent's framing (a zero byte, then a schema id) are decoded
/// through the registry with Connect's AVRO, PROTOBUF and JSON Schema converters and shown as JSON with the schema
/// id; other bytes as JSON when they parse, as UTF-8 text when they are, else as hex. The converters ask the registry
/// synchronously (answers cached), so decoding runs on a thread pool, never on an event loop.
struct MessageDecoder: Sendable {
    struct Decoded: Sendable, Equatable {
        var text: String
        /// `AVRO · schema 3`, `JSON`, `UTF-8`, `hex`, `null`.
        var format: String
        var schemaId: Int32?
    }

    private let converters: Converters?

    /// The largest part of a key or value shown; the rest is cut with a note (the export has the same cut).
    static let maximumShownBytes = 64 << 10

    init(registryURL: String?) {
        converters = registryURL.flatMap { try? Converters(registryURL: $0) }
    }

    /// Decodes one key or value; never throws (a value that cannot be decoded is shown as hex with the reason).
    func decode(_ buffer: ByteBuffer?, topic: String, isKey: Bool) -> Decoded {
        guard let buffer else { return Decoded(text: "null", format: "null") }
        let bytes = Array(buffer.readableBytesView)
        if bytes.count >= 5, bytes[0] == 0 {
            let id = Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
            if let converters {
                do {
                    let (type, json) = try converters.decode(bytes, id: id, topic: topic, isKey: isKey)
                    return Decoded(text: Self.cut(json), format: "\(type) · schema \(id)", schemaId: id)
                } catch {
                    return Decoded(text: Self.hex(bytes), format: "hex (schema \(id): \(error))", schemaId: id)
                }
            }
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            let trimmed = text.first.map { $0 == "{" || $0 == "[" || $0 == "\"" } ?? false
            if trimmed, (try? JSONParser.parse(bytes: bytes)) != nil { return Decoded(text: Self.cut(text), format: "JSON") }
            if !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
                return Decoded(text: Self.cut(text), format: "UTF-8")
            }
        }
        return Decoded(text: Self.hex(bytes), format: "hex")
    }

    /// JSON written with a subject's latest schema (`RegistryJSONSerializer`); blocks on the registry, so call it
    /// from a thread pool.
    func serialize(json: String, subject: String, topic: String, isKey: Bool) throws -> [UInt8] {
        guard let converters else { throw ConsoleError.unavailable("No schema registry is configured.") }
        return try converters.serializer.serialize(json: json, subject: subject, topic: topic, isKey: isKey)
    }

    static func cut(_ text: String) -> String {
        guard text.utf8.count > maximumShownBytes else { return text }
        var shown = Substring(text)
        while shown.utf8.count > maximumShownBytes { shown = shown.dropLast(max(1, (shown.utf8.count - maximumShownBytes) / 4)) }
        return shown + " … (\(text.utf8.count) bytes in all)"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        let shown = bytes.prefix(maximumShownBytes / 2)
        out.reserveCapacity(shown.count * 2)
        for byte in shown {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self) + (bytes.count > shown.count ? " … (\(bytes.count) bytes in all)" : "")
    }

    /// The registry converters, sharing one cached registry client, and Kafka's JsonConverter to write what they
    /// decoded as plain JSON (decimals as numbers).
    final class Converters: Sendable {
        let client: CachedSchemaRegistryClient
        let avro: (key: AvroConverter, value: AvroConverter)
        let protobuf: (key: ProtobufConverter, value: ProtobufConverter)
        let jsonSchema: (key: JsonSchemaConverter, value: JsonSchemaConverter)
        let json: JsonConverter
        /// Asks the registry for a subject's latest version at each call, so a version registered since is written.
        let serializer: RegistryJSONSerializer
        private let types = NIOLockedValueBox([Int32: String]())

        init(registryURL: String) throws {
            client = CachedSchemaRegistryClient(try HTTPSchemaRegistryClient(
                urls: [registryURL], userInfoFromURL: true, connectTimeout: .seconds(5), requestTimeout: .seconds(10)))
            let configs = ["schema.registry.url": registryURL, "auto.register.schemas": "false"]
            func make<C: Converter>(_ converter: C, isKey: Bool) throws -> C {
                var converter = converter
                try converter.configure(configs, isKey: isKey)
                return converter
            }
            avro = (try make(AvroConverter(client: client), isKey: true), try make(AvroConverter(client: client), isKey: false))
            protobuf = (try make(ProtobufConverter(client: client), isKey: true), try make(ProtobufConverter(client: client), isKey: false))
            jsonSchema = (try make(JsonSchemaConverter(client: client), isKey: true), try make(JsonSchemaConverter(client: client), isKey: false))
            var json = JsonConverter()
            try json.configure(["schemas.enable": "false", "decimal.format": "NUMERIC"], isKey: false)
            self.json = json
            serializer = RegistryJSONSerializer(client: CachedSchemaRegistryClient(client.underlying, latestTTL: .zero))
        }

        /// The schema's type and the value as JSON text.
        func decode(_ bytes: [UInt8], id: Int32, topic: String, isKey: Bool) throws -> (String, String) {
            let type = try schemaType(id)
            let decoded: (schema: ConnectSchema?, value: ConnectValue)
            switch type {
            case "PROTOBUF": decoded = try (isKey ? protobuf.key : protobuf.value).toConnectData(topic: topic, bytes: bytes)
            case "JSON": decoded = try (isKey ? jsonSchema.key : jsonSchema.value).toConnectData(topic: topic, bytes: bytes)
            default: decoded = try (isKey ? avro.key : avro.value).toConnectData(topic: topic, bytes: bytes)
            }
            let output = try json.fromConnectData(topic: topic, schema: decoded.schema, value: decoded.value) ?? Array("null".utf8)
            return (type, String(decoding: output, as: UTF8.self))
        }

        private func schemaType(_ id: Int32) throws -> String {
            if let known = types.withLockedValue({ $0[id] }) { return known }
            let type = try client.schema(id: id).schemaType
            types.withLockedValue { if $0.count > 10_000 { $0.removeAll() }; $0[id] = type }
            return type
        }
    }
}
