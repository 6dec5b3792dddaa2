import KafkaProtocol

/// Confluent's data contracts (its registry 7.4 and later): a schema version's `metadata` (`properties`, `tags`,
/// `sensitive`) and `ruleSet` (`domainRules`, `migrationRules`, `encodingRules`), stored with the version and part
/// of what makes a schema the same schema; and the configs that give them defaults and overrides. The rules run
/// in the clients (CEL conditions, transforms, migrations): the registry checks their shape, stores them and serves
/// them exactly.
enum DataContracts {
    /// A rule's kinds and modes, as Confluent's `Rule` has them.
    static let ruleKinds: Set<String> = ["CONDITION", "TRANSFORM"]
    static let ruleModes: Set<String> = ["UPGRADE", "DOWNGRADE", "UPDOWN", "WRITE", "READ", "WRITEREAD"]
    static let ruleActions: Set<String> = ["NONE", "ERROR", "DLQ"]
    /// The metadata property naming fields a schema may not have (comma-separated), kept from version to version.
    static let reservedProperty = "confluent:reserved"

    /// `metadata` checked: an object of `properties` (string values), `tags` (arrays of strings by path) and
    /// `sensitive` (strings). Null stays null.
    static func metadata(_ value: JSONValue?) throws(RegistryError) -> JSONValue? {
        guard let value, value != .null else { return nil }
        guard let members = value.objectValue else { throw .invalidSchema("metadata must be an object") }
        for (name, member) in members where member != .null {
            switch name {
            case "properties":
                guard let properties = member.objectValue, properties.allSatisfy({ $0.1.stringValue != nil }) else {
                    throw .invalidSchema("metadata.properties must map names to strings")
                }
            case "tags":
                guard let tags = member.objectValue,
                    tags.allSatisfy({ $0.1.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false })
                else { throw .invalidSchema("metadata.tags must map paths to arrays of strings") }
            case "sensitive":
                guard member.arrayValue?.allSatisfy({ $0.stringValue != nil }) ?? false else {
                    throw .invalidSchema("metadata.sensitive must be an array of strings")
                }
            default:
                break
            }
        }
        return withoutEmptyMembers(value)
    }

