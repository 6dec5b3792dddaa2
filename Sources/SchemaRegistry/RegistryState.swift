/// A schema as ids name it: its format, text, references and data contract (the same for every subject that uses
/// the id).
public struct StoredSchema: Hashable, Sendable {
    public var schemaType: SchemaType
    public var schema: String
    public var references: [SchemaReference]
    public var metadata: JSONValue?
    public var ruleSet: JSONValue?
}

/// The registry's state, rebuilt by applying the records of `_schemas` in offset order. Pure: no I/O, so it is
/// tested without a broker, and every registry reading the same topic arrives at the same state.
struct RegistryState: Sendable {
    /// Versions of each subject, including soft-deleted ones.
    private(set) var subjects: [String: [Int: SchemaStoreValue]] = [:]
    /// The schema each id of each context names; an id stays while any version (even soft-deleted) uses it.
    private(set) var schemasById: [SchemaId: StoredSchema] = [:]
    /// Which subject versions use each id.
    private(set) var usersOfId: [SchemaId: Set<SubjectVersion>] = [:]
    /// The id already given in a context (the key's first part) to a schema of the same identity (format,
    /// normalized text, references) and data contract (`DataContracts.contractKey`).
    private(set) var idByIdentity: [String: Int] = [:]
    /// Each id's identity without its data contract.
    private(set) var identityById: [SchemaId: String] = [:]
    /// The highest id of each context: ids are counted per context (`RegistryContexts`).
    private(set) var maximumIds: [String: Int] = [:]
    /// The global config and each subject's own (compatibility level, group, metadata and rule set defaults).
    private(set) var globalConfig = RegistryConfig()
    private(set) var subjectConfig: [String: RegistryConfig] = [:]
    private(set) var globalMode: RegistryMode?
    private(set) var subjectMode: [String: RegistryMode] = [:]

    /// Works out the identity of a schema (normally its normalized form); given by the owner so that the state
    /// stays independent of the parsers.
    let identity: @Sendable (StoredSchema) -> String

    init(identity: @escaping @Sendable (StoredSchema) -> String) {
        self.identity = identity
    }

    struct SubjectVersion: Hashable, Sendable {
        var subject: String
        var version: Int
    }

    /// Applies one record; `value` nil is a tombstone. Records that cannot be read are skipped, as Confluent's
    /// registry skips them.
    mutating func apply(key: SchemaStoreKey, value: String?) {
        switch key {
        case let .schema(subject, version):
            removeVersion(subject: subject, version: version)
            guard let value, let record = SchemaStoreValue(parsing: value) else { return }
            addVersion(record)
        case let .config(subject):
            let config = value.flatMap(SchemaStoreValues.parseConfig)
            if let subject { subjectConfig[subject] = config } else { globalConfig = config ?? RegistryConfig() }
        case let .mode(subject):
            let mode = value.flatMap(SchemaStoreValues.parseMode)
            if let subject { subjectMode[subject] = mode } else { globalMode = mode }
        case let .deleteSubject(subject):
            guard let value, let upTo = SchemaStoreValues.parseDeleteSubjectVersion(value) else { return }
            for (version, record) in subjects[subject] ?? [:] where version <= upTo && !record.deleted {
                subjects[subject]?[version]?.deleted = true
            }
        case let .clearSubject(subject):
            guard value != nil else { return }
            for version in (subjects[subject] ?? [:]).keys.sorted() where subjects[subject]?[version]?.deleted == true {
                removeVersion(subject: subject, version: version)
            }
        case .noop:
            break
        }
    }

    private mutating func addVersion(_ record: SchemaStoreValue) {
        subjects[record.subject, default: [:]][record.version] = record
        let stored = record.stored
        let context = RegistryContexts.context(ofSubject: record.subject)
        let id = SchemaId(context: context, id: record.id)
        if schemasById[id] == nil {
            schemasById[id] = stored
            let key = identity(stored)
            identityById[id] = key
            let full = Self.identityKey(key, contract: stored.contract, in: context)
            if idByIdentity[full] == nil { idByIdentity[full] = record.id }
        }
        usersOfId[id, default: []].insert(SubjectVersion(subject: record.subject, version: record.version))
        maximumIds[context] = max(maximumIds[context] ?? 0, record.id)
    }

