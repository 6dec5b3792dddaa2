import Foundation

/// Writes the Swift source of one message spec: the message struct and its nested structs, each with
/// a reader and a writer that cover every valid version.
struct SwiftEmitter {
    let spec: MessageSpec
    /// The message's struct definitions by name, with the versions in which each can appear.
    private(set) var structs: [(spec: StructSpec, versions: VersionRange)] = []

    init(spec: MessageSpec) throws {
        self.spec = spec
        try collect(fields: spec.fields, versions: spec.validVersions)
    }

    private mutating func collect(fields: [FieldSpec], versions: VersionRange) throws {
        for field in fields {
            guard let structName = field.type.structName else { continue }
            let fieldVersions = field.versions.intersection(versions)
            if let nested = field.fields {
                if let index = structs.firstIndex(where: { $0.spec.name == structName }) {
                    let known = structs[index].versions
                    structs[index].versions = VersionRange(
                        lowest: min(known.lowest, fieldVersions.lowest),
                        highest: max(known.highest, fieldVersions.highest))
                } else {
                    structs.append((StructSpec(name: structName, fields: nested, about: field.about), fieldVersions))
                    try collect(fields: nested, versions: fieldVersions)
                }
            } else if !structs.contains(where: { $0.spec.name == structName }) {
                guard let common = spec.commonStructs.first(where: { $0.name == structName }) else {
                    throw GeneratorError.invalidSpec("\(spec.name): unknown struct type \(structName)")
                }
                structs.append((common, spec.validVersions))
                try collect(fields: common.fields, versions: spec.validVersions)
            }
        }
    }

    var conformance: String {
        switch spec.kind {
        case "request": return "KafkaRequestMessage"
        case "response": return "KafkaResponseMessage"
        default: return "KafkaMessage"
        }
    }

    /// The message struct, with its nested structs inside it.
    func emit(into out: CodeWriter) {
        let top = StructSpec(name: spec.name, fields: spec.fields, about: nil)
        emitStruct(top, versions: spec.validVersions, isTop: true, into: out)
    }

    private func emitStruct(_ structSpec: StructSpec, versions: VersionRange, isTop: Bool, into out: CodeWriter) {
        if let about = structSpec.about { out.doc(about) }
        else if isTop { out.doc("\(spec.name), versions \(spec.validVersions.lowest)-\(spec.validVersions.highest).") }
        out.line("public struct \(structSpec.name): \(isTop ? conformance : "KafkaMessage") {")
        out.indent {
            if isTop {
                out.line("public static let validVersions: ClosedRange<Int16> = \(spec.validVersions.lowest)...\(spec.validVersions.highest)")
                let flexible = spec.flexibleVersions.isEmpty ? "nil" : "\(spec.flexibleVersions.lowest)"
                out.line("public static let lowestFlexibleVersion: Int16? = \(flexible)")
                if spec.apiKey != nil, spec.kind == "request" || spec.kind == "response" {
                    out.line("public static let apiKey: ApiKey = .\(apiKeyCaseName(spec.name))")
                }
                if spec.kind == "request" {
                    out.line("public typealias Response = \(spec.name.dropLast("Request".count))Response")
                }
            } else {
                out.line("public static var validVersions: ClosedRange<Int16> { \(spec.name).validVersions }")
                out.line("public static var lowestFlexibleVersion: Int16? { \(spec.name).lowestFlexibleVersion }")
            }
            out.line("")
            for field in structSpec.fields {
                if let about = field.about { out.doc(about) }
                out.line("public var \(field.propertyName): \(field.swiftType) = \(field.defaultExpression)")
            }
            out.doc("Tagged fields this build does not know, kept to be written back.")
            out.line("public var unknownTaggedFields: [TaggedField] = []")
            out.line("")
            out.line("public init() {}")
            out.line("")
            emitMemberwiseInit(structSpec, into: out)
            emitReader(structSpec, versions: versions, into: out)
            emitWriter(structSpec, versions: versions, into: out)
            if isTop {
                for (nested, nestedVersions) in structs {
                    out.line("")
                    emitStruct(nested, versions: nestedVersions, isTop: false, into: out)
                }
            }
        }
        out.line("}")
    }

