/// Protobuf compatibility as Confluent's registry judges it (its ProtobufSchema diff). The file's messages are
/// matched by full name (one removed is incompatible; added or reordered ones are not), fields by number. A named
/// type is compared by what it is, not by its name: the message a field refers to is compared field by field
/// (so a type moved into or out of an import, or to another package, is compatible when it reads the same), and a
/// referenced message whose fields changed incompatibly makes the field's type change too. Incompatible: a changed
/// field kind (scalar, message, enum; except an enum and a varint scalar, which share their encoding), a scalar
/// type outside the wire-compatible groups, a label change (singular, repeated, required) except between singular
/// and repeated for strings, bytes and messages, a required field added or removed, a field removed from a oneof
/// that lives on, several fields moved into a new oneof, a field moved into a oneof holding fields from elsewhere.
/// Added or removed fields, renamed fields and oneofs, enum changes and added messages are compatible.
enum ProtobufCompatibility {
    /// Scalar types that share an encoding, so data written as one reads as another.
    private static let wireGroups: [Set<String>] = [
        varints, ["sint32", "sint64"], ["fixed32", "sfixed32"], ["fixed64", "sfixed64"], ["string", "bytes"],
    ]
    /// The varint scalars, which an enum's values are written as.
    private static let varints: Set<String> = ["int32", "uint32", "int64", "uint64", "bool"]

    static func problems(reader: ProtobufSchema, writer: ProtobufSchema) -> [String] {
        var comparison = Comparison(reader: ProtobufSymbols(reader), writer: ProtobufSymbols(writer))
        let readerMessages = reader.messagesByFullName
        for (name, _) in writer.messagesByFullName.sorted(by: { $0.key < $1.key }) {
            guard readerMessages[name] != nil else {
                comparison.problems.append("{errorType:'MESSAGE_REMOVED', description:'The message \(name) was removed'}")
                continue
            }
            _ = comparison.compare(writer: name, reader: name)
        }
        return comparison.problems
    }

    /// One comparison of two schemas: each pair of messages is compared once (a type referring to itself, or
    /// shared by many fields, costs one pass), its problems reported once.
    private struct Comparison {
        let reader: ProtobufSymbols
        let writer: ProtobufSymbols
        var problems: [String] = []
        /// Pairs (writer's full name, reader's full name) compared or being compared, and whether they agree
        /// (a pair still in progress counts as agreeing: a cycle adds nothing of its own).
        private var verdicts: [String: Bool] = [:]

        init(reader: ProtobufSymbols, writer: ProtobufSymbols) {
            self.reader = reader
            self.writer = writer
        }

        /// Whether data written with the writer's message `writerName` reads as the reader's `readerName`.
        mutating func compare(writer writerName: String, reader readerName: String) -> Bool {
            let key = writerName + "\u{0}" + readerName
            if let known = verdicts[key] { return known }
            guard let writerMessage = writer.messages[writerName], let readerMessage = reader.messages[readerName] else {
                return writerName.split(separator: ".").last == readerName.split(separator: ".").last
            }
            verdicts[key] = true
            let before = problems.count
            compareFields(writerMessage, readerMessage, writerName: writerName, readerName: readerName)
            compareOneofs(writerMessage, readerMessage, name: readerName)
            let agrees = problems.count == before
            verdicts[key] = agrees
            return agrees
        }

