import Testing
@testable import SchemaRegistry

/// How PROTOBUF messages are compared through the types of their fields: once per pair, without recursion, within a
/// budget.
@Suite("Protobuf compatibility through message types")
struct ProtobufCompatibilityTests {
    private func parse(_ text: String) throws -> ProtobufSchema {
        guard case let .protobuf(schema) = try ParsedSchema.parse(.protobuf, text) else { throw RegistryError.invalidSchema("not protobuf") }
        return schema
    }

    /// `count` messages, each holding the next: `M0 { M1 next = 1; }` ... and the last holding `last`.
    private func chain(_ count: Int, last: String) -> String {
        var text = "syntax = \"proto3\";\n"
        for index in 0..<count - 1 { text += "message M\(index) { M\(index + 1) next = 1; }\n" }
        return text + "message M\(count - 1) { \(last) value = 1; }\n"
    }

    @Test func aChangeDeepInAChainOfTypesReachesEveryFieldLeadingToIt() throws {
        // 5 000 levels: a recursive comparison would need as many stack frames for one field.
        let writer = try parse(chain(5000, last: "int64"))
        let reader = try parse(chain(5000, last: "string"))
        let problems = ProtobufCompatibility.problems(reader: reader, writer: writer)
        #expect(problems.filter { $0.contains("FIELD_SCALAR_KIND_CHANGED") }.count == 1)
        #expect(problems.filter { $0.contains("FIELD_NAMED_TYPE_CHANGED") }.count == 4999)
        #expect(ProtobufCompatibility.problems(reader: writer, writer: writer).isEmpty)
    }

    @Test func typesThatHoldThemselvesCompareOnce() throws {
        let writer = try parse("syntax = \"proto3\"; message Tree { repeated Tree children = 1; Node node = 2; } message Node { Tree tree = 1; int32 v = 2; }")
        let renamed = try parse("syntax = \"proto3\"; message Tree { repeated Tree children = 1; Leaf node = 2; } message Leaf { Tree tree = 1; int32 v = 2; } message Node { Tree tree = 1; int32 v = 2; }")
        #expect(ProtobufCompatibility.problems(reader: renamed, writer: writer).isEmpty)
        let changed = try parse("syntax = \"proto3\"; message Tree { repeated Tree children = 1; Leaf node = 2; } message Leaf { Tree tree = 1; string v = 2; } message Node { Tree tree = 1; int32 v = 2; }")
        let problems = ProtobufCompatibility.problems(reader: changed, writer: writer)
        #expect(problems.contains { $0.contains("FIELD_SCALAR_KIND_CHANGED") && $0.contains("Leaf.v") })
        #expect(problems.contains { $0.contains("FIELD_NAMED_TYPE_CHANGED") && $0.contains("Tree.node") })
    }

    @Test func pairsBeyondTheBudgetAreRefusedAsTooComplex() throws {
        // Every message of the writer is compared with every message of the reader through the fields of two
        // roots: 30 × 30 pairs of 30 fields each.
        func schema(_ type: (Int) -> String) -> String {
            var text = "syntax = \"proto3\";\nmessage Root {"
            for index in 0..<30 { text += " \(type(index)) f\(index) = \(index + 1);" }
            text += " }\n"
            for index in 0..<30 {
                text += "message T\(index) {"
                for field in 0..<30 { text += " T\((index + field) % 30) f\(field) = \(field + 1);" }
                text += " }\n"
            }
            return text
        }
        let writer = try parse(schema { "T\($0)" })
        let reader = try parse(schema { "T\(($0 * 7) % 30)" })
        #expect(ProtobufCompatibility.problems(reader: reader, writer: writer, extraFieldBudget: 100)
            .contains { $0.contains("SCHEMA_TOO_COMPLEX") })
        #expect(!ProtobufCompatibility.problems(reader: reader, writer: writer).contains { $0.contains("SCHEMA_TOO_COMPLEX") })
    }
}
