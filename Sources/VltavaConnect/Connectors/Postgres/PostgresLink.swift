import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import VltavaHTTP
import VltavaSecurity

/// Where and how to reach PostgreSQL, from a JDBC URL (`jdbc:postgresql://host:port/db?user=..&sslmode=..`) and the
/// connectors' `connection.user`/`connection.password`, as pgjdbc reads them.
public struct PostgresSettings: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    public var password: String?
    /// pgjdbc's `sslmode`: disable, allow, prefer (pgjdbc's default), require, verify-ca, verify-full.
    public var sslMode: String
    public var sslRootCertificate: String?

    public init(host: String, port: Int = 5432, database: String, user: String, password: String?,
                sslMode: String = "prefer", sslRootCertificate: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
    }

    static let sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    /// Reads a pgjdbc URL; `user` and `password` override the URL's parameters when given (Confluent's
    /// `connection.user` and `connection.password`). Only the first of several hosts is used.
    public init(jdbcURL url: String, user: String?, password: String?, configName: String = "connection.url") throws(ConnectError) {
        let prefix = "jdbc:postgresql:"
        guard url.hasPrefix(prefix) else {
            throw .config(name: configName, message: "\(url) is not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)")
        }
        var rest = Substring(url.dropFirst(prefix.count))
        var parameters: [String: String] = [:]
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard let name = parts.first else { continue }
                parameters[HTTPEndpoint.percentDecoded(name)] = parts.count > 1 ? HTTPEndpoint.percentDecoded(parts[1]) : ""
            }
            rest = rest[..<question]
        }
        var host = "localhost", port = 5432
        var database: Substring
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let firstHost = rest[..<slash].split(separator: ",").first ?? ""
            database = slash < rest.endIndex ? rest[rest.index(after: slash)...] : ""
            if firstHost.hasPrefix("[") , let close = firstHost.firstIndex(of: "]") {
                host = String(firstHost[firstHost.index(after: firstHost.startIndex)..<close])
                let after = firstHost[firstHost.index(after: close)...]
                if after.hasPrefix(":") { port = try Self.port(after.dropFirst(), url: url, configName: configName) }
            } else if let colon = firstHost.lastIndex(of: ":") {
                host = String(firstHost[..<colon])
                port = try Self.port(firstHost[firstHost.index(after: colon)...], url: url, configName: configName)
            } else if !firstHost.isEmpty {
                host = String(firstHost)
            }
        } else {
            database = rest
        }
        let name = HTTPEndpoint.percentDecoded(database)
        let user = user.flatMap { $0.isEmpty ? nil : $0 } ?? parameters["user"]
        guard let user, !user.isEmpty else {
            throw .config(name: "connection.user", message: "No PostgreSQL user: set connection.user or user= in \(configName)")
        }
        let sslMode = parameters["sslmode"] ?? (parameters["ssl"] == "true" ? "verify-full" : "prefer")
        guard Self.sslModes.contains(sslMode) else {
            throw .config(name: configName, message: "Unknown sslmode \(sslMode); expected one of \(Self.sslModes.joined(separator: ", "))")
        }
        self.init(host: host, port: port, database: name.isEmpty ? user : name, user: user,
                  password: password.flatMap { $0.isEmpty ? nil : $0 } ?? parameters["password"],
                  sslMode: sslMode, sslRootCertificate: parameters["sslrootcert"])
    }

    private static func port(_ text: Substring, url: String, configName: String) throws(ConnectError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw .config(name: configName, message: "\(url) has an invalid port \(text)")
        }
        return port
    }

    /// `host:port/database`, for messages.
    public var target: String { "\(host):\(port)/\(database)" }

    func tls() throws(ConnectError) -> PostgresConnection.Configuration.TLS {
        guard let context = try sslContext() else { return .disable }
        return requiresTLS ? .require(context) : .prefer(context)
    }

    /// Whether the connection fails when the server does not accept TLS.
    var requiresTLS: Bool { !["disable", "allow", "prefer"].contains(sslMode) }

    /// The TLS set-up `sslmode` asks for, nil when disabled.
    func sslContext() throws(ConnectError) -> NIOSSLContext? {
        if sslMode == "disable" { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "verify-full": break
        case "verify-ca": configuration.certificateVerification = .noHostnameVerification
        default: configuration.certificateVerification = .none
        }
        if let root = sslRootCertificate { configuration.trustRoots = .file(root) }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .failed("cannot set up TLS for PostgreSQL at \(target): \(NetworkFailure.describe(error))")
        }
    }
}

