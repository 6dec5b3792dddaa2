import Hummingbird
import Logging
import Mustache
import NIOCore
import VltavaClient

/// Where the console finds what it shows: the Kafka cluster (through the wire protocol, as any client), the schema
/// registry and the Connect worker (through their REST APIs), and who may use it.
public struct ConsoleConfiguration: Sendable {
    /// The Kafka client the pages use; its bootstrap servers name the cluster.
    public var kafka: KafkaClient
    /// The schema registry's URL (`http://127.0.0.1:8081`), nil when there is none.
    public var registryURL: String?
    /// The Connect worker's REST URL (`http://127.0.0.1:8083`), nil when there is none.
    public var connectURL: String?
    /// Users allowed in (HTTP Basic); empty: no authentication.
    public var users: ConsoleUsers = ConsoleUsers()
    /// How often the history behind the charts is sampled.
    public var sampleInterval: Duration = .seconds(5)
    /// How many samples the history keeps (one hour at five seconds).
    public var historyLength = 720
    /// The most live tails open at once (each holds a fetch loop).
    public var maximumTails = 32
    /// The version shown on the overview.
    public var version = ""
    public var logger: Logger

    public init(kafka: KafkaClient, registryURL: String? = nil, connectURL: String? = nil, logger: Logger) {
        self.kafka = kafka
        self.registryURL = registryURL
        self.connectURL = connectURL
        self.logger = logger
    }
}

/// The web console: server-rendered pages for topics, messages, groups, schemas, connectors and security, every
/// action a form POST with a CSRF token, and a small script for live tail and chart refresh. It is a client of the
/// cluster like any other, so it shows any Kafka; `vltava serve` points it at its own broker.
public final class Console: Sendable {
    let configuration: ConsoleConfiguration
    let kafka: KafkaClient
    let templates: MustacheLibrary
    let csrf: CSRFTokens
    let history: ConsoleHistory
    let registry: RegistryBackend?
    let connect: ConnectBackend?
    let decoder: MessageDecoder
    let tails: TailLimiter
    var logger: Logger { configuration.logger }

    public init(configuration: ConsoleConfiguration) throws {
        self.configuration = configuration
        kafka = configuration.kafka
        templates = try ConsoleTemplates.library()
        csrf = CSRFTokens()
        history = ConsoleHistory(length: configuration.historyLength)
        registry = try configuration.registryURL.map { try RegistryBackend(url: $0) }
        connect = try configuration.connectURL.map { try ConnectBackend(url: $0) }
        decoder = MessageDecoder(registryURL: configuration.registryURL)
        tails = TailLimiter(maximum: configuration.maximumTails)
    }

