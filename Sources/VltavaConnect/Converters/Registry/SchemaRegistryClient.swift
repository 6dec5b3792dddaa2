import NIOConcurrencyHelpers

/// A schema as the registry stores it: its type (`AVRO`, `PROTOBUF`, `JSON`), its text, and, when known, its id
/// and its version under the subject it was asked for.
public struct RegistrySchema: Sendable, Hashable {
    public var id: Int32?
    public var version: Int32?
    public var schemaType: String
    public var schema: String

    public init(id: Int32? = nil, version: Int32? = nil, schemaType: String, schema: String) {
        self.id = id
        self.version = version
        self.schemaType = schemaType
        self.schema = schema
    }
}

/// What Confluent's converters ask of a schema registry (Confluent's REST API: `POST /subjects/{s}/versions`,
/// `POST /subjects/{s}`, `GET /schemas/ids/{id}`, `GET /subjects/{s}/versions/latest`). The calls are synchronous, as
/// `Converter` is: an implementation that does I/O blocks the calling thread, so converters must be called from
/// task threads, never from an event loop.
public protocol SchemaRegistryClient: Sendable {
    /// Registers a schema under a subject (or finds it registered) and gives its id.
    func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32

    /// The id and version of a schema under a subject; nil when it is not registered there.
    func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema?

    /// The schema with this id.
    func schema(id: Int32) throws(ConnectError) -> RegistrySchema

    /// The latest version of a subject, with its id and version.
    func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema
}

/// A registry client that remembers answers, so that a steady stream of records makes no registry calls: ids by
/// subject and schema, schemas by id, lookups by subject and schema; the latest version of a subject for
/// `latestTTL` seconds (nil: for the client's life, Confluent's `latest.cache.ttl.sec=-1`). Each table holds at most
/// `capacity` entries and is emptied when full (schemas of a connector are few; this only bounds a runaway).
public final class CachedSchemaRegistryClient: SchemaRegistryClient {
    private struct SubjectSchema: Hashable {
        var subject: String
        var schemaType: String
        var schema: String
    }

    private struct Tables {
        var ids: [SubjectSchema: Int32] = [:]
        var schemas: [Int32: RegistrySchema] = [:]
        var lookups: [SubjectSchema: RegistrySchema] = [:]
        var latest: [String: (RegistrySchema, ContinuousClock.Instant)] = [:]
    }

    /// The client asked on a miss.
    public let underlying: any SchemaRegistryClient
    private let capacity: Int
    private let latestTTL: Duration?
    private let tables = NIOLockedValueBox(Tables())

    public init(_ underlying: any SchemaRegistryClient, capacity: Int = 1000, latestTTL: Duration? = nil) {
        self.underlying = underlying
        self.capacity = max(1, capacity)
        self.latestTTL = latestTTL
    }

    public func register(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> Int32 {
        let key = SubjectSchema(subject: subject, schemaType: schemaType, schema: schema)
        if let id = tables.withLockedValue({ $0.ids[key] }) { return id }
        let id = try underlying.register(subject: subject, schemaType: schemaType, schema: schema, normalize: normalize)
        store(\.ids, key, id)
        return id
    }

    public func lookup(subject: String, schemaType: String, schema: String, normalize: Bool) throws(ConnectError) -> RegistrySchema? {
        let key = SubjectSchema(subject: subject, schemaType: schemaType, schema: schema)
        if let found = tables.withLockedValue({ $0.lookups[key] }) { return found }
        guard let found = try underlying.lookup(subject: subject, schemaType: schemaType, schema: schema, normalize: normalize) else {
            return nil
        }
        store(\.lookups, key, found)
        if let id = found.id { store(\.ids, key, id) }
        return found
    }

    public func schema(id: Int32) throws(ConnectError) -> RegistrySchema {
        if let found = tables.withLockedValue({ $0.schemas[id] }) { return found }
        let found = try underlying.schema(id: id)
        store(\.schemas, id, found)
        return found
    }

    public func latestVersion(subject: String) throws(ConnectError) -> RegistrySchema {
        let now = ContinuousClock.now
        if let (found, fetched) = tables.withLockedValue({ $0.latest[subject] }),
           latestTTL.map({ fetched.duration(to: now) < $0 }) ?? true {
            return found
        }
        let found = try underlying.latestVersion(subject: subject)
        store(\.latest, subject, (found, now))
        return found
    }

    private func store<Key: Hashable, Value>(_ table: WritableKeyPath<Tables, [Key: Value]>, _ key: Key, _ value: Value) {
        let capacity = self.capacity
        tables.withLockedValue { tables in
            if tables[keyPath: table].count >= capacity { tables[keyPath: table].removeAll() }
            tables[keyPath: table][key] = value
        }
    }
}