/// The rows of a query: the columns' names and type OIDs, and each row's cells (nil for SQL NULL), in binary format
/// unless the column's `formats` entry says text.
struct PostgresResult: Sendable {
    var columns: [String] = []
    var types: [UInt32] = []
    var rows: [[ByteBuffer?]] = []
}

/// One PostgreSQL connection used from a connector task's blocking thread: each call waits for postgres-nio's
/// asynchronous answer. Failures become `ConnectError.failed` with PostgreSQL's own message and SQLSTATE, or the
/// connection failure in plain words.
final class PostgresLink: @unchecked Sendable {
    let settings: PostgresSettings
    private let connection: PostgresConnection
    private let logger: Logger
    private static let connectionIds = NIOLockedValueBox(0)

    private init(settings: PostgresSettings, connection: PostgresConnection, logger: Logger) {
        self.settings = settings
        self.connection = connection
        self.logger = logger
    }

    /// Connects and sets the session's time zone (timestamps without a zone are read and written in it).
    static func open(_ settings: PostgresSettings, timeZone: String = "UTC", logger: Logger) throws(ConnectError) -> PostgresLink {
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password,
            database: settings.database, tls: try settings.tls())
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("TimeZone", timeZone), ("DateStyle", "ISO"),
                                                             ("application_name", "vltava-connect")]
        let id = connectionIds.withLockedValue { value in
            value += 1
            return value
        }
        let connection: PostgresConnection
        let finalConfiguration = configuration
        do {
            connection = try AsyncWait.result {
                try await PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(),
                                                     configuration: finalConfiguration, id: id, logger: logger)
            }
        } catch {
            throw .failed("cannot connect to PostgreSQL at \(settings.target): \(describe(error))")
        }
        return PostgresLink(settings: settings, connection: connection, logger: logger)
    }

    /// Runs a query and gathers its rows.
    func query(_ query: PostgresQuery) throws(ConnectError) -> PostgresResult {
        let connection = self.connection, logger = self.logger
        do {
            return try AsyncWait.result {
                let rows = try await connection.query(query, logger: logger)
                var result = PostgresResult()
                for try await row in rows {
                    if result.columns.isEmpty && result.rows.isEmpty {
                        for cell in row {
                            result.columns.append(cell.columnName)
                            result.types.append(cell.dataType.rawValue)
                        }
                    }
                    var cells: [ByteBuffer?] = []
                    cells.reserveCapacity(result.columns.count)
                    for cell in row { cells.append(cell.bytes) }
                    result.rows.append(cells)
                }
                return result
            }
        } catch {
            throw .failed("PostgreSQL at \(settings.target): \(Self.describe(error))")
        }
    }

    /// Runs a statement whose rows, if any, are not needed.
    func execute(_ sql: String, _ bindings: PostgresBindings = PostgresBindings()) throws(ConnectError) {
        _ = try query(PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    func close() {
        let connection = self.connection
        _ = try? AsyncWait.result { try await connection.close() }
    }

    /// A link dropped unclosed (a task abandoned by its worker) closes its connection: postgres-nio requires it, and
    /// the server would otherwise keep the session.
    deinit {
        guard !connection.isClosed, !connection.eventLoop.inEventLoop else { return }
        try? connection.close().wait()
    }

    /// PostgreSQL's message, detail and SQLSTATE for a server error; otherwise the failure in plain words.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return NetworkFailure.describe(error) }
        if error.code == .server, let info = error.serverInfo {
            var text = info[.message] ?? "error"
            if let detail = info[.detail] { text += " (\(detail))" }
            if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
            return text
        }
        if let underlying = error.underlying { return NetworkFailure.describe(underlying) }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection: return "the connection was closed"
        case .sslUnsupported: return "the server does not accept TLS (set sslmode=disable or prefer)"
        case .authMechanismRequiresPassword: return "the server asks for a password and none was given"
        case .tooManyParameters: return "a statement has more than 65535 parameters"
        default: return "\(error.code)"
        }
    }

    /// Whether a failure lost the connection (a new one may succeed), as opposed to a statement the server refused.
    static func isConnectionLoss(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        return error.code != .server
    }
}

/// Waits on a blocking thread (the worker's blocking pool, where connectors and their tasks are called) for
/// asynchronous work done on Swift's concurrency threads. Never called from one of those: waiting there could take
/// the last thread the work needs.
enum AsyncWait {
    static func result<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = NIOLockedValueBox<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLockedValue { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLockedValue({ $0 }) else { throw CancellationError() }
        return try result.get()
    }
}
