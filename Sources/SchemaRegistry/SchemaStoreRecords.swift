/// A schema named by another through an import (PROTOBUF), a `$ref` (JSON) or a named type (AVRO).
public struct SchemaReference: Hashable, Sendable {
    public var name: String
    public var subject: String
    public var version: Int

    public init(name: String, subject: String, version: Int) {
        self.name = name
        self.subject = subject
        self.version = version
    }

    var json: JSONValue {
        .object([("name", .string(name)), ("subject", .string(subject)), ("version", .integer(version))])
    }

    init?(json: JSONValue) {
        guard let name = json["name"]?.stringValue, let subject = json["subject"]?.stringValue,
            let version = json["version"]?.integerValue
        else { return nil }
        self.init(name: name, subject: subject, version: Int(version))
    }
}

/// The key of a `_schemas` record, written with Confluent's field order so that a topic is readable by either
/// registry and compacts the same way.
enum SchemaStoreKey: Hashable, Sendable {
    case schema(subject: String, version: Int)
    /// A compatibility level; `nil` is the global one.
    case config(subject: String?)
    case mode(subject: String?)
    case deleteSubject(subject: String)
    case clearSubject(subject: String)
    /// Written to find the end of the topic; carries nothing.
    case noop

    /// The key's bytes, byte for byte as Confluent's registry writes them.
    var serialized: String {
        switch self {
        case let .schema(subject, version):
            return JSONValue.object([
                ("keytype", .string("SCHEMA")), ("subject", .string(subject)), ("version", .integer(version)),
                ("magic", .integer(1)),
            ]).serialized
        case let .config(subject):
            return JSONValue.object([("keytype", .string("CONFIG")), ("subject", .string(subject)), ("magic", .integer(0))]).serialized
        case let .mode(subject):
            return JSONValue.object([("keytype", .string("MODE")), ("subject", .string(subject)), ("magic", .integer(0))]).serialized
        case let .deleteSubject(subject):
            return JSONValue.object([
                ("keytype", .string("DELETE_SUBJECT")), ("subject", .string(subject)), ("magic", .integer(0)),
            ]).serialized
        case let .clearSubject(subject):
            return JSONValue.object([
                ("keytype", .string("CLEAR_SUBJECT")), ("subject", .string(subject)), ("magic", .integer(0)),
            ]).serialized
        case .noop:
            return JSONValue.object([("keytype", .string("NOOP")), ("magic", .integer(0))]).serialized
        }
    }

    /// Reads a key; `nil` for a key type this registry does not know (skipped, as Confluent's does).
    init?(parsing text: String) {
        guard let json = try? JSONParser.parse(text), let keyType = json["keytype"]?.stringValue else { return nil }
        let subject = json["subject"]?.stringValue
        switch keyType {
        case "SCHEMA":
            guard let subject, let version = json["version"]?.integerValue else { return nil }
            self = .schema(subject: subject, version: Int(version))
        case "CONFIG": self = .config(subject: subject)
        case "MODE": self = .mode(subject: subject)
        case "DELETE_SUBJECT":
            guard let subject else { return nil }
            self = .deleteSubject(subject: subject)
        case "CLEAR_SUBJECT":
            guard let subject else { return nil }
            self = .clearSubject(subject: subject)
        case "NOOP": self = .noop
        default: return nil
        }
    }
}

/// One version of a subject as `_schemas` holds it.
struct SchemaStoreValue: Hashable, Sendable {
    var subject: String
    var version: Int
    var id: Int
    var schemaType: SchemaType
    var schema: String
    var references: [SchemaReference]
    /// The version's data contract (`metadata` and `ruleSet`, Confluent 7.4+), as given.
    var metadata: JSONValue?
    var ruleSet: JSONValue?
    var deleted: Bool

    var serialized: String {
        var members: [(String, JSONValue)] = [
            ("subject", .string(subject)), ("version", .integer(version)), ("id", .integer(id)),
        ]
        // Confluent leaves the type out for AVRO, and readers take a missing type as AVRO.
        if schemaType != .avro { members.append(("schemaType", .string(schemaType.rawValue))) }
        if !references.isEmpty { members.append(("references", .array(references.map(\.json)))) }
        if let metadata { members.append(("metadata", metadata)) }
        if let ruleSet { members.append(("ruleSet", ruleSet)) }
        members.append(("schema", .string(schema)))
        members.append(("deleted", .bool(deleted)))
        return JSONValue.object(members).serialized
    }

