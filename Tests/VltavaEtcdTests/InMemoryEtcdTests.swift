import NIOConcurrencyHelpers
import Testing
import VltavaEtcd

/// A clock a test moves by hand.
final class ManualClock: Sendable {
    private let instant = NIOLockedValueBox(ContinuousClock.now)

    var now: ContinuousClock.Instant { instant.withLockedValue { $0 } }

    func advance(by duration: Duration) {
        instant.withLockedValue { $0 = $0.advanced(by: duration) }
    }
}

@Suite struct InMemoryEtcdTests {
    static func conformance() -> (EtcdConformance, InMemoryEtcd, ManualClock) {
        let clock = ManualClock()
        let store = InMemoryEtcd(now: { clock.now })
        let conformance = EtcdConformance(client: store, pass: { clock.advance(by: $0) },
                                          activeWatches: { await store.watchCount })
        return (conformance, store, clock)
    }

    @Test func putRangeAndPrefix() async throws { try await Self.conformance().0.putRangeAndPrefix() }
    @Test func compareAndSwapThroughTxn() async throws { try await Self.conformance().0.compareAndSwapThroughTxn() }
    @Test func leaseExpiryAndKeepAlive() async throws { try await Self.conformance().0.leaseExpiryAndKeepAlive() }
    @Test func watchSeesChangesInOrder() async throws { try await Self.conformance().0.watchSeesChangesInOrder() }
    @Test func watchResumesFromARevision() async throws { try await Self.conformance().0.watchResumesFromARevision() }
    @Test func compactionEndsOlderWatches() async throws { try await Self.conformance().0.compactionEndsOlderWatches() }
    @Test func stoppingTheConsumerEndsTheWatch() async throws { try await Self.conformance().0.stoppingTheConsumerEndsTheWatch() }

    @Test func anExpiringLeaseIsSeenByWatchesAsDeletes() async throws {
        let (_, store, clock) = Self.conformance()
        let lease = await store.grant(ttl: 5)
        let put = try await store.put(Array("/vltava/c1/brokers/1".utf8), Array("b1".utf8), lease: lease.id)
        let watch = try await store.watch(prefix: Array("/vltava/c1/brokers/".utf8), startRevision: put.revision + 1, prevKV: true)
        clock.advance(by: .seconds(4))
        await store.expireLeases()
        #expect(try await store.get(Array("/vltava/c1/brokers/1".utf8)) != nil)
        clock.advance(by: .seconds(1))
        await store.expireLeases()
        let (events, _) = try await EtcdWatchReader.read(watch, events: 1)
        #expect(events.map(\.kind) == [.delete])
        #expect(events.first?.kv.modRevision == put.revision + 1)
        #expect(events.first?.prevKV?.lease == lease.id)
        await #expect(throws: EtcdError.leaseNotFound(lease.id)) { _ = try await store.timeToLive(id: lease.id) }
    }

    @Test func refusedTransactionsChangeNothing() async throws {
        let store = InMemoryEtcd()
        let key = Array("k".utf8)
        try await store.put(key, Array("v".utf8))
        await #expect(throws: EtcdError.invalidRequest("duplicate key given in txn request")) {
            _ = try await store.txn(compare: [], success: [.put(key: key, value: []), .put(key: key, value: [])], failure: [])
        }
        await #expect(throws: EtcdError.leaseNotFound(99)) {
            _ = try await store.txn(compare: [], success: [.delete(key: key), .put(key: Array("l".utf8), value: [], lease: 99)],
                                    failure: [])
        }
        #expect(try await store.get(key)?.valueText == "v")
        #expect(try await store.prefix([]).revision == 2)
    }
}
