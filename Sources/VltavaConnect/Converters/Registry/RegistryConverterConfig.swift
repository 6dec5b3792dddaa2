import NIOSSL
import VltavaSecurity

/// The configuration Confluent's registry converters share (`AbstractKafkaSchemaSerDeConfig`): where the registry
/// is, how to authenticate, which subject a record's schema goes under, and whether to register schemas.
struct RegistryConverterConfig: Sendable {
    static let urlConfig = "schema.registry.url"
    static let autoRegisterConfig = "auto.register.schemas"
    static let useLatestVersionConfig = "use.latest.version"
    static let latestCompatibilityStrictConfig = "latest.compatibility.strict"
    static let latestCacheTTLConfig = "latest.cache.ttl.sec"
    static let normalizeConfig = "normalize.schemas"
    static let keyStrategyConfig = "key.subject.name.strategy"
    static let valueStrategyConfig = "value.subject.name.strategy"
    static let credentialsSourceConfig = "basic.auth.credentials.source"
    static let userInfoConfig = "basic.auth.user.info"
    static let cacheSizeConfig = "schemas.cache.config"
    static let maxSchemasPerSubjectConfig = "max.schemas.per.subject"
    static let connectTimeoutConfig = "http.connect.timeout.ms"
    static let readTimeoutConfig = "http.read.timeout.ms"

    var urls: [String] = []
    var autoRegister = true
    var useLatestVersion = false
    var latestCompatibilityStrict = true
    var latestCacheTTL: Duration?
    var normalize = false
    var subjectStrategy = SubjectNameStrategy.topicName
    /// The subject written under whatever the strategy says (set by `RegistryJSONSerializer`, which writes with a
    /// subject the user chose; no property sets it).
    var writerSubject: String?
    var cacheSize: Int32 = 1000
    var client: any SchemaRegistryClient = InMemorySchemaRegistryClient()

    /// Reads the configuration; `client`, when given, is used instead of one made from `schema.registry.url`
    /// (Confluent's converters take a client in a constructor for tests).
    init(_ configs: [String: String], isKey: Bool, client: (any SchemaRegistryClient)?) throws(ConnectError) {
        autoRegister = try ConverterConfig.boolean(configs, Self.autoRegisterConfig, default: true)
        useLatestVersion = try ConverterConfig.boolean(configs, Self.useLatestVersionConfig, default: false)
        latestCompatibilityStrict = try ConverterConfig.boolean(configs, Self.latestCompatibilityStrictConfig, default: true)
        normalize = try ConverterConfig.boolean(configs, Self.normalizeConfig, default: false)
        let ttl = try ConverterConfig.int(configs, Self.latestCacheTTLConfig, default: -1)
        latestCacheTTL = ttl >= 0 ? .seconds(Int64(ttl)) : nil
        cacheSize = try ConverterConfig.int(configs, Self.cacheSizeConfig, default: 1000)
        let maxSchemas = try ConverterConfig.int(configs, Self.maxSchemasPerSubjectConfig, default: 1000)
        let strategyConfig = isKey ? Self.keyStrategyConfig : Self.valueStrategyConfig
        if let name = configs[strategyConfig] {
            guard let strategy = SubjectNameStrategy(className: String(name.trimmingSpaces)) else {
                throw .config(name: strategyConfig, message: "\(name): Class \(name) could not be found. Supported: "
                              + SubjectNameStrategy.allCases.map(\.className).joined(separator: ", "))
            }
            subjectStrategy = strategy
        }

        urls = (configs[Self.urlConfig] ?? "").split(separator: ",").map { String(String($0).trimmingSpaces) }.filter { !$0.isEmpty }
        let registry: any SchemaRegistryClient
        if let client {
            registry = client
        } else if let mock = urls.first(where: { $0.lowercased().hasPrefix("mock://") }) {
            registry = InMemorySchemaRegistryClient.scope(String(mock.dropFirst("mock://".count)))
        } else {
            guard !urls.isEmpty else {
                throw .config(name: Self.urlConfig, message: "Missing required configuration \"\(Self.urlConfig)\" which has no default value.")
            }
            let source = (configs[Self.credentialsSourceConfig] ?? "URL").trimmingSpaces.uppercased()
            var userInfo: String?
            switch source {
            case "URL": break
            case "USER_INFO":
                guard let info = configs[Self.userInfoConfig] ?? configs["schema.registry." + Self.userInfoConfig], info.contains(":") else {
                    throw .config(name: Self.userInfoConfig,
                                  message: "basic.auth.credentials.source=USER_INFO needs basic.auth.user.info as user:password")
                }
                userInfo = info
            default:
                throw .config(name: Self.credentialsSourceConfig, message: "\(source): only URL and USER_INFO are supported")
            }
            let connectTimeout = try ConverterConfig.int(configs, Self.connectTimeoutConfig, default: 60000)
            let readTimeout = try ConverterConfig.int(configs, Self.readTimeoutConfig, default: 60000)
            // Confluent's `schema.registry.ssl.*` (truststore, keystore, protocols) for https registries.
            var tls: NIOSSLContext?
            let ssl = configs.filter { $0.key.hasPrefix("schema.registry.ssl.") }
            if !ssl.isEmpty, urls.contains(where: { $0.lowercased().hasPrefix("https://") }) {
                var properties: [String: String] = [:]
                for (key, value) in ssl { properties[String(key.dropFirst("schema.registry.".count))] = value }
                do {
                    tls = try ClientSecurity.tlsContext(properties: properties)
                } catch {
                    throw .config(name: "schema.registry.ssl.truststore.location", message: error.description)
                }
            }
            registry = try HTTPSchemaRegistryClient(urls: urls, userInfo: userInfo, userInfoFromURL: source == "URL",
                                                    connectTimeout: .milliseconds(Int64(max(1, connectTimeout))),
                                                    requestTimeout: .milliseconds(Int64(max(1, readTimeout))), tls: tls)
        }
        self.client = CachedSchemaRegistryClient(registry, capacity: Int(max(1, maxSchemas)), latestTTL: latestCacheTTL)
    }

