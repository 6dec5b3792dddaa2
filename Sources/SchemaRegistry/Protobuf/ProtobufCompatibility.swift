/// Protobuf compatibility as Confluent's registry judges it (its ProtobufSchema diff), for messages matched by
/// full name: a changed field kind (scalar, message, enum), scalar type (outside the wire-compatible groups),
/// named type (compared by full name, through imports), label (singular, repeated, required), a required field
/// added or removed, a removed message, a changed first message, several fields moved into a new oneof or any
/// into an existing one are incompatible; added or removed fields, renamed fields, enum changes and added messages
/// are not.
enum ProtobufCompatibility {
    /// Scalar types that share an encoding, so data written as one reads as another.
    private static let wireGroups: [Set<String>] = [
        ["int32", "uint32", "int64", "uint64", "bool"], ["sint32", "sint64"], ["fixed32", "sfixed32"],
        ["fixed64", "sfixed64"], ["string", "bytes"],
    ]

    static func problems(reader: ProtobufSchema, writer: ProtobufSchema) -> [String] {
        var problems: [String] = []
        if let readerFirst = reader.messages.first?.name, let writerFirst = writer.messages.first?.name, readerFirst != writerFirst {
            problems.append("{errorType:'MESSAGE_MOVED', description:'The first message has changed from \(writerFirst) to \(readerFirst)'}")
        }
        let readerSymbols = ProtobufSymbols(reader)
        let writerSymbols = ProtobufSymbols(writer)
        let readerMessages = reader.messagesByFullName
        for (name, writerMessage) in writer.messagesByFullName.sorted(by: { $0.key < $1.key }) {
            guard let readerMessage = readerMessages[name] else {
                problems.append("{errorType:'MESSAGE_REMOVED', description:'The message \(name) was removed'}")
                continue
            }
            let readerByNumber = Dictionary(readerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            let writerByNumber = Dictionary(writerMessage.fields.map { ($0.number, $0) }) { first, _ in first }
            for writerField in writerMessage.fields {
                let path = "\(name).\(writerField.name)"
                guard let readerField = readerByNumber[writerField.number] else {
                    if writerField.label == "required" {
                        problems.append("{errorType:'REQUIRED_FIELD_REMOVED', description:'The required field \(path) (number \(writerField.number)) was removed'}")
                    }
                    continue
                }
                let readerType = Kind(readerField.type, scope: name, symbols: readerSymbols)
                let writerType = Kind(writerField.type, scope: name, symbols: writerSymbols)
                if let change = readerType.change(from: writerType, groups: wireGroups) {
                    problems.append(
                        "{errorType:'\(change)', description:'The type of field \(path) (number \(writerField.number)) changed from \(writerField.type) to \(readerField.type)'}")
                }
                if labelKind(readerField.label) != labelKind(writerField.label) {
                    let from = writerField.label.isEmpty ? "singular" : writerField.label
                    let to = readerField.label.isEmpty ? "singular" : readerField.label
                    problems.append(
                        "{errorType:'FIELD_LABEL_CHANGED', description:'The label of field \(path) (number \(writerField.number)) changed from \(from) to \(to)'}")
                }
            }
            for readerField in readerMessage.fields where readerField.label == "required" && writerByNumber[readerField.number] == nil {
                problems.append(
                    "{errorType:'REQUIRED_FIELD_ADDED', description:'The required field \(name).\(readerField.name) (number \(readerField.number)) was added'}")
            }
            // Fields that were outside any oneof and now sit in one.
            var oneofNames: [String] = []
            for field in readerMessage.fields { if let oneof = field.oneof, !oneofNames.contains(oneof) { oneofNames.append(oneof) } }
            for oneof in oneofNames {
                let members = readerMessage.fields.filter { $0.oneof == oneof }
                let moved = members.filter { writerByNumber[$0.number].map { $0.oneof == nil } ?? false }
                guard !moved.isEmpty else { continue }
                let existing = members.contains { writerByNumber[$0.number]?.oneof != nil }
                if existing {
                    problems.append(
                        "{errorType:'FIELD_MOVED_TO_EXISTING_ONEOF', description:'The field \(name).\(moved[0].name) moved into the existing oneof \(oneof)'}")
                } else if moved.count > 1 {
                    problems.append(
                        "{errorType:'MULTIPLE_FIELDS_MOVED_TO_ONEOF', description:'\(moved.count) fields of \(name) moved into the new oneof \(oneof)'}")
                }
            }
        }
        return problems
    }

    /// Singular fields (proto2 optional, proto3 with or without `optional`) are one kind.
    private static func labelKind(_ label: String) -> String {
        label == "repeated" || label == "required" ? label : ""
    }

    /// A field type as its kind and name: a scalar, a message or enum by full name, or a map.
    private enum Kind: Equatable {
        case scalar(String)
        case message(String)
        case enumeration(String)
        case map(key: String, value: String)
        /// A name that could not be resolved (a schema parsed without its references): its last component.
        case unresolved(String)

        init(_ type: String, scope: String, symbols: ProtobufSymbols) {
            if ProtobufValidation.scalarTypes.contains(type) {
                self = .scalar(type)
            } else if type.hasPrefix("map<") {
                let (key, value) = ProtobufValidation.mapTypes(type)
                self = .map(key: key, value: Kind(value, scope: scope, symbols: symbols).name)
            } else if let full = symbols.resolve(type, scope: scope), let isMessage = symbols.isMessage(full) {
                self = isMessage ? .message(full) : .enumeration(full)
            } else {
                self = .unresolved(type.split(separator: ".").last.map(String.init) ?? type)
            }
        }

        var name: String {
            switch self {
            case let .scalar(name), let .message(name), let .enumeration(name), let .unresolved(name): return name
            case let .map(key, value): return "map<\(key), \(value)>"
            }
        }

        var shortName: String { name.split(separator: ".").last.map(String.init) ?? name }

        /// Confluent's difference type for reading `writer` data as `self`, or nil when compatible.
        func change(from writer: Kind, groups: [Set<String>]) -> String? {
            switch (self, writer) {
            case let (.scalar(reader), .scalar(writer)):
                return reader == writer || groups.contains { $0.contains(reader) && $0.contains(writer) } ? nil : "FIELD_SCALAR_KIND_CHANGED"
            case let (.message(reader), .message(writer)), let (.enumeration(reader), .enumeration(writer)):
                return reader == writer ? nil : "FIELD_NAMED_TYPE_CHANGED"
            case (.map, .map):
                return self == writer ? nil : "FIELD_NAMED_TYPE_CHANGED"
            case (.unresolved, _), (_, .unresolved):
                if case .scalar = self { return "FIELD_KIND_CHANGED" }
                if case .scalar = writer { return "FIELD_KIND_CHANGED" }
                return shortName == writer.shortName ? nil : "FIELD_NAMED_TYPE_CHANGED"
            default:
                return "FIELD_KIND_CHANGED"
            }
        }
    }
}
