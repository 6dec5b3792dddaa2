import Testing
@testable import VltavaConnect

private func configured<T: Transformation>(_ transformation: T, _ configs: [String: String]) throws -> T {
    var copy = transformation
    try copy.configure(configs)
    return copy
}

private func map(_ entries: [(String, ConnectValue)]) -> ConnectValue {
    .map(entries.map { ConnectMapEntry(key: .string($0.0), value: $0.1) })
}

@Suite("Single message transformations")
struct TransformationTests {
    // InsertFieldTest.schemalessInsertConfiguredFields / copySchemaAndInsertConfiguredFields
    @Test func insertFieldWithAndWithoutSchema() throws {
        let transform = try configured(InsertField(.value), [
            "topic.field": "topic_field!", "partition.field": "partition_field", "timestamp.field": "timestamp_field?",
            "static.field": "instance_id", "static.value": "my-instance-id",
        ])
        let schema = ConnectSchema.structure(name: "name", fields: [("magic", .int64)])
        let record = ConnectRecord(topic: "test", kafkaPartition: 0, valueSchema: schema,
                                   value: .structure(ConnectStruct(schema: schema, values: [.int64(42)])), timestamp: 12345)
        let out = try #require(try transform.apply(record))
        let outSchema = try #require(out.valueSchema)
        #expect(outSchema.name == "name")
        #expect(outSchema.fields.map(\.name) == ["magic", "topic_field", "partition_field", "timestamp_field", "instance_id"])
        #expect(outSchema.field("topic_field")?.schema == .string)
        #expect(outSchema.field("partition_field")?.schema == .optionalInt32)
        #expect(outSchema.field("timestamp_field")?.schema == ConnectLogical.timestamp(isOptional: true))
        #expect(out.value[field: "topic_field"] == .string("test"))
        #expect(out.value[field: "partition_field"] == .int32(0))
        #expect(out.value[field: "timestamp_field"] == .int64(12345))
        #expect(out.value[field: "instance_id"] == .string("my-instance-id"))
        let again = try #require(try transform.apply(record))
        #expect(again.valueSchema === out.valueSchema, "the updated schema is cached")

        let schemaless = ConnectRecord(topic: "test", kafkaPartition: 0, value: map([("magic", .int64(42))]), timestamp: 12345)
        let plain = try #require(try transform.apply(schemaless))
        #expect(plain.value == map([("magic", .int64(42)), ("topic_field", .string("test")), ("partition_field", .int32(0)),
                                    ("timestamp_field", .int64(12345)), ("instance_id", .string("my-instance-id"))]))
        #expect(try transform.apply(ConnectRecord(topic: "t")) == ConnectRecord(topic: "t"), "a tombstone passes")
    }

    @Test func insertFieldConfigErrors() {
        #expect(throws: ConnectError.config(name: "topic.field", message: "No field insertion configured")) {
            _ = try configured(InsertField(.value), [:])
        }
        #expect(throws: ConnectError.config(name: "static.value", message: "No value specified for static field: s")) {
            _ = try configured(InsertField(.value), ["static.field": "s"])
        }
        let offset = try? configured(InsertField(.value), ["offset.field": "o"])
        #expect(throws: ConnectError.self) { _ = try offset?.apply(ConnectRecord(topic: "t", value: map([]))) }
    }

    // CastTest.castWholeRecordValueWithSchemaInt8 / castFieldsWithSchema
    @Test func castWithSchema() throws {
        let whole = try configured(Cast(.value), ["spec": "int8"])
        let out = try #require(try whole.apply(ConnectRecord(topic: "t", valueSchema: .int32, value: .int32(42))))
        #expect(out.valueSchema?.type == .int8)
        #expect(out.value == .int8(42))

        let schema = ConnectSchema.structure(fields: [
            ("int8", .optionalInt8), ("int32", ConnectSchema(type: .int32, defaultValue: .int32(2))),
            ("bigint", .int64), ("float", .float32), ("boolean", .boolean), ("string", .string), ("bytes", .bytes),
        ])
        let fields = try configured(Cast(.value), ["spec": "int8:int16,int32:int64,bigint:boolean,float:string,boolean:int32,string:int32,bytes:string"])
        let value = ConnectStruct(schema: schema, values: [.int8(8), .null, .int64(0), .float32(32.5), .boolean(true), .string("42"), .bytes([1, 2, 3])])
        let cast = try #require(try fields.apply(ConnectRecord(topic: "t", valueSchema: schema, value: .structure(value))))
        let castSchema = try #require(cast.valueSchema)
        #expect(castSchema.field("int8")?.schema == .optionalInt16)
        #expect(castSchema.field("int32")?.schema == ConnectSchema(type: .int64, defaultValue: .int64(2)))
        #expect(cast.value[field: "int8"] == .int16(8))
        #expect(cast.value[field: "int32"] == .int64(2), "a null field takes its default")
        #expect(cast.value[field: "bigint"] == .boolean(false))
        #expect(cast.value[field: "float"] == .string("32.5"))
        #expect(cast.value[field: "boolean"] == .int32(1))
        #expect(cast.value[field: "string"] == .int32(42))
        #expect(cast.value[field: "bytes"] == .string("AQID"))
    }

    @Test func castWithoutSchemaAndErrors() throws {
        let cast = try configured(Cast(.value), ["spec": "a:float64,b:boolean"])
        let out = try #require(try cast.apply(ConnectRecord(topic: "t", value: map([("a", .int32(3)), ("b", .string("TRUE"))]))))
        #expect(out.value == map([("a", .float64(3)), ("b", .boolean(true))]))
        #expect(try configured(Cast(.value), ["spec": "int64"]).apply(ConnectRecord(topic: "t", value: .float64(1e10)))?.value == .int64(10_000_000_000))
        #expect(try configured(Cast(.value), ["spec": "string"]).apply(ConnectRecord(topic: "t", value: .float64(1e10)))?.value == .string("1.0E10"))
        #expect(try configured(Cast(.value), ["spec": "int8"]).apply(ConnectRecord(topic: "t", value: .int32(300)))?.value == .int8(44), "Java narrows by wrapping")
        #expect(throws: ConnectError.data("Value (300) was out of range for requested data type")) {
            _ = try configured(Cast(.value), ["spec": "int8"]).apply(ConnectRecord(topic: "t", value: .string("300")))
        }
        #expect(throws: ConnectError.config(name: "spec", message: "Invalid type found in casting spec: foo")) {
            _ = try configured(Cast(.value), ["spec": "a:foo"])
        }
        #expect(throws: ConnectError.config(name: "spec", message: "Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]")) {
            _ = try configured(Cast(.value), ["spec": "bytes"])
        }
        #expect(throws: ConnectError.config(name: "spec", message: "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec")) {
            _ = try configured(Cast(.value), ["spec": "int8,a:int16"])
        }
        #expect(throws: ConnectError.config(name: "spec", message: "Must specify at least one field to cast.")) {
            _ = try configured(Cast(.value), ["spec": ""])
        }
    }

    // FlattenTest.testNestedStruct / testOptionalFieldStruct / testNestedMapWithDelimiter
    @Test func flattenNestedStructsAndMaps() throws {
        let inner = ConnectSchema.structure(fields: [("int8", .int8), ("string", .optionalString)])
        let middle = ConnectSchema.structure(fields: [("inner", inner.with(isOptional: true)), ("flag", .boolean)])
        let schema = ConnectSchema.structure(name: "top", fields: [("A", middle), ("B", .int32)])
        let value = ConnectStruct(schema: schema, values: [
            .structure(ConnectStruct(schema: middle, values: [.structure(ConnectStruct(schema: inner, values: [.int8(8), .string("s")])), .boolean(true)])),
            .int32(1),
        ])
        let flatten = try configured(Flatten(.value), [:])
        let out = try #require(try flatten.apply(ConnectRecord(topic: "t", valueSchema: schema, value: .structure(value))))
        let flat = try #require(out.valueSchema)
        #expect(flat.name == "top")
        #expect(flat.fields.map(\.name) == ["A.inner.int8", "A.inner.string", "A.flag", "B"])
        #expect(flat.field("A.inner.int8")?.schema.isOptional == true, "optional because an ancestor is")
        #expect(flat.field("A.flag")?.schema.isOptional == false)
        #expect(out.value[field: "A.inner.string"] == .string("s"))
        #expect(out.value[field: "B"] == .int32(1))

        let delimited = try configured(Flatten(.value), ["delimiter": "#"])
        let nested = map([("A", map([("B", map([("x", .int32(1))])), ("s", .string("v"))])), ("n", .null)])
        #expect(try delimited.apply(ConnectRecord(topic: "t", value: nested))?.value == map([("A#B#x", .int32(1)), ("A#s", .string("v")), ("n", .null)]))
    }

    @Test func flattenTakesDefaultsFromParents() throws {
        let inner = ConnectSchema.structure(fields: [("x", .int32)])
        let schema = ConnectSchema(type: .structure, defaultValue: nil, fields: ConnectSchema.numbered([
            ("in", ConnectSchema(type: .structure, isOptional: true, defaultValue: .structure(ConnectStruct(schema: inner, values: [.int32(7)])), fields: inner.fields)),
        ]))
        let out = try #require(try configured(Flatten(.value), [:]).apply(
            ConnectRecord(topic: "t", valueSchema: schema, value: .structure(ConnectStruct(schema: schema, values: [.null])))))
        #expect(out.valueSchema?.field("in.x")?.schema == ConnectSchema(type: .int32, isOptional: true, defaultValue: .int32(7)))
    }

    // ExtractFieldTest / HoistFieldTest
    @Test func extractAndHoist() throws {
        let extract = try configured(ExtractField(.key), ["field": "magic"])
        let schema = ConnectSchema.structure(fields: [("magic", .int32)])
        let out = try #require(try extract.apply(ConnectRecord(topic: "t", keySchema: schema, key: .structure(ConnectStruct(schema: schema, values: [.int32(42)])))))
        #expect(out.keySchema == .int32)
        #expect(out.key == .int32(42))
        #expect(try extract.apply(ConnectRecord(topic: "t", key: map([("magic", .int32(42))])))?.key == .int32(42))
        #expect(try extract.apply(ConnectRecord(topic: "t", key: map([("other", .int32(42))])))?.key == .null)
        #expect(throws: ConnectError.data("Unknown field: magic")) {
            let other = ConnectSchema.structure(fields: [("x", .int32)])
            _ = try extract.apply(ConnectRecord(topic: "t", keySchema: other, key: .structure(ConnectStruct(schema: other, values: [.int32(1)]))))
        }
        #expect(throws: ConnectError.data("Only Map objects supported in absence of schema for [field extraction], found: java.lang.Integer")) {
            _ = try extract.apply(ConnectRecord(topic: "t", key: .int32(1)))
        }

        let hoist = try configured(HoistField(.key), ["field": "magic"])
        let hoisted = try #require(try hoist.apply(ConnectRecord(topic: "t", keySchema: .int32, key: .int32(42))))
        #expect(hoisted.keySchema == ConnectSchema.structure(fields: [("magic", .int32)]))
        #expect(hoisted.key[field: "magic"] == .int32(42))
        #expect(try hoist.apply(ConnectRecord(topic: "t", key: .int32(42)))?.key == map([("magic", .int32(42))]))
    }

    // ReplaceFieldTest.schemaless / withSchema
    @Test func replaceField() throws {
        let replace = try configured(ReplaceField(.value), ["exclude": "dont", "renames": "abc:xyz,foo:bar"])
        let value = map([("dont", .string("whatever")), ("abc", .int32(42)), ("foo", .boolean(true)), ("etc", .string("etc"))])
        #expect(try replace.apply(ConnectRecord(topic: "t", value: value))?.value
                == map([("xyz", .int32(42)), ("bar", .boolean(true)), ("etc", .string("etc"))]))

        let include = try configured(ReplaceField(.value), ["include": "abc,foo", "renames": "abc:xyz,foo:bar"])
        let schema = ConnectSchema.structure(name: "s", fields: [("dont", .string), ("abc", .int32), ("foo", .boolean), ("etc", .string)])
        let record = ConnectRecord(topic: "t", valueSchema: schema, value: .structure(ConnectStruct(schema: schema, values: [.string("w"), .int32(42), .boolean(true), .string("etc")])))
        let out = try #require(try include.apply(record))
        #expect(out.valueSchema?.fields.map(\.name) == ["xyz", "bar"])
        #expect(out.valueSchema?.name == "s")
        #expect(out.value[field: "xyz"] == .int32(42))
        #expect(out.value[field: "bar"] == .boolean(true))

        let old = try configured(ReplaceField(.value), ["blacklist": "dont", "whitelist": "dont,abc"])
        #expect(try old.apply(ConnectRecord(topic: "t", value: value))?.value == map([("abc", .int32(42))]))
        let both = try configured(ReplaceField(.value), ["exclude": "abc", "blacklist": "dont"])
        #expect(try both.apply(ConnectRecord(topic: "t", value: map([("dont", .int8(1)), ("abc", .int8(2))])))?.value == map([("dont", .int8(1))]),
                "the new name wins over the old one")
        #expect(throws: ConnectError.config(name: "renames", message: "Invalid rename mapping: a:b:c")) {
            _ = try configured(ReplaceField(.value), ["renames": "a:b:c"])
        }
    }

    // MaskFieldTest
    @Test func maskField() throws {
        let schema = ConnectSchema.structure(fields: [("i", .int32), ("s", .string), ("b", .boolean), ("a", .array(of: .int32)), ("k", .string)])
        let value = ConnectStruct(schema: schema, values: [.int32(42), .string("secret"), .boolean(true), .array([.int32(1)]), .string("keep")])
        let mask = try configured(MaskField(.value), ["fields": "i,s,b,a"])
        let out = try #require(try mask.apply(ConnectRecord(topic: "t", valueSchema: schema, value: .structure(value))))
        #expect(out.value == .structure(ConnectStruct(schema: schema, values: [.int32(0), .string(""), .boolean(false), .array([]), .string("keep")])))
        let replaced = try configured(MaskField(.value), ["fields": "i,s", "replacement": "123"])
        #expect(try replaced.apply(ConnectRecord(topic: "t", value: map([("i", .int64(5)), ("s", .string("x"))])))?.value
                == map([("i", .int64(123)), ("s", .string("123"))]))
        #expect(throws: ConnectError.data("Cannot mask value of type class java.lang.Boolean with custom replacement.")) {
            _ = try replaced.apply(ConnectRecord(topic: "t", value: map([("i", .boolean(true))])))
        }
        #expect(throws: ConnectError.config(name: "fields", message: "Empty list")) { _ = try configured(MaskField(.value), ["fields": ""]) }
        #expect(throws: ConnectError.config(name: "replacement", message: "String must be non-empty")) {
            _ = try configured(MaskField(.value), ["fields": "a", "replacement": ""])
        }
    }

    @Test func valueToKeyAndSetSchemaMetadata() throws {
        let schema = ConnectSchema.structure(fields: [("a", .int32), ("b", .int32), ("c", .int32)])
        let record = ConnectRecord(topic: "t", valueSchema: schema, value: .structure(ConnectStruct(schema: schema, values: [.int32(1), .int32(2), .int32(3)])))
        let toKey = try configured(ValueToKey(), ["fields": "a,b"])
        let out = try #require(try toKey.apply(record))
        #expect(out.keySchema == ConnectSchema.structure(fields: [("a", .int32), ("b", .int32)]))
        #expect(out.key[field: "b"] == .int32(2))
        #expect(try toKey.apply(ConnectRecord(topic: "t", value: map([("a", .int32(1)), ("b", .int32(2)), ("c", .int32(3))])))?.key
                == map([("a", .int32(1)), ("b", .int32(2))]))
        #expect(throws: ConnectError.data("Field does not exist: z")) { _ = try configured(ValueToKey(), ["fields": "z"]).apply(record) }

        let metadata = try configured(SetSchemaMetadata(.value), ["schema.name": "foo", "schema.version": "42"])
        let renamed = try #require(try metadata.apply(record))
        #expect(renamed.valueSchema?.name == "foo")
        #expect(renamed.valueSchema?.version == 42)
        if case let .structure(s) = renamed.value { #expect(s.schema.name == "foo", "the struct carries the new schema") } else { Issue.record("not a struct") }
        #expect(throws: ConnectError.data("Schema required for [updating schema metadata]")) {
            _ = try metadata.apply(ConnectRecord(topic: "t", value: .int32(1)))
        }
        #expect(throws: ConnectError.config(name: "schema.name", message: "Neither schema name nor version configured")) {
            _ = try configured(SetSchemaMetadata(.value), [:])
        }
    }

    @Test func headers() throws {
        let record = ConnectRecord(topic: "t", value: map([("f", .string("v")), ("g", .int32(1))]),
                                   headers: [ConnectHeader(key: "a", schema: nil, value: .string("1")), ConnectHeader(key: "b", schema: nil, value: .null)])
        #expect(try configured(DropHeaders(), ["headers": "a"]).apply(record)?.headers.map(\.key) == ["b"])
        let inserted = try #require(try configured(InsertHeader(), ["header": "h", "value.literal": "42"]).apply(record))
        #expect(inserted.headers.last == ConnectHeader(key: "h", schema: .int8, value: .int8(42)))
        #expect(InsertHeader.parseString("1.5").1 == .float32(1.5))
        #expect(InsertHeader.parseString("hello world").1 == .string("hello world"))

        let move = try configured(HeaderFrom(.value), ["fields": "f", "headers": "hf", "operation": "move"])
        let moved = try #require(try move.apply(record))
        #expect(moved.value == map([("g", .int32(1))]))
        #expect(moved.headers.last == ConnectHeader(key: "hf", schema: nil, value: .string("v")))
        let schema = ConnectSchema.structure(name: "s", fields: [("f", .string), ("g", .int32)])
        let structRecord = ConnectRecord(topic: "t", valueSchema: schema, value: .structure(ConnectStruct(schema: schema, values: [.string("v"), .int32(1)])))
        let movedStruct = try #require(try move.apply(structRecord))
        #expect(movedStruct.valueSchema == ConnectSchema.structure(name: "s", fields: [("g", .int32)]))
        #expect(movedStruct.headers.last == ConnectHeader(key: "hf", schema: .string, value: .string("v")))
        let copy = try configured(HeaderFrom(.value), ["fields": "f", "headers": "hf", "operation": "copy"])
        #expect(try copy.apply(structRecord)?.value == structRecord.value)
        #expect(throws: ConnectError.config(name: "headers", message: "'fields' config must have the same number of elements as 'headers' config.")) {
            _ = try configured(HeaderFrom(.value), ["fields": "a,b", "headers": "h", "operation": "copy"])
        }
        #expect(throws: ConnectError.config(name: "operation", message: "String must be one of: move, copy")) {
            _ = try configured(HeaderFrom(.value), ["fields": "a", "headers": "h", "operation": "cut"])
        }
    }

    // RegexRouterTest / TimestampRouterTest
    @Test func routers() throws {
        func route(_ regex: String, _ replacement: String, _ topic: String) throws -> String? {
            try configured(RegexRouter(), ["regex": regex, "replacement": replacement]).apply(ConnectRecord(topic: topic))?.topic
        }
        #expect(try route("(.*)", "prefix-$1", "orig") == "prefix-orig")
        #expect(try route("(.*)", "$1-suffix", "orig") == "orig-suffix")
        #expect(try route("(.*)-(\\d\\d)", "$1-$2", "orig-01") == "orig-01")
        #expect(try route("(.*)-(\\d\\d)", "$1-$2", "orig-1") == "orig-1", "no whole match: unchanged")
        #expect(try route("(.*)-(\\d\\d)", "$1\\$2", "orig-01") == "orig$2")

        let router = try configured(TimestampRouter(), [:])
        #expect(try router.apply(ConnectRecord(topic: "test", timestamp: 1_483_425_001_864))?.topic == "test-20170103")
        let custom = try configured(TimestampRouter(), ["topic.format": "${timestamp}_${topic}", "timestamp.format": "yyyy-MM-dd'T'HH"])
        #expect(try custom.apply(ConnectRecord(topic: "t", timestamp: 1_483_425_001_864))?.topic == "2017-01-03T06_t")
        #expect(throws: ConnectError.self) { _ = try router.apply(ConnectRecord(topic: "t")) }
    }

    @Test func filterDropsEverything() throws {
        #expect(try configured(Filter(), [:]).apply(ConnectRecord(topic: "t")) == nil)
    }
}

