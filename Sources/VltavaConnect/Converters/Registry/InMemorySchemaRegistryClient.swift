import NIOConcurrencyHelpers

/// A schema registry in memory, for tests and for Confluent's `mock://<scope>` URLs (every converter configured
/// with the same `mock://` scope shares one). Ids are given per distinct schema text, from 1, as Confluent's
/// registry does; versions per subject. It counts the calls made to it, so tests can see the caches at work.
public final class InMemorySchemaRegistryClient: SchemaRegistryClient {
    private struct State {
        var nextId: Int32 = 1
        var ids: [String: Int32] = [:]
        var schemas: [Int32: RegistrySchema] = [:]
        /// Each subject's schema ids, version 1 first.
        var subjects: [String: [Int32]] = [:]
        var calls = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// How many calls the client has answered.
    public var calls: Int { state.withLockedValue { $0.calls } }

    /// The subjects registered, sorted.
    public var subjects: [String] { state.withLockedValue { $0.subjects.keys.sorted() } }

    public func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32 {
        state.withLockedValue { state in
            state.calls += 1
            let key = schemaType + "\u{0}" + schema
            let id: Int32
            if let existing = state.ids[key] {
                id = existing
            } else {
                id = state.nextId
                state.nextId += 1
                state.ids[key] = id
                state.schemas[id] = RegistrySchema(id: id, schemaType: schemaType, schema: schema)
            }
            if !(state.subjects[subject] ?? []).contains(id) { state.subjects[subject, default: []].append(id) }
            return id
        }
    }

    public func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema? {
        state.withLockedValue { state in
            state.calls += 1
            guard let id = state.ids[schemaType + "\u{0}" + schema], let versions = state.subjects[subject],
                  let index = versions.firstIndex(of: id) else { return nil }
            return RegistrySchema(id: id, version: Int32(index + 1), schemaType: schemaType, schema: schema)
        }
    }

    public func schema(id: Int32) throws(ConnectError) -> RegistrySchema {
        let found = state.withLockedValue { state in
            state.calls += 1
            return state.schemas[id]
        }
        guard let found else { throw .data("Schema \(id) not found (the schema registry's error 40403)") }
        return found
    }

    public func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema {
        let found: RegistrySchema? = state.withLockedValue { state in
            state.calls += 1
            guard let versions = state.subjects[subject], let id = versions.last, var schema = state.schemas[id] else { return nil }
            schema.version = Int32(versions.count)
            return schema
        }
        guard let found else { throw .data("Subject '\(subject)' not found (the schema registry's error 40401)") }
        return found
    }

    /// The registries of `mock://` URLs, by scope.
    private static let scopes = NIOLockedValueBox([String: InMemorySchemaRegistryClient]())

    /// The registry of a `mock://` scope, made on first use.
    public static func scope(_ name: String) -> InMemorySchemaRegistryClient {
        scopes.withLockedValue { scopes in
            if let client = scopes[name] { return client }
            let client = InMemorySchemaRegistryClient()
            scopes[name] = client
            return client
        }
    }

    /// Forgets a `mock://` scope (Confluent's `MockSchemaRegistry.dropScope`).
    public static func dropScope(_ name: String) {
        _ = scopes.withLockedValue { $0.removeValue(forKey: name) }
    }
}
