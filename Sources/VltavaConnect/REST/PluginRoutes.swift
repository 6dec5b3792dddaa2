import Hummingbird
import SchemaRegistry

/// `/connector-plugins`: the plugins built in, their config definitions, config validation.
extension ConnectRoutes {
    /// The version Kafka's plugins report for the classes that ship with Kafka.
    static let kafkaPluginVersion = "3.9.1"

    func addPluginRoutes(to router: Router<BasicRequestContext>) {
        router.get("/connector-plugins") { request, _ in
            let connectorsOnly = request.uri.queryParameters["connectorsOnly"].map { $0.lowercased() != "false" } ?? true
            return Self.response(.ok(.array(Self.plugins(connectorsOnly: connectorsOnly))))
        }
        router.get("/connector-plugins/:plugin/config") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                .ok(ConnectorValidation.pluginDefinitionsJSON(try Self.plugin(context)))
            }
        }
        router.put("/connector-plugins/:plugin/config/validate") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let plugin = try Self.plugin(context)
                let config = try Self.strictConfig(try await Self.body(request), what: "The connector configuration")
                if let included = config["connector.class"], (try? ConnectorPlugins.named(included))?.className != plugin.className {
                    throw ConnectRestError(400, "Included connector type \(included) does not match request type \(try Self.parameter(context, "plugin"))")
                }
                return .ok(try await ConnectorValidation.blocking(plugin: plugin, config: config).json)
            }
        }
    }

    private static func plugin(_ context: BasicRequestContext) throws(ConnectRestError) -> ConnectorPlugin {
        let name = try parameter(context, "plugin")
        do {
            return try ConnectorPlugins.named(name)
        } catch {
            throw ConnectRestError(404, "Unknown plugin \(name).")
        }
    }

    /// Kafka's `PluginInfo` list: connectors, and with `connectorsOnly=false` converters, header converters,
    /// transformations and predicates.
    static func plugins(connectorsOnly: Bool) -> [JSONValue] {
        func entry(_ className: String, _ type: String, _ version: String) -> JSONValue {
            .object([("class", .string(className)), ("type", .string(type)), ("version", .string(version))])
        }
        var result = ConnectorPlugins.all.sorted { $0.className < $1.className }.map { entry($0.className, $0.type.rawValue, $0.version) }
        guard !connectorsOnly else { return result }
        result += ConverterRegistry.classNames.map { entry($0, "converter", kafkaPluginVersion) }
        let headerConverters = (ConverterRegistry.classNames + ["org.apache.kafka.connect.storage.SimpleHeaderConverter"]).sorted()
        result += headerConverters.map { entry($0, "header_converter", kafkaPluginVersion) }
        result += TransformationRegistry.kafka.transformations.keys.sorted().map { entry($0, "transformation", kafkaPluginVersion) }
        result += TransformationRegistry.kafka.predicates.keys.sorted().map { entry($0, "predicate", kafkaPluginVersion) }
        return result
    }
}
