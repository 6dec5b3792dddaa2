import NIOConcurrencyHelpers

/// Runs `body`, prefixing the message of a data or failure error with `context`, as Confluent's converters wrap the
/// serializers' exceptions. A message that already starts with "Failed to " is the outermost context and is kept.
func withErrorContext<T>(_ context: String, _ body: () throws(ConnectError) -> T) throws(ConnectError) -> T {
    do {
        return try body()
    } catch {
        switch error {
        case let .data(message) where !message.hasPrefix("Failed to "): throw .data("\(context): \(message)")
        case let .failed(message): throw .failed("\(context): \(message)")
        default: throw error
        }
    }
}

/// The schema a registry converter writes with, as Confluent's serializers choose it.
struct WriterSchemaChoice: Sendable {
    /// The registry id framed into the record.
    var id: Int32
    /// With `use.latest.version`, the subject's latest schema (the value is written with it); nil otherwise.
    var latest: RegistrySchema?
}

extension RegistryConverterConfig {
    /// Chooses the writer schema's id under `subject` (`writerSubject` when set): registers `text` (`auto.register.schemas`), or takes the
    /// subject's latest version (`use.latest.version`), or looks `text` up under the subject. `formatName` (`Avro`,
    /// `JSON`) names the format in messages; `schemaType` is the registry's (`AVRO`, `JSON`, `PROTOBUF`).
    func writerSchema(topic: String, subject: String, schemaType: String, text: String,
                      formatName: String) throws(ConnectError) -> WriterSchemaChoice {
        let subject = writerSubject ?? subject
        if autoRegister {
            let id = try withErrorContext("Error registering \(formatName) schema under subject \(subject)") { () throws(ConnectError) in
                try client.register(subject: subject, schemaType: schemaType, schema: text, normalize: normalize)
            }
            return WriterSchemaChoice(id: id)
        }
        if useLatestVersion {
            let latest = try withErrorContext("Error retrieving latest version of \(formatName) schema under subject \(subject)") { () throws(ConnectError) in
                try client.latestVersion(subject: subject)
            }
            guard let id = latest.id else { throw .data("The registry gave no id for the latest version of \(subject)") }
            return WriterSchemaChoice(id: id, latest: latest)
        }
        let found = try withErrorContext("Error retrieving \(formatName) schema under subject \(subject)") { () throws(ConnectError) in
            try client.lookup(subject: subject, schemaType: schemaType, schema: text, normalize: normalize)
        }
        guard let found, let id = found.id else {
            throw .data("Failed to serialize \(formatName) data from topic \(topic): the schema is not registered under subject "
                        + "\(subject), and auto.register.schemas is false (register it, or set auto.register.schemas=true "
                        + "or use.latest.version=true)")
        }
        return WriterSchemaChoice(id: id)
    }
}

/// A table of translations shared by a converter's copies, emptied when it holds `capacity` entries (a converter's
/// schemas are few; the bound only stops a runaway).
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let capacity: Int
    private let table = NIOLockedValueBox([Key: Value]())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// The value for `key`, made by `make` (outside the lock) and remembered on a miss.
    func value(for key: Key, _ make: () throws(ConnectError) -> Value) throws(ConnectError) -> Value {
        if let found = table.withLockedValue({ $0[key] }) { return found }
        let made = try make()
        let capacity = self.capacity
        table.withLockedValue { table in
            if table.count >= capacity { table.removeAll() }
            table[key] = made
        }
        return made
    }
}

extension RegistryConverterConfig {
    /// The registry's version of a writer schema under `subject`: it becomes the Connect schema's version when the
    /// schema has no `connect.version` (nil when the schema is registered under another subject only).
    func registeredVersion(of registered: RegistrySchema, id: Int32, subject: String, schemaType: String,
                           formatName: String) throws(ConnectError) -> Int32? {
        try withErrorContext("Error retrieving \(formatName) schema version for id \(id)") { () throws(ConnectError) in
            try client.lookup(subject: subject, schemaType: schemaType, schema: registered.schema, normalize: false)?.version
        }
    }
}

/// A registry converter's translations, shared by its copies: the format's schema made from each Connect schema
/// (`Translated`), each registry id's schema parsed (`Parsed`), and the Connect schema of each id, message (the
/// Protobuf message indexes; empty for other formats) and registry version.
final class RegistryConverterCache<Translated: Sendable, Parsed: Sendable>: Sendable {
    private struct ConnectKey: Hashable, Sendable {
        var id: Int32
        var indexes: [Int]
        var version: Int32?
    }

    private let translations: BoundedCache<ConnectSchema, Translated>
    private let parsed: BoundedCache<Int32, Parsed>
    private let connectSchemas: BoundedCache<ConnectKey, ConnectSchema>

    init(capacity: Int) {
        translations = BoundedCache(capacity: capacity)
        parsed = BoundedCache(capacity: capacity)
        connectSchemas = BoundedCache(capacity: capacity)
    }

    func translation(of schema: ConnectSchema, _ make: () throws(ConnectError) -> Translated) throws(ConnectError) -> Translated {
        try translations.value(for: schema, make)
    }

    func registered(id: Int32, _ make: () throws(ConnectError) -> Parsed) throws(ConnectError) -> Parsed {
        try parsed.value(for: id, make)
    }

    func connectSchema(id: Int32, indexes: [Int] = [], version: Int32?,
                       _ make: () throws(ConnectError) -> ConnectSchema) throws(ConnectError) -> ConnectSchema {
        try connectSchemas.value(for: ConnectKey(id: id, indexes: indexes, version: version), make)
    }
}

extension RegistrySchema {
    /// Throws unless the registry holds this schema as `schemaType` (`AVRO`, `JSON`, `PROTOBUF`); `described` names
    /// it in the message (`Schema 7`, `the latest schema of orders-value`).
    func requireType(_ schemaType: String, described: String, formatName: String) throws(ConnectError) {
        guard self.schemaType.uppercased() == schemaType else {
            throw .data("\(described) is a \(self.schemaType) schema, not \(formatName == "Avro" ? "an" : "a") \(formatName) one")
        }
    }
}