        private mutating func compareFields(_ writerMessage: ProtobufSchema.Message, _ readerMessage: ProtobufSchema.Message,
                                            writerName: String, readerName: String) {
            let readerByNumber = Dictionary(readerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            let writerByNumber = Dictionary(writerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            for writerField in writerMessage.fields {
                let path = "\(readerName).\(writerField.name)"
                guard let readerField = readerByNumber[writerField.number] else {
                    if writerField.label == "required" {
                        problems.append("{errorType:'REQUIRED_FIELD_REMOVED', description:'The required field \(path) (number \(writerField.number)) was removed'}")
                    } else if let oneof = writerField.oneof, Self.lives(oneof, of: writerMessage, in: readerByNumber) {
                        problems.append("{errorType:'ONEOF_FIELD_REMOVED', description:'The field \(path) (number \(writerField.number)) was removed from the oneof \(oneof)'}")
                    }
                    continue
                }
                let readerKind = Kind(readerField.type, scope: readerName, symbols: reader)
                let writerKind = Kind(writerField.type, scope: writerName, symbols: writer)
                if let change = change(to: readerKind, from: writerKind) {
                    problems.append(
                        "{errorType:'\(change)', description:'The type of field \(path) (number \(writerField.number)) changed from \(writerField.type) to \(readerField.type)'}")
                }
                let (from, to) = (Self.labelKind(writerField.label), Self.labelKind(readerField.label))
                let lengthDelimited = readerKind.isLengthDelimited && writerKind.isLengthDelimited
                if from != to, !(lengthDelimited && Set([from, to]) == ["", "repeated"]) {
                    problems.append(
                        "{errorType:'FIELD_LABEL_CHANGED', description:'The label of field \(path) (number \(writerField.number)) changed from \(from.isEmpty ? "singular" : from) to \(to.isEmpty ? "singular" : to)'}")
                }
            }
            for readerField in readerMessage.fields where readerField.label == "required" && writerByNumber[readerField.number] == nil {
                problems.append(
                    "{errorType:'REQUIRED_FIELD_ADDED', description:'The required field \(readerName).\(readerField.name) (number \(readerField.number)) was added'}")
            }
        }

        /// A oneof of the writer lives on in the reader when one of its other fields is in a oneof there.
        private static func lives(_ oneof: String, of message: ProtobufSchema.Message, in readerByNumber: [Int: ProtobufSchema.Field]) -> Bool {
            message.fields.contains { $0.oneof == oneof && readerByNumber[$0.number]?.oneof != nil }
        }

        /// Fields that now share a oneof: those of one former oneof (renamed or not) may, and one field from outside
        /// may join a new oneof; several from outside (MULTIPLE_FIELDS_MOVED_TO_ONEOF) or fields from different
        /// places (FIELD_MOVED_TO_EXISTING_ONEOF) may not.
        private mutating func compareOneofs(_ writerMessage: ProtobufSchema.Message, _ readerMessage: ProtobufSchema.Message, name: String) {
            let writerByNumber = Dictionary(writerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            var oneofNames: [String] = []
            for field in readerMessage.fields { if let oneof = field.oneof, !oneofNames.contains(oneof) { oneofNames.append(oneof) } }
            for oneof in oneofNames {
                // Where each member that existed before came from: a oneof's name, or "" for outside any.
                var origins: [String] = []
                var fromOutside: [String] = []
                for member in readerMessage.fields where member.oneof == oneof {
                    guard let before = writerByNumber[member.number] else { continue }
                    if !origins.contains(before.oneof ?? "") { origins.append(before.oneof ?? "") }
                    if before.oneof == nil { fromOutside.append(member.name) }
                }
                if origins.count > 1 {
                    problems.append(
                        "{errorType:'FIELD_MOVED_TO_EXISTING_ONEOF', description:'Fields of \(name) from different places moved into the oneof \(oneof)'}")
                } else if fromOutside.count > 1 {
                    problems.append(
                        "{errorType:'MULTIPLE_FIELDS_MOVED_TO_ONEOF', description:'\(fromOutside.count) fields of \(name) moved into the new oneof \(oneof)'}")
                }
            }
        }

        /// Singular fields (proto2 optional, proto3 with or without `optional`) are one kind.
        private static func labelKind(_ label: String) -> String {
            label == "repeated" || label == "required" ? label : ""
        }

        /// Confluent's difference type for reading `writer` data as `reader`, or nil when compatible.
        private mutating func change(to reader: Kind, from writer: Kind) -> String? {
            switch (reader, writer) {
            case let (.scalar(reader), .scalar(writer)):
                return reader == writer || wireGroups.contains { $0.contains(reader) && $0.contains(writer) } ? nil : "FIELD_SCALAR_KIND_CHANGED"
            case let (.message(readerName), .message(writerName)):
                return compare(writer: writerName, reader: readerName) ? nil : "FIELD_NAMED_TYPE_CHANGED"
            case (.enumeration, .enumeration):
                return reader.shortName == writer.shortName ? nil : "FIELD_NAMED_TYPE_CHANGED"
            case let (.scalar(scalar), .enumeration), let (.enumeration, .scalar(scalar)):
                return varints.contains(scalar) ? nil : "FIELD_KIND_CHANGED"
            case let (.map(readerKey, readerValue), .map(writerKey, writerValue)):
                guard readerKey == writerKey else { return "FIELD_NAMED_TYPE_CHANGED" }
                return change(to: readerValue, from: writerValue) == nil ? nil : "FIELD_NAMED_TYPE_CHANGED"
            case (.unresolved, _), (_, .unresolved):
                if case .scalar = reader { return "FIELD_KIND_CHANGED" }
                if case .scalar = writer { return "FIELD_KIND_CHANGED" }
                return reader.shortName == writer.shortName ? nil : "FIELD_NAMED_TYPE_CHANGED"
            default:
                return "FIELD_KIND_CHANGED"
            }
        }
    }

    /// A field type as its kind and name: a scalar, a message or enum by full name, or a map.
    private indirect enum Kind: Equatable {
        case scalar(String)
        case message(String)
        case enumeration(String)
        case map(key: String, value: Kind)
        /// A name that could not be resolved (a schema parsed without its references): its last component.
        case unresolved(String)

        init(_ type: String, scope: String, symbols: ProtobufSymbols) {
            if ProtobufValidation.scalarTypes.contains(type) {
                self = .scalar(type)
            } else if type.hasPrefix("map<") {
                let (key, value) = ProtobufValidation.mapTypes(type)
                self = .map(key: key, value: Kind(value, scope: scope, symbols: symbols))
            } else if let full = symbols.resolve(type, scope: scope), let isMessage = symbols.isMessage(full) {
                self = isMessage ? .message(full) : .enumeration(full)
            } else {
                self = .unresolved(type.split(separator: ".").last.map(String.init) ?? type)
            }
        }

        var shortName: String {
            switch self {
            case let .scalar(name), let .message(name), let .enumeration(name), let .unresolved(name):
                return name.split(separator: ".").last.map(String.init) ?? name
            case .map: return "map"
            }
        }

        /// Strings, bytes and messages are written length-delimited, one per occurrence, whether singular or
        /// repeated: a change between the two reads.
        var isLengthDelimited: Bool {
            switch self {
            case let .scalar(name): return name == "string" || name == "bytes"
            case .message: return true
            default: return false
            }
        }
    }
}
