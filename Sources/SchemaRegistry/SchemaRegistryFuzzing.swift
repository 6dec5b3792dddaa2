#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The entry points of the schema fuzzers (`Tests/Fuzz`, `scripts/fuzz-decoders`) and of their regression tests:
/// each takes arbitrary bytes, throws every parsing error away, and traps only on a broken invariant.
package enum SchemaRegistryFuzzing {
    /// AVRO schema text: a schema that parses must parse again from its normalized form (what `normalize=true`
    /// stores) and from its canonical form, giving the same forms, and must be compatible with itself.
    package static func avro(_ input: UnsafeRawBufferPointer) {
        guard let schema = try? ParsedSchema.parse(.avro, String(decoding: input, as: UTF8.self)) else { return }
        checkForms(schema)
        precondition(schema.problems(readingDataWrittenBy: schema).isEmpty, "an AVRO schema is incompatible with itself")
    }

    /// `.proto` schema text, as registered: forms as for AVRO, the serialized (FileDescriptorProto) form read back.
    package static func protobuf(_ input: UnsafeRawBufferPointer) {
        guard let schema = try? ParsedSchema.parse(.protobuf, String(decoding: input, as: UTF8.self)) else { return }
        checkForms(schema)
        precondition(schema.problems(readingDataWrittenBy: schema).isEmpty, "a PROTOBUF schema is incompatible with itself")
        if let serialized = schema.serializedText { _ = try? ParsedSchema.parse(.protobuf, serialized) }
    }

    /// A binary FileDescriptorProto, registered as its base64 text as confluent-kafka's serializers do.
    package static func protobufDescriptor(_ input: UnsafeRawBufferPointer) {
        let text = Data(input).base64EncodedString()
        guard let schema = try? ParsedSchema.parse(.protobuf, text) else { return }
        checkForms(schema)
        _ = schema.serializedText
        _ = schema.problems(readingDataWrittenBy: schema)
    }

    /// JSON Schema text: forms as for AVRO; the comparison with itself is only run (its work is bounded, and
    /// past the bound it reports the schema as too complex).
    package static func jsonSchema(_ input: UnsafeRawBufferPointer) {
        guard let schema = try? ParsedSchema.parse(.json, String(decoding: input, as: UTF8.self)) else { return }
        checkForms(schema)
        _ = schema.problems(readingDataWrittenBy: schema)
    }

    /// Any JSON text: a document that parses must parse again from its serialized form to an equal value.
    package static func jsonValue(_ input: UnsafeRawBufferPointer) {
        guard let value = try? JSONParser.parse(bytes: Array(input)) else { return }
        let serialized = value.serialized
        guard let again = try? JSONParser.parse(serialized) else {
            preconditionFailure("the serialized form of a JSON document does not parse")
        }
        precondition(again == value && again.hashValue == value.hashValue, "a JSON document changed when serialized")
        precondition(again.serialized == serialized, "serializing a JSON document is not stable")
    }

    /// The normalized form, the canonical form and the form a schema's identity is made of (fields in the order
    /// written, for PROTOBUF) each parse again and give themselves back.
    private static func checkForms(_ schema: ParsedSchema) {
        let type = schema.schemaType
        let forms: [(String, (ParsedSchema) -> String)] = [
            ("normalized", \.normalizedForm), ("canonical", \.canonicalText), ("identity", { $0.identityForm(normalized: false) }),
        ]
        for (name, form) in forms where name == "normalized" || form(schema) != schema.normalizedForm {
            let text = form(schema)
            let again: ParsedSchema
            do {
                again = try ParsedSchema.parse(type, text)
            } catch {
                preconditionFailure("the \(name) form of a \(type.rawValue) schema does not parse: \(error)\n\(text)")
            }
            precondition(form(again) == text, "the \(name) form of a \(type.rawValue) schema changes when parsed again:\n\(text)\n\(form(again))")
        }
    }
}
