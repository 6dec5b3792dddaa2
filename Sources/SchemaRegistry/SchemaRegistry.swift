#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import VltavaClient

/// The registry's operations with Confluent's semantics (global ids, versions, soft and permanent deletes,
/// compatibility levels, modes), on top of the `_schemas` store. Every answer is JSON, ready for the REST layer.
public final class SchemaRegistry: Sendable {
    let store: KafkaSchemaStore
    private let cache = ParsedSchemaCache()
    /// Identities of schema texts without references already worked out, so repeated lookups (serializers
    /// asking for the id of their schema) skip parsing.
    private let identitiesByText = BoundedCache<String, String>()

    /// A registry whose state is the topic `topic` of the cluster `client` talks to.
    /// `storeTimeout` bounds how long a write waits for its record to be read back (50002 after it).
    public init(client: KafkaClient, topic: String = "_schemas", storeTimeout: Duration = .seconds(30), logger: Logger) {
        let cache = self.cache
        store = KafkaSchemaStore(
            client: client, topic: topic, identity: { Self.identity(of: $0, cache: cache) }, logger: logger, writeTimeout: storeTimeout)
    }

    /// Reads the topic to its end (creating it if needed); call before serving.
    public func start() async throws {
        try await store.start()
    }

    /// Follows the topic until cancelled.
    public func followTopic() async {
        await store.followTopic()
    }

    /// Format, normalized text and references: two schemas with the same identity share an id.
    static func identity(of schema: StoredSchema, cache: ParsedSchemaCache) -> String {
        let normalized = (try? ParsedSchema.parse(schema.schemaType, schema.schema))?.identityForm(normalized: false) ?? schema.schema
        let references = schema.references.map { "\($0.name)=\($0.subject)/\($0.version)" }.joined(separator: ",")
        return "\(schema.schemaType.rawValue)\u{0}\(normalized)\u{0}\(references)"
    }

    // MARK: Parsing with references

    /// Parses a schema with its references, which name subjects of `context` unless qualified (as in Confluent's
    /// registry, a reference `dep` of a schema in `.ctx` is `:.ctx:dep`).
    func parse(_ type: SchemaType, _ text: String, references: [SchemaReference], state: RegistryState,
               context: String = RegistryContexts.defaultContext, depth: Int = 0) throws(RegistryError) -> ParsedSchema
    {
        guard depth < 16 else { throw .invalidSchema("references nested deeper than 16") }
        var referenced: [ParsedSchema] = []
        for reference in references {
            let subject = RegistryContexts.referenced(reference.subject, from: context)
            guard let record = state.subjects[subject]?[reference.version] else {
                throw .invalidSchema("Invalid schema reference \(reference.name): \(reference.subject) version \(reference.version) not found")
            }
            referenced.append(try parse(record.schemaType, record.schema, references: record.references, state: state,
                                        context: RegistryContexts.context(ofSubject: subject), depth: depth + 1))
        }
        return try ParsedSchema.parse(type, text, referenced: referenced, referenceNames: references.map(\.name))
    }

    /// The schema `id` names in `context`, parsed (with its references), cached.
    func parsed(id: Int, context: String = RegistryContexts.defaultContext, state: RegistryState) throws(RegistryError) -> ParsedSchema {
        let key = SchemaId(context: context, id: id)
        if let cached = cache.get(key) { return cached }
        guard let stored = state.schemasById[key] else { throw .schemaNotFound() }
        let schema = try parse(stored.schemaType, stored.schema, references: stored.references, state: state, context: context)
        cache.set(key, schema)
        return schema
    }

    /// The schema of a subject's version, parsed.
    func parsed(_ record: SchemaStoreValue, state: RegistryState) throws(RegistryError) -> ParsedSchema {
        try parsed(id: record.id, context: RegistryContexts.context(ofSubject: record.subject), state: state)
    }