    private func emitMemberwiseInit(_ structSpec: StructSpec, into out: CodeWriter) {
        var parameters = structSpec.fields.map { "\($0.argumentLabel): \($0.swiftType) = \($0.defaultExpression)" }
        parameters.append("unknownTaggedFields: [TaggedField] = []")
        out.line("public init(")
        out.indent {
            for (index, parameter) in parameters.enumerated() {
                out.line(parameter + (index == parameters.count - 1 ? "" : ","))
            }
        }
        out.line(") {")
        out.indent {
            for field in structSpec.fields {
                out.line("self.\(field.propertyName) = \(field.propertyName)")
            }
            out.line("self.unknownTaggedFields = unknownTaggedFields")
        }
        out.line("}")
        out.line("")
    }

    private var flexibleExpression: String {
        spec.flexibleVersions.isEmpty ? "false" : "version >= \(spec.flexibleVersions.lowest)"
    }

    private func emitReader(_ structSpec: StructSpec, versions: VersionRange, into out: CodeWriter) {
        let hasFlexible = !spec.flexibleVersions.intersection(versions).isEmpty
        out.line("public init(from buffer: inout ByteBuffer, version: Int16) throws(KafkaProtocolError) {")
        out.indent {
            out.line("self.init()")
            if hasFlexible { out.line("let flexible = \(flexibleExpression)") }
            for field in structSpec.fields {
                let condition = field.regularVersions.condition(within: versions)
                if condition == "false" { continue }
                out.conditional(condition) {
                    emitRead(field, buffer: "buffer", versions: versions, flexibleName: hasFlexible ? "flexible" : "false", into: out)
                }
            }
            if hasFlexible {
                out.line("if flexible {")
                out.indent {
                    out.line("let taggedFieldCount = try buffer.readKafkaTaggedFieldCount()")
                    out.line("for _ in 0..<taggedFieldCount {")
                    out.indent {
                        out.line("let taggedField = try buffer.readKafkaTaggedField()")
                        let tagged = structSpec.fields.filter { !$0.tagVersions.intersection(versions).isEmpty }
                        if tagged.isEmpty {
                            out.line("self.unknownTaggedFields.append(taggedField)")
                        } else {
                            out.line("switch taggedField.tag {")
                            for field in tagged {
                                let condition = field.tagVersions.condition(within: versions)
                                out.line("case \(field.tag!)\(condition == "true" ? "" : " where \(condition)"):")
                                out.indent {
                                    out.line("var data = taggedField.data")
                                    emitRead(field, buffer: "data", versions: versions, flexibleName: "true", into: out)
                                    out.line("try data.expectFullyConsumed()")
                                }
                            }
                            out.line("default:")
                            out.indent { out.line("self.unknownTaggedFields.append(taggedField)") }
                            out.line("}")
                        }
                    }
                    out.line("}")
                }
                out.line("}")
            }
        }
        out.line("}")
        out.line("")
    }

    private func emitWriter(_ structSpec: StructSpec, versions: VersionRange, into out: CodeWriter) {
        let hasFlexible = !spec.flexibleVersions.intersection(versions).isEmpty
        out.line("public func write(to buffer: inout ByteBuffer, version: Int16) throws(KafkaProtocolError) {")
        out.indent {
            if hasFlexible { out.line("let flexible = \(flexibleExpression)") }
            for field in structSpec.fields {
                let regular = field.regularVersions.condition(within: versions)
                let tagged = field.tagVersions.condition(within: versions)
                if !field.ignorable {
                    let present: String
                    switch (regular, tagged) {
                    case ("true", _), (_, "true"): present = "true"
                    case ("false", "false"): present = "false"
                    case (let r, "false"): present = r
                    case ("false", let t): present = t
                    case let (r, t): present = "(\(r)) || (\(t))"
                    }
                    if present != "true" {
                        let absent = present == "false" ? "" : "!(\(present)) && "
                        out.line("if \(absent)self.\(field.propertyName) != \(field.defaultExpression) {")
                        out.indent {
                            out.line("throw .fieldNotSupportedInVersion(field: \"\(structSpec.name).\(field.name)\", version: version)")
                        }
                        out.line("}")
                    }
                }
                if regular == "false" { continue }
                out.conditional(regular) {
                    emitWrite(field, value: "self.\(field.propertyName)", buffer: "buffer", versions: versions,
                              flexibleName: hasFlexible ? "flexible" : "false", into: out)
                }
            }
            if hasFlexible {
                out.line("if flexible {")
                out.indent {
                    let tagged = structSpec.fields.filter { !$0.tagVersions.intersection(versions).isEmpty }
                    if tagged.isEmpty {
                        out.line("buffer.writeKafkaTaggedFields(self.unknownTaggedFields)")
                    } else {
                        out.line("var taggedFields = self.unknownTaggedFields")
                        for field in tagged {
                            var condition = field.tagVersions.condition(within: versions)
                            condition = (condition == "true" ? "" : "\(condition), ") + "self.\(field.propertyName) != \(field.defaultExpression)"
                            out.line("if \(condition) {")
                            out.indent {
                                out.line("var data = ByteBuffer()")
                                emitWrite(field, value: "self.\(field.propertyName)", buffer: "data", versions: versions,
                                          flexibleName: "true", into: out)
                                out.line("taggedFields.append(TaggedField(tag: \(field.tag!), data: data))")
                            }
                            out.line("}")
                        }
                        out.line("buffer.writeKafkaTaggedFields(taggedFields)")
                    }
                }
                out.line("}")
            }
        }
        out.line("}")
    }

