import Hummingbird
import Logging
import NIOConcurrencyHelpers
import SchemaRegistry
import VltavaClient

/// The levels of the worker's loggers, as `/admin/loggers` shows and sets them. Loggers are named by their
/// swift-log labels; `root` is the level every other one starts from. A level set here applies to the tasks
/// started afterwards (their loggers are made with it); running code keeps the level it was made with.
public final class LoggerLevels: Sendable {
    private let levels: NIOLockedValueBox<[String: (level: Logger.Level, lastModified: Int64?)]>

    public init(root: Logger.Level, known: [String] = []) {
        var levels: [String: (level: Logger.Level, lastModified: Int64?)] = ["root": (root, nil)]
        for name in known { levels[name] = (root, nil) }
        self.levels = NIOLockedValueBox(levels)
    }

    /// The level of a logger: its own, else the nearest dotted ancestor's, else root's.
    public func level(of name: String) -> Logger.Level {
        levels.withLockedValue { levels in
            var candidate = Substring(name)
            while true {
                if let found = levels[String(candidate)] { return found.level }
                guard let dot = candidate.lastIndex(of: ".") else { break }
                candidate = candidate[..<dot]
            }
            return levels["root"]?.level ?? .info
        }
    }

    /// Sets a logger's level and its descendants'; returns the names changed, sorted.
    public func set(_ name: String, _ level: Logger.Level) -> [String] {
        let now = WallClock.milliseconds()
        return levels.withLockedValue { levels in
            var changed = [name]
            levels[name] = (level, now)
            for key in levels.keys where key != name && (name == "root" || key.hasPrefix(name + ".")) {
                levels[key] = (level, now)
                changed.append(key)
            }
            return changed.sorted()
        }
    }

    var all: [(name: String, level: Logger.Level, lastModified: Int64?)] {
        levels.withLockedValue { $0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value.level, $0.value.lastModified) }
    }

    /// log4j's level names.
    static func log4jName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "TRACE"
        case .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARN"
        case .error: return "ERROR"
        case .critical: return "FATAL"
        }
    }

    static func level(log4jName name: String) -> Logger.Level? {
        switch name.uppercased() {
        case "TRACE", "ALL": return .trace
        case "DEBUG": return .debug
        case "INFO": return .info
        case "WARN": return .warning
        case "ERROR": return .error
        case "FATAL", "OFF": return .critical
        default: return nil
        }
    }
}

/// Facts `GET /` reports.
public struct ConnectClusterInfo: Sendable {
    public var version: String
    public var commit: String
    /// The Kafka cluster's id, looked up when first asked.
    public var clusterId: @Sendable () async -> String?

    public init(version: String, commit: String, clusterId: @escaping @Sendable () async -> String?) {
        self.version = version
        self.commit = commit
        self.clusterId = clusterId
    }
}

/// `GET /`, `GET /health` (KIP-1017) and `/admin/loggers`.
extension ConnectRoutes {
    func addAdminRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in
            let clusterId = await cluster.clusterId()
            return Self.response(.ok(.object([
                ("version", .string(cluster.version)), ("commit", .string(cluster.commit)), ("kafka_cluster_id", .string(clusterId)),
            ])))
        }
        router.get("/health") { _, _ in
            if await herder.isReady {
                return Self.response(.ok(.object([
                    ("status", .string("healthy")),
                    ("message", .string("Worker has completed startup and is ready to handle requests.")),
                ])))
            }
            return Self.response(Answer(status: 503, body: .object([
                ("status", .string("starting")), ("message", .string("Worker is still starting up.")),
            ])))
        }
        router.get("/admin/loggers") { _, _ in
            Self.response(.ok(.object(loggers.all.map { entry in
                var members: [(String, JSONValue)] = [("level", .string(LoggerLevels.log4jName(entry.level)))]
                if let modified = entry.lastModified { members.append(("last_modified", .integer(modified))) }
                return (entry.name, .object(members))
            })))
        }
        router.get("/admin/loggers/:logger") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "logger")
                return .ok(.object([("level", .string(LoggerLevels.log4jName(loggers.level(of: name))))]))
            }
        }
        router.put("/admin/loggers/:logger") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "logger")
                let body = try await Self.body(request)
                guard let text = body["level"]?.stringValue else { throw ConnectRestError(400, "Desired 'level' parameter was not specified in request.") }
                guard let level = LoggerLevels.level(log4jName: text) else { throw ConnectRestError(404, "invalid log level '\(text)'.") }
                let changed = loggers.set(name, level)
                if request.uri.queryParameters["scope"]?.lowercased() == "cluster" { return Answer(status: 204) }
                return .ok(.array(changed.map { .string($0) }))
            }
        }
    }
}
