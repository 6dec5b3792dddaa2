import NIOConcurrencyHelpers
import SchemaRegistry

/// The opening `{"schema":…,"payload":` of the envelope, for the schema last written and the schema last read, so
/// that a stream of records of one schema writes and reads that schema once (Kafka's `JsonConverter` keeps caches
/// of `schemas.cache.size` translated schemas for the same reason).
///
/// Reading: a record that starts with the bytes of the last schema read, written as this converter writes it (and
/// Kafka's, compactly), has its payload parsed alone; anything else (other spacing, another schema, a syntax
/// error) goes through the whole parse, which gives the same value or error.
final class JsonEnvelopeCache: Sendable {
    struct Entry {
        let schema: ConnectSchema?
        let opening: [UInt8]
    }

    private let written = NIOLockedValueBox<Entry?>(nil)
    private let read = NIOLockedValueBox<Entry?>(nil)

    static let schemaKey = Array(#"{"schema":"#.utf8)
    static let payloadKey = Array(#","payload":"#.utf8)

    /// `{"schema":<json>,"payload":`.
    static func opening(schemaJson: JSONValue) -> [UInt8] {
        var bytes = schemaKey
        schemaJson.write(to: &bytes, uppercaseHex: true)
        bytes.append(contentsOf: payloadKey)
        return bytes
    }

    /// The opening for `schema`, built by `build` when it is not the last one written.
    func writtenOpening(for schema: ConnectSchema?,
                        build: () throws(ConnectError) -> JSONValue) throws(ConnectError) -> [UInt8] {
        if let entry = written.withLockedValue({ $0 }), entry.schema == schema { return entry.opening }
        let opening = Self.opening(schemaJson: try build())
        written.withLockedValue { $0 = Entry(schema: schema, opening: opening) }
        return opening
    }

    /// The last schema read, when `bytes` start with its opening, and where the payload starts.
    func lastRead(matching bytes: [UInt8]) -> (schema: ConnectSchema?, payloadStart: Int)? {
        guard let entry = read.withLockedValue({ $0 }), bytes.count > entry.opening.count,
              bytes.starts(with: entry.opening) else { return nil }
        return (entry.schema, entry.opening.count)
    }

    func rememberRead(schemaJson: JSONValue, schema: ConnectSchema?) {
        let opening = Self.opening(schemaJson: schemaJson)
        read.withLockedValue { $0 = Entry(schema: schema, opening: opening) }
    }
}

extension JsonConverter {
    /// The envelope of a value: the cached opening for its schema, the payload, `}`.
    func envelope(schema: ConnectSchema?, value: ConnectValue) throws(ConnectError) -> [UInt8] {
        var output = try envelopes.writtenOpening(for: schema) { () throws(ConnectError) in
            try asJsonSchema(schema) ?? .null
        }
        let payload = try convertToJson(schema, value)
        // As Jackson writes it: compact, members in order, control characters with upper-case hex escapes.
        payload.write(to: &output, uppercaseHex: true)
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// The payload of an envelope that opens with the last schema read, parsed alone; nil when the bytes do not
    /// open that way or the rest is not exactly one JSON value and `}` (the whole parse then decides).
    func payloadAfterKnownOpening(_ bytes: [UInt8]) -> (schema: ConnectSchema?, payload: JSONValue)? {
        guard let (schema, start) = envelopes.lastRead(matching: bytes),
              let (payload, end) = try? JSONParser.parseValue(bytes: bytes, from: start, depth: 1,
                                                              maximumDepth: Self.maximumDepth) else { return nil }
        let close = JSONParser.skippingWhitespace(bytes, from: end)
        guard close < bytes.count, bytes[close] == UInt8(ascii: "}"),
              JSONParser.skippingWhitespace(bytes, from: close + 1) == bytes.count else { return nil }
        return (schema, payload)
    }
}
