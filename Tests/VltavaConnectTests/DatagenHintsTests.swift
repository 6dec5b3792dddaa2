import Foundation
import Testing
@testable import VltavaConnect

@Suite("Datagen hints and regex strings")
struct DatagenHintsTests {
    static let patterns = [
        "User_[1-9]", "Item_[1-9][0-9]{0,2}", "City_[1-9]{0,2}", "[A-Z][1-9]{8,8}", "lab-\\d{1}", "\\[[0-9][0-9],[0-9][0-9]\\]",
        "[A-Z]{2}\\d{6}[A-Z]", "[a-zA-Z]{5,15}", "(foo|ba(r|z))+-\\w*", "[^a-z0-9]{3}", "a.b?c*d+", "(?:x|y){2,4}z",
        "\\Q*.+\\E[-._]", "[\\d\\s]{4}", "^v[0-9]+\\.[0-9]+$", "[\\u0041-\\u0043]\\x44", "(?<name>n)m\\b",
    ]

    @Test("generated strings match their regex (checked with NSRegularExpression)", arguments: patterns)
    func regexMatches(_ pattern: String) throws {
        let generator = try RegexStringGenerator(pattern)
        var random = DatagenRandom(seed: 11)
        for _ in 0..<300 {
            let text = generator.generate(minimumLength: 8, maximumLength: 15, using: &random)
            #expect(DatagenHarness.matches(text, pattern), "\(pattern) gave \(text)")
        }
    }

    @Test("lengths aim at the bounds, as Generex given a length range does")
    func regexLengths() throws {
        var random = DatagenRandom(seed: 5)
        let letters = try RegexStringGenerator("[a-zA-Z]{5,15}")
        let lengths = Set((0..<500).map { _ in letters.generate(minimumLength: 8, maximumLength: 15, using: &random).count })
        #expect(lengths == Set(8...15))
        let item = try RegexStringGenerator("Item_[1-9][0-9]{0,2}")
        #expect((0..<100).allSatisfy { _ in item.generate(minimumLength: 8, maximumLength: 15, using: &random).count == 8 })
        let user = try RegexStringGenerator("User_[1-9]")
        #expect(user.generate(minimumLength: 8, maximumLength: 15, using: &random).count == 6)
        let unbounded = try RegexStringGenerator("a*")
        #expect(unbounded.generate(minimumLength: 1000, maximumLength: 2000, using: &random).count == 32)
    }

    @Test("expressions the generator cannot honour are refused", arguments: ["(a)\\1", "(?=a)b", "(?i)a", "a{2", "[z-a]", "*a", "[^\\x00-\\x7F]", "a{99999}"])
    func regexRefused(_ pattern: String) {
        #expect(throws: ConnectError.self) { try RegexStringGenerator(pattern) }
    }

    @Test("iterations wrap at restart, step down, and start where a resumed task stands")
    func iterations() {
        let wrap = DatagenHints.Iteration.integral(start: 0, restart: 3, step: 1, initial: 0)
        #expect((0..<5).map { DatagenValueGenerator.iterationValue(wrap, at: $0) } == [0, 1, 2, 0, 1].map { .int64($0) })
        let down = DatagenHints.Iteration.integral(start: 10, restart: 0, step: -4, initial: 10)
        #expect((0..<4).map { DatagenValueGenerator.iterationValue(down, at: $0) } == [10, 6, 2, 8].map { .int64($0) })
        let huge = DatagenHints.Iteration.integral(start: 1, restart: .max, step: 1_000_000_000_000, initial: 1)
        // 10^19 wraps once past Int64.max − 1 steps.
        #expect(DatagenValueGenerator.iterationValue(huge, at: 10_000_000) == .int64(776_627_963_145_224_195))
        let decimal = DatagenHints.Iteration.decimal(start: 0, restart: 1, step: 0.25, initial: 0)
        #expect((0..<5).map { DatagenValueGenerator.iterationValue(decimal, at: $0) } == [0, 0.25, 0.5, 0.75, 0].map { .float64($0) })
        #expect((0..<3).map { DatagenValueGenerator.iterationValue(.boolean(start: true), at: $0) } == [true, false, true].map { .boolean($0) })
    }

