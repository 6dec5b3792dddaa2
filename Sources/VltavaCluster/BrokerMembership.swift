import Logging
import VltavaEtcd
import VltavaStorage

/// A broker's place in the cluster: its registration under `brokers/<id>` on a lease kept alive, and its bid for
/// the controller's key. The broker epoch is the registration's create revision, the controller epoch the
/// controller key's. Holding a lease is never taken as proof of anything by the writes that matter (they compare
/// revisions); it only decides when this broker stops acting: when a keepalive has not been acknowledged within
/// the TTL it steps down as controller and registers again with a new lease.
public actor BrokerMembership {
    /// How the membership times itself.
    public struct Settings: Sendable {
        /// The lease TTL in seconds (`broker.session.timeout.ms` rounded up).
        public var ttlSeconds: Int64
        /// How often the lease is kept alive (a third of the TTL by default).
        public var keepAliveInterval: Duration
        /// How long a start waits for a registration of the same node id to go (a previous run of this broker
        /// whose lease has not expired yet) before refusing.
        public var registrationWait: Duration
        /// The pause between attempts (registration, watches).
        public var retryInterval: Duration

        public init(ttlSeconds: Int64 = 10) {
            self.ttlSeconds = max(1, ttlSeconds)
            self.keepAliveInterval = .milliseconds(max(1, ttlSeconds) * 1000 / 3)
            self.registrationWait = .seconds(max(1, ttlSeconds) + 1)
            self.retryInterval = .milliseconds(250)
        }
    }

    let etcd: any EtcdClient
    let keys: ClusterKeys
    let record: BrokerRecord
    let settings: Settings
    let logger: Logger
    /// The lease the registration is on, 0 while not registered.
    public private(set) var leaseId: Int64 = 0
    /// The broker epoch, 0 while not registered.
    public private(set) var brokerEpoch: Int64 = 0
    /// The controller epoch while this broker is controller, else 0.
    public private(set) var controllerEpoch: Int64 = 0
    /// How many times the registration was lost and made again.
    public private(set) var reRegistrations = 0
    private var tasks: [Task<Void, Never>] = []

    public init(etcd: any EtcdClient, keys: ClusterKeys, broker: ClusterBroker, settings: Settings = Settings(), logger: Logger) {
        self.etcd = etcd
        self.keys = keys
        self.record = BrokerRecord(nodeId: broker.nodeId, listeners: broker.listeners, rack: broker.rack)
        self.settings = settings
        self.logger = logger
    }

    public var isController: Bool { controllerEpoch != 0 }

    /// Registers the broker; while another registration of its node id exists, waits up to
    /// `registrationWait` for it to expire, then refuses with `ClusterError.duplicateBroker`.
    public func register() async throws(ClusterError) {
        let clock = ContinuousClock()
        let deadline = clock.now + settings.registrationWait
        var waiting = false
        while true {
            if let holder = try await attemptRegistration() {
                guard clock.now < deadline else {
                    throw .duplicateBroker(nodeId: record.nodeId, holder: Self.describe(holder))
                }
                if !waiting {
                    logger.notice("node id registered by another broker; waiting for its lease to expire",
                                  metadata: ["nodeId": "\(record.nodeId)", "holder": "\(Self.describe(holder))"])
                    waiting = true
                }
                try? await Task.sleep(for: settings.retryInterval)
            } else {
                return
            }
        }
    }

    /// One try: nil once registered, else the registration holding the key.
    private func attemptRegistration() async throws(ClusterError) -> EtcdKeyValue? {
        do {
            let lease = try await etcd.grant(ttl: settings.ttlSeconds)
            let key = keys.broker(record.nodeId)
            let result = try await etcd.txn(
                compare: [EtcdCompare(key: key, .createRevision(0), .equal)],
                success: [.put(key: key, value: ClusterJSON.encode(record), lease: lease.id)],
                failure: [.range(key: key)])
            if result.succeeded {
                leaseId = lease.id
                brokerEpoch = result.revision
                logger.info("registered in the cluster", metadata: [
                    "nodeId": "\(record.nodeId)", "brokerEpoch": "\(brokerEpoch)", "lease": "\(lease.id)",
                ])
                return nil
            }
            try? await etcd.revoke(id: lease.id)
            if case let .range(range)? = result.responses.first, let holder = range.kvs.first { return holder }
            return EtcdKeyValue(key: key, value: [], createRevision: 0, modRevision: 0, version: 0, lease: 0)
        } catch {
            throw .etcd(error)
        }
    }

    private static func describe(_ holder: EtcdKeyValue) -> String {
        "registered at revision \(holder.createRevision) on lease \(holder.lease): \(holder.valueText)"
    }

    /// Starts keeping the lease alive and bidding for the controller's key.
    public func start() {
        tasks.append(Task { await self.keepAliveLoop() })
        tasks.append(Task { await self.controllerLoop() })
    }

    /// Stops both loops and revokes the lease, which deletes the registration (and the controller key if held).
    public func shutdown() async {
        for task in tasks { task.cancel() }
        tasks = []
        controllerEpoch = 0
        if leaseId != 0 {
            do {
                try await etcd.revoke(id: leaseId)
            } catch {
                logger.warning("cannot revoke the broker's lease; its registration goes when it expires", metadata: ["error": "\(error)"])
            }
            leaseId = 0
            brokerEpoch = 0
        }
    }

    private func keepAliveLoop() async {
        let clock = ContinuousClock()
        var lastAcknowledged = clock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.keepAliveInterval)
            if Task.isCancelled { return }
            var lost = false
            do {
                _ = try await etcd.keepAlive(id: leaseId)
                lastAcknowledged = clock.now
            } catch .leaseNotFound {
                lost = true
            } catch {
                lost = clock.now - lastAcknowledged >= .seconds(settings.ttlSeconds)
                if !lost { logger.warning("lease keepalive failed", metadata: ["error": "\(error)"]) }
            }
            guard lost else { continue }
            await stepDownAndRegisterAgain()
            lastAcknowledged = clock.now
        }
    }

    /// The lease is gone or may be: stop acting as controller at once, then register again with a new lease.
    private func stepDownAndRegisterAgain() async {
        logger.warning("lost the cluster lease: stepping down and registering again", metadata: [
            "nodeId": "\(record.nodeId)", "lease": "\(leaseId)", "wasController": "\(isController)",
        ])
        controllerEpoch = 0
        let old = leaseId
        leaseId = 0
        brokerEpoch = 0
        // The old registration must go before a new one can be made (it may still exist if etcd was only slow).
        try? await etcd.revoke(id: old)
        while !Task.isCancelled {
            do {
                if try await attemptRegistration() == nil {
                    reRegistrations += 1
                    return
                }
            } catch {
                logger.warning("cannot register again yet", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.retryInterval)
        }
    }

    private func controllerLoop() async {
        while !Task.isCancelled {
            do {
                try await campaignOnce()
            } catch {
                if Task.isCancelled { return }
                logger.warning("controller election: etcd failed; trying again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.retryInterval)
        }
    }

    /// Takes the controller's key if nobody holds it, then waits until it is deleted.
    private func campaignOnce() async throws(EtcdError) {
        let lease = leaseId
        guard lease != 0 else { return }
        let key = keys.controller
        let result = try await etcd.txn(
            compare: [EtcdCompare(key: key, .createRevision(0), .equal)],
            success: [.put(key: key, value: ClusterJSON.encode(ControllerRecord(nodeId: record.nodeId)), lease: lease)],
            failure: [.range(key: key)])
        if result.succeeded {
            // Our lease may have been lost while the transaction ran: then the key is on a dead lease and goes.
            if leaseId == lease {
                controllerEpoch = result.revision
                logger.info("became controller", metadata: ["nodeId": "\(record.nodeId)", "controllerEpoch": "\(result.revision)"])
            }
        } else if case let .range(range)? = result.responses.first, range.kvs.isEmpty {
            return
        }
        let watch = try await etcd.watch(key: key, rangeEnd: [], startRevision: result.revision + 1, prevKV: false)
        for try await batch in watch where batch.events.contains(where: { $0.kind == .delete }) {
            if controllerEpoch != 0 {
                logger.warning("the controller key was deleted: no longer controller", metadata: ["nodeId": "\(record.nodeId)"])
            }
            controllerEpoch = 0
            return
        }
    }
}