    // MARK: Field reading and writing

    private func compactExpression(_ field: FieldSpec, flexibleName: String) -> String {
        if let override = field.flexibleVersionsOverride {
            if override.isEmpty { return "false" }
            return "version >= \(override.lowest)"
        }
        return flexibleName
    }

    /// The condition under which a null is allowed for `field`, given the field is present.
    private func nullCondition(_ field: FieldSpec, versions: VersionRange) -> String {
        if case .primitive(.records) = field.type, field.nullableVersions.isEmpty { return "false" }
        return field.nullableVersions.condition(within: field.versions.intersection(versions))
    }

    private func emitRead(_ field: FieldSpec, buffer: String, versions: VersionRange, flexibleName: String, into out: CodeWriter) {
        let target = "self.\(field.propertyName)"
        let compact = compactExpression(field, flexibleName: flexibleName)
        let nullable = field.swiftIsOptional
        let nullCondition = nullable ? nullCondition(field, versions: versions) : "false"
        let label = "\(field.name)"
        switch field.type {
        case let .primitive(primitive):
            if let stem = primitive.fixedStem {
                out.line("\(target) = try \(buffer).readKafka\(stem)()")
                return
            }
            let (nullableReader, strictReader) = primitive == .string
                ? ("readKafkaNullableString", "readKafkaString")
                : ("readKafkaNullableBytes", "readKafkaBytes")
            let nullableRead = "try \(buffer).\(nullableReader)(compact: \(compact))"
            let strictRead = "try \(buffer).\(strictReader)(compact: \(compact), field: \"\(label)\")"
            switch nullCondition {
            case "true": out.line("\(target) = \(nullableRead)")
            case "false": out.line("\(target) = \(strictRead)")
            default:
                out.line("if \(nullCondition) {")
                out.indent { out.line("\(target) = \(nullableRead)") }
                out.line("} else {")
                out.indent { out.line("\(target) = \(strictRead)") }
                out.line("}")
            }
        case let .structure(name):
            if nullable {
                out.line("if try \(buffer).readKafkaInt8() < 0 {")
                out.indent {
                    if nullCondition == "true" {
                        out.line("\(target) = nil")
                    } else if nullCondition == "false" {
                        out.line("throw .unexpectedNull(field: \"\(label)\")")
                    } else {
                        out.line("guard \(nullCondition) else { throw .unexpectedNull(field: \"\(label)\") }")
                        out.line("\(target) = nil")
                    }
                }
                out.line("} else {")
                out.indent { out.line("\(target) = try \(name)(from: &\(buffer), version: version)") }
                out.line("}")
            } else {
                out.line("\(target) = try \(name)(from: &\(buffer), version: version)")
            }
        case let .array(element):
            let minimum = element.minimumWireSize
            out.line("if let count = try \(buffer).readKafkaArrayCount(compact: \(compact), minimumElementSize: \(minimum)) {")
            out.indent {
                out.line("var elements: [\(element.swiftElementType)] = []")
                out.line("elements.reserveCapacity(Swift.min(count, 1024))")
                out.line("for _ in 0..<count {")
                out.indent { out.line("elements.append(\(readElement(element, buffer: buffer, compact: compact, label: label)))") }
                out.line("}")
                out.line("\(target) = elements")
            }
            out.line("} else {")
            out.indent {
                if nullCondition == "true" {
                    out.line("\(target) = nil")
                } else if nullCondition == "false" {
                    out.line("throw .unexpectedNull(field: \"\(label)\")")
                } else {
                    out.line("guard \(nullCondition) else { throw .unexpectedNull(field: \"\(label)\") }")
                    out.line("\(target) = nil")
                }
            }
            out.line("}")
        }
    }