    /// A schema with every kind of hint avro-random-generator reads.
    static let everyHint = #"""
    {"type": "record", "name": "Everything", "namespace": "test", "doc": "all hints", "fields": [
      {"name": "choice", "type": {"type": "string", "arg.properties": {"options": ["a", "b"]}}},
      {"name": "code", "type": {"type": "string", "arg.properties": {"regex": "[A-F]{3}-\\d{2}", "prefix": "<", "suffix": ">"}}},
      {"name": "word", "type": {"type": "string", "arg.properties": {"length": {"min": 2, "max": 4}}}},
      {"name": "counter", "type": {"type": "string", "arg.properties": {"iteration": {"start": 5}, "prefix": "n"}}},
      {"name": "small", "type": {"type": "int", "arg.properties": {"range": {"min": -3, "max": 3}}}},
      {"name": "big", "type": {"type": "long", "arg.properties": {"range": {"min": 10000000000, "max": 10000000005}}}},
      {"name": "step", "type": {"type": "long", "arg.properties": {"iteration": {"start": 100, "step": -10, "restart": 60}}}},
      {"name": "ratio", "type": {"type": "double", "arg.properties": {"range": {"min": 0.5, "max": 0.75}}}},
      {"name": "weight", "type": {"type": "float", "arg.properties": {"range": {"min": 1, "max": 2}}}},
      {"name": "always", "type": {"type": "boolean", "arg.properties": {"odds": 1.0}}},
      {"name": "flip", "type": {"type": "boolean", "arg.properties": {"iteration": {"start": false}}}},
      {"name": "suit", "type": {"type": "enum", "name": "Suit", "symbols": ["HEARTS", "SPADES", "CLUBS"],
                                "arg.properties": {"options": ["SPADES"]}}},
      {"name": "anySuit", "type": "Suit"},
      {"name": "tags", "type": {"type": "array", "items": {"type": "string", "arg.properties": {"options": ["x", "y"]}},
                                "arg.properties": {"length": {"min": 1, "max": 3}}}},
      {"name": "scores", "type": {"type": "map", "values": {"type": "int", "arg.properties": {"range": {"min": 0, "max": 10}}},
                                  "arg.properties": {"length": 2, "keys": {"options": ["math", "art", "music"]}}}},
      {"name": "inner", "type": {"type": "record", "name": "Inner", "fields": [{"name": "v", "type": "int"}],
                                 "arg.properties": {"options": [{"v": 1}, {"v": 2}]}}},
      {"name": "maybe", "type": ["null", {"type": "string", "arg.properties": {"regex": "m[0-9]"}}]},
      {"name": "either", "type": ["int", "string", "null"]},
      {"name": "blob", "type": {"type": "bytes", "arg.properties": {"length": 3}}},
      {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
      {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2}},
      {"name": "day", "type": {"type": "int", "logicalType": "date", "arg.properties": {"range": {"min": 18000, "max": 18010}}}},
      {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
      {"name": "clock", "type": {"type": "int", "logicalType": "time-millis", "arg.properties": {"range": {"min": 0, "max": 86400000}}}}
    ]}
    """#

    @Test("schema.string: every hint kind, its Connect schema and its values")
    func everyHintKind() throws {
        let settings = ["schema.string": Self.everyHint, "schema.keyfield": "code"]
        let config = try DatagenConfig(DatagenHarness.config(settings))
        let schema = config.schema.connectSchema
        #expect(schema.name == "test.Everything")
        #expect(schema.parameter("io.confluent.connect.avro.record.doc") == "all hints")
        #expect(schema.field("suit")?.schema.parameter("io.confluent.connect.avro.Enum") == "test.Suit")
        #expect(schema.field("maybe")?.schema == .optionalString)
        #expect(schema.field("either")?.schema.name == "io.confluent.connect.avro.Union")
        #expect(schema.field("either")?.schema.isOptional == true)
        #expect(schema.field("either")?.schema.fields.map(\.name) == ["int", "string"])
        #expect(schema.field("hash")?.schema.parameter("connect.fixed.size") == "4")
        #expect(schema.field("price")?.schema.parameter("connect.decimal.precision") == "5")
        #expect(schema.field("day")?.schema.name == ConnectLogical.dateName)
        #expect(schema.field("at")?.schema.name == ConnectLogical.timestampName)
        #expect(schema.field("clock")?.schema.name == ConnectLogical.timeName)
        #expect(schema.field("scores")?.schema.keySchema == .string)

        let records = try DatagenHarness.records(settings, count: 300)
        var flips: [ConnectValue] = []
        var sawNull = false
        var sawValue = false
        for (index, record) in records.enumerated() {
            #expect(DatagenHarness.problems(record.value, config.schema).isEmpty, "\(DatagenHarness.problems(record.value, config.schema))")
            let value = record.value
            #expect(record.key == value[field: "code"])
            guard case let .string(code)? = value[field: "code"] else { continue }
            #expect(code.hasPrefix("<") && code.hasSuffix(">") && code.count == 8)
            if case let .string(word)? = value[field: "word"] { #expect((2..<4).contains(word.count)) }
            #expect(value[field: "counter"] == .string("n\(5 + index)"))
            #expect(value[field: "step"] == .int64(100 - 10 * Int64(index % 4)))
            #expect(value[field: "always"] == .boolean(true))
            flips.append(value[field: "flip"] ?? .null)
            #expect(value[field: "suit"] == .string("SPADES"))
            if case let .map(entries)? = value[field: "scores"] {
                #expect((1...2).contains(entries.count))
                #expect(entries.allSatisfy { ["math", "art", "music"].map(ConnectValue.string).contains($0.key) })
            }
            if case let .bytes(blob)? = value[field: "blob"] { #expect(blob.count == 3) }
            if case let .bytes(hash)? = value[field: "hash"] { #expect(hash.count == 4) }
            if case let .structure(inner)? = value[field: "inner"] { #expect([.int32(1), .int32(2)].contains(inner["v"])) }
            if value[field: "maybe"] == .null { sawNull = true } else { sawValue = true }
        }
        #expect(flips.prefix(4) == [.boolean(false), .boolean(true), .boolean(false), .boolean(true)])
        #expect(sawNull && sawValue)
    }

    @Test("the checker catches values outside their hints")
    func checkerCatchesViolations() throws {
        let config = try DatagenConfig(DatagenHarness.config(["quickstart": "users"]))
        let good = try #require(DatagenHarness.records(["quickstart": "users"], count: 1).first?.value)
        guard case let .structure(record) = good else { return }
        #expect(!DatagenHarness.problems(.structure(record.putting("gender", .string("X"))), config.schema).isEmpty)
        #expect(!DatagenHarness.problems(.structure(record.putting("userid", .string("User_10"))), config.schema).isEmpty)
        #expect(!DatagenHarness.problems(.structure(record.putting("registertime", .int64(0))), config.schema).isEmpty)
        #expect(!DatagenHarness.problems(.structure(record.putting("registertime", .int32(1))), config.schema).isEmpty)
    }

    @Test("schema files may hold comments, as Avro's parser allows")
    func schemaFileWithComments() throws {
        let path = temporaryPath("commented.avsc")
        appendText("""
            // a pageview
            {"type": "record", "name": "view", /* inline */ "fields": [
              {"name": "url", "type": {"type": "string", "arg.properties": {"regex": "https://x/[a-z]{3}"}}}  // trailing
            ]}
            """, to: path)
        let records = try DatagenHarness.records(["schema.filename": path, "schema.keyfield": "url"], count: 5)
        #expect(records.count == 5)
        #expect(records.allSatisfy { record in
            guard case let .string(url) = record.key else { return false }
            return DatagenHarness.matches(url, "https://x/[a-z]{3}")
        })
    }
}
