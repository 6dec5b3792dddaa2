import Testing
import VltavaCluster
import VltavaEtcd
import VltavaStorage

@Suite struct MembershipTests {
    let keys = ClusterKeys(clusterName: "test")

    @Test func registrationSetsTheBrokerEpochAndRefusesADuplicateId() async throws {
        let etcd = InMemoryEtcd()
        // Nothing may expire here: a TTL no loaded test machine outlasts (with 1 s the first lease could run out
        // before the second registration, which then rightly succeeded).
        let first = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(1), settings: quickSettings(ttlSeconds: 30),
                                     logger: testLogger)
        try await first.register()
        let stored = try #require(try await etcd.get(keys.broker(1)))
        #expect(await first.brokerEpoch == stored.createRevision)
        #expect(stored.lease == (await first.leaseId))
        #expect(stored.valueText.contains("\"nodeId\":1"))

        let second = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(1), settings: quickSettings(), logger: testLogger)
        await first.start()
        var refusal: ClusterError?
        do {
            try await second.register()
        } catch {
            refusal = error
        }
        guard case let .duplicateBroker(nodeId, _)? = refusal else {
            Issue.record("a second broker with node id 1 was not refused: \(String(describing: refusal))")
            return
        }
        #expect(nodeId == 1)
        #expect("\(refusal.map { "\($0)" } ?? "")".contains("already registered with node id 1"))
        // The refused broker left nothing behind: the key is still the first one's.
        #expect(try await etcd.get(keys.broker(1))?.createRevision == stored.createRevision)
        await first.shutdown()
        #expect(try await etcd.get(keys.broker(1)) == nil)
    }

    @Test func aRestartWaitsForItsOldRegistrationToExpire() async throws {
        let etcd = InMemoryEtcd()
        let old = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(4), settings: quickSettings(), logger: testLogger)
        try await old.register()
        let oldEpoch = await old.brokerEpoch
        // The old process died without revoking: its lease runs out within the new one's wait.
        let restarted = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(4),
                                         settings: quickSettings(registrationWait: .seconds(3)), logger: testLogger)
        try await restarted.register()
        #expect(await restarted.brokerEpoch > oldEpoch)
    }

    @Test func aLostLeaseStepsDownAndRegistersAgain() async throws {
        let etcd = InMemoryEtcd()
        let broker = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(1), settings: quickSettings(), logger: testLogger)
        try await broker.register()
        await broker.start()
        #expect(await eventually { await broker.isController })
        let firstEpoch = await broker.brokerEpoch
        let firstControllerEpoch = await broker.controllerEpoch
        try await etcd.revoke(id: await broker.leaseId)
        // The count goes up when the broker steps down; the new registration (and epoch) follows.
        #expect(await eventually {
            let (count, epoch) = (await broker.reRegistrations, await broker.brokerEpoch)
            return count >= 1 && epoch > firstEpoch
        })
        #expect(try await eventually {
            let epoch = await broker.brokerEpoch
            return try await etcd.get(keys.broker(1))?.createRevision == epoch
        })
        // Controller again, under a new epoch.
        #expect(await eventually { await broker.controllerEpoch > firstControllerEpoch })
        await broker.shutdown()
    }

    @Test func keepalivesUnacknowledgedForTheTTLStepDown() async throws {
        let etcd = FlakyEtcd(base: InMemoryEtcd())
        // A 3 s TTL: "not within half the TTL" keeps a second and a half of margin on a loaded machine.
        let broker = BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(2), settings: quickSettings(ttlSeconds: 3),
                                      logger: testLogger)
        try await broker.register()
        await broker.start()
        #expect(await eventually { await broker.isController })
        etcd.keepAlivesFail.withLockedValue { $0 = true }
        // Not within half the TTL...
        try await Task.sleep(for: .milliseconds(400))
        #expect(await broker.isController)
        #expect(await broker.reRegistrations == 0)
        // ...but once it has run out.
        #expect(await eventually(.seconds(8)) { await broker.reRegistrations >= 1 })
        etcd.keepAlivesFail.withLockedValue { $0 = false }
        #expect(await eventually { await broker.isController })
        await broker.shutdown()
    }

    @Test func oneControllerAndAHandOverWhenItsKeyGoes() async throws {
        let etcd = InMemoryEtcd()
        let brokers = [1, 2, 3].map {
            BrokerMembership(etcd: etcd, keys: keys, broker: testBroker(Int32($0)), settings: quickSettings(), logger: testLogger)
        }
        for broker in brokers {
            try await broker.register()
            await broker.start()
        }
        #expect(await eventually { await brokers.asyncCount { await $0.isController } == 1 })
        var controller: BrokerMembership?
        for broker in brokers where await broker.isController { controller = broker }
        let first = try #require(controller)
        let key = try #require(try await etcd.get(keys.controller))
        #expect(await first.controllerEpoch == key.createRevision)
        #expect(key.lease == (await first.leaseId))

        await first.shutdown()
        let others = brokers.filter { $0 !== first }
        #expect(await eventually { await others.asyncCount { await $0.isController } == 1 })
        let next = try #require(try await etcd.get(keys.controller))
        #expect(next.createRevision > key.createRevision)
        for broker in others { await broker.shutdown() }
    }
}

extension Array where Element: Sendable {
    func asyncCount(_ predicate: (Element) async -> Bool) async -> Int {
        var count = 0
        for element in self where await predicate(element) { count += 1 }
        return count
    }
}
