import Testing
@testable import SchemaRegistry

@Suite("_schemas records and the registry state")
struct RegistryStateTests {
    private func state() -> RegistryState { RegistryState(identity: { "\($0.schemaType.rawValue)|\($0.schema)" }) }

    private func value(_ subject: String, _ version: Int, _ id: Int, _ schema: String = #""int""#, deleted: Bool = false) -> String {
        SchemaStoreValue(subject: subject, version: version, id: id, schemaType: .avro, schema: schema, references: [], deleted: deleted)
            .serialized
    }

    @Test func keysAreByteExactConfluentJSON() {
        #expect(SchemaStoreKey.schema(subject: "s", version: 1).serialized == #"{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}"#)
        #expect(SchemaStoreKey.config(subject: nil).serialized == #"{"keytype":"CONFIG","subject":null,"magic":0}"#)
        #expect(SchemaStoreKey.config(subject: "s").serialized == #"{"keytype":"CONFIG","subject":"s","magic":0}"#)
        #expect(SchemaStoreKey.mode(subject: nil).serialized == #"{"keytype":"MODE","subject":null,"magic":0}"#)
        #expect(SchemaStoreKey.deleteSubject(subject: "s").serialized == #"{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}"#)
        #expect(SchemaStoreKey.noop.serialized == #"{"keytype":"NOOP","magic":0}"#)
        for key in [SchemaStoreKey.schema(subject: "a\"b", version: 7), .config(subject: nil), .mode(subject: "m"), .noop,
                    .deleteSubject(subject: "d")] {
            #expect(SchemaStoreKey(parsing: key.serialized) == key)
        }
    }

    @Test func valuesLeaveOutTheTypeForAvro() {
        #expect(value("s", 1, 3) == #"{"subject":"s","version":1,"id":3,"schema":"\"int\"","deleted":false}"#)
        let proto = SchemaStoreValue(subject: "s", version: 2, id: 4, schemaType: .protobuf, schema: "x", references: [
            SchemaReference(name: "a.proto", subject: "a", version: 1),
        ], deleted: true)
        #expect(proto.serialized == #"{"subject":"s","version":2,"id":4,"schemaType":"PROTOBUF","references":[{"name":"a.proto","subject":"a","version":1}],"schema":"x","deleted":true}"#)
        #expect(SchemaStoreValue(parsing: proto.serialized) == proto)
    }

