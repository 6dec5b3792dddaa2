import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import VltavaSecurity
import VltavaStorage

/// The Kafka listeners of a broker, and its background maintenance, as a service with a graceful shutdown.
public final class KafkaServer: Service, @unchecked Sendable {
    private let broker: Broker
    private let group: EventLoopGroup
    private let logger: Logger
    private var channels: [Channel] = []
    private let maintenancePool = NIOThreadPool(numberOfThreads: 1)
    private var maintenanceTasks: [RepeatedTask] = []

    /// Each listener's security, when the caller has already worked it out (checking the configuration); else it is
    /// worked out at start (a TLS context is made once either way).
    private let listenerSecurities: [String: ListenerSecurity]?

    public init(broker: Broker, group: EventLoopGroup, logger: Logger, listenerSecurities: [String: ListenerSecurity]? = nil) {
        self.broker = broker
        self.group = group
        self.logger = logger
        self.listenerSecurities = listenerSecurities
    }

    /// The bound addresses, by listener name (a port of 0 in the configuration is resolved here).
    public private(set) var boundAddresses: [(name: String, address: SocketAddress)] = []

    private enum Listening {
        case binding(waiters: [CheckedContinuation<Bool, Never>])
        case finished(bound: Bool)
    }

    private let listening = NIOLockedValueBox(Listening.binding(waiters: []))

    /// Waits until every listener is bound (true) or binding failed or the server stopped (false): what services
    /// beside the broker wait for before they start, so that their start-up work does not delay the broker's.
    public func waitUntilListening() async -> Bool {
        await withCheckedContinuation { continuation in
            let finished: Bool? = listening.withLockedValue { state in
                switch state {
                case let .binding(waiters):
                    state = .binding(waiters: waiters + [continuation])
                    return nil
                case let .finished(bound):
                    return bound
                }
            }
            if let finished { continuation.resume(returning: finished) }
        }
    }