    /// The key of `idByIdentity`: an identity and a data contract within a context.
    static func identityKey(_ identity: String, contract: DataContract, in context: String) -> String {
        context + "\u{0}" + identity + contract.key
    }

    private mutating func removeVersion(subject: String, version: Int) {
        guard let existing = subjects[subject]?[version] else { return }
        subjects[subject]?[version] = nil
        if subjects[subject]?.isEmpty == true { subjects[subject] = nil }
        let context = RegistryContexts.context(ofSubject: subject)
        let id = SchemaId(context: context, id: existing.id)
        usersOfId[id]?.remove(SubjectVersion(subject: subject, version: version))
        if usersOfId[id]?.isEmpty == true {
            usersOfId[id] = nil
            let stored = schemasById.removeValue(forKey: id)
            if let key = identityById.removeValue(forKey: id) {
                let full = Self.identityKey(key, contract: stored?.contract ?? DataContract(), in: context)
                if idByIdentity[full] == existing.id { idByIdentity[full] = nil }
            }
        }
    }

    /// The schema `id` names in a context (the default context unless given).
    func schema(_ id: Int, in context: String = RegistryContexts.defaultContext) -> StoredSchema? {
        schemasById[SchemaId(context: context, id: id)]
    }

    /// The highest id given in a context.
    func maximumId(in context: String) -> Int { maximumIds[context] ?? 0 }

    /// The contexts that have subjects, and the default one always, sorted.
    var contexts: [String] {
        var names = Set(subjects.keys.map(RegistryContexts.context(ofSubject:)))
        names.insert(RegistryContexts.defaultContext)
        return names.sorted()
    }

    // MARK: Queries

    /// Subject names, sorted; with `includeDeleted` also subjects whose every version is soft-deleted.
    func subjectNames(includeDeleted: Bool = false, deletedOnly: Bool = false) -> [String] {
        subjects.compactMap { name, versions -> String? in
            let live = versions.values.contains { !$0.deleted }
            if deletedOnly { return versions.values.contains { $0.deleted } ? name : nil }
            return live || includeDeleted ? name : nil
        }.sorted()
    }

    /// The versions of a subject in order.
    func versions(of subject: String, includeDeleted: Bool = false, deletedOnly: Bool = false) -> [SchemaStoreValue] {
        (subjects[subject] ?? [:]).values
            .filter { deletedOnly ? $0.deleted : (includeDeleted || !$0.deleted) }
            .sorted { $0.version < $1.version }
    }

    func subjectExists(_ subject: String) -> Bool { subjects[subject] != nil }

    func hasLiveVersions(_ subject: String) -> Bool { subjects[subject]?.values.contains { !$0.deleted } ?? false }

    /// Every version, of any subject, that names `id`.
    func subjectVersions(usingId id: Int, in context: String = RegistryContexts.defaultContext) -> [SubjectVersion] {
        (usersOfId[SchemaId(context: context, id: id)] ?? []).sorted { ($0.subject, $0.version) < ($1.subject, $1.version) }
    }

    /// The next version number of a subject: one more than the highest, counting soft-deleted versions.
    func nextVersion(of subject: String) -> Int { (subjects[subject]?.keys.max() ?? 0) + 1 }

    /// The subject versions whose references name `subject` at `version`.
    func referencedBy(subject: String, version: Int) -> [Int] {
        var ids: Set<Int> = []
        for versions in subjects.values {
            for record in versions.values where !record.deleted && record.references.contains(where: { reference in
                reference.version == version
                    && RegistryContexts.referenced(reference.subject, from: RegistryContexts.context(ofSubject: record.subject)) == subject
            }) {
                ids.insert(record.id)
            }
        }
        return ids.sorted()
    }

    /// The compatibility level in force for a subject: its own, else the global one, else BACKWARD.
    func compatibility(for subject: String?) -> CompatibilityLevel {
        subject.flatMap { subjectConfig[$0]?.compatibilityLevel } ?? globalConfig.compatibilityLevel ?? .backward
    }

    /// The config in force for a subject: each member its own, else the global one's.
    func config(for subject: String?) -> RegistryConfig {
        guard let subject, let own = subjectConfig[subject] else { return globalConfig }
        return globalConfig.updated(by: own)
    }

    func mode(for subject: String?) -> RegistryMode {
        subject.flatMap { subjectMode[$0] } ?? globalMode ?? .readWrite
    }
}