    init() {}
}

/// Which subject a record's schema is registered under (Confluent's `SubjectNameStrategy` classes).
enum SubjectNameStrategy: String, Sendable, CaseIterable {
    /// `<topic>-key` or `<topic>-value` (the default).
    case topicName = "TopicNameStrategy"
    /// The record's full name.
    case recordName = "RecordNameStrategy"
    /// `<topic>-<record full name>`.
    case topicRecordName = "TopicRecordNameStrategy"

    static let package = "io.confluent.kafka.serializers.subject."

    var className: String { Self.package + rawValue }

    init?(className: String) {
        let simple = className.hasPrefix(Self.package) ? String(className.dropFirst(Self.package.count)) : className
        self.init(rawValue: simple)
    }

    /// The subject; `recordName` is the schema's name (a record's full name; for other Avro types the type's name).
    func subject(topic: String, isKey: Bool, recordName: String) -> String {
        switch self {
        case .topicName: return topic + (isKey ? "-key" : "-value")
        case .recordName: return recordName
        case .topicRecordName: return topic + "-" + recordName
        }
    }
}

/// Confluent's wire format: a zero magic byte, the schema id as a 4-byte big-endian integer, then the payload.
enum ConfluentWireFormat {
    static let magicByte: UInt8 = 0
    static let headerSize = 5

    static func header(schemaId: Int32) -> [UInt8] {
        let id = UInt32(bitPattern: schemaId)
        return [magicByte, UInt8(id >> 24), UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 8), UInt8(truncatingIfNeeded: id)]
    }

    /// The schema id of framed bytes; the payload starts at `headerSize`.
    static func schemaId(of bytes: [UInt8]) throws(ConnectError) -> Int32 {
        guard let first = bytes.first, first == magicByte else {
            throw .data("Unknown magic byte! The record does not start with Confluent's magic byte 0 (it starts with "
                        + (bytes.first.map { String(format2Hex: $0) } ?? "nothing") + "); it was not written by a schema-registry serializer")
        }
        guard bytes.count >= headerSize else {
            throw .data("The record has \(bytes.count) bytes, fewer than the 5 of Confluent's header (magic byte and schema id)")
        }
        return Int32(bitPattern: UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4]))
    }
}

extension String {
    init(format2Hex byte: UInt8) {
        let hex = String(byte, radix: 16)
        self = "0x" + (hex.count == 1 ? "0" : "") + hex
    }
}