    private func finishListening(bound: Bool) {
        let waiters = listening.withLockedValue { state -> [CheckedContinuation<Bool, Never>] in
            guard case let .binding(waiters) = state else { return [] }
            state = .finished(bound: bound)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: bound) }
    }

    /// Binds every broker listener and starts maintenance.
    public func start() async throws {
        do {
            try await bindAndStart()
            finishListening(bound: true)
        } catch {
            finishListening(bound: false)
            throw error
        }
    }

    private func bindAndStart() async throws {
        broker.requestHandlers?.start()
        let configuration = broker.configuration
        let quotas = ConnectionQuotas(
            maximum: configuration.maxConnections, perIp: configuration.maxConnectionsPerIp,
            overrides: configuration.maxConnectionsPerIpOverrides)
        let memory = RequestMemoryPool(limit: configuration.queuedMaxRequestBytes)
        let securities = try listenerSecurities ?? configuration.listenerSecurities()
        let metadata = broker.metadata
        for listener in configuration.brokerListeners {
            let security = securities[listener.name] ?? .plaintext
            let credentials = SaslCredentials(
                plainUsers: security.plainUsers,
                scramCredential: { user, mechanism in metadata.scramCredential(user: user, mechanism: mechanism) },
                oauthBearer: security.oauthBearer)
            let broker = self.broker
            let logger = self.logger
            let limits = configuration.connectionLimits
            let connections = broker.metrics.connectionMetrics(listener: listener.name)
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
                .childChannelInitializer { channel in
                    let host = channel.remoteAddress?.ipAddress ?? "unknown"
                    guard quotas.admit(host) else {
                        logger.info("refusing connection: too many connections", metadata: [
                            "client": "\(host)", "limit": "max.connections / max.connections.per.ip",
                        ])
                        return channel.close()
                    }
                    connections.accepted.increment()
                    connections.open.increment()
                    return channel.eventLoop.makeCompletedFuture {
                        if let tls = security.tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.settings.context))
                        }
                        try channel.pipeline.syncOperations.addHandler(KafkaConnectionHandler(
                            broker: broker, listenerName: listener.name, security: security, credentials: credentials,
                            limits: limits, memory: memory, logger: logger, onClose: {
                                quotas.release(host)
                                connections.open.decrement()
                            }))
                    }
                }
                .bind(host: listener.host.isEmpty ? "0.0.0.0" : listener.host, port: listener.port)
                .get()
            channels.append(channel)
            if let address = channel.localAddress {
                boundAddresses.append((listener.name, address))
            }
            logger.info("listening", metadata: [
                "listener": "\(listener.name)", "address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                "security": "\(security.securityProtocol.rawValue)\(security.mechanisms.isEmpty ? "" : " " + security.mechanisms.map(\.rawValue).joined(separator: ","))",
            ])
        }
        maintenancePool.start()
        let logs = broker.logs
        let pool = maintenancePool
        let loop = group.next()
        let groups = broker.groups
        let transactions = broker.transactions
        pool.submit { _ in
            groups.load()
            transactions.load(eventLoop: loop)
        }
        transactions.startTimers(on: loop)
        if let handlers = broker.requestHandlers {
            groups.startTimers(on: loop, offload: { job in handlers.submit { _ in job() } })
        } else {
            groups.startTimers(on: loop)
        }
        let interval = max(100, broker.configuration.retentionCheckIntervalMs)
        maintenanceTasks.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(interval), delay: .milliseconds(interval)) { _ in
            pool.submit { _ in logs.runMaintenance() }
        })
        maintenanceTasks.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            pool.submit { _ in logs.flushDueLogs() }
        })
        let jwksFiles = securities.values.compactMap(\.jwksFile)
        let jwksEndpoints = securities.values.compactMap(\.jwksEndpoint)
        let clock = Broker.wallClockMilliseconds
        for endpoint in jwksEndpoints { endpoint.tick(nowMs: clock()) }
        let tlsFiles = securities.sorted { $0.key < $1.key }.compactMap { name, security in security.tls.map { (name, $0) } }
        if !jwksFiles.isEmpty || !tlsFiles.isEmpty || !jwksEndpoints.isEmpty {
            let logger = self.logger
            maintenanceTasks.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                pool.submit { _ in
                    for endpoint in jwksEndpoints { endpoint.tick(nowMs: clock()) }
                    for (listener, tls) in tlsFiles { tls.reloadAndLog(logger: logger, listener: listener) }
                    for file in jwksFiles { file.reloadAndLog(logger: logger) }
                }
            })
        }
    }

    /// Stops accepting, lets in-flight requests finish, flushes and closes the logs.
    public func stop() async {
        finishListening(bound: false)
        for task in maintenanceTasks { task.cancel() }
        broker.groups.stopTimers()
        broker.transactions.stopTimers()
        for channel in channels { try? await channel.close() }
        channels.removeAll()
        try? await maintenancePool.shutdownGracefully()
        try? await broker.requestHandlers?.shutdownGracefully()
        broker.logs.shutdown()
        logger.info("broker stopped")
    }

    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        logger.info("shutting down")
        await stop()
    }
}

/// `max.connections` and `max.connections.per.ip` (with per-host overrides): connections beyond them are closed
/// as soon as they are accepted, as Kafka does.
final class ConnectionQuotas: Sendable {
    private struct Counts {
        var total = 0
        var byHost: [String: Int] = [:]
    }

    private let maximum: Int
    private let perIp: Int
    private let overrides: [String: Int]
    private let counts = NIOLockedValueBox(Counts())

    init(maximum: Int, perIp: Int, overrides: [String: Int]) {
        self.maximum = maximum
        self.perIp = perIp
        self.overrides = overrides
    }

    /// Counts a new connection from `host`, or refuses it.
    func admit(_ host: String) -> Bool {
        let limit = overrides[host] ?? perIp
        return counts.withLockedValue { counts in
            guard counts.total < maximum, counts.byHost[host, default: 0] < limit else { return false }
            counts.total += 1
            counts.byHost[host, default: 0] += 1
            return true
        }
    }

    func release(_ host: String) {
        counts.withLockedValue { counts in
            counts.total = max(0, counts.total - 1)
            let left = counts.byHost[host, default: 0] - 1
            counts.byHost[host] = left > 0 ? left : nil
        }
    }
}
