import Testing
@testable import VltavaConnect

@Suite("String, bytes and number converters; the registry")
struct SimpleConvertersTests {
    static func string(_ configs: [String: String] = [:], isKey: Bool = false) throws -> StringConverter {
        var converter = StringConverter()
        try converter.configure(configs, isKey: isKey)
        return converter
    }

    @Test func numberConvertersWriteKafkasSerializerBytes() throws {
        #expect(try NumberConverter(.short).fromConnectData(topic: "t", schema: nil, value: .int16(-2)) == [0xFF, 0xFE])
        #expect(try NumberConverter(.integer).fromConnectData(topic: "t", schema: .int32, value: .int32(0x0102_0304)) == [1, 2, 3, 4])
        #expect(try NumberConverter(.long).fromConnectData(topic: "t", schema: nil, value: .int64(-1)) == Array(repeating: 0xFF, count: 8))
        #expect(try NumberConverter(.float).fromConnectData(topic: "t", schema: nil, value: .float32(1.5)) == [0x3F, 0xC0, 0, 0])
        #expect(try NumberConverter(.double).fromConnectData(topic: "t", schema: nil, value: .float64(-2)) == [0xC0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try NumberConverter(.integer).fromConnectData(topic: "t", schema: nil, value: .null) == nil)
        #expect(try NumberConverter(.integer).toConnectData(topic: "t", bytes: [0xFF, 0xFF, 0xFF, 0xFE]).value == .int32(-2))
        #expect(try NumberConverter(.short).toConnectData(topic: "t", bytes: nil).schema == .optionalInt16)
        for numberType in NumberConverter.NumberType.allCases {
            let converter = NumberConverter(numberType)
            let value: ConnectValue = switch numberType {
            case .short: .int16(-12345)
            case .integer: .int32(Int32.min)
            case .long: .int64(Int64.max)
            case .float: .float32(-0.1)
            case .double: .float64(1.0e300)
            }
            let back = try converter.toConnectData(topic: "t", bytes: try converter.fromConnectData(topic: "t", schema: nil, value: value))
            #expect(back.value == value)
            #expect(back.schema?.isOptional == true)
        }
        #expect(JsonConverterTests.dataError { _ = try NumberConverter(.integer).fromConnectData(topic: "t", schema: nil, value: .int64(1)) }
            == "Failed to serialize to integer (was class java.lang.Long): ")
        #expect(JsonConverterTests.dataError { _ = try NumberConverter(.long).toConnectData(topic: "t", bytes: [1]) }
            == "Failed to deserialize long: Size of data received by LongDeserializer is not 8")
        #expect(JsonConverterTests.dataError { _ = try NumberConverter(.float).toConnectData(topic: "t", bytes: [1]) }
            == "Failed to deserialize float: Size of data received by Deserializer is not 4")
    }

    @Test func booleanAndByteArrayConverters() throws {
        let boolean = BooleanConverter()
        #expect(try boolean.fromConnectData(topic: "t", schema: .boolean, value: .boolean(true)) == [0x01])
        #expect(try boolean.fromConnectData(topic: "t", schema: nil, value: .boolean(false)) == [0x00])
        #expect(try boolean.toConnectData(topic: "t", bytes: [0x01]).value == .boolean(true))
        #expect(try boolean.toConnectData(topic: "t", bytes: nil).schema == .optionalBoolean)
        #expect(JsonConverterTests.dataError { _ = try boolean.toConnectData(topic: "t", bytes: [0x02]) }
            == "Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: 2")
        #expect(JsonConverterTests.dataError { _ = try boolean.fromConnectData(topic: "t", schema: .string, value: .boolean(true)) }
            == "Invalid schema type for BooleanConverter: STRING")
        let bytes = ByteArrayConverter()
        #expect(try bytes.fromConnectData(topic: "t", schema: .bytes, value: .bytes([1, 2])) == [1, 2])
        #expect(try bytes.fromConnectData(topic: "t", schema: nil, value: .null) == nil)
        #expect(try bytes.toConnectData(topic: "t", bytes: [3]).value == .bytes([3]))
        #expect(try bytes.toConnectData(topic: "t", bytes: [3]).schema == .optionalBytes)
        #expect(JsonConverterTests.dataError { _ = try bytes.fromConnectData(topic: "t", schema: nil, value: .string("x")) }
            == "ByteArrayConverter is not compatible with objects of type class java.lang.String")
        #expect(JsonConverterTests.dataError { _ = try bytes.fromConnectData(topic: "t", schema: .int32, value: .bytes([])) }
            == "Invalid schema type for ByteArrayConverter: INT32")
    }

    @Test func stringConverterWritesJavaText() throws {
        let converter = try Self.string()
        func text(_ schema: ConnectSchema?, _ value: ConnectValue) throws -> String? {
            try converter.fromConnectData(topic: "t", schema: schema, value: value).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(try text(nil, .int32(42)) == "42")
        #expect(try text(nil, .float64(1.0e10)) == "1.0E10")
        #expect(try text(nil, .float32(2)) == "2.0")
        #expect(try text(nil, .boolean(true)) == "true")
        #expect(try text(nil, .array([.int8(1), .null, .string("x")])) == "[1, null, x]")
        #expect(try text(nil, .map([.init(key: .string("a"), value: .int64(1)), .init(key: .string("b"), value: .int64(2))])) == "{a=1, b=2}")
        let schema = ConnectSchema.structure(fields: [("a", .int32), ("b", .optionalString), ("c", .string)])
        #expect(try text(schema, .structure(ConnectStruct(schema: schema, values: [.int32(1), .null, .string("x")]))) == "Struct{a=1,c=x}")
        #expect(try text(ConnectLogical.decimal(scale: 2), .bytes([0x00, 0x9C])) == "1.56")
        #expect(try text(ConnectLogical.date(), .int32(10000)) == "Mon May 19 00:00:00 UTC 1997")
        #expect(try text(ConnectLogical.timestamp(), .int64(0)) == "Thu Jan 01 00:00:00 UTC 1970")
        #expect(try text(ConnectLogical.timestamp(), .int64(-1)) == "Wed Dec 31 23:59:59 UTC 1969")
        #expect(try text(ConnectLogical.time(), .int32(14_400_000)) == "Thu Jan 01 04:00:00 UTC 1970")
        #expect(try converter.fromConnectData(topic: "t", schema: nil, value: .null) == nil)
        let read = try converter.toConnectData(topic: "t", bytes: Array("héllo".utf8))
        #expect(read.schema == .optionalString)
        #expect(read.value == .string("héllo"))
        #expect(try converter.toConnectData(topic: "t", bytes: nil).value == .null)
    }

    @Test func stringConverterEncodings() throws {
        let utf16 = try Self.string(["converter.encoding": "UTF-16"])
        #expect(try utf16.fromConnectData(topic: "t", schema: nil, value: .string("hé")) == [0xFE, 0xFF, 0x00, 0x68, 0x00, 0xE9])
        #expect(try utf16.toConnectData(topic: "t", bytes: [0xFF, 0xFE, 0x68, 0x00]).value == .string("h"))
        let little = try Self.string(["converter.encoding": "utf-16le"])
        #expect(try little.fromConnectData(topic: "t", schema: nil, value: .string("😀")) == [0x3D, 0xD8, 0x00, 0xDE])
        #expect(try little.toConnectData(topic: "t", bytes: [0x3D, 0xD8, 0x00, 0xDE]).value == .string("😀"))
        let latin1 = try Self.string(["converter.encoding": "ISO-8859-1"])
        #expect(try latin1.fromConnectData(topic: "t", schema: nil, value: .string("é€")) == [0xE9, 0x3F])
        #expect(try latin1.toConnectData(topic: "t", bytes: [0xE9]).value == .string("é"))
        let ascii = try Self.string(["converter.encoding": "US-ASCII"])
        #expect(try ascii.toConnectData(topic: "t", bytes: [0x41, 0xC3]).value == .string("A\u{FFFD}"))
        let overridden = try Self.string(["converter.encoding": "UTF-16", "key.serializer.encoding": "UTF-8"], isKey: true)
        #expect(overridden.serializerEncoding == .utf8)
        #expect(overridden.deserializerEncoding == .utf16)
        #expect(throws: ConnectError.config(name: "converter.encoding", message: "Unsupported encoding EBCDIC")) {
            _ = try Self.string(["converter.encoding": "EBCDIC"])
        }
    }

    @Test func registryNames() throws {
        let names = [
            "org.apache.kafka.connect.json.JsonConverter": "JsonConverter",
            "JsonConverter": "JsonConverter", "Json": "JsonConverter",
            "org.apache.kafka.connect.storage.StringConverter": "StringConverter", "StringConverter": "StringConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter": "ByteArrayConverter", "ByteArray": "ByteArrayConverter",
            "org.apache.kafka.connect.converters.BooleanConverter": "BooleanConverter",
            "org.apache.kafka.connect.converters.IntegerConverter": "NumberConverter", "LongConverter": "NumberConverter",
        ]
        for (name, type) in names {
            #expect(String(describing: Swift.type(of: try ConverterRegistry.make(className: name))) == type, "\(name)")
        }
        let integer = try #require(try ConverterRegistry.make(className: "IntegerConverter") as? NumberConverter)
        #expect(integer.numberType == .integer)
        #expect(throws: ConnectError.config(name: "value.converter", message: "com.example.Nope: Class com.example.Nope could not be found.")) {
            _ = try ConverterRegistry.make(className: "com.example.Nope", configName: "value.converter")
        }
        #expect(try ConverterRegistry.make(className: "io.confluent.connect.avro.AvroConverter") is AvroConverter)
        #expect(try ConverterRegistry.make(className: "Avro") is AvroConverter)
        #expect(try ConverterRegistry.make(className: "io.confluent.connect.protobuf.ProtobufConverter") is ProtobufConverter)
        #expect(try ConverterRegistry.make(className: "ProtobufConverter") is ProtobufConverter)
        #expect(try ConverterRegistry.make(className: "Protobuf") is ProtobufConverter)
        var json = try ConverterRegistry.make(className: "JsonConverter")
        try json.configure(["schemas.enable": "false"], isKey: false)
        #expect(try json.fromConnectData(topic: "t", schema: nil, value: .int32(1)) == Array("1".utf8))
    }

    @Test func headerConvertersAndUseFromTasks() async throws {
        var json = JsonConverter()
        try json.configureHeaders(["schemas.enable": "false"])
        #expect(try json.fromConnectHeader(topic: "t", headerKey: "h", schema: .string, value: .string("v")) == Array(#""v""#.utf8))
        #expect(try json.toConnectHeader(topic: "t", headerKey: "h", bytes: Array("12".utf8)).value == .int64(12))
        let converter: any Converter = json
        let bytes = try await Task { try converter.fromConnectData(topic: "t", schema: nil, value: .boolean(true)) }.value
        #expect(bytes == Array("true".utf8))
    }
}
