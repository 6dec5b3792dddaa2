import Testing
@testable import SchemaRegistry

/// One case of the Avro resolution rules: may `reader` read what `writer` wrote?
struct AvroResolutionCase: CustomTestStringConvertible, Sendable {
    var name: String
    var reader: String
    var writer: String
    var compatible: Bool
    var testDescription: String { name }
}

private func record(_ fields: String, name: String = "R") -> String {
    #"{"type":"record","name":"\#(name)","fields":[\#(fields)]}"#
}

private let avroCases: [AvroResolutionCase] = [
    .init(name: "same primitive", reader: #""int""#, writer: #""int""#, compatible: true),
    .init(name: "int promoted to long", reader: #""long""#, writer: #""int""#, compatible: true),
    .init(name: "int promoted to float", reader: #""float""#, writer: #""int""#, compatible: true),
    .init(name: "int promoted to double", reader: #""double""#, writer: #""int""#, compatible: true),
    .init(name: "long promoted to float", reader: #""float""#, writer: #""long""#, compatible: true),
    .init(name: "long promoted to double", reader: #""double""#, writer: #""long""#, compatible: true),
    .init(name: "float promoted to double", reader: #""double""#, writer: #""float""#, compatible: true),
    .init(name: "long not narrowed to int", reader: #""int""#, writer: #""long""#, compatible: false),
    .init(name: "double not narrowed to float", reader: #""float""#, writer: #""double""#, compatible: false),
    .init(name: "string read as bytes", reader: #""bytes""#, writer: #""string""#, compatible: true),
    .init(name: "bytes read as string", reader: #""string""#, writer: #""bytes""#, compatible: true),
    .init(name: "string not read as int", reader: #""int""#, writer: #""string""#, compatible: false),
    .init(name: "boolean not read as int", reader: #""int""#, writer: #""boolean""#, compatible: false),
    .init(name: "null only as null", reader: #""null""#, writer: #""int""#, compatible: false),
    .init(name: "added field with default", reader: record(#"{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}"#),
          writer: record(#"{"name":"a","type":"int"}"#), compatible: true),
    .init(name: "added field without default", reader: record(#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#),
          writer: record(#"{"name":"a","type":"int"}"#), compatible: false),
    .init(name: "removed field", reader: record(#"{"name":"a","type":"int"}"#),
          writer: record(#"{"name":"a","type":"int"},{"name":"b","type":"string"}"#), compatible: true),
    .init(name: "field type promoted", reader: record(#"{"name":"a","type":"long"}"#), writer: record(#"{"name":"a","type":"int"}"#),
          compatible: true),
    .init(name: "field type narrowed", reader: record(#"{"name":"a","type":"int"}"#), writer: record(#"{"name":"a","type":"long"}"#),
          compatible: false),
    .init(name: "field renamed with alias", reader: record(#"{"name":"b","type":"int","aliases":["a"]}"#),
          writer: record(#"{"name":"a","type":"int"}"#), compatible: true),
    .init(name: "field renamed without alias", reader: record(#"{"name":"b","type":"int"}"#),
          writer: record(#"{"name":"a","type":"int"}"#), compatible: false),
    .init(name: "record renamed", reader: record(#"{"name":"a","type":"int"}"#, name: "S"), writer: record(#"{"name":"a","type":"int"}"#),
          compatible: false),
    .init(name: "record renamed with alias",
          reader: #"{"type":"record","name":"S","aliases":["R"],"fields":[{"name":"a","type":"int"}]}"#,
          writer: record(#"{"name":"a","type":"int"}"#), compatible: true),
    .init(name: "enum symbol added", reader: #"{"type":"enum","name":"E","symbols":["A","B","C"]}"#,
          writer: #"{"type":"enum","name":"E","symbols":["A","B"]}"#, compatible: true),
    .init(name: "enum symbol removed", reader: #"{"type":"enum","name":"E","symbols":["A"]}"#,
          writer: #"{"type":"enum","name":"E","symbols":["A","B"]}"#, compatible: false),
    .init(name: "enum symbol removed with reader default", reader: #"{"type":"enum","name":"E","symbols":["A"],"default":"A"}"#,
          writer: #"{"type":"enum","name":"E","symbols":["A","B"]}"#, compatible: true),
    .init(name: "fixed same size", reader: #"{"type":"fixed","name":"F","size":4}"#, writer: #"{"type":"fixed","name":"F","size":4}"#,
          compatible: true),
    .init(name: "fixed size changed", reader: #"{"type":"fixed","name":"F","size":8}"#, writer: #"{"type":"fixed","name":"F","size":4}"#,
          compatible: false),
    .init(name: "array items promoted", reader: #"{"type":"array","items":"long"}"#, writer: #"{"type":"array","items":"int"}"#,
          compatible: true),
    .init(name: "array items narrowed", reader: #"{"type":"array","items":"int"}"#, writer: #"{"type":"array","items":"long"}"#,
          compatible: false),
    .init(name: "map values promoted", reader: #"{"type":"map","values":"double"}"#, writer: #"{"type":"map","values":"float"}"#,
          compatible: true),
    .init(name: "array read as map", reader: #"{"type":"map","values":"int"}"#, writer: #"{"type":"array","items":"int"}"#,
          compatible: false),
    .init(name: "union branch added", reader: #"["null","int","string"]"#, writer: #"["null","int"]"#, compatible: true),
    .init(name: "union branch removed", reader: #"["null","int"]"#, writer: #"["null","int","string"]"#, compatible: false),
    .init(name: "value read into union", reader: #"["null","long"]"#, writer: #""int""#, compatible: true),
    .init(name: "value not in union", reader: #"["null","string"]"#, writer: #""int""#, compatible: false),
    .init(name: "union read as single type", reader: #""long""#, writer: #"["int","long"]"#, compatible: true),
    .init(name: "union with null read as single type", reader: #""int""#, writer: #"["null","int"]"#, compatible: false),
    .init(name: "optional field added", reader: record(#"{"name":"a","type":"int"},{"name":"o","type":["null","int"],"default":null}"#),
          writer: record(#"{"name":"a","type":"int"}"#), compatible: true),
    .init(name: "nested record field changed",
          reader: record(#"{"name":"n","type":{"type":"record","name":"N","fields":[{"name":"x","type":"string"}]}}"#),
          writer: record(#"{"name":"n","type":{"type":"record","name":"N","fields":[{"name":"x","type":"int"}]}}"#), compatible: false),
    .init(name: "recursive record unchanged",
          reader: #"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#,
          writer: #"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#,
          compatible: true),
    .init(name: "logical type over its primitive", reader: #"{"type":"long","logicalType":"timestamp-millis"}"#, writer: #""long""#,
          compatible: true),
]

@Suite("Avro schema resolution")
struct AvroCompatibilityTests {
    @Test(arguments: avroCases)
    func resolution(_ testCase: AvroResolutionCase) throws {
        let reader = try AvroSchema.parse(testCase.reader)
        let writer = try AvroSchema.parse(testCase.writer)
        let problems = AvroCompatibility.problems(reader: reader, writer: writer)
        #expect(problems.isEmpty == testCase.compatible, "\(problems)")
    }

    private func schemas(_ texts: String...) throws -> [(version: Int, schema: ParsedSchema)] {
        try texts.enumerated().map { ($0.offset + 1, try ParsedSchema.parse(.avro, $0.element)) }
    }

    @Test func levelsCheckTheirDirections() throws {
        let old = record(#"{"name":"a","type":"int"}"#)
        let added = try ParsedSchema.parse(.avro, record(#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#))
        let previous = try schemas(old)
        // A field without default added: new readers cannot read old data, old readers can read new data.
        #expect(!CompatibilityChecker.problems(level: .backward, new: added, previous: previous).isEmpty)
        #expect(CompatibilityChecker.problems(level: .forward, new: added, previous: previous).isEmpty)
        #expect(!CompatibilityChecker.problems(level: .full, new: added, previous: previous).isEmpty)
        #expect(CompatibilityChecker.problems(level: .none, new: added, previous: previous).isEmpty)
    }

    @Test func transitiveLevelsCheckEveryVersion() throws {
        let v1 = record(#"{"name":"a","type":"int"}"#)
        let v2 = record(#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#)
        let v3 = try ParsedSchema.parse(.avro, record(#"{"name":"b","type":"int","default":0}"#))
        // v3 drops `a`: fine to read v2 and v1 data (backward); v1 readers need `a` from v3 data (forward) and
        // v2 readers have a default for nothing missing... `a` has no default in v2 either.
        let previous = try schemas(v1, v2)
        #expect(CompatibilityChecker.problems(level: .backward, new: v3, previous: previous).isEmpty)
        #expect(CompatibilityChecker.problems(level: .backwardTransitive, new: v3, previous: previous).isEmpty)
        #expect(!CompatibilityChecker.problems(level: .forward, new: v3, previous: previous).isEmpty)
        // Only v1 lacks a default for `b`: the latest-only check passes, the transitive one fails.
        let w3 = try ParsedSchema.parse(.avro, record(#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#))
        let w = try schemas(v1, record(#"{"name":"a","type":"int"},{"name":"b","type":"int"}"#))
        #expect(CompatibilityChecker.problems(level: .backward, new: w3, previous: w).isEmpty)
        #expect(!CompatibilityChecker.problems(level: .backwardTransitive, new: w3, previous: w).isEmpty)
        #expect(!CompatibilityChecker.problems(level: .fullTransitive, new: w3, previous: w).isEmpty)
        #expect(CompatibilityChecker.problems(level: .forwardTransitive, new: w3, previous: w).isEmpty)
    }
}

@Suite("Avro parsing and canonical form")
struct AvroSchemaTests {
    @Test func parsingCanonicalFormFollowsTheSpecification() throws {
        let schema = try AvroSchema.parse("""
            {"namespace": "com.example", "type": "record", "name": "User", "doc": "a user",
             "fields": [
               {"name": "name", "type": "string", "default": "x", "doc": "d"},
               {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
               {"name": "other", "type": ["null", "Kind"]},
               {"name": "tags", "type": {"type": "map", "values": {"type": "array", "items": "long"}}},
               {"name": "hash", "type": {"type": "fixed", "name": "Hash", "namespace": "x.y", "size": 16}}
             ]}
            """)
        #expect(schema.parsingCanonicalForm == #"{"name":"com.example.User","type":"record","fields":[{"name":"name","type":"string"},{"name":"kind","type":{"name":"com.example.Kind","type":"enum","symbols":["A","B"]}},{"name":"other","type":["null","com.example.Kind"]},{"name":"tags","type":{"type":"map","values":{"type":"array","items":"long"}}},{"name":"hash","type":{"name":"x.y.Hash","type":"fixed","size":16}}]}"#)
    }

    @Test func primitivesInObjectsAreCanonicallyStrings() throws {
        #expect(try AvroSchema.parse(#"{"type":"int"}"#).parsingCanonicalForm == #""int""#)
        #expect(try AvroSchema.parse(#" "string" "#).parsingCanonicalForm == #""string""#)
    }

    @Test func normalizedFormIgnoresDocsAndSpacingButKeepsDefaults() throws {
        let a = try AvroSchema.parse(#"{"type":"record","name":"R","doc":"one","fields":[{"name":"a","type":"int","default":1}]}"#)
        let b = try AvroSchema.parse(#"{ "type" : "record", "name" : "R", "fields" : [ { "name" : "a", "type" : "int", "default" : 1 } ] }"#)
        let c = try AvroSchema.parse(#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2}]}"#)
        #expect(a.normalizedForm == b.normalizedForm)
        #expect(a.normalizedForm != c.normalizedForm)
        #expect(a.parsingCanonicalForm == c.parsingCanonicalForm)
    }

    @Test(arguments: [
        #"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
        #"{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"],"default":1}]}"#,
        #"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
        #"{"type":"record","name":"1R","fields":[]}"#,
        #"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        #"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#,
        #"["int","int"]"#,
        #"["null",["int"]]"#,
        #""Unknown""#,
        #"{"type":"record","name":"R"}"#,
        #"{"type":"fixed","name":"F"}"#,
        #"{"type":"array"}"#,
        #"{"type":"record","name":"int","fields":[]}"#,
        #"not json"#,
    ])
    func invalidSchemasAreRejected(_ text: String) {
        #expect(throws: RegistryError.self) { try AvroSchema.parse(text) }
    }

    @Test func deepNestingIsRejectedWithBoundedWork() {
        let deep = String(repeating: #"{"type":"array","items":"#, count: 10_000) + #""int""# + String(repeating: "}", count: 10_000)
        #expect(throws: RegistryError.self) { try ParsedSchema.parse(.avro, deep) }
        let brackets = String(repeating: "[", count: 100_000)
        #expect(throws: RegistryError.self) { try ParsedSchema.parse(.json, brackets) }
    }
}
