import Testing
@testable import VltavaConnect

@Suite("JsonConverter reading")
struct JsonConverterReadingTests {
    typealias Helpers = JsonConverterTests

    @Test func kafkasEnvelopesRead() throws {
        let converter = try Helpers.converter()
        let described = try Helpers.read(converter, #"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#)
        #expect(described.schema == ConnectSchema(type: .boolean, name: "bool", version: 2, doc: "the documentation", parameters: [("foo", "bar")]))
        #expect(described.value == .boolean(true))
        #expect(try Helpers.read(converter, #"{ "schema": { "type": "boolean", "default": true }, "payload": null }"#).value == .boolean(true))
        #expect(try Helpers.read(converter, #"{ "schema": { "type": "int8" }, "payload": 0012 }"#).value == .int8(12))
        #expect(try Helpers.read(converter, #"{ "schema": { "type": "int64" }, "payload": 00000123456789 }"#).value == .int64(123_456_789))
        #expect(try Helpers.read(converter, #"{ "schema": { "type": "float" }, "payload": 12.34 }"#).value == .float32(12.34))
        #expect(try Helpers.read(converter, #"{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }"#).value == .bytes(Array("test-string".utf8)))
        let map = try Helpers.read(converter, #"{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }"#)
        #expect(map.value == .map([.init(key: .int32(1), value: .int32(12)), .init(key: .int32(2), value: .int32(15))]))
        let structure = try Helpers.read(converter, #"{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }"#)
        let schema = ConnectSchema.structure(fields: [("optional", .optionalString), ("required", .string)])
        #expect(structure.schema == schema)
        #expect(structure.value == .structure(ConnectStruct(schema: schema, values: [.null, .string("required")])))
        #expect(try converter.toConnectData(topic: "t", bytes: nil).value == .null)
    }

    @Test func schemalessPayloads() throws {
        let converter = try Helpers.converter()
        #expect(try Helpers.read(converter, #"{ "schema": null, "payload": 12 }"#).value == .int64(12))
        #expect(try Helpers.read(converter, #"{ "schema": null, "payload": 12.24 }"#).value == .float64(12.24))
        #expect(try Helpers.read(converter, #"{ "schema": null, "payload": [1, "2", 3] }"#).value == .array([.int64(1), .string("2"), .int64(3)]))
        let plain = try Helpers.converter(["schemas.enable": "FALSE"])
        let read = try Helpers.read(plain, #"{ "a": "", "b": null, "c": {"d": [true, 1e2]}}"#)
        #expect(read.schema == nil)
        #expect(read.value == .map([.init(key: .string("a"), value: .string("")), .init(key: .string("b"), value: .null),
                                    .init(key: .string("c"), value: .map([.init(key: .string("d"), value: .array([.boolean(true), .float64(100)]))]))]))
        #expect(try plain.toConnectData(topic: "t", bytes: []).value == .null)
        #expect(try Helpers.write(plain, nil, .map([.init(key: .string("k"), value: .int32(1))])) == #"{"k":1}"#)
        #expect(try Helpers.write(plain, nil, .map([.init(key: .string("k"), value: .int32(1)), .init(key: .int8(2), value: .boolean(false))]))
            == #"[["k",1],[2,false]]"#)
        #expect(try Helpers.write(plain, nil, .null) == nil)
        #expect(try Helpers.write(try Helpers.converter(), nil, .boolean(true)) == #"{"schema":null,"payload":true}"#)
        #expect(try Helpers.write(try Helpers.converter(), nil, .null) == nil)
    }

    @Test func badEnvelopesGiveKafkasMessages() throws {
        let converter = try Helpers.converter()
        let envelope = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
        for text in ["true", #"{"payload":1}"#, #"{"schema":null}"#, #"{"schema":null,"payload":1,"extra":2}"#, "[1]", ""] {
            #expect(Helpers.dataError { _ = try Helpers.read(converter, text) } == envelope, "\(text)")
        }
        let cases: [(String, String)] = [
            (#"{"schema":{},"payload":1}"#, "Schema must contain 'type' field"),
            (#"{"schema":{"type":"float32"},"payload":1}"#, "Unknown schema type: float32"),
            (#"{"schema":{"type":"array"},"payload":[]}"#, "Array schema did not specify the element type"),
            (#"{"schema":{"type":"map","values":{"type":"int8"}},"payload":{}}"#, "Map schema did not specify the key type"),
            (#"{"schema":{"type":"struct","fields":{}},"payload":{}}"#, "Struct schema's \"fields\" argument is not an array."),
            (#"{"schema":{"type":"struct","fields":[{"type":"int8"}]},"payload":{}}"#, "Struct schema's field name not specified properly"),
            (#"{"schema":{"type":"int8","parameters":{"a":1}},"payload":1}"#, "Schema parameters must have string values."),
            (#"{"schema":{"type":"string"},"payload":null}"#, "Invalid null value for required STRING field"),
            (#"{"schema":{"type":"struct","fields":[]},"payload":[]}"#, "Structs should be encoded as JSON objects, but found ARRAY"),
            (#"{"schema":{"type":"map","keys":{"type":"string"},"values":{"type":"int8"}},"payload":[]}"#,
             "Maps with string fields should be encoded as JSON objects, but found ARRAY"),
            (#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":{}}"#,
             "Maps with non-string fields should be encoded as JSON array of tuples, but found OBJECT"),
            (#"{"schema":{"type":"map","keys":{"type":"int8"},"values":{"type":"int8"}},"payload":[[1]]}"#,
             "Found invalid map entry, expected length 2 but found :1"),
            (#"{"schema":{"type":"bytes"},"payload":"***"}"#, "Invalid bytes field"),
        ]
        for (text, message) in cases {
            #expect(Helpers.dataError { _ = try Helpers.read(converter, text) } == message, "\(text)")
        }
        let parseError = Helpers.dataError { _ = try Helpers.read(converter, "{") }
        #expect(parseError?.hasPrefix("Converting byte[] to Kafka Connect data failed due to serialization error: ") == true)
        #expect(Helpers.dataError { _ = try Helpers.write(converter, .float64, .boolean(true)) } == "Invalid type for FLOAT64: class java.lang.Boolean")
        let other = ConnectSchema.structure(fields: [("x", .int8)])
        #expect(Helpers.dataError { _ = try Helpers.write(converter, .structure(fields: [("y", .int8)]), .structure(ConnectStruct(schema: other))) }
            == "Mismatching schema.")
    }

    @Test func configuration() throws {
        #expect(throws: ConnectError.self) { _ = try Helpers.converter(["schemas.enable": "yes"]) }
        #expect(throws: ConnectError.self) { _ = try Helpers.converter(["decimal.format": "HEX"]) }
        #expect(throws: ConnectError.self) { _ = try Helpers.converter(["schemas.cache.size": "many"]) }
        let configured = try Helpers.converter(["schemas.cache.size": "5", "decimal.format": "Numeric", "replace.null.with.default": "false"], isKey: true)
        #expect(configured.schemasCacheSize == 5)
        #expect(configured.decimalFormat == .numeric)
        #expect(!configured.replaceNullWithDefault)
        #expect(configured.isKey)
    }

    @Test func leadingZerosAreRemovedOnlyFromNumbers() {
        let text = #"{"a":"0012","b":[-007,0.5,00,1e-007]}"#
        #expect(String(decoding: JsonConverter.withoutLeadingZeros(Array(text.utf8)), as: UTF8.self) == #"{"a":"0012","b":[-7,0.5,0,1e-007]}"#)
    }

    /// A stream of one schema: the second record and later are read from the remembered opening; anything that only
    /// starts like it gets the whole parse's answer.
    @Test func recordsOfTheLastSchemaReadParseOnlyThePayload() throws {
        let converter = try Helpers.converter()
        let schema = ConnectSchema.structure(fields: [("id", .int64), ("name", .optionalString)])
        let first = try #require(try Helpers.write(converter, schema, .structure(ConnectStruct(schema: schema, values: [.int64(1), .string("a")]))))
        let payloadKey = try #require(first.range(of: #","payload":"#))
        let opening = String(first[..<payloadKey.upperBound])
        #expect(try Helpers.read(converter, first).value == .structure(ConnectStruct(schema: schema, values: [.int64(1), .string("a")])))
        #expect(converter.payloadAfterKnownOpening(Array(first.utf8)) != nil)
        let second = opening + #"{"id":2,"name":"b\u00e9\n"}  }  "#
        #expect(converter.payloadAfterKnownOpening(Array(second.utf8)) != nil)
        #expect(try Helpers.read(converter, second).value == .structure(ConnectStruct(schema: schema, values: [.int64(2), .string("b\u{e9}\n")])))
        // Leading zeros: the payload alone does not parse, the whole parse reads them as Kafka does.
        let zeros = opening + #"{"id":007,"name":null}}"#
        #expect(converter.payloadAfterKnownOpening(Array(zeros.utf8)) == nil)
        #expect(try Helpers.read(converter, zeros).value == .structure(ConnectStruct(schema: schema, values: [.int64(7), .null])))
        // A third member, a truncated record, text after the envelope: the whole parse's errors.
        for bad in [opening + #"{"id":3,"name":null},"payload":1}"#, opening + #"{"id":3"#, opening + #"{"id":3,"name":null}}x"#] {
            #expect(converter.payloadAfterKnownOpening(Array(bad.utf8)) == nil)
            #expect(Helpers.dataError { _ = try Helpers.read(converter, bad) } != nil, "\(bad)")
        }
        // Another schema: read whole, then remembered in place of the first.
        let other = #"{"schema":{"type":"string","optional":false},"payload":"x"}"#
        #expect(converter.payloadAfterKnownOpening(Array(other.utf8)) == nil)
        #expect(try Helpers.read(converter, other).value == .string("x"))
        #expect(converter.payloadAfterKnownOpening(Array(other.utf8)) != nil)
        #expect(converter.payloadAfterKnownOpening(Array(first.utf8)) == nil)
    }

    /// Writing a stream of one schema reuses the opening; a changed schema writes its own.
    @Test func writtenOpeningFollowsTheSchema() throws {
        let converter = try Helpers.converter()
        #expect(try Helpers.write(converter, .string, .string("a\u{1F}\"")) == #"{"schema":{"type":"string","optional":false},"payload":"a\u001F\""}"#)
        #expect(try Helpers.write(converter, .string, .string("b")) == #"{"schema":{"type":"string","optional":false},"payload":"b"}"#)
        #expect(try Helpers.write(converter, .optionalString, .string("c")) == #"{"schema":{"type":"string","optional":true},"payload":"c"}"#)
        #expect(try Helpers.write(converter, nil, .string("d")) == #"{"schema":null,"payload":"d"}"#)
    }
}
