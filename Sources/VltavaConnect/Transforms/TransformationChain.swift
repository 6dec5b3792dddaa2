/// The transformations of a connector, built from its config as Kafka's `ConnectorConfig.transformationStages`
/// reads it: `transforms=a,b`, `transforms.a.type=<class>`, the alias's other keys (prefix removed) for the
/// transformation, `transforms.a.predicate=p` and `transforms.a.negate=true`, `predicates=p`,
/// `predicates.p.type=<class>` and the predicate's keys.
public struct TransformationChain: Sendable {
    /// A transformation with the predicate that decides whether it applies (Kafka's `TransformationStage`).
    public struct Stage: Sendable {
        public let alias: String
        public let transformation: any Transformation
        public let predicate: (any Predicate)?
        public let negate: Bool

        /// The record transformed, or as it was when the predicate (negated or not) says no.
        public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
            if let predicate, negate == predicate.test(record) { return record }
            return try transformation.apply(record)
        }
    }

    public let stages: [Stage]

    public init(stages: [Stage]) {
        self.stages = stages
    }

    /// Reads the chain from a connector config, making classes with `registry`.
    public init(config: [String: String], registry: TransformationRegistry = .kafka) throws(ConnectError) {
        let aliases = try Self.aliases(config, "transforms")
        _ = try Self.aliases(config, "predicates")
        var stages: [Stage] = []
        for alias in aliases {
            let prefix = "transforms.\(alias)."
            let typeKey = prefix + "type"
            guard let className = config[typeKey]?.trimmingWhitespace() else { throw TransformConfig.missing(typeKey) }
            guard var transformation = registry.makeTransformation(className) else {
                throw .config(name: typeKey, message: "Class \(className) could not be found.")
            }
            var own = Self.withPrefix(config, prefix)
            let predicateAlias = own.removeValue(forKey: "predicate")?.trimmingWhitespace()
            let negateValue = own.removeValue(forKey: "negate")
            own.removeValue(forKey: "type")
            if negateValue != nil, predicateAlias == nil {
                throw .config(name: prefix + "negate", message: "Config '\(prefix)negate' was provided but there is no config '\(prefix)predicate' defining a predicate to be negated.")
            }
            try transformation.configure(own)
            var predicate: (any Predicate)?
            if let predicateAlias {
                let predicatePrefix = "predicates.\(predicateAlias)."
                let predicateTypeKey = predicatePrefix + "type"
                guard let predicateClass = config[predicateTypeKey]?.trimmingWhitespace() else {
                    throw TransformConfig.missing(predicateTypeKey)
                }
                guard var made = registry.makePredicate(predicateClass) else {
                    throw .config(name: predicateTypeKey, message: "Class \(predicateClass) could not be found.")
                }
                var predicateConfig = Self.withPrefix(config, predicatePrefix)
                predicateConfig.removeValue(forKey: "type")
                try made.configure(predicateConfig)
                predicate = made
            }
            let negate = negateValue.map { $0.trimmingWhitespace().lowercased() == "true" } ?? false
            stages.append(Stage(alias: alias, transformation: transformation, predicate: predicate, negate: negate))
        }
        self.stages = stages
    }

    /// The record after every stage, or nil as soon as one drops it.
    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        var current = record
        for stage in stages {
            guard let next = try stage.apply(current) else { return nil }
            current = next
        }
        return current
    }

    private static func aliases(_ config: [String: String], _ name: String) throws(ConnectError) -> [String] {
        let aliases = TransformConfig.parseList(config[name] ?? "")
        if Set(aliases).count != aliases.count { throw .config(name: name, message: "Duplicate alias provided.") }
        return aliases
    }

    private static func withPrefix(_ config: [String: String], _ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in config where key.hasPrefix(prefix) { result[String(key.dropFirst(prefix.count))] = value }
        return result
    }
}

/// The transformation and predicate classes a chain can name, by Kafka's full class name.
public struct TransformationRegistry: Sendable {
    public var transformations: [String: @Sendable () -> any Transformation]
    public var predicates: [String: @Sendable () -> any Predicate]

    public init(transformations: [String: @Sendable () -> any Transformation] = [:],
                predicates: [String: @Sendable () -> any Predicate] = [:]) {
        self.transformations = transformations
        self.predicates = predicates
    }

    func makeTransformation(_ className: String) -> (any Transformation)? { transformations[className]?() }
    func makePredicate(_ className: String) -> (any Predicate)? { predicates[className]?() }

    /// Kafka's own transformations and predicates.
    public static let kafka: TransformationRegistry = {
        let base = "org.apache.kafka.connect.transforms."
        var registry = TransformationRegistry()
        let sided: [(String, @Sendable (RecordSide) -> any Transformation)] = [
            ("Cast", { Cast($0) }), ("ExtractField", { ExtractField($0) }), ("Flatten", { Flatten($0) }),
            ("HeaderFrom", { HeaderFrom($0) }), ("HoistField", { HoistField($0) }), ("InsertField", { InsertField($0) }),
            ("MaskField", { MaskField($0) }), ("ReplaceField", { ReplaceField($0) }),
            ("SetSchemaMetadata", { SetSchemaMetadata($0) }), ("TimestampConverter", { TimestampConverter($0) }),
        ]
        for (name, make) in sided {
            for side in [RecordSide.key, .value] { registry.transformations["\(base)\(name)$\(side.rawValue)"] = { make(side) } }
        }
        registry.transformations[base + "DropHeaders"] = { DropHeaders() }
        registry.transformations[base + "Filter"] = { Filter() }
        registry.transformations[base + "InsertHeader"] = { InsertHeader() }
        registry.transformations[base + "RegexRouter"] = { RegexRouter() }
        registry.transformations[base + "TimestampRouter"] = { TimestampRouter() }
        registry.transformations[base + "ValueToKey"] = { ValueToKey() }
        registry.predicates[base + "predicates.TopicNameMatches"] = { TopicNameMatches() }
        registry.predicates[base + "predicates.HasHeaderKey"] = { HasHeaderKey() }
        registry.predicates[base + "predicates.RecordIsTombstone"] = { RecordIsTombstone() }
        return registry
    }()
}
