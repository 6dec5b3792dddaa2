import SchemaRegistry
import Testing
@testable import VltavaConnect

/// Golden strings: the envelopes Kafka's JsonConverter writes. Kafka's JsonConverterTest compares parsed trees; the
/// byte order here is the one its `asJsonSchema` produces (type, items/keys/values/fields, optional, name,
/// version, doc, parameters, default; a field's name after its schema), as seen in Debezium's documented events.
@Suite("JsonConverter")
struct JsonConverterTests {
    static func converter(_ configs: [String: String] = [:], isKey: Bool = false) throws -> JsonConverter {
        var converter = JsonConverter()
        try converter.configure(configs, isKey: isKey)
        return converter
    }

    static func write(_ converter: JsonConverter, _ schema: ConnectSchema?, _ value: ConnectValue) throws -> String? {
        try converter.fromConnectData(topic: "t", schema: schema, value: value).map { String(decoding: $0, as: UTF8.self) }
    }

    static func read(_ converter: JsonConverter, _ text: String) throws -> (schema: ConnectSchema?, value: ConnectValue) {
        try converter.toConnectData(topic: "t", bytes: Array(text.utf8))
    }

    static func dataError(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as ConnectError {
            if case let .data(message) = error { return message }
            return "unexpected \(error)"
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func primitiveEnvelopesAreKafkasBytes() throws {
        let converter = try Self.converter()
        #expect(try Self.write(converter, .boolean, .boolean(true)) == #"{"schema":{"type":"boolean","optional":false},"payload":true}"#)
        #expect(try Self.write(converter, .optionalBoolean, .null) == #"{"schema":{"type":"boolean","optional":true},"payload":null}"#)
        #expect(try Self.write(converter, .int8, .int8(12)) == #"{"schema":{"type":"int8","optional":false},"payload":12}"#)
        #expect(try Self.write(converter, .int64, .int64(4398046511104)) == #"{"schema":{"type":"int64","optional":false},"payload":4398046511104}"#)
        #expect(try Self.write(converter, .float32, .float32(12.34)) == #"{"schema":{"type":"float","optional":false},"payload":12.34}"#)
        #expect(try Self.write(converter, .float64, .float64(12.34)) == #"{"schema":{"type":"double","optional":false},"payload":12.34}"#)
        #expect(try Self.write(converter, .bytes, .bytes(Array("test-string".utf8)))
            == #"{"schema":{"type":"bytes","optional":false},"payload":"dGVzdC1zdHJpbmc="}"#)
        #expect(try Self.write(converter, .string, .string("test-string")) == #"{"schema":{"type":"string","optional":false},"payload":"test-string"}"#)
        let described = ConnectSchema(type: .boolean, name: "bool", version: 3, doc: "the documentation", parameters: [("foo", "bar")])
        #expect(try Self.write(converter, described, .boolean(true))
            == #"{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"}},"payload":true}"#)
        let defaulted = ConnectSchema(type: .boolean, defaultValue: .boolean(true), name: "b")
        #expect(try Self.write(converter, defaulted, .boolean(false))
            == #"{"schema":{"type":"boolean","optional":false,"name":"b","default":true},"payload":false}"#)
    }

    @Test func containerEnvelopesAreKafkasBytes() throws {
        let converter = try Self.converter()
        #expect(try Self.write(converter, .array(of: .int32), .array([.int32(1), .int32(2), .int32(3)]))
            == #"{"schema":{"type":"array","items":{"type":"int32","optional":false},"optional":false},"payload":[1,2,3]}"#)
        let stringMap = ConnectSchema.map(keys: .string, values: .int32)
        #expect(try Self.write(converter, stringMap, .map([.init(key: .string("key1"), value: .int32(12)), .init(key: .string("key2"), value: .int32(15))]))
            == #"{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":{"key1":12,"key2":15}}"#)
        let intMap = ConnectSchema.map(keys: .int32, values: .int32)
        #expect(try Self.write(converter, intMap, .map([.init(key: .int32(1), value: .int32(12)), .init(key: .int32(2), value: .int32(15))]))
            == #"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"int32","optional":false},"optional":false},"payload":[[1,12],[2,15]]}"#)
        let structSchema = ConnectSchema.structure(fields: [("field1", .boolean), ("field2", .string)])
        let value = ConnectStruct(schema: structSchema).putting("field1", .boolean(true)).putting("field2", .string("string2"))
        #expect(try Self.write(converter, structSchema, .structure(value))
            == #"{"schema":{"type":"struct","fields":[{"type":"boolean","optional":false,"field":"field1"},{"type":"string","optional":false,"field":"field2"}],"optional":false},"payload":{"field1":true,"field2":"string2"}}"#)
    }

    /// Kafka's JsonConverterTest `serializeNullToDefault` / `serializeFieldNullToDefault` and their
    /// `replace.null.with.default=false` twins.
    @Test func nullsBecomeDefaultsUnlessConfiguredOtherwise() throws {
        let optionalWithDefault = ConnectSchema(type: .string, isOptional: true, defaultValue: .string("default"))
        let structSchema = ConnectSchema(type: .structure, fields: [ConnectField(name: "field1", index: 0, schema: optionalWithDefault)])
        let nullField = ConnectStruct(schema: structSchema, values: [.null])
        let replacing = try Self.converter()
        #expect(try Self.write(replacing, optionalWithDefault, .null)
            == #"{"schema":{"type":"string","optional":true,"default":"default"},"payload":"default"}"#)
        #expect(try Self.write(replacing, structSchema, .structure(nullField))
            == #"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}"#)
        let keeping = try Self.converter(["replace.null.with.default": "false"])
        #expect(try Self.write(keeping, optionalWithDefault, .null)
            == #"{"schema":{"type":"string","optional":true,"default":"default"},"payload":null}"#)
        let kept = #"{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}"#
        #expect(try Self.write(keeping, structSchema, .structure(nullField)) == kept)
        #expect(try Self.read(replacing, kept).value == .structure(ConnectStruct(schema: structSchema, values: [.string("default")])))
        #expect(try Self.read(keeping, kept).value == .structure(nullField))
        #expect(Self.dataError { _ = try Self.write(replacing, .string, .null) }
            == "Conversion error: null value for field that is required and has no default value")
    }

    @Test func logicalTypes() throws {
        let converter = try Self.converter()
        // 1.56 at scale 2: unscaled 156 = 0x00 0x9C.
        let decimal = try Self.write(converter, ConnectLogical.decimal(scale: 2), .bytes([0x00, 0x9C]))
        #expect(decimal == #"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#)
        let numeric = try Self.converter(["decimal.format": "numeric"])
        #expect(try Self.write(numeric, ConnectLogical.decimal(scale: 2), .bytes([0x00, 0x9C]))
            == #"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}"#)
        #expect(try Self.write(numeric, ConnectLogical.decimal(scale: 4), .bytes([0x3C, 0xF0]))?.hasSuffix(#""payload":1.5600}"#) == true)
        #expect(try Self.write(numeric, ConnectLogical.decimal(scale: 2), .bytes([0xFF, 0x64]))?.hasSuffix(#""payload":-1.56}"#) == true)
        #expect(try Self.write(converter, ConnectLogical.date(), .int32(10000))
            == #"{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10000}"#)
        #expect(try Self.write(converter, ConnectLogical.time(), .int32(14_400_000))?.hasSuffix(#""payload":14400000}"#) == true)
        #expect(try Self.write(converter, ConnectLogical.timestamp(), .int64(4_000_000_000))
            == #"{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":4000000000}"#)

        // Reading Kafka's JsonConverterTest envelopes.
        let base64 = try Self.read(converter, #"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "2" } }, "payload": "AJw=" }"#)
        #expect(base64.schema == ConnectLogical.decimal(scale: 2))
        #expect(base64.value == .bytes([0x00, 0x9C]))
        let number = try Self.read(converter, #"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "4" } }, "payload": 1.5600 }"#)
        #expect(number.value == .bytes([0x3C, 0xF0]))
        let long = try Self.read(converter, #"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": { "scale": "17" } }, "payload": 1.23456789123456789 }"#)
        #expect(long.value.decimalDigits == "123456789123456789")
        let defaulted = try Self.read(converter, #"{ "schema": { "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "default": "AJw=", "parameters": { "scale": "2" } }, "payload": null }"#)
        #expect(defaulted.value == .bytes([0x00, 0x9C]))
        #expect(defaulted.schema?.defaultValue == .bytes([0x00, 0x9C]))
        let date = try Self.read(converter, #"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }"#)
        #expect(date.schema == ConnectLogical.date())
        #expect(date.value == .int32(10000))
        let timestamp = try Self.read(converter, #"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }"#)
        #expect(timestamp.value == .int64(42))
        #expect(Self.dataError { _ = try Self.read(converter, #"{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Date"},"payload":"x"}"#) }
            == "Invalid type for Date, underlying representation should be integer but was STRING")
    }

    @Test func everyTypeRoundTrips() throws {
        let inner = ConnectSchema.structure(name: "com.example.Inner", fields: [("flag", .optionalBoolean)], isOptional: true)
        let schema = ConnectSchema.structure(name: "com.example.All", fields: [
            ("i8", .int8), ("i16", .int16), ("i32", .int32), ("i64", .int64), ("f32", .float32), ("f64", .float64),
            ("bool", .boolean), ("text", .string), ("raw", .bytes), ("list", .array(of: .optionalString)),
            ("byName", .map(keys: .string, values: .int64)), ("byNumber", .map(keys: .int16, values: .string)),
            ("inner", inner), ("amount", ConnectLogical.decimal(scale: 3)), ("day", ConnectLogical.date()),
            ("time", ConnectLogical.time()), ("at", ConnectLogical.timestamp()),
            ("withDefault", ConnectSchema(type: .int32, isOptional: true, defaultValue: .int32(5), doc: "d")),
        ])
        let value = ConnectStruct(schema: schema, values: [
            .int8(-128), .int16(32767), .int32(-2_000_000_000), .int64(Int64.max), .float32(1.0e10), .float64(-1.0e-5),
            .boolean(false), .string("quote \" slash \\ tab \t nul \u{0} é 😀"), .bytes([0, 255, 128]), .array([.string("a"), .null]),
            .map([.init(key: .string("x"), value: .int64(1))]), .map([.init(key: .int16(-1), value: .string("minus"))]),
            .structure(ConnectStruct(schema: inner, values: [.boolean(true)])), .bytes([0xFB, 0x2E]), .int32(-1),
            .int32(86_399_999), .int64(-1), .int32(7),
        ])
        for configs in [[:], ["decimal.format": "NUMERIC"]] {
            let converter = try Self.converter(configs)
            let bytes = try #require(try converter.fromConnectData(topic: "t", schema: schema, value: .structure(value)))
            let back = try converter.toConnectData(topic: "t", bytes: bytes)
            #expect(back.schema == schema)
            #expect(back.value == .structure(value))
        }
    }

    @Test func floatsArePrintedAsJavaPrintsThem() throws {
        let converter = try Self.converter(["schemas.enable": "false"])
        let doubles: [(Double, String)] = [(1.0e10, "1.0E10"), (1.0e-5, "1.0E-5"), (1.0, "1.0"), (100.0, "100.0"), (0.001, "0.001"),
                                           (1234567.0, "1234567.0"), (1.0e7, "1.0E7"), (12.34, "12.34"), (-0.0, "-0.0"),
                                           (1.2345e-4, "1.2345E-4"), (Double.greatestFiniteMagnitude, "1.7976931348623157E308"),
                                           (.nan, "\"NaN\""), (-.infinity, "\"-Infinity\"")]
        for (number, text) in doubles {
            #expect(try Self.write(converter, .float64, .float64(number)) == text, "\(number)")
        }
        let floats: [(Float, String)] = [(1.0e10, "1.0E10"), (0.1, "0.1"), (3.4028235e38, "3.4028235E38"), (1.0e-3, "0.001")]
        for (number, text) in floats {
            #expect(try Self.write(converter, .float32, .float32(number)) == text, "\(number)")
        }
        #expect(try Self.read(try Self.converter(), #"{"schema":{"type":"double"},"payload":"NaN"}"#).value.isNaN)
    }
}

extension ConnectValue {
    var decimalDigits: String? {
        guard case let .bytes(bytes) = self else { return nil }
        return DecimalBytes.decimalString(twosComplement: bytes)
    }

    var isNaN: Bool {
        if case let .float64(number) = self { return number.isNaN }
        return false
    }
}
