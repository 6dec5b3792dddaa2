/// Kafka's `ReplaceField$Key`/`$Value`: keeps (`include`), drops (`exclude`, which wins) and renames (`renames`,
/// `old:new` pairs) fields. The names before KIP-629, `whitelist` and `blacklist`, are read when the new ones are
/// absent, as Kafka's `ConfigUtils.translateDeprecatedConfigs` does.
public struct ReplaceField: Transformation {
    static let purpose = "field replacement"
    public let side: RecordSide
    private var exclude: Set<String> = []
    private var include: Set<String> = []
    private var renames: [String: String] = [:]
    private var reverseRenames: [String: String] = [:]
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        var configs = configs
        for (current, deprecated) in [("include", "whitelist"), ("exclude", "blacklist")] {
            if let old = configs.removeValue(forKey: deprecated), configs[current] == nil { configs[current] = old }
        }
        let config = TransformConfig(configs)
        exclude = Set(try config.list("exclude", default: []))
        include = Set(try config.list("include", default: []))
        renames = try Self.parseRenameMappings(try config.list("renames", default: []))
        reverseRenames = Dictionary(renames.map { ($0.value, $0.key) }, uniquingKeysWith: { _, last in last })
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    static func parseRenameMappings(_ mappings: [String]) throws(ConnectError) -> [String: String] {
        var result: [String: String] = [:]
        for mapping in mappings {
            let parts = mapping.javaSplit(":")
            guard parts.count == 2 else { throw .config(name: "renames", message: "Invalid rename mapping: \(mapping)") }
            result[parts[0]] = parts[1]
        }
        return result
    }

    func keeps(_ name: String) -> Bool { !exclude.contains(name) && (include.isEmpty || include.contains(name)) }
    func renamed(_ name: String) -> String { renames[name] ?? name }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        if value.isNull { return record }
        guard record.schema(of: side) != nil else {
            let map = try Requirements.requireMap(value, purpose: Self.purpose)
            var updated: [ConnectMapEntry] = []
            for entry in map {
                guard case let .string(name) = entry.key, keeps(name) else { continue }
                updated.put(renamed(name), entry.value)
            }
            return record.replacing(side, schema: nil, value: .map(updated))
        }
        let original = try Requirements.requireStruct(value, purpose: Self.purpose)
        let updated = try cache.schema(for: original.schema) { () throws(ConnectError) in
            original.schema.structWithBasics(fields: original.schema.fields.filter { keeps($0.name) }.map { (renamed($0.name), $0.schema) })
        }
        let values = updated.fields.map {
            original.value(named: reverseRenames[$0.name] ?? $0.name, replaceNullWithDefault: replaceNullWithDefault) ?? .null
        }
        return record.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: values)))
    }
}

extension String {
    /// Java's `String.split` with a literal one-character separator: trailing empty parts are dropped.
    func javaSplit(_ separator: Character) -> [String] {
        var parts = split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        while parts.count > 1, parts.last?.isEmpty == true { parts.removeLast() }
        if parts == [""] { return [""] }
        return parts
    }
}