    init(subject: String, version: Int, id: Int, schemaType: SchemaType, schema: String, references: [SchemaReference],
         metadata: JSONValue? = nil, ruleSet: JSONValue? = nil, deleted: Bool) {
        self.subject = subject
        self.version = version
        self.id = id
        self.schemaType = schemaType
        self.schema = schema
        self.references = references
        self.metadata = metadata
        self.ruleSet = ruleSet
        self.deleted = deleted
    }

    /// What its id names: the same for every subject version that uses the id.
    var stored: StoredSchema {
        StoredSchema(schemaType: schemaType, schema: schema, references: references, metadata: metadata, ruleSet: ruleSet)
    }

    init?(parsing text: String) {
        guard let json = try? JSONParser.parse(text), let subject = json["subject"]?.stringValue,
            let version = json["version"]?.integerValue, let id = json["id"]?.integerValue,
            let schema = json["schema"]?.stringValue
        else { return nil }
        let type = json["schemaType"]?.stringValue.flatMap(SchemaType.init(rawValue:)) ?? .avro
        let references = json["references"]?.arrayValue?.compactMap(SchemaReference.init(json:)) ?? []
        // Another registry may have written `"sensitive": []` and the like, which mean nothing.
        let metadata = json["metadata"].flatMap(DataContracts.withoutEmptyMembers)
        let ruleSet = json["ruleSet"].flatMap(DataContracts.withoutEmptyMembers)
        self.init(
            subject: subject, version: Int(version), id: Int(id), schemaType: type, schema: schema,
            references: references, metadata: metadata, ruleSet: ruleSet, deleted: json["deleted"]?.boolValue ?? false)
    }
}

/// Serialization of the other record values: `{"compatibilityLevel":"FULL"}`, `{"mode":"READONLY"}`,
/// `{"subject":"s","version":3}` for DELETE_SUBJECT.
enum SchemaStoreValues {
    static func config(_ level: CompatibilityLevel) -> String {
        config(RegistryConfig(compatibilityLevel: level))
    }

    /// A CONFIG value as Confluent's ConfigValue writes it.
    static func config(_ config: RegistryConfig) -> String {
        JSONValue.object(config.members(levelName: "compatibilityLevel")).serialized
    }

    static func mode(_ mode: RegistryMode) -> String {
        JSONValue.object([("mode", .string(mode.rawValue))]).serialized
    }

    static func deleteSubject(_ subject: String, version: Int) -> String {
        JSONValue.object([("subject", .string(subject)), ("version", .integer(version))]).serialized
    }

    /// A CONFIG value; members that cannot be read are left out, as a reader of another registry's topic should.
    static func parseConfig(_ text: String) -> RegistryConfig? {
        guard let json = try? JSONParser.parse(text) else { return nil }
        if let config = try? RegistryConfig(json: json) { return config }
        return RegistryConfig(compatibilityLevel: json["compatibilityLevel"]?.stringValue.flatMap(CompatibilityLevel.init(rawValue:)))
    }

    static func parseMode(_ text: String) -> RegistryMode? {
        (try? JSONParser.parse(text))?["mode"]?.stringValue.flatMap(RegistryMode.init(rawValue:))
    }

    static func parseDeleteSubjectVersion(_ text: String) -> Int? {
        (try? JSONParser.parse(text))?["version"]?.integerValue.map { Int($0) }
    }
}

/// The schema formats the registry knows.
public enum SchemaType: String, Hashable, Sendable, CaseIterable {
    case avro = "AVRO"
    case protobuf = "PROTOBUF"
    case json = "JSON"
}

/// Confluent's seven compatibility levels.
public enum CompatibilityLevel: String, Hashable, Sendable, CaseIterable {
    case none = "NONE"
    case backward = "BACKWARD"
    case backwardTransitive = "BACKWARD_TRANSITIVE"
    case forward = "FORWARD"
    case forwardTransitive = "FORWARD_TRANSITIVE"
    case full = "FULL"
    case fullTransitive = "FULL_TRANSITIVE"

    /// Whether the new schema must read data written with the old ones.
    var checksBackward: Bool { [.backward, .backwardTransitive, .full, .fullTransitive].contains(self) }
    /// Whether the old schemas must read data written with the new one.
    var checksForward: Bool { [.forward, .forwardTransitive, .full, .fullTransitive].contains(self) }
    /// Whether every earlier version is checked, not only the latest.
    var isTransitive: Bool { [.backwardTransitive, .forwardTransitive, .fullTransitive].contains(self) }
}

/// What a subject (or the whole registry) accepts.
public enum RegistryMode: String, Hashable, Sendable, CaseIterable {
    case readWrite = "READWRITE"
    case readOnly = "READONLY"
    /// Registrations must give their id and version (migration from another registry).
    case importing = "IMPORT"
}