    /// A contract value with null members, empty lists and maps and `disabled: false` left out, at every level:
    /// Confluent's clients send `"sensitive": []` or `"ruleSet": null` where nothing is meant, and those mean
    /// the same as nothing. Nil when nothing is left.
    static func withoutEmptyMembers(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null:
            return nil
        case let .object(members):
            let kept = members.compactMap { name, member -> (String, JSONValue)? in
                if name == "disabled", member == .bool(false) { return nil }
                return withoutEmptyMembers(member).map { (name, $0) }
            }
            return kept.isEmpty ? nil : .object(kept)
        case let .array(items):
            let kept = items.compactMap(withoutEmptyMembers)
            return kept.isEmpty ? nil : .array(kept)
        default:
            return value
        }
    }

    /// `ruleSet` checked: each rule list holds objects with a unique non-empty `name`, a `type`, a `kind` and
    /// `mode` Confluent knows, and actions it knows (Confluent's 42212 otherwise).
    static func ruleSet(_ value: JSONValue?) throws(RegistryError) -> JSONValue? {
        guard let value, value != .null else { return nil }
        guard let members = value.objectValue else { throw .invalidRuleSet("ruleSet must be an object") }
        for (list, rules) in members where rules != .null {
            guard ["domainRules", "migrationRules", "encodingRules"].contains(list) else { continue }
            guard let rules = rules.arrayValue else { throw .invalidRuleSet("\(list) must be an array") }
            var names: Set<String> = []
            for rule in rules {
                guard let name = rule["name"]?.stringValue, !name.isEmpty else { throw .invalidRuleSet("a rule of \(list) has no name") }
                guard names.insert(name).inserted else { throw .invalidRuleSet("Found rule with duplicate name '\(name)'") }
                guard rule["type"]?.stringValue?.isEmpty == false else { throw .invalidRuleSet("rule \(name) has no type") }
                let kind = rule["kind"]?.stringValue ?? "TRANSFORM"
                guard ruleKinds.contains(kind) else { throw .invalidRuleSet("rule \(name): unknown kind \(kind)") }
                let mode = rule["mode"]?.stringValue ?? "WRITEREAD"
                guard ruleModes.contains(mode) else { throw .invalidRuleSet("rule \(name): unknown mode \(mode)") }
                if list == "migrationRules", !["UPGRADE", "DOWNGRADE", "UPDOWN"].contains(mode) {
                    throw .invalidRuleSet("Migration rule \(name) must have a mode of UPGRADE, DOWNGRADE or UPDOWN")
                }
                if list == "domainRules", ["UPGRADE", "DOWNGRADE", "UPDOWN"].contains(mode) {
                    throw .invalidRuleSet("Domain rule \(name) must have a mode of WRITE, READ or WRITEREAD")
                }
                for action in ["onSuccess", "onFailure"] {
                    guard let text = rule[action]?.stringValue else { continue }
                    // "ERROR" or, for UPDOWN and WRITEREAD rules, "ERROR,NONE": one action per direction.
                    for part in text.split(separator: ",") where !ruleActions.contains(part.trimmedWhitespace) {
                        throw .invalidRuleSet("rule \(name): unknown action \(part)")
                    }
                }
            }
        }
        return withoutEmptyMembers(value)
    }

    /// Metadata merged Confluent's way: later properties and tags win by name, sensitive names add up.
    static func mergeMetadata(_ layers: [JSONValue?]) -> JSONValue? {
        let present = layers.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        var properties: [(String, JSONValue)] = []
        var tags: [(String, JSONValue)] = []
        var sensitive: [JSONValue] = []
        for layer in present {
            for (name, value) in layer["properties"]?.objectValue ?? [] {
                properties.removeAll { $0.0 == name }
                properties.append((name, value))
            }
            for (path, value) in layer["tags"]?.objectValue ?? [] {
                tags.removeAll { $0.0 == path }
                tags.append((path, value))
            }
            for name in layer["sensitive"]?.arrayValue ?? [] where !sensitive.contains(name) { sensitive.append(name) }
        }
        var members: [(String, JSONValue)] = []
        if !tags.isEmpty { members.append(("tags", .object(tags))) }
        if !properties.isEmpty { members.append(("properties", .object(properties))) }
        if !sensitive.isEmpty { members.append(("sensitive", .array(sensitive))) }
        return .object(members)
    }

    /// Rule sets merged Confluent's way: per list, a later rule replaces an earlier one of the same name.
    static func mergeRuleSets(_ layers: [JSONValue?]) -> JSONValue? {
        let present = layers.compactMap { $0 }
        guard !present.isEmpty else { return nil }
        var members: [(String, JSONValue)] = []
        for list in ["migrationRules", "domainRules", "encodingRules"] {
            var rules: [JSONValue] = []
            for layer in present {
                for rule in layer[list]?.arrayValue ?? [] {
                    rules.removeAll { $0["name"] == rule["name"] }
                    rules.append(rule)
                }
            }
            if !rules.isEmpty { members.append((list, .array(rules))) }
        }
        return .object(members)
    }

    /// The value of a metadata property.
    static func property(_ name: String, of metadata: JSONValue?) -> String? {
        metadata?["properties"]?[name]?.stringValue
    }

    /// The fields `confluent:reserved` names.
    static func reservedFields(_ metadata: JSONValue?) -> Set<String> {
        Set((property(reservedProperty, of: metadata) ?? "").split(separator: ",").map(\.trimmedWhitespace).filter { !$0.isEmpty })
    }

    /// Confluent's reserved-field rules against an earlier version: a field the new metadata reserves may not be
    /// in the schema (`FIELD_CONFLICTS_WITH_RESERVED_FIELD`), and a field reserved before stays reserved
    /// (`RESERVED_FIELD_REMOVED`).
    static func reservedFieldProblems(schema: ParsedSchema, metadata: JSONValue?, previousMetadata: JSONValue?) -> [String] {
        let reserved = reservedFields(metadata)
        var problems: [String] = []
        for field in schema.topLevelFieldNames.sorted() where reserved.contains(field) {
            problems.append("{errorType:'FIELD_CONFLICTS_WITH_RESERVED_FIELD', description:'The new schema has field \(field) which is a reserved field'}")
        }
        for field in reservedFields(previousMetadata).subtracting(reserved).sorted() {
            problems.append("{errorType:'RESERVED_FIELD_REMOVED', description:'The new schema has reserved field \(field) removed from its metadata'}")
        }
        return problems
    }

    /// The part of a schema's identity its data contract makes (empty without one): a schema with other metadata
    /// or rules is another schema, under another id, as in Confluent's registry.
    static func contractKey(metadata: JSONValue?, ruleSet: JSONValue?) -> String {
        guard metadata != nil || ruleSet != nil else { return "" }
        return "\u{0}" + (metadata.map(canonical) ?? "") + "\u{0}" + (ruleSet.map(canonical) ?? "")
    }

    /// A JSON value written with object members sorted by name, so that equal metadata written in another order is
    /// the same metadata.
    static func canonical(_ value: JSONValue) -> String {
        switch value {
        case let .object(members):
            var last: [String: JSONValue] = [:]
            for (name, member) in members { last[name] = member }
            return "{" + last.keys.sorted().map { "\(JSONValue.string($0).serialized):\(canonical(last[$0]!))" }.joined(separator: ",") + "}"
        case let .array(items):
            return "[" + items.map(canonical).joined(separator: ",") + "]"
        default:
            return value.serialized
        }
    }
}

