/// Writes, for the test target, a `sample(version:)` constructor per generated struct that sets every
/// field present at that version to a distinct non-default value, so round trips exercise every field.
struct SampleEmitter {
    let emitter: SwiftEmitter
    private var counter = 0

    init(emitter: SwiftEmitter) {
        self.emitter = emitter
    }

    mutating func emit(into out: CodeWriter) {
        let spec = emitter.spec
        emitSample(typeName: spec.name, fields: spec.fields, versions: spec.validVersions, into: out)
        for (nested, versions) in emitter.structs {
            emitSample(typeName: "\(spec.name).\(nested.name)", fields: nested.fields, versions: versions, into: out)
        }
    }

    private mutating func emitSample(typeName: String, fields: [FieldSpec], versions: VersionRange, into out: CodeWriter) {
        out.line("extension \(typeName) {")
        out.indent {
            out.line("static func sample(version: Int16) -> Self {")
            out.indent {
                out.line("var sample = Self()")
                for field in fields {
                    let regular = field.regularVersions.intersection(versions)
                    let tagged = field.tagVersions.intersection(versions)
                    if regular.isEmpty && tagged.isEmpty { continue }
                    let covered = VersionRange(
                        lowest: min(regular.isEmpty ? Int.max : regular.lowest, tagged.isEmpty ? Int.max : tagged.lowest),
                        highest: max(regular.isEmpty ? Int.min : regular.highest, tagged.isEmpty ? Int.min : tagged.highest))
                    let condition = covered.condition(within: versions)
                    let value = sampleValue(field)
                    out.conditional(condition) {
                        out.line("sample.\(field.propertyName) = \(value)")
                    }
                }
                if !emitter.spec.flexibleVersions.intersection(versions).isEmpty {
                    out.line("if Self.isFlexible(version) {")
                    out.indent {
                        counter += 1
                        out.line("sample.unknownTaggedFields = [TaggedField(tag: 9000, data: ByteBuffer(bytes: [\(counter % 250), 7]))]")
                    }
                    out.line("}")
                }
                out.line("return sample")
            }
            out.line("}")
        }
        out.line("}")
        out.line("")
    }

    private mutating func sampleValue(_ field: FieldSpec) -> String {
        counter += 1
        let n = counter
        switch field.type {
        case let .primitive(primitive):
            return scalarSample(primitive, n: n, field: field)
        case let .structure(name):
            return "\(emitter.spec.name).\(name).sample(version: version)"
        case let .array(element):
            switch element {
            case let .primitive(primitive):
                return "[\(scalarSample(primitive, n: n, field: nil)), \(scalarSample(primitive, n: n + 1, field: nil))]"
            case let .structure(name):
                return "[\(emitter.spec.name).\(name).sample(version: version), \(emitter.spec.name).\(name)()]"
            case .array:
                fatalError("arrays of arrays do not occur in Kafka specs")
            }
        }
    }

    private func scalarSample(_ primitive: PrimitiveType, n: Int, field: FieldSpec?) -> String {
        let defaultInteger = field?.integerDefault ?? 0
        switch primitive {
        case .bool:
            return field?.defaultExpression == "true" ? "false" : "true"
        case .int8, .int16, .uint16, .int32, .uint32, .int64:
            let value = (n % 100) + 1
            return "\(value == defaultInteger ? value + 1 : value)"
        case .float64:
            return "\(Double(n) + 0.5)"
        case .string:
            return "\"s\(n)\""
        case .bytes, .records:
            return "ByteBuffer(bytes: [\(n % 250), 1, 2])"
        case .uuid:
            return "KafkaUUID(mostSignificantBits: \(n), leastSignificantBits: \(n * 7))"
        }
    }
}
