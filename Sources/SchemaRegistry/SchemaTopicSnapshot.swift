/// What a `_schemas` topic holds, read from its records in offset order as a registry reads them (Confluent's or
/// Vltava's: the record format is the same): its live schema versions and its configs, as the REST bodies that
/// register and set them again. `vltava schemas import` replays them into a registry in IMPORT mode, so that a
/// Confluent registry's schemas keep their ids and versions.
public struct SchemaTopicSnapshot: Sendable {
    /// One live version: where it goes and the registration body that carries its schema, references, data
    /// contract, id and version.
    public struct Version: Sendable {
        public let subject: String
        public let version: Int
        public let id: Int
        public let references: [SchemaReference]
        public let registrationBody: String
    }

    /// The live versions, ordered so that each comes after the versions its references name.
    public private(set) var versions: [Version] = []
    /// `PUT /config` bodies: the global one (subject nil) and each subject's.
    public private(set) var configs: [(subject: String?, body: String)] = []
    /// Versions left out because they are soft-deleted.
    public private(set) var deletedVersions = 0

    /// Reads the records (key and value text; a nil value is a tombstone); records of other kinds are skipped.
    /// With a `context` (`.name`), every subject, and every subject a reference names, is moved into it
    /// (`:.name:subject`), where the ids are counted apart from the registry's others.
    public init(records: [(key: String, value: String?)], context: String? = nil) {
        var state = RegistryState(identity: { "\($0.schemaType.rawValue)\u{0}\($0.schema)" })
        for record in records {
            guard let key = SchemaStoreKey(parsing: record.key) else { continue }
            state.apply(key: key, value: record.value)
        }
        if let context { state = state.movedInto(context: context) }
        var pending: [SchemaStoreValue] = []
        for subject in state.subjectNames(includeDeleted: true) {
            for record in state.versions(of: subject, includeDeleted: true) {
                if record.deleted { deletedVersions += 1 } else { pending.append(record) }
            }
        }
        // By id (a schema is registered before those that refer to it), then each once what it names is in.
        pending.sort { ($0.id, $0.subject, $0.version) < ($1.id, $1.subject, $1.version) }
        var placed: Set<String> = []
        while !pending.isEmpty {
            let ready = pending.firstIndex { record in
                record.references.allSatisfy { placed.contains("\($0.subject)\u{0}\($0.version)") || !Self.names($0, in: pending) }
            } ?? 0
            let record = pending.remove(at: ready)
            placed.insert("\(record.subject)\u{0}\(record.version)")
            versions.append(Version(subject: record.subject, version: record.version, id: record.id, references: record.references,
                                    registrationBody: Self.registrationBody(record)))
        }
        if state.globalConfig != RegistryConfig() {
            configs.append((nil, JSONValue.object(state.globalConfig.members(levelName: "compatibility")).serialized))
        }
        for (subject, config) in state.subjectConfig.sorted(by: { $0.key < $1.key }) {
            configs.append((subject, JSONValue.object(config.members(levelName: "compatibility")).serialized))
        }
    }

    private static func names(_ reference: SchemaReference, in pending: [SchemaStoreValue]) -> Bool {
        pending.contains { $0.subject == reference.subject && $0.version == reference.version }
    }

    private static func registrationBody(_ record: SchemaStoreValue) -> String {
        var members: [(String, JSONValue)] = [("schemaType", .string(record.schemaType.rawValue)), ("schema", .string(record.schema))]
        if !record.references.isEmpty { members.append(("references", .array(record.references.map(\.json)))) }
        if let metadata = record.metadata { members.append(("metadata", metadata)) }
        if let ruleSet = record.ruleSet { members.append(("ruleSet", ruleSet)) }
        members.append(("id", .integer(record.id)))
        members.append(("version", .integer(record.version)))
        return JSONValue.object(members).serialized
    }
}
