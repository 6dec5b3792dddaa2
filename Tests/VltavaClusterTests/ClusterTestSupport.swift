import Logging
import NIOConcurrencyHelpers
import VltavaCluster
import VltavaEtcd
import VltavaStorage

/// Waits until `condition` holds, at most `timeout`; whether it did.
func eventually(_ timeout: Duration = .seconds(5), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Membership timings for tests: a 1 s lease kept alive every 50 ms, short waits.
func quickSettings(registrationWait: Duration = .milliseconds(300), ttlSeconds: Int64 = 1) -> BrokerMembership.Settings {
    var settings = BrokerMembership.Settings(ttlSeconds: ttlSeconds)
    settings.keepAliveInterval = .milliseconds(50)
    settings.registrationWait = registrationWait
    settings.retryInterval = .milliseconds(20)
    return settings
}

func testBroker(_ id: Int32) -> ClusterBroker {
    ClusterBroker(nodeId: id, listeners: [BrokerListener(name: "PLAINTEXT", host: "127.0.0.1", port: 9090 + id,
                                                         securityProtocol: "PLAINTEXT")], rack: nil)
}

let testLogger = Logger(label: "vltava-cluster-tests")

/// An etcd whose keepalives can be made to fail (as when etcd is unreachable), all else passed through.
final class FlakyEtcd: EtcdClient {
    let base: InMemoryEtcd
    let keepAlivesFail = NIOLockedValueBox(false)

    init(base: InMemoryEtcd) {
        self.base = base
    }

    func range(key: [UInt8], rangeEnd: [UInt8], revision: Int64, limit: Int64, keysOnly: Bool) async throws(EtcdError) -> EtcdRangeResult {
        try await base.range(key: key, rangeEnd: rangeEnd, revision: revision, limit: limit, keysOnly: keysOnly)
    }

    func put(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdPutResult {
        try await base.put(key: key, value: value, lease: lease, prevKV: prevKV)
    }

    func delete(key: [UInt8], rangeEnd: [UInt8], prevKV: Bool) async throws(EtcdError) -> EtcdDeleteResult {
        try await base.delete(key: key, rangeEnd: rangeEnd, prevKV: prevKV)
    }

    func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) async throws(EtcdError) -> EtcdTxnResult {
        try await base.txn(compare: compare, success: success, failure: failure)
    }

    func compact(revision: Int64) async throws(EtcdError) {
        try await base.compact(revision: revision)
    }

    func grant(ttl: Int64) async throws(EtcdError) -> EtcdLease {
        await base.grant(ttl: ttl)
    }

    func keepAlive(id: Int64) async throws(EtcdError) -> Int64 {
        if keepAlivesFail.withLockedValue({ $0 }) {
            throw .timedOut(endpoint: "test", path: "/v3/lease/keepalive", milliseconds: 5000)
        }
        return try await base.keepAlive(id: id)
    }

    func revoke(id: Int64) async throws(EtcdError) {
        try await base.revoke(id: id)
    }

    func timeToLive(id: Int64) async throws(EtcdError) -> EtcdLeaseTimeToLive {
        try await base.timeToLive(id: id)
    }

    func watch(key: [UInt8], rangeEnd: [UInt8], startRevision: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdWatch {
        try await base.watch(key: key, rangeEnd: rangeEnd, startRevision: startRevision, prevKV: prevKV)
    }
}