@Suite("TimestampConverter, predicates and the chain")
struct TransformationChainTests {
    // TimestampConverterTest: 2017-01-01T00:00:00 and 2017-01-01T01:00:00 UTC
    static let dateMillis: Int64 = 1_483_228_800_000
    static let dateDays: Int32 = 17167
    static let timeMillis: Int64 = 3_600_000

    @Test func timestampConverterWithSchema() throws {
        let millis = Self.dateMillis + Self.timeMillis
        let toString = try configured(TimestampConverter(.value), ["target.type": "string", "format": "yyyy MM dd HH mm ss SSS"])
        let out = try #require(try toString.apply(ConnectRecord(topic: "t", valueSchema: ConnectLogical.timestamp(), value: .int64(millis))))
        #expect(out.valueSchema == .string)
        #expect(out.value == .string("2017 01 01 01 00 00 000"))

        let toDate = try configured(TimestampConverter(.value), ["target.type": "Date"])
        let date = try #require(try toDate.apply(ConnectRecord(topic: "t", valueSchema: .int64, value: .int64(millis))))
        #expect(date.valueSchema == ConnectLogical.date())
        #expect(date.value == .int32(Self.dateDays))
        let toTime = try configured(TimestampConverter(.value), ["target.type": "Time"])
        #expect(try toTime.apply(ConnectRecord(topic: "t", valueSchema: ConnectLogical.timestamp(), value: .int64(millis)))?.value == .int32(Int32(Self.timeMillis)))

        let field = try configured(TimestampConverter(.value), ["target.type": "Timestamp", "field": "ts", "format": "yyyy-MM-dd'T'HH:mm:ss"])
        let schema = ConnectSchema.structure(fields: [("id", .int32), ("ts", .optionalString)])
        let converted = try #require(try field.apply(ConnectRecord(topic: "t", valueSchema: schema,
            value: .structure(ConnectStruct(schema: schema, values: [.int32(1), .string("2017-01-01T01:00:00")])))))
        #expect(converted.valueSchema?.field("ts")?.schema == ConnectLogical.timestamp(isOptional: true))
        #expect(converted.value[field: "ts"] == .int64(millis))
        #expect(throws: ConnectError.data("Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd'T'HH:mm:ss)")) {
            _ = try field.apply(ConnectRecord(topic: "t", valueSchema: schema, value: .structure(ConnectStruct(schema: schema, values: [.int32(1), .string("nope")]))))
        }
    }

    @Test func timestampConverterWithoutSchema() throws {
        let seconds = try configured(TimestampConverter(.value), ["target.type": "unix", "unix.precision": "seconds", "field": "ts"])
        #expect(throws: ConnectError.data("Could not parse timestamp: value (x) does not match pattern ()")) {
            _ = try seconds.apply(ConnectRecord(topic: "t", value: map([("ts", .string("x"))])))
        }
        let fromSeconds = try configured(TimestampConverter(.value), ["target.type": "Timestamp", "unix.precision": "seconds", "field": "ts"])
        #expect(try fromSeconds.apply(ConnectRecord(topic: "t", value: map([("ts", .int64(Self.dateMillis / 1000)), ("o", .int8(1))])))?.value
                == map([("ts", .int64(Self.dateMillis)), ("o", .int8(1))]), "an int64 is unix time in unix.precision")
        let toUnix = try configured(TimestampConverter(.value), ["target.type": "unix", "unix.precision": "microseconds", "format": "yyyyMMdd"])
        #expect(try toUnix.apply(ConnectRecord(topic: "t", value: .string("20170101")))?.value == .int64(Self.dateMillis * 1000))
        let fromNanos = try configured(TimestampConverter(.value), ["target.type": "string", "unix.precision": "nanoseconds", "format": "yyyy-MM-dd HH:mm:ss.SSS"])
        #expect(try fromNanos.apply(ConnectRecord(topic: "t", value: .int64(Self.dateMillis * 1_000_000 + 5_000_000)))?.value == .string("2017-01-01 00:00:00.005"))
        #expect(throws: ConnectError.config(name: "format", message: "TimestampConverter requires format option to be specified when using string timestamps")) {
            _ = try configured(TimestampConverter(.value), ["target.type": "string"])
        }
        #expect(throws: ConnectError.config(name: "target.type", message: "String must be one of: string, unix, Date, Time, Timestamp")) {
            _ = try configured(TimestampConverter(.value), ["target.type": "date"])
        }
        #expect(throws: ConnectError.data("Expected string timestamp to be a String, but found class java.lang.Integer")) {
            _ = try configured(TimestampConverter(.value), ["target.type": "unix", "field": "f"]).apply(
                ConnectRecord(topic: "t", valueSchema: ConnectSchema.structure(fields: [("f", .string)]),
                              value: .structure(ConnectStruct(schema: ConnectSchema.structure(fields: [("f", .string)]), values: [.int32(1)]))))
        }
    }

    @Test func javaDateFormatRoundTrips() throws {
        let format = try JavaDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
        for millis: Int64 in [0, 951_782_400_000, -86_400_001, 4_102_444_799_999] {
            #expect(format.parse(format.format(millis: millis)) == millis)
        }
        #expect(format.format(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(throws: ConnectError.config(name: "format", message: "Illegal pattern character 'q'")) { _ = try JavaDateFormat("yyyy-qq") }
    }

    @Test func predicates() throws {
        var topic = TopicNameMatches()
        try topic.configure(["pattern": "my-prefix-.*"])
        #expect(topic.test(ConnectRecord(topic: "my-prefix-foo")))
        #expect(!topic.test(ConnectRecord(topic: "x-my-prefix-foo")), "the whole name must match")
        #expect(throws: ConnectError.config(name: "pattern", message: "String must be non-empty")) {
            var p = TopicNameMatches(); try p.configure(["pattern": ""])
        }
        #expect(throws: ConnectError.self) { var p = TopicNameMatches(); try p.configure(["pattern": "["]) }
        var header = HasHeaderKey()
        try header.configure(["name": "h"])
        #expect(header.test(ConnectRecord(topic: "t", headers: [ConnectHeader(key: "h", schema: nil, value: .null)])))
        #expect(!header.test(ConnectRecord(topic: "t")))
        #expect(RecordIsTombstone().test(ConnectRecord(topic: "t")))
        #expect(!RecordIsTombstone().test(ConnectRecord(topic: "t", value: .int32(1))))
    }

    @Test func chainReadsAliasesPredicatesAndNegate() throws {
        let config = [
            "transforms": "route, drop",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)", "transforms.route.replacement": "$1-routed",
            "transforms.route.predicate": "isFoo",
            "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
            "transforms.drop.predicate": "isTombstone", "transforms.drop.negate": "true",
            "predicates": "isFoo,isTombstone",
            "predicates.isFoo.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            "predicates.isFoo.pattern": "foo",
            "predicates.isTombstone.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
        ]
        let chain = try TransformationChain(config: config)
        #expect(chain.stages.map(\.alias) == ["route", "drop"])
        #expect(try chain.apply(ConnectRecord(topic: "foo"))?.topic == "foo-routed", "a tombstone is kept: negate")
        #expect(try chain.apply(ConnectRecord(topic: "bar"))?.topic == "bar")
        #expect(try chain.apply(ConnectRecord(topic: "foo", value: .int32(1))) == nil, "not a tombstone: dropped")
        #expect(try TransformationChain(config: [:]).apply(ConnectRecord(topic: "x")) == ConnectRecord(topic: "x"))
    }

    @Test func chainConfigErrors() {
        let base = "org.apache.kafka.connect.transforms."
        #expect(throws: ConnectError.config(name: "transforms.a.type", message: "Class com.example.Nope could not be found.")) {
            _ = try TransformationChain(config: ["transforms": "a", "transforms.a.type": "com.example.Nope"])
        }
        #expect(throws: ConnectError.config(name: "transforms.a.type", message: "Missing required configuration \"transforms.a.type\" which has no default value.")) {
            _ = try TransformationChain(config: ["transforms": "a"])
        }
        #expect(throws: ConnectError.config(name: "transforms", message: "Duplicate alias provided.")) {
            _ = try TransformationChain(config: ["transforms": "a,a", "transforms.a.type": base + "Filter"])
        }
        #expect(throws: ConnectError.config(name: "transforms.a.negate", message: "Config 'transforms.a.negate' was provided but there is no config 'transforms.a.predicate' defining a predicate to be negated.")) {
            _ = try TransformationChain(config: ["transforms": "a", "transforms.a.type": base + "Filter", "transforms.a.negate": "true"])
        }
        #expect(throws: ConnectError.config(name: "predicates.p.type", message: "Class Nope could not be found.")) {
            _ = try TransformationChain(config: ["transforms": "a", "transforms.a.type": base + "Filter", "transforms.a.predicate": "p", "predicates": "p", "predicates.p.type": "Nope"])
        }
        #expect(throws: ConnectError.config(name: "field", message: "Missing required configuration \"field\" which has no default value.")) {
            _ = try TransformationChain(config: ["transforms": "a", "transforms.a.type": base + "ExtractField$Key"])
        }
    }
}
