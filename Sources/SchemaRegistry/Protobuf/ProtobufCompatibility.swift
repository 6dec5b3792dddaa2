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

    /// Fields compared at most beyond those of the two files' own messages (each once): a hostile pair of schemas
    /// could otherwise lead to millions of pairs of messages through their fields. Beyond it, the schemas are
    /// refused as too complex.
    static let extraFieldBudget = 1_000_000

    static func problems(reader: ProtobufSchema, writer: ProtobufSchema, extraFieldBudget: Int = extraFieldBudget) -> [String] {
        var comparison = Comparison(reader: ProtobufSymbols(reader), writer: ProtobufSymbols(writer))
        var problems: [String] = []
        let readerMessages = reader.messagesByFullName
        if reader.package != writer.package {
            problems.append("{errorType:'PACKAGE_CHANGED', description:'The package changed from \(writer.package ?? "none") to \(reader.package ?? "none")'}")
        }
        var roots: [Comparison.Pair] = []
        comparison.budget = extraFieldBudget + reader.messagesByFullName.values.reduce(0) { $0 + $1.fields.count }
            + writer.messagesByFullName.values.reduce(0) { $0 + $1.fields.count }
        for (name, _) in writer.messagesByFullName.sorted(by: { $0.key < $1.key }) {
            guard readerMessages[name] != nil else {
                problems.append("{errorType:'MESSAGE_REMOVED', description:'The message \(name) was removed'}")
                continue
            }
            roots.append(Comparison.Pair(writer: name, reader: name))
        }
        return problems + comparison.run(from: roots)
    }

    /// One comparison of two schemas. Every pair of messages reachable from the file's own messages (through fields
    /// of message type at the same number) is compared once, without recursion: first each pair's own problems
    /// and the pairs its fields lead to, then a pair is incompatible when it, or a pair it leads to, has problems
    /// (a cycle adds nothing of its own), and each field leading to an incompatible pair has its type changed.
    private struct Comparison {
        struct Pair: Hashable {
            var writer: String
            var reader: String
        }

        /// A field whose type is a message, and the pair its two types make.
        struct Link {
            var pair: Pair
            var description: String
        }

        let reader: ProtobufSymbols
        let writer: ProtobufSymbols
        private var problems: [String] = []
        private var links: [Pair: [Link]] = [:]
        private var linkTarget: Pair?
        /// Fields still to be compared before the comparison gives up.
        var budget = 0

        init(reader: ProtobufSymbols, writer: ProtobufSymbols) {
            self.reader = reader
            self.writer = writer
        }

        mutating func run(from roots: [Pair]) -> [String] {
            var order: [Pair] = []
            var seen: Set<Pair> = []
            var pending = roots
            var hasProblems: Set<Pair> = []
            while let pair = pending.popLast() {
                guard seen.insert(pair).inserted else { continue }
                order.append(pair)
                guard let writerMessage = writer.messages[pair.writer], let readerMessage = reader.messages[pair.reader] else {
                    // Unresolved types (a schema parsed without its references) are compared by their short names.
                    if pair.writer.split(separator: ".").last != pair.reader.split(separator: ".").last { hasProblems.insert(pair) }
                    continue
                }
                budget -= writerMessage.fields.count + readerMessage.fields.count
                guard budget >= 0 else {
                    return problems + ["{errorType:'SCHEMA_TOO_COMPLEX', description:'the comparison needed more field comparisons than the schemas have fields plus \(ProtobufCompatibility.extraFieldBudget)'}"]
                }
                let before = problems.count
                linkTarget = pair
                let writerByNumber = Dictionary(writerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
                compareFields(writerMessage, readerMessage, writerByNumber, writerName: pair.writer, readerName: pair.reader)
                compareOneofs(writerByNumber, readerMessage, name: pair.reader)
                if problems.count > before { hasProblems.insert(pair) }
                pending += (links[pair] ?? []).map(\.pair)
            }
            // Incompatible: the pairs from which a pair with problems can be reached.
            var leadsHere: [Pair: [Pair]] = [:]
            for pair in order { for link in links[pair] ?? [] { leadsHere[link.pair, default: []].append(pair) } }
            var incompatible = hasProblems
            var frontier = Array(hasProblems)
            while let pair = frontier.popLast() {
                for source in leadsHere[pair] ?? [] where incompatible.insert(source).inserted { frontier.append(source) }
            }
            for pair in order {
                for link in links[pair] ?? [] where incompatible.contains(link.pair) {
                    problems.append("{errorType:'FIELD_NAMED_TYPE_CHANGED', description:'\(link.description)'}")
                }
            }
            return problems
        }

        private mutating func compareFields(_ writerMessage: ProtobufSchema.Message, _ readerMessage: ProtobufSchema.Message,
                                            _ writerByNumber: [Int: ProtobufSchema.Field], writerName: String, readerName: String) {
            let readerByNumber = Dictionary(readerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            for writerField in writerMessage.fields {
                // Messages are written only for problems: most fields have none.
                var path: String { "\(readerName).\(writerField.name)" }
                guard let readerField = readerByNumber[writerField.number] else {
                    if writerField.label == "required" {
                        problems.append("{errorType:'REQUIRED_FIELD_REMOVED', description:'The required field \(path) (number \(writerField.number)) was removed'}")
                    } else if let oneof = writerField.oneof, Self.lives(oneof, of: writerMessage, in: readerByNumber) {
                        problems.append("{errorType:'ONEOF_FIELD_REMOVED', description:'The field \(path) (number \(writerField.number)) was removed from the oneof \(oneof)'}")
                    }
                    continue
                }
                if readerField.type == writerField.type, readerField.label == writerField.label,
                    ProtobufValidation.scalarTypes.contains(readerField.type) {
                    continue  // the same scalar field: nothing to compare
                }
                let readerKind = Kind(readerField.type, scope: readerName, symbols: reader)
                let writerKind = Kind(writerField.type, scope: writerName, symbols: writer)
                var description: String { "The type of field \(path) (number \(writerField.number)) changed from \(writerField.type) to \(readerField.type)" }
                switch change(to: readerKind, from: writerKind) {
                case .reads:
                    break
                case let .messages(target):
                    if let source = linkTarget { links[source, default: []].append(Link(pair: target, description: description)) }
                case let .changed(kind):
                    problems.append("{errorType:'\(kind)', description:'\(description)'}")
                }
                let (from, to) = (Self.labelKind(writerField.label), Self.labelKind(readerField.label))
                let lengthDelimited = readerKind.isLengthDelimited && writerKind.isLengthDelimited
                if from != to, !(lengthDelimited && Set([from, to]) == ["", "repeated"]) {
                    // Confluent's FIELD_NUMERIC_LABEL_CHANGED for numbers, whose repeated form is packed.
                    let kind = readerKind.isNumeric && writerKind.isNumeric ? "FIELD_NUMERIC_LABEL_CHANGED" : "FIELD_LABEL_CHANGED"
                    problems.append(
                        "{errorType:'\(kind)', description:'The label of field \(path) (number \(writerField.number)) changed from \(from.isEmpty ? "singular" : from) to \(to.isEmpty ? "singular" : to)'}")
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
        private mutating func compareOneofs(_ writerByNumber: [Int: ProtobufSchema.Field], _ readerMessage: ProtobufSchema.Message, name: String) {
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

        /// How a field's type changed: not in a way that matters, as Confluent's difference type says, or from one
        /// message to another (decided once every pair of messages is compared, see `run`).
        private enum TypeChange {
            case reads
            case changed(String)
            case messages(Pair)
        }

        /// Singular fields (proto2 optional, proto3 with or without `optional`) are one kind.
        private static func labelKind(_ label: String) -> String {
            label == "repeated" || label == "required" ? label : ""
        }

        /// How reading `writer` data as `reader` goes, with Confluent's difference type when it does not.
        private func change(to reader: Kind, from writer: Kind) -> TypeChange {
            switch (reader, writer) {
            case let (.scalar(readerName), .scalar(writerName)):
                let reads = readerName == writerName || wireGroups.contains { $0.contains(readerName) && $0.contains(writerName) }
                return reads ? .reads : .changed("FIELD_SCALAR_KIND_CHANGED")
            case let (.message(readerName), .message(writerName)):
                return .messages(Pair(writer: writerName, reader: readerName))
            case (.enumeration, .enumeration):
                return reader.shortName == writer.shortName ? .reads : .changed("FIELD_NAMED_TYPE_CHANGED")
            case let (.scalar(scalar), .enumeration), let (.enumeration, .scalar(scalar)):
                return varints.contains(scalar) ? .reads : .changed("FIELD_KIND_CHANGED")
            case let (.map(readerKey, readerValue), .map(writerKey, writerValue)):
                // A map is a repeated entry message of a key and a value field: a change to either is reported as
                // that field's change, as Confluent reports it.
                guard readerKey == writerKey else { return .changed("FIELD_SCALAR_KIND_CHANGED") }
                return change(to: readerValue, from: writerValue)
            case (.unresolved, _), (_, .unresolved):
                if case .scalar = reader { return .changed("FIELD_KIND_CHANGED") }
                if case .scalar = writer { return .changed("FIELD_KIND_CHANGED") }
                return reader.shortName == writer.shortName ? .reads : .changed("FIELD_NAMED_TYPE_CHANGED")
            default:
                return .changed("FIELD_KIND_CHANGED")
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

        /// Numbers and enums, written as varints or fixed-size values (packed when repeated).
        var isNumeric: Bool {
            switch self {
            case let .scalar(name): return name != "string" && name != "bytes"
            case .enumeration: return true
            default: return false
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