/// A subject's (or the registry's) config beyond its compatibility level: Confluent's `compatibilityGroup`,
/// `defaultMetadata`, `overrideMetadata`, `defaultRuleSet`, `overrideRuleSet` and `normalize`.
struct RegistryConfig: Hashable, Sendable {
    var compatibilityLevel: CompatibilityLevel?
    var compatibilityGroup: String?
    var normalize: Bool?
    var defaultMetadata: JSONValue?
    var overrideMetadata: JSONValue?
    var defaultRuleSet: JSONValue?
    var overrideRuleSet: JSONValue?

    static let names = ["compatibilityGroup", "defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet"]

    var isEmpty: Bool { self == RegistryConfig() }

    /// The members of its JSON form (`_schemas` CONFIG value and GET /config), in Confluent's order.
    func members(levelName: String) -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        if let normalize { members.append(("normalize", .bool(normalize))) }
        if let compatibilityLevel { members.append((levelName, .string(compatibilityLevel.rawValue))) }
        if let compatibilityGroup { members.append(("compatibilityGroup", .string(compatibilityGroup))) }
        if let defaultMetadata { members.append(("defaultMetadata", defaultMetadata)) }
        if let overrideMetadata { members.append(("overrideMetadata", overrideMetadata)) }
        if let defaultRuleSet { members.append(("defaultRuleSet", defaultRuleSet)) }
        if let overrideRuleSet { members.append(("overrideRuleSet", overrideRuleSet)) }
        return members
    }

    /// Reads a config from JSON (`compatibility` or `compatibilityLevel` for the level); nil where a member is
    /// absent. Invalid values are refused.
    init(json: JSONValue) throws(RegistryError) {
        let levelText = json["compatibility"]?.stringValue ?? json["compatibilityLevel"]?.stringValue
        if let levelText {
            guard let level = CompatibilityLevel(rawValue: levelText.uppercased()) else { throw .invalidCompatibilityLevel(levelText) }
            compatibilityLevel = level
        }
        compatibilityGroup = json["compatibilityGroup"]?.stringValue
        normalize = json["normalize"]?.boolValue
        defaultMetadata = try DataContracts.metadata(json["defaultMetadata"])
        overrideMetadata = try DataContracts.metadata(json["overrideMetadata"])
        defaultRuleSet = try DataContracts.ruleSet(json["defaultRuleSet"])
        overrideRuleSet = try DataContracts.ruleSet(json["overrideRuleSet"])
    }

    init(compatibilityLevel: CompatibilityLevel? = nil) {
        self.compatibilityLevel = compatibilityLevel
    }

    /// This config with the members `update` gives replacing its own.
    func updated(by update: RegistryConfig) -> RegistryConfig {
        var result = self
        if let level = update.compatibilityLevel { result.compatibilityLevel = level }
        if let group = update.compatibilityGroup { result.compatibilityGroup = group }
        if let normalize = update.normalize { result.normalize = normalize }
        if let metadata = update.defaultMetadata { result.defaultMetadata = metadata }
        if let metadata = update.overrideMetadata { result.overrideMetadata = metadata }
        if let ruleSet = update.defaultRuleSet { result.defaultRuleSet = ruleSet }
        if let ruleSet = update.overrideRuleSet { result.overrideRuleSet = ruleSet }
        return result
    }
}

extension ParsedSchema {
    /// The names of the fields at the top of a schema, which `confluent:reserved` applies to: an AVRO record's
    /// fields, the first PROTOBUF message's, a JSON Schema's `properties`.
    var topLevelFieldNames: Set<String> {
        switch self {
        case let .avro(schema): return schema.topLevelFieldNames
        case let .protobuf(schema): return Set(schema.messages.first?.fields.map(\.name) ?? [])
        case let .json(document): return Set(document.root["properties"]?.objectValue?.map(\.0) ?? [])
        }
    }
}

extension AvroSchema {
    /// The fields of the record at the root (none for other schemas).
    var topLevelFieldNames: Set<String> {
        guard case let .named(name) = root, case let .record(fields)? = namedTypes[name]?.kind else { return [] }
        return Set(fields.map(\.name))
    }
}

/// A version's data contract: its `metadata` and `ruleSet`, either possibly absent.
struct DataContract: Hashable, Sendable {
    var metadata: JSONValue?
    var ruleSet: JSONValue?

    init(metadata: JSONValue? = nil, ruleSet: JSONValue? = nil) {
        self.metadata = metadata
        self.ruleSet = ruleSet
    }

    /// Its part of a schema's identity (`DataContracts.contractKey`).
    var key: String { DataContracts.contractKey(metadata: metadata, ruleSet: ruleSet) }
}

extension SchemaStoreValue {
    var contract: DataContract { DataContract(metadata: metadata, ruleSet: ruleSet) }
}

extension StoredSchema {
    var contract: DataContract { DataContract(metadata: metadata, ruleSet: ruleSet) }
}