    private func readElement(_ element: FieldType, buffer: String, compact: String, label: String) -> String {
        switch element {
        case let .primitive(primitive):
            if let stem = primitive.fixedStem { return "try \(buffer).readKafka\(stem)()" }
            return primitive == .string
                ? "try \(buffer).readKafkaString(compact: \(compact), field: \"\(label)\")"
                : "try \(buffer).readKafkaBytes(compact: \(compact), field: \"\(label)\")"
        case let .structure(name):
            return "try \(name)(from: &\(buffer), version: version)"
        case .array:
            fatalError("arrays of arrays do not occur in Kafka specs")
        }
    }

    private func emitWrite(_ field: FieldSpec, value: String, buffer: String, versions: VersionRange, flexibleName: String, into out: CodeWriter) {
        let compact = compactExpression(field, flexibleName: flexibleName)
        let label = field.name
        if field.swiftIsOptional {
            let nullCondition = nullCondition(field, versions: versions)
            out.line("if let value = \(value) {")
            out.indent {
                if case .structure = field.type { out.line("\(buffer).writeKafkaInt8(1)") }
                emitWriteValue(field.type, value: "value", buffer: buffer, compact: compact, into: out)
            }
            out.line("} else {")
            out.indent {
                let marker: String
                switch field.type {
                case .primitive(.string): marker = "try \(buffer).writeKafkaNullableString(nil, compact: \(compact))"
                case .primitive: marker = "\(buffer).writeKafkaNullableBytes(nil, compact: \(compact))"
                case .structure: marker = "\(buffer).writeKafkaInt8(-1)"
                case .array: marker = "\(buffer).writeKafkaNullArray(compact: \(compact))"
                }
                if nullCondition == "false" {
                    out.line("throw .unexpectedNull(field: \"\(label)\")")
                } else {
                    if nullCondition != "true" {
                        out.line("guard \(nullCondition) else { throw .unexpectedNull(field: \"\(label)\") }")
                    }
                    out.line(marker)
                }
            }
            out.line("}")
        } else {
            emitWriteValue(field.type, value: value, buffer: buffer, compact: compact, into: out)
        }
    }

    private func emitWriteValue(_ type: FieldType, value: String, buffer: String, compact: String, into out: CodeWriter) {
        switch type {
        case let .primitive(primitive):
            out.line(writeScalar(primitive, value: value, buffer: buffer, compact: compact))
        case .structure:
            out.line("try \(value).write(to: &\(buffer), version: version)")
        case let .array(element):
            out.line("\(buffer).writeKafkaArrayCount(\(value).count, compact: \(compact))")
            out.line("for element in \(value) {")
            out.indent {
                switch element {
                case let .primitive(primitive):
                    out.line(writeScalar(primitive, value: "element", buffer: buffer, compact: compact))
                case .structure:
                    out.line("try element.write(to: &\(buffer), version: version)")
                case .array:
                    fatalError("arrays of arrays do not occur in Kafka specs")
                }
            }
            out.line("}")
        }
    }

    private func writeScalar(_ primitive: PrimitiveType, value: String, buffer: String, compact: String) -> String {
        if let stem = primitive.fixedStem { return "\(buffer).writeKafka\(stem)(\(value))" }
        if primitive == .string { return "try \(buffer).writeKafkaString(\(value), compact: \(compact))" }
        return "\(buffer).writeKafkaBytes(\(value), compact: \(compact))"
    }
}

extension FieldType {
    var structName: String? {
        switch self {
        case let .structure(name): return name
        case let .array(element): return element.structName
        case .primitive: return nil
        }
    }

    var swiftElementType: String {
        switch self {
        case let .primitive(primitive): return primitive.swiftType
        case let .structure(name): return name
        case let .array(element): return "[\(element.swiftElementType)]"
        }
    }

    var minimumWireSize: Int {
        switch self {
        case let .primitive(primitive): return primitive.minimumWireSize
        case .structure, .array: return 1
        }
    }
}