    /// The console's routes, added beside the others of `router` (`/metrics`, `/livez` stay outside its
    /// authentication). Every page and form is listed here, in one table.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/favicon.svg") { _, _ in ConsoleAssets.response(ConsoleAssets.favicon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in ConsoleAssets.response(ConsoleAssets.favicon, type: "image/svg+xml") }
        router.get("/console/app.css") { _, _ in ConsoleAssets.response(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/console/app.js") { _, _ in ConsoleAssets.response(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        let pages = router.group().add(middleware: ConsoleAccess(users: configuration.users))
        pages.get("/") { request, _ in try await self.page(request) { try await self.overview($0) } }
        pages.get("/charts/overview.svg") { _, _ in self.overviewChart() }
        pages.post("/theme") { request, _ in try await self.setTheme(request) }

        pages.get("/topics") { request, _ in try await self.page(request) { try await self.topics($0) } }
        pages.post("/topics") { request, _ in try await self.action(request) { try await self.createTopic($0) } }
        pages.get("/topics/:topic") { request, context in
            try await self.page(request) { try await self.topic($0, name: try Self.parameter(context, "topic")) }
        }
        pages.post("/topics/:topic/configs") { request, context in
            try await self.action(request) { try await self.setTopicConfig($0, name: try Self.parameter(context, "topic")) }
        }
        pages.post("/topics/:topic/partitions") { request, context in
            try await self.action(request) { try await self.addPartitions($0, name: try Self.parameter(context, "topic")) }
        }
        pages.post("/topics/:topic/purge") { request, context in
            try await self.action(request) { try await self.purgeTopic($0, name: try Self.parameter(context, "topic")) }
        }
        pages.post("/topics/:topic/delete") { request, context in
            try await self.action(request) { try await self.deleteTopic($0, name: try Self.parameter(context, "topic")) }
        }
        pages.get("/topics/:topic/messages") { request, context in
            try await self.page(request) { try await self.messages($0, topic: try Self.parameter(context, "topic")) }
        }
        pages.get("/topics/:topic/messages.json") { request, context in
            try await self.exportMessages(request, topic: try Self.parameter(context, "topic"))
        }
        pages.get("/topics/:topic/tail") { request, context in
            try await self.tail(request, topic: try Self.parameter(context, "topic"))
        }
        pages.get("/topics/:topic/produce") { request, context in
            try await self.page(request) { try await self.produceForm($0, topic: try Self.parameter(context, "topic")) }
        }
        pages.post("/topics/:topic/produce") { request, context in
            try await self.action(request) { try await self.produce($0, topic: try Self.parameter(context, "topic")) }
        }

        pages.get("/groups") { request, _ in try await self.page(request) { try await self.groups($0) } }
        pages.get("/groups/:group") { request, context in
            try await self.page(request) { try await self.group($0, id: try Self.parameter(context, "group")) }
        }
        pages.get("/groups/:group/lag.svg") { _, context in self.lagChart(group: try Self.parameter(context, "group")) }
        pages.post("/groups/:group/reset") { request, context in
            try await self.action(request) { try await self.resetOffsets($0, group: try Self.parameter(context, "group")) }
        }
        pages.post("/groups/:group/delete") { request, context in
            try await self.action(request) { try await self.deleteGroup($0, group: try Self.parameter(context, "group")) }
        }

        pages.get("/schemas") { request, _ in try await self.page(request) { try await self.subjects($0) } }
        pages.post("/schemas") { request, _ in try await self.action(request) { try await self.registerSchema($0, subject: nil) } }
        pages.post("/schemas/config") { request, _ in try await self.action(request) { try await self.setGlobalCompatibility($0) } }
        pages.get("/schemas/:subject") { request, context in
            try await self.page(request) { try await self.subject($0, name: try Self.parameter(context, "subject")) }
        }
        pages.get("/schemas/:subject/diff") { request, context in
            try await self.page(request) { try await self.schemaDiff($0, subject: try Self.parameter(context, "subject")) }
        }
        pages.post("/schemas/:subject/config") { request, context in
            try await self.action(request) { try await self.setCompatibility($0, subject: try Self.parameter(context, "subject")) }
        }
        pages.post("/schemas/:subject/mode") { request, context in
            try await self.action(request) { try await self.setMode($0, subject: try Self.parameter(context, "subject")) }
        }
        pages.post("/schemas/:subject/versions") { request, context in
            try await self.action(request) { try await self.registerSchema($0, subject: try Self.parameter(context, "subject")) }
        }

        pages.get("/connectors") { request, _ in try await self.page(request) { try await self.connectors($0) } }
        pages.post("/connectors") { request, _ in try await self.action(request) { try await self.createConnector($0) } }
        pages.get("/connectors/:connector") { request, context in
            try await self.page(request) { try await self.connector($0, name: try Self.parameter(context, "connector")) }
        }
        pages.post("/connectors/:connector/:verb") { request, context in
            try await self.action(request) {
                try await self.connectorAction($0, name: try Self.parameter(context, "connector"), verb: try Self.parameter(context, "verb"))
            }
        }

        pages.get("/security") { request, _ in try await self.page(request) { try await self.security($0) } }
        pages.post("/security/acls") { request, _ in try await self.action(request) { try await self.createAcl($0) } }
        pages.post("/security/acls/delete") { request, _ in try await self.action(request) { try await self.deleteAcl($0) } }
        pages.post("/security/users") { request, _ in try await self.action(request) { try await self.upsertUser($0) } }
        pages.post("/security/users/delete") { request, _ in try await self.action(request) { try await self.deleteUser($0) } }
    }

    /// Samples the cluster for the charts until cancelled (a `ServiceLifecycle` service's run).
    public func runSampler() async {
        while !Task.isCancelled {
            await sample()
            try? await Task.sleep(for: configuration.sampleInterval)
        }
    }

    /// A route parameter, percent-decoded (topic names cannot hold `%`, subjects and connector names can).
    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        let raw = try context.parameters.require(name)
        return raw.contains("%") ? FormFields.percentDecoded(raw[...], plusIsSpace: false) : raw
    }
}
