/// Confluent's schema contexts: a subject named `:.ctx:name` lives in the context `.ctx`, any other in the default
/// context `.`; each context counts its schema ids on its own (id 1 of `.staging` is not id 1 of `.`), so that the
/// schemas of several registries can live side by side with their ids.
enum RegistryContexts {
    static let defaultContext = "."

    /// The context of a subject name: `.ctx` for `:.ctx:name` (the context starts with a dot), else the default.
    static func context(ofSubject subject: String) -> String {
        guard subject.hasPrefix(":."), let end = subject.dropFirst().firstIndex(of: ":") else { return defaultContext }
        let name = subject[subject.index(after: subject.startIndex)..<end]
        return name.count > 1 ? String(name) : defaultContext
    }

    /// The subject a reference names from a schema in `context`: its own context if qualified, else `context`.
    static func referenced(_ subject: String, from context: String) -> String {
        context == defaultContext ? subject : qualified(subject, in: context)
    }

    /// Whether a subject parameter names a context and no subject (`:.ctx:`).
    static func namesContextOnly(_ subject: String) -> Bool {
        subject.hasPrefix(":.") && subject.hasSuffix(":") && subject.dropFirst().dropLast().contains(":") == false
    }

    /// The context a request about an id means: that of its `subject` parameter, else the default.
    static func context(ofRequestSubject subject: String?) -> String {
        subject.map(context(ofSubject:)) ?? defaultContext
    }
}

/// An id within its context.
struct SchemaId: Hashable, Sendable {
    var context: String
    var id: Int
}

extension RegistryContexts {
    /// A subject named in a context (`:.ctx:subject`); one already in a context keeps its own.
    static func qualified(_ subject: String, in context: String) -> String {
        subject.hasPrefix(":.") ? subject : ":\(context):\(subject)"
    }
}

extension RegistryState {
    /// The same versions and subject configs with every subject (and every subject a reference names) moved into
    /// `context`, for `vltava schemas import --context`; the global config stays behind (it is the target
    /// registry's own).
    func movedInto(context: String) -> RegistryState {
        var moved = RegistryState(identity: identity)
        for subject in subjects.keys.sorted() {
            for record in versions(of: subject, includeDeleted: true) {
                var copy = record
                copy.subject = RegistryContexts.qualified(record.subject, in: context)
                copy.references = record.references.map {
                    SchemaReference(name: $0.name, subject: RegistryContexts.qualified($0.subject, in: context), version: $0.version)
                }
                moved.apply(key: .schema(subject: copy.subject, version: copy.version), value: copy.serialized)
            }
        }
        for (subject, config) in subjectConfig {
            moved.apply(key: .config(subject: RegistryContexts.qualified(subject, in: context)), value: SchemaStoreValues.config(config))
        }
        return moved
    }
}