    /// The identity of a registered schema, parsed with its references resolved (the state's own index parses
    /// schemas alone, which differs for schemas that use referenced types).
    /// `normalized`: as compared for `normalize=true` (see `ParsedSchema.identityForm`).
    func identity(of record: SchemaStoreValue, state: RegistryState, normalized: Bool = false) throws(RegistryError) -> String {
        let key = SchemaId(context: RegistryContexts.context(ofSubject: record.subject), id: record.id)
        if !normalized, state.schemasById[key]?.references.isEmpty ?? true, let known = state.identityById[key] { return known }
        return identity(try parsed(record, state: state), references: state.schemasById[key]?.references ?? [], normalized: normalized)
    }

    /// The identity of a schema given as text, as `identity(_:references:)` of its parse.
    func identity(ofText text: String, type: SchemaType, references: [SchemaReference], state: RegistryState, normalized: Bool = false,
                  context: String = RegistryContexts.defaultContext) throws(RegistryError) -> String
    {
        guard !normalized, references.isEmpty, text.utf8.count <= 65_536 else {
            return identity(try parse(type, text, references: references, state: state, context: context), references: references,
                            normalized: normalized)
        }
        let key = "\(type.rawValue)\u{0}\(text)"
        if let known = identitiesByText.get(key) { return known }
        let identity = identity(try parse(type, text, references: [], state: state), references: [])
        identitiesByText.set(key, identity)
        return identity
    }

    func identity(_ schema: ParsedSchema, references: [SchemaReference], normalized: Bool = false) -> String {
        let references = references.map { "\($0.name)=\($0.subject)/\($0.version)" }.joined(separator: ",")
        return "\(schema.schemaType.rawValue)\u{0}\(schema.identityForm(normalized: normalized))\u{0}\(references)"
    }

    // MARK: Reads

    /// The state as of the last record read (what the store's actor holds between its reads), without waiting
    /// for the actor, which a write may keep busy.
    func currentState() async -> RegistryState { store.published.withLockedValue { $0 } }

    /// Whether `id` names a version (live or soft-deleted) of `subject`, as of the last record of `_schemas`
    /// read; answers at once without waiting for the store (the broker asks it for every checked record).
    public func isRegistered(id: Int, subject: String) -> Bool {
        store.published.withLockedValue { state in
            state.usersOfId[SchemaId(context: RegistryContexts.context(ofSubject: subject), id: id)]?.contains { $0.subject == subject } ?? false
        }
    }

    static func parseVersion(_ text: String) throws(RegistryError) -> Int? {
        if text == "latest" || text == "-1" { return nil }
        guard let version = Int(text), version >= 1, version <= Int(Int32.max) else { throw .invalidVersion(text) }
        return version
    }

    /// The version `text` ("latest", "-1" or a number) of a subject.
    func version(_ subject: String, _ text: String, includeDeleted: Bool, state: RegistryState) throws(RegistryError) -> SchemaStoreValue {
        let requested = try Self.parseVersion(text)
        guard state.subjectExists(subject), includeDeleted || state.hasLiveVersions(subject) else { throw .subjectNotFound(subject) }
        let versions = state.versions(of: subject, includeDeleted: includeDeleted)
        if let requested {
            guard let record = versions.first(where: { $0.version == requested }) else { throw .versionNotFound(text) }
            return record
        }
        guard let latest = versions.last else { throw .versionNotFound(text) }
        return latest
    }