    @Test func readsRecordsWrittenByConfluent() {
        var state = state()
        // As Confluent's registry writes them, with fields it has and we do not use.
        state.apply(key: SchemaStoreKey(parsing: #"{"keytype":"SCHEMA","subject":"t-value","version":1,"magic":1}"#)!,
                    value: #"{"subject":"t-value","version":1,"id":1,"md5":"x","schema":"\"string\"","deleted":false}"#)
        state.apply(key: SchemaStoreKey(parsing: #"{"keytype":"CONFIG","subject":null,"magic":0}"#)!,
                    value: #"{"compatibilityLevel":"FULL"}"#)
        #expect(state.versions(of: "t-value").map(\.id) == [1])
        #expect(state.schema(1)?.schemaType == .avro)
        #expect(state.compatibility(for: "t-value") == .full)
        #expect(SchemaStoreKey(parsing: #"{"keytype":"SOMETHING_NEW","magic":0}"#) == nil)
    }

    @Test func versionsIdsAndSoftDeletes() {
        var state = state()
        state.apply(key: .schema(subject: "a", version: 1), value: value("a", 1, 1))
        state.apply(key: .schema(subject: "a", version: 2), value: value("a", 2, 2, #""long""#))
        state.apply(key: .schema(subject: "b", version: 1), value: value("b", 1, 1))
        #expect(state.subjectNames() == ["a", "b"])
        #expect(state.nextVersion(of: "a") == 3)
        #expect(state.maximumId(in: ".") == 2)
        #expect(state.idByIdentity[RegistryState.identityKey("AVRO|\"int\"", contract: DataContract(), in: ".")] == 1)
        #expect(state.subjectVersions(usingId: 1).map(\.subject) == ["a", "b"])

        state.apply(key: .schema(subject: "a", version: 2), value: value("a", 2, 2, #""long""#, deleted: true))
        #expect(state.versions(of: "a").map(\.version) == [1])
        #expect(state.versions(of: "a", includeDeleted: true).map(\.version) == [1, 2])
        #expect(state.schema(2) != nil, "a soft-deleted version keeps its id resolvable")
        #expect(state.nextVersion(of: "a") == 3, "versions count soft-deleted ones")

        state.apply(key: .schema(subject: "a", version: 2), value: nil)
        #expect(state.schema(2) == nil, "a permanent delete drops an id no one uses")
        #expect(state.maximumId(in: ".") == 2, "ids are never given again")
        state.apply(key: .schema(subject: "b", version: 1), value: nil)
        #expect(state.schema(1) != nil, "subject a still uses id 1")
    }

    @Test func deleteSubjectRecordSoftDeletesUpToItsVersion() {
        var state = state()
        for version in 1...3 {
            state.apply(key: .schema(subject: "s", version: version), value: value("s", version, version, "\"v\(version)\""))
        }
        state.apply(key: .deleteSubject(subject: "s"), value: SchemaStoreValues.deleteSubject("s", version: 2))
        #expect(state.versions(of: "s").map(\.version) == [3])
        #expect(state.hasLiveVersions("s"))
    }

    @Test func configAndModeWithTombstones() {
        var state = state()
        #expect(state.compatibility(for: "s") == .backward)
        #expect(state.mode(for: "s") == .readWrite)
        state.apply(key: .config(subject: nil), value: SchemaStoreValues.config(.none))
        state.apply(key: .config(subject: "s"), value: SchemaStoreValues.config(.fullTransitive))
        state.apply(key: .mode(subject: "s"), value: SchemaStoreValues.mode(.readOnly))
        #expect(state.compatibility(for: "s") == .fullTransitive)
        #expect(state.compatibility(for: "t") == .none)
        #expect(state.mode(for: "s") == .readOnly)
        state.apply(key: .config(subject: "s"), value: nil)
        state.apply(key: .mode(subject: "s"), value: nil)
        #expect(state.compatibility(for: "s") == .none)
        #expect(state.mode(for: "s") == .readWrite)
    }

    @Test func dataContractsAreWrittenReadAndPartOfTheIdentity() throws {
        let metadata = try JSONParser.parse(#"{"properties":{"owner":"a"},"sensitive":[]}"#)
        let rules = try JSONParser.parse(#"{"domainRules":[{"name":"r","type":"CEL","mode":"WRITE","disabled":false}]}"#)
        let record = SchemaStoreValue(subject: "s", version: 1, id: 1, schemaType: .avro, schema: #""int""#, references: [],
                                      metadata: metadata, ruleSet: rules, deleted: false)
        // Confluent's field order: metadata and ruleSet before the schema.
        #expect(record.serialized.contains(#""id":1,"metadata":{"properties":{"owner":"a"},"sensitive":[]},"ruleSet":"#))
        let read = try #require(SchemaStoreValue(parsing: record.serialized))
        #expect(read.metadata == (try JSONParser.parse(#"{"properties":{"owner":"a"}}"#)), "empty members mean nothing")
        #expect(read.ruleSet == (try JSONParser.parse(#"{"domainRules":[{"name":"r","type":"CEL","mode":"WRITE"}]}"#)))
        var state = state()
        state.apply(key: .schema(subject: "s", version: 1), value: value("s", 1, 1))
        var second = record
        (second.version, second.id) = (2, 2)
        state.apply(key: .schema(subject: "s", version: 2), value: second.serialized)
        // The same schema text under two ids: one without a contract, one with.
        #expect(state.idByIdentity.count == 2)
        #expect(state.schema(2)?.metadata?["properties"]?["owner"] == .string("a"))
        state.apply(key: .schema(subject: "s", version: 2), value: nil)
        #expect(state.idByIdentity.count == 1, "the contract's key goes with its last user")
    }

    @Test func configsWithDataContractMembers() throws {
        var state = state()
        let config = try RegistryConfig(json: JSONParser.parse(
            #"{"compatibility":"FULL","compatibilityGroup":"major","defaultMetadata":{"properties":{"a":"1"}},"overrideRuleSet":{"domainRules":[{"name":"x","type":"CEL"}]}}"#))
        state.apply(key: .config(subject: "s"), value: SchemaStoreValues.config(config))
        state.apply(key: .config(subject: nil), value: SchemaStoreValues.config(RegistryConfig(compatibilityLevel: CompatibilityLevel.none)))
        #expect(state.subjectConfig["s"] == config)
        #expect(state.config(for: "s").compatibilityGroup == "major")
        #expect(state.config(for: "t").compatibilityLevel == CompatibilityLevel.none)
        #expect(SchemaStoreValues.config(config).hasPrefix(#"{"compatibilityLevel":"FULL","compatibilityGroup":"major","defaultMetadata":"#))
        // Defaults under the version's own metadata, overrides over it.
        let merged = DataContracts.mergeMetadata([
            try JSONParser.parse(#"{"properties":{"a":"default","b":"default"}}"#), try JSONParser.parse(#"{"properties":{"a":"own"}}"#),
            try JSONParser.parse(#"{"properties":{"b":"override"},"sensitive":["s"]}"#)])
        #expect(DataContracts.canonical(try #require(merged)) == #"{"properties":{"a":"own","b":"override"},"sensitive":["s"]}"#)
    }

    @Test func idsAreCountedPerContext() {
        var state = state()
        #expect(RegistryContexts.context(ofSubject: ":.staging:orders-value") == ".staging")
        #expect(RegistryContexts.context(ofSubject: "orders-value") == ".")
        #expect(RegistryContexts.context(ofSubject: ":.:x") == ".", "the default context named")
        #expect(RegistryContexts.context(ofSubject: ":nodot:x") == ".", "a context starts with a dot")
        state.apply(key: .schema(subject: "a", version: 1), value: value("a", 1, 1, #""int""#))
        state.apply(key: .schema(subject: ":.ctx:a", version: 1), value: value(":.ctx:a", 1, 1, #""string""#))
        // The same id in two contexts names two schemas.
        #expect(state.schema(1)?.schema == #""int""#)
        #expect(state.schema(1, in: ".ctx")?.schema == #""string""#)
        #expect(state.maximumId(in: ".ctx") == 1 && state.maximumId(in: ".") == 1 && state.maximumId(in: ".other") == 0)
        #expect(state.contexts == [".", ".ctx"])
        #expect(state.subjectVersions(usingId: 1, in: ".ctx").map(\.subject) == [":.ctx:a"])
        state.apply(key: .schema(subject: ":.ctx:a", version: 1), value: nil)
        #expect(state.schema(1, in: ".ctx") == nil && state.schema(1) != nil)
        #expect(state.contexts == ["."])
    }

    @Test func unreadableValuesAreSkipped() {
        var state = state()
        state.apply(key: .schema(subject: "s", version: 1), value: "{not json")
        state.apply(key: .config(subject: nil), value: #"{"compatibilityLevel":"SIDEWAYS"}"#)
        #expect(state.subjects.isEmpty)
        #expect(state.compatibility(for: nil) == .backward)
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesAndWritesBack() throws {
        let text = #"{"a":[1,-2.5e3,true,false,null],"b":"x\"\\\n\u00e9\ud83d\ude00","c":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value["b"]?.stringValue == "x\"\\\n\u{e9}\u{1F600}")
        #expect(try JSONParser.parse(value.serialized) == value)
    }

    /// Strings with and without escapes, repeated names in small and large objects, values parsed from an offset.
    @Test func stringsObjectsAndValuesFromAnOffset() throws {
        #expect(try JSONParser.parse(#""plain é""#) == .string("plain é"))
        #expect(try JSONParser.parse(#""\ud800x\/\b\f\r\t""#) == .string("\u{FFFD}x/\u{08}\u{0C}\r\t"))
        #expect(try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#).serialized == #"{"a":3,"b":2}"#)
        let many = (0..<20).map { "\"k\($0 % 12)\":\($0)" }.joined(separator: ",")
        let object = try JSONParser.parse("{" + many + "}")
        #expect(object.objectValue?.count == 12)
        #expect(object["k0"] == .number("12") && object["k7"] == .number("19") && object["k8"] == .number("8"))
        let bytes = Array(#"xx  [1,{"b":"\""}] tail"#.utf8)
        let (value, end) = try JSONParser.parseValue(bytes: bytes, from: 2)
        #expect(value == .array([.number("1"), .object([("b", .string("\""))])]))
        #expect(end == 18 && JSONParser.skippingWhitespace(bytes, from: end) == 19)
        #expect(throws: JSONParseError.self) { try JSONParser.parseValue(bytes: Array("[[1]]".utf8), from: 0, depth: 1, maximumDepth: 2) }
    }

    @Test func writesEscapesAsJackson() {
        #expect(JSONValue.string("q\"b\\n\nr\rt\tb\u{08}f\u{0C}c\u{1}\u{1F}é").serialized == #""q\"b\\n\nr\rt\tb\bf\fc\u0001\u001fé""#)
        var jackson: [UInt8] = []
        JSONValue.string("\u{1F}").write(to: &jackson, uppercaseHex: true)
        #expect(String(decoding: jackson, as: UTF8.self) == #""\u001F""#)
    }

    @Test(arguments: ["", "{", "[1,]", "01", "\"\\x\"", "{\"a\" 1}", "tru", "1 2", "\"\u{01}\""])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }
}

@Suite("Context URLs")
struct ContextURLTests {
    @Test(arguments: [
        ("/contexts/.team/subjects/orders-value/versions", nil, "/subjects/:.team:orders-value/versions"),
        ("/contexts/.team/subjects", "deleted=true", "/subjects?deleted=true&subjectPrefix=:.team:"),
        ("/contexts/.team/schemas/ids/3", nil, "/schemas/ids/3?subject=:.team:"),
        ("/contexts/.team/schemas/ids/3/subjects", nil, "/schemas/ids/3/subjects?subject=:.team:"),
        ("/contexts/.team/schemas/ids/3", "subject=t-value&format=serialized", "/schemas/ids/3?subject=:.team:t-value&format=serialized"),
        ("/contexts/.team/config/s", nil, "/config/:.team:s"),
        ("/contexts/.team/compatibility/subjects/s/versions/latest", "verbose=true",
         "/compatibility/subjects/:.team:s/versions/latest?verbose=true"),
        ("/contexts/.team/subjects/:.other:s/versions", nil, "/subjects/:.other:s/versions"),
        ("/contexts/./subjects/s/versions", nil, "/subjects/s/versions"),
    ] as [(String, String?, String)])
    func rewrites(path: String, query: String?, expected: String) {
        #expect(ContextURLs.rewrite(path: path, query: query) == expected)
    }

    @Test func otherPathsAreLeftAlone() {
        #expect(ContextURLs.rewrite(path: "/subjects/s/versions", query: nil) == nil)
        #expect(ContextURLs.rewrite(path: "/contexts", query: nil) == nil)
        #expect(ContextURLs.rewrite(path: "/contexts/team/subjects", query: nil) == nil, "a context starts with a dot")
        #expect(RegistryContexts.namesContextOnly(":.team:") && !RegistryContexts.namesContextOnly(":.team:s"))
    }
}