extension FieldSpec {
    var propertyName: String { swiftIdentifier(camelCase(name)) }
    var argumentLabel: String { propertyName }

    var swiftIsOptional: Bool {
        if case .primitive(.records) = type { return true }
        return isNullable
    }

    var swiftType: String {
        let base = type.swiftElementType
        return swiftIsOptional ? "\(base)?" : base
    }

    var defaultIsNull: Bool {
        if defaultValue is NSNull { return true }
        return (defaultValue as? String) == "null"
    }

    var defaultExpression: String {
        switch type {
        case let .primitive(primitive):
            switch primitive {
            case .records:
                return "nil"
            case .bytes:
                return swiftIsOptional && defaultIsNull ? "nil" : "ByteBuffer()"
            case .uuid:
                return ".zero"
            case .string:
                if defaultIsNull { return "nil" }
                return swiftStringLiteral(defaultValue as? String ?? "")
            case .bool:
                if let value = defaultValue as? Bool { return value ? "true" : "false" }
                return (defaultValue as? String) == "true" ? "true" : "false"
            case .float64:
                if let number = defaultValue as? NSNumber { return "\(number.doubleValue)" }
                if let text = defaultValue as? String, let value = Double(text) { return "\(value)" }
                return "0"
            default:
                return "\(integerDefault)"
            }
        case let .structure(name):
            return swiftIsOptional && defaultIsNull ? "nil" : "\(name)()"
        case .array:
            return swiftIsOptional && defaultIsNull ? "nil" : "[]"
        }
    }

    var integerDefault: Int {
        if let number = defaultValue as? NSNumber { return number.intValue }
        guard let text = (defaultValue as? String)?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return 0 }
        let negative = text.hasPrefix("-")
        let digits = negative ? String(text.dropFirst()) : text
        let magnitude: Int
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            magnitude = Int(digits.dropFirst(2), radix: 16) ?? 0
        } else if digits.count > 1 && digits.hasPrefix("0") {
            magnitude = Int(digits.dropFirst(), radix: 8) ?? 0
        } else {
            magnitude = Int(digits) ?? 0
        }
        return negative ? -magnitude : magnitude
    }
}

/// PascalCase spec names to Swift camelCase: "ThrottleTimeMs" → "throttleTimeMs", "ACLOperation" → "aclOperation".
func camelCase(_ name: String) -> String {
    let characters = Array(name)
    var upperRun = 0
    while upperRun < characters.count, characters[upperRun].isUppercase { upperRun += 1 }
    if upperRun == 0 { return name }
    if upperRun == characters.count { return name.lowercased() }
    let lowered = upperRun == 1 ? 1 : upperRun - 1
    return String(characters[..<lowered]).lowercased() + String(characters[lowered...])
}

private let swiftKeywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
    "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
    "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
    "where", "while", "as", "await", "false", "is", "nil", "self", "super", "throws", "true", "try", "any",
]

func swiftIdentifier(_ name: String) -> String {
    swiftKeywords.contains(name) ? "`\(name)`" : name
}

func swiftStringLiteral(_ text: String) -> String {
    var escaped = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        default: escaped.unicodeScalars.append(scalar)
        }
    }
    return "\"\(escaped)\""
}

/// "ProduceRequest" → "produce", "DescribeACLsRequest"-style names handled by camelCase.
func apiKeyCaseName(_ messageName: String) -> String {
    var base = messageName
    for suffix in ["Request", "Response"] where base.hasSuffix(suffix) {
        base = String(base.dropLast(suffix.count))
    }
    return swiftIdentifier(camelCase(base))
}

/// Accumulates indented Swift source.
final class CodeWriter {
    private(set) var text = ""
    private var level = 0

    func line(_ content: String) {
        if content.isEmpty {
            text += "\n"
        } else {
            text += String(repeating: "    ", count: level) + content + "\n"
        }
    }

    func doc(_ content: String) {
        let clean = content.replacingOccurrences(of: "\n", with: " ")
        line("/// \(clean)")
    }

    func indent(_ body: () -> Void) {
        level += 1
        body()
        level -= 1
    }

    /// Emits `body` guarded by `condition`, or unguarded when the condition is "true".
    func conditional(_ condition: String, _ body: () -> Void) {
        if condition == "true" {
            body()
        } else {
            line("if \(condition) {")
            indent(body)
            line("}")
        }
    }
}