    static func versionJSON(_ record: SchemaStoreValue) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("subject", .string(record.subject)), ("version", .integer(record.version)), ("id", .integer(record.id)),
        ]
        if record.schemaType != .avro { members.append(("schemaType", .string(record.schemaType.rawValue))) }
        if !record.references.isEmpty { members.append(("references", .array(record.references.map(\.json)))) }
        if let metadata = record.metadata { members.append(("metadata", metadata)) }
        if let ruleSet = record.ruleSet { members.append(("ruleSet", ruleSet)) }
        members.append(("schema", .string(record.schema)))
        return .object(members)
    }

    // MARK: Writes

    /// Registers a schema under a subject: the id and version of an equal live version if there is one, else a
    /// new version after the compatibility check. In IMPORT mode the caller gives id and version. `contract` is
    /// the data contract asked for (see `effectiveContract`).
    func register(
        subject: String, type: SchemaType, schema text: String, references: [SchemaReference], normalize: Bool,
        contract requested: DataContract = DataContract(), id requestedId: Int?, version requestedVersion: Int?
    ) async throws -> (id: Int, version: Int) {
        try await store.exclusively { store throws -> (id: Int, version: Int) in
            let state = store.state
            let mode = state.mode(for: subject)
            if mode == .readOnly { throw RegistryError.operationNotPermitted("Subject \(subject) is in read-only mode") }
            if requestedId != nil, mode != .importing {
                throw RegistryError.operationNotPermitted("Subject \(subject) is not in import mode")
            }
            let schema = try self.parse(type, text, references: references, state: state,
                                        context: RegistryContexts.context(ofSubject: subject))
            // With normalize=true both sides are compared normalized (so is a binary descriptor, which is kept
            // normalized); the identity stored is that of the text kept.
            let isBinary = type == .protobuf && (try? ProtobufSchema.parse(text)) == nil
            let compareNormalized = normalize || isBinary
            let identity = self.identity(schema, references: references, normalized: compareNormalized)
            let live = state.versions(of: subject)
            let contract = Self.effectiveContract(requested, config: state.config(for: subject), latest: live.last)
            for record in live where try self.identity(of: record, state: state, normalized: compareNormalized) == identity
                && record.contract.key == contract.key {
                return (record.id, record.version)
            }
            if mode != .importing {
                let problems = try compatibilityProblems(
                    of: schema, contract: contract, against: live, level: state.compatibility(for: subject),
                    group: state.config(for: subject).compatibilityGroup, state: state)
                if !problems.isEmpty {
                    throw RegistryError.incompatible(
                        "Schema being registered is incompatible with an earlier schema for subject \"\(subject)\", details: [\(problems.joined(separator: ", "))]")
                }
            }
            // A binary descriptor is kept as .proto text, as Confluent's registry keeps it.
            let storedText = normalize || isBinary ? schema.canonicalText : text
            // Ids are shared by the identity of the text kept (a PROTOBUF schema kept normalized has its fields in
            // order of number) and its data contract.
            let storedIdentity = type == .protobuf && compareNormalized
                ? self.identity(schema, references: references, normalized: true) : identity
            // Ids are counted per context (`RegistryContexts`).
            let context = RegistryContexts.context(ofSubject: subject)
            let id: Int
            if let requestedId {
                let key = SchemaId(context: context, id: requestedId)
                if let existing = state.schemasById[key],
                    state.identityById[key] != storedIdentity || existing.contract.key != contract.key {
                    throw RegistryError.operationNotPermitted("Overwrite new schema with id \(requestedId) is not permitted.")
                }
                id = requestedId
            } else {
                id = state.idByIdentity[RegistryState.identityKey(storedIdentity, contract: contract, in: context)]
                    ?? state.maximumId(in: context) + 1
            }
            let version = requestedVersion ?? state.nextVersion(of: subject)
            if requestedVersion != nil, state.subjects[subject]?[version] != nil {
                throw RegistryError.operationNotPermitted("Version \(version) already exists in subject \(subject)")
            }
            let record = SchemaStoreValue(
                subject: subject, version: version, id: id, schemaType: type, schema: storedText, references: references,
                metadata: contract.metadata, ruleSet: contract.ruleSet, deleted: false)
            try await store.write([(.schema(subject: subject, version: version), record.serialized)])
            return (id, version)
        }
    }

    /// The data contract a new version gets, as Confluent's registry works it out: its own metadata (rule set),
    /// else the latest version's; under the config's `defaultMetadata` (`defaultRuleSet`) and over it its
    /// `overrideMetadata` (`overrideRuleSet`).
    static func effectiveContract(_ requested: DataContract, config: RegistryConfig, latest: SchemaStoreValue?) -> DataContract {
        DataContract(
            metadata: DataContracts.mergeMetadata([config.defaultMetadata, requested.metadata ?? latest?.metadata, config.overrideMetadata]),
            ruleSet: DataContracts.mergeRuleSets([config.defaultRuleSet, requested.ruleSet ?? latest?.ruleSet, config.overrideRuleSet]))
    }

    /// The compatibility problems of a new version against `versions` (oldest first) at `level`: only versions
    /// in the same compatibility group (the metadata property the config's `compatibilityGroup` names has the
    /// same value) count; then `confluent:reserved` against the latest of them.
    func compatibilityProblems(
        of schema: ParsedSchema, contract: DataContract, against versions: [SchemaStoreValue], level: CompatibilityLevel,
        group: String?, state: RegistryState
    ) throws(RegistryError) -> [String] {
        let groupValue = group.flatMap { DataContracts.property($0, of: contract.metadata) }
        let checked = versions.filter { record in
            guard let group else { return true }
            return DataContracts.property(group, of: record.metadata) == groupValue
        }
        var previous: [(version: Int, schema: ParsedSchema)] = []
        for record in checked { previous.append((record.version, try parsed(record, state: state))) }
        var problems = CompatibilityChecker.problems(level: level, new: schema, previous: previous)
        if level != .none, let latest = checked.last {
            problems += DataContracts.reservedFieldProblems(schema: schema, metadata: contract.metadata, previousMetadata: latest.metadata)
        }
        return problems
    }

    /// Soft or permanent deletion of a subject; answers the versions deleted.
    func deleteSubject(_ subject: String, permanent: Bool) async throws -> [Int] {
        try await store.exclusively { store throws -> [Int] in
            let state = store.state
            if state.mode(for: subject) == .readOnly {
                throw RegistryError.operationNotPermitted("Subject \(subject) is in read-only mode")
            }
            guard state.subjectExists(subject) else { throw RegistryError.subjectNotFound(subject) }
            let all = state.versions(of: subject, includeDeleted: true)
            for record in all where !state.referencedBy(subject: subject, version: record.version).isEmpty {
                throw RegistryError.referenceExists(
                    "One or more references exist to the schema {subject=\(subject),version=\(record.version)}")
            }
            if permanent {
                if state.hasLiveVersions(subject) { throw RegistryError.subjectNotSoftDeleted(subject) }
                var records: [(SchemaStoreKey, String?)] = all.map { (.schema(subject: subject, version: $0.version), nil) }
                // As Confluent's registry does, the subject's own compatibility level and mode go with it.
                if state.subjectConfig[subject] != nil { records.append((.config(subject: subject), nil)) }
                if state.subjectMode[subject] != nil { records.append((.mode(subject: subject), nil)) }
                try await store.write(records)
                return all.map(\.version)
            }
            guard state.hasLiveVersions(subject) else { throw RegistryError.subjectSoftDeleted(subject) }
            let live = all.filter { !$0.deleted }
            try await store.write(live.map { record in
                var deleted = record
                deleted.deleted = true
                return (.schema(subject: subject, version: record.version), deleted.serialized)
            })
            return live.map(\.version)
        }
    }

    /// Soft or permanent deletion of one version; answers its number.
    func deleteVersion(_ subject: String, _ versionText: String, permanent: Bool) async throws -> Int {
        try await store.exclusively { store throws -> Int in
            let state = store.state
            if state.mode(for: subject) == .readOnly {
                throw RegistryError.operationNotPermitted("Subject \(subject) is in read-only mode")
            }
            // A numbered version is found even when soft-deleted, to answer 40406 on a second soft delete.
            let numbered = try Self.parseVersion(versionText) != nil
            let record = try self.version(subject, versionText, includeDeleted: permanent || numbered, state: state)
            if !state.referencedBy(subject: subject, version: record.version).isEmpty {
                throw RegistryError.referenceExists(
                    "One or more references exist to the schema {subject=\(subject),version=\(record.version)}")
            }
            if permanent {
                guard record.deleted else { throw RegistryError.schemaVersionNotSoftDeleted(subject, record.version) }
                try await store.write([(.schema(subject: subject, version: record.version), nil)])
            } else {
                guard !record.deleted else { throw RegistryError.schemaVersionSoftDeleted(subject, record.version) }
                var deleted = record
                deleted.deleted = true
                try await store.write([(.schema(subject: subject, version: record.version), deleted.serialized)])
            }
            return record.version
        }
    }

    /// Replaces a config (nil removes it).
    func setConfig(_ config: RegistryConfig?, subject: String?) async throws {
        try await store.exclusively { store throws in
            try await store.write([(.config(subject: subject), config.map(SchemaStoreValues.config))])
        }
    }

    /// Changes the members of a config that `update` gives, keeping the others.
    func updateConfig(_ update: RegistryConfig, subject: String?) async throws {
        try await store.exclusively { store throws in
            let state = store.state
            let current = subject.map { state.subjectConfig[$0] ?? RegistryConfig() } ?? state.globalConfig
            try await store.write([(.config(subject: subject), SchemaStoreValues.config(current.updated(by: update)))])
        }
    }

    /// The latest version of a subject whose metadata has every property `pairs` names with its value
    /// (Confluent's GET /subjects/{subject}/metadata).
    func latestVersion(_ subject: String, withMetadata pairs: [(String, String)], includeDeleted: Bool, state: RegistryState)
        throws(RegistryError) -> SchemaStoreValue {
        guard state.subjectExists(subject) else { throw .subjectNotFound(subject) }
        let found = state.versions(of: subject, includeDeleted: includeDeleted).last { record in
            pairs.allSatisfy { DataContracts.property($0.0, of: record.metadata) == $0.1 }
        }
        guard let found else { throw .schemaNotFound("Schema not found") }
        return found
    }

    func setMode(_ mode: RegistryMode?, subject: String?, force: Bool) async throws {
        try await store.exclusively { store throws in
            let state = store.state
            if mode == .importing, !force {
                let hasSchemas = subject.map { state.subjectExists($0) } ?? !state.subjects.isEmpty
                if hasSchemas {
                    throw RegistryError.operationNotPermitted(
                        "Cannot import since found existing subjects")
                }
            }
            try await store.write([(.mode(subject: subject), mode.map(SchemaStoreValues.mode))])
        }
    }

    /// Checks a schema (with the data contract asked for) against versions of a subject without registering it.
    func checkCompatibility(
        subject: String, versionText: String?, type: SchemaType, schema text: String, references: [SchemaReference],
        contract requested: DataContract = DataContract()
    ) async throws -> [String] {
        let state = await store.state
        let schema = try parse(type, text, references: references, state: state, context: RegistryContexts.context(ofSubject: subject))
        let level = state.compatibility(for: subject)
        let config = state.config(for: subject)
        let live = state.versions(of: subject)
        let contract = Self.effectiveContract(requested, config: config, latest: live.last)
        if let versionText {
            let record = try version(subject, versionText, includeDeleted: false, state: state)
            // A single named version is checked on its own, in the level's directions.
            let single: CompatibilityLevel
            switch level {
            case .backwardTransitive: single = .backward
            case .forwardTransitive: single = .forward
            case .fullTransitive: single = .full
            default: single = level
            }
            return try compatibilityProblems(of: schema, contract: contract, against: [record], level: single, group: nil, state: state)
        }
        return try compatibilityProblems(of: schema, contract: contract, against: live, level: level, group: config.compatibilityGroup, state: state)
    }
}

/// Parsed schemas by id, shared by the request handlers (ids never change their schema).
typealias ParsedSchemaCache = BoundedCache<SchemaId, ParsedSchema>

/// A dictionary behind a lock that forgets everything once it holds 10 000 entries.
final class BoundedCache<Key: Hashable, Value>: @unchecked Sendable {
    private var values: [Key: Value] = [:]
    private let lock = NIOLock()

    func get(_ key: Key) -> Value? { lock.withLock { values[key] } }

    func set(_ key: Key, _ value: Value) {
        lock.withLock {
            if values.count > 10_000 { values.removeAll() }
            values[key] = value
        }
    }
}
