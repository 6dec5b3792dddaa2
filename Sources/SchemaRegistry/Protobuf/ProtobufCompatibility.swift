/// Protobuf compatibility as Confluent's registry judges it, for messages matched by full name: a changed field
/// type (outside the wire-compatible groups) or label, a removed message or a changed first message is
/// incompatible; added or removed fields and enum changes are not.
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
        let readerMessages = reader.messagesByFullName
        for (name, writerMessage) in writer.messagesByFullName.sorted(by: { $0.key < $1.key }) {
            guard let readerMessage = readerMessages[name] else {
                problems.append("{errorType:'MESSAGE_REMOVED', description:'The message \(name) was removed'}")
                continue
            }
            for writerField in writerMessage.fields {
                guard let readerField = readerMessage.fields.first(where: { $0.number == writerField.number }) else { continue }
                let path = "\(name).\(writerField.name)"
                if !sameType(readerField.type, writerField.type) {
                    problems.append(
                        "{errorType:'FIELD_SCALAR_KIND_CHANGED', description:'The type of field \(path) (number \(writerField.number)) changed from \(writerField.type) to \(readerField.type)'}")
                }
                if (readerField.label == "repeated") != (writerField.label == "repeated") {
                    problems.append(
                        "{errorType:'FIELD_LABEL_CHANGED', description:'The label of field \(path) (number \(writerField.number)) changed from \(writerField.label) to \(readerField.label)'}")
                }
                if readerField.oneof != nil, writerField.oneof == nil,
                    readerMessage.fields.filter({ $0.oneof == readerField.oneof }).count > 1 {
                    problems.append(
                        "{errorType:'FIELD_MOVED_TO_EXISTING_ONEOF', description:'The field \(path) moved into an existing oneof'}")
                }
            }
        }
        return problems
    }

    private static func sameType(_ reader: String, _ writer: String) -> Bool {
        if reader == writer { return true }
        let shortReader = reader.split(separator: ".").last.map(String.init) ?? reader
        let shortWriter = writer.split(separator: ".").last.map(String.init) ?? writer
        if shortReader == shortWriter { return true }
        return wireGroups.contains { $0.contains(reader) && $0.contains(writer) }
    }
}
