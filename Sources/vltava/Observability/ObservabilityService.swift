import Hummingbird
import KafkaProtocol
import Logging
import ServiceLifecycle
import VltavaConsole
import VltavaMetrics

/// The console/metrics HTTP listener of `vltava serve` (`--console-listeners`, 8080 by default) or the
/// metrics-only one (`--metrics-listeners`): health and `/metrics`. It starts before the logs are recovered, so
/// that `/readyz` can say the broker is not ready yet. A port that cannot be bound is logged and leaves the
/// broker running, as the registry and Connect do.
struct ObservabilityService: Service {
    let name: String
    let host: String
    let port: Int
    /// Health and metrics; nil for `vltava console`, which serves only the console.
    let routes: ObservabilityRoutes?
    /// The web console on this listener, if any (the metrics-only listener has none).
    var console: Console?
    let logger: Logger
    /// Whether a listener that cannot serve (its port taken) ends the process: yes for `vltava console`, no beside
    /// the broker.
    var failureIsFatal = false

    func run() async throws {
        let router = Router()
        routes?.add(to: router)
        console?.addRoutes(to: router)
        let sampler = Task { [console] in await console?.runSampler() }
        defer { sampler.cancel() }
        let (name, logger, address) = (self.name, self.logger, "http://\(host):\(port)")
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "vltava"),
            onServerRunning: { _ in logger.info("\(name) listening", metadata: ["address": "\(address)"]) },
            logger: logger)
        do {
            try await application.run()
        } catch {
            logger.error("\(name) not serving \(address): \(error)")
            if failureIsFatal { throw error }
        }
    }

    /// Parses a listener option: `http://host:port` (the first of several separated by commas), nil for `none`.
    static func listener(_ text: String, option: String) throws -> (host: String, port: Int)? {
        let trimmed = text.trimmedWhitespace
        guard !["", "none", "off", "false"].contains(trimmed.lowercased()) else { return nil }
        let first = trimmed.split(separator: ",").first.map(String.init) ?? trimmed
        var rest = Substring(first)
        if let scheme = rest.range(of: "://") {
            guard rest[..<scheme.lowerBound].lowercased() == "http" else {
                throw ListenerError(message: "\(option) must be http://host:port or none, not '\(text)'")
            }
            rest = rest[scheme.upperBound...]
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw ListenerError(message: "\(option) must be http://host:port or none, not '\(text)'")
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    struct ListenerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
