import Testing
import VltavaEtcd

/// What every `EtcdClient` must do, run against a real etcd (`RealEtcdTests`) and against `InMemoryEtcd`
/// (`InMemoryEtcdTests`): the same calls, the same answers.
struct EtcdConformance {
    let client: any EtcdClient
    /// Lets lease time pass: sleeps against a real etcd, moves the clock of an in-memory one.
    let pass: @Sendable (Duration) async -> Void
    /// How many watches the store is serving (to see that a consumer that stops ends its watch).
    let activeWatches: @Sendable () async throws -> Int

    static func key(_ text: String) -> [UInt8] { Array(text.utf8) }

    func putRangeAndPrefix() async throws {
        let first = try await client.put(Self.key("/vltava/c1/topics/a"), Self.key("1"))
        let second = try await client.put(key: Self.key("/vltava/c1/topics/a"), value: Self.key("2"), lease: 0, prevKV: true)
        #expect(second.revision == first.revision + 1)
        #expect(second.prevKV?.valueText == "1")
        try await client.put(Self.key("/vltava/c1/topics/b"), [0xff, 0x00])
        try await client.put(Self.key("/vltava/c1/topics0"), Self.key("outside"))
        try await client.put(Self.key("/vltava/c2/topics/a"), Self.key("other cluster"))

        let a = try #require(try await client.get(Self.key("/vltava/c1/topics/a")))
        #expect(a.valueText == "2")
        #expect(a.createRevision == first.revision)
        #expect(a.modRevision == second.revision)
        #expect(a.version == 2)
        #expect(a.lease == 0)
        #expect(try await client.get(Self.key("/vltava/c1/topics/none")) == nil)

        let topics = try await client.prefix(Self.key("/vltava/c1/topics/"))
        #expect(topics.kvs.map(\.key) == [Self.key("/vltava/c1/topics/a"), Self.key("/vltava/c1/topics/b")])
        #expect(topics.kvs.last?.value == [0xff, 0x00])
        #expect(topics.count == 2)
        #expect(topics.revision == second.revision + 3)
        let limited = try await client.prefix(Self.key("/vltava/c1/"), limit: 1, keysOnly: true)
        #expect(limited.kvs.map(\.key) == [Self.key("/vltava/c1/topics/a")])
        #expect(limited.kvs.first?.value == [])
        #expect(limited.count == 3)
        #expect(limited.more)

        let past = try await client.range(key: Self.key("/vltava/c1/topics/a"), rangeEnd: [], revision: first.revision, limit: 0,
                                          keysOnly: false)
        #expect(past.kvs.first?.valueText == "1", "a read at an older revision sees the value of then")
        await #expect(throws: EtcdError.futureRevision(requested: topics.revision + 10)) {
            _ = try await client.range(key: Self.key("/x"), rangeEnd: [], revision: topics.revision + 10, limit: 0, keysOnly: false)
        }

        let deleted = try await client.delete(key: Self.key("/vltava/c1/topics/"), rangeEnd: EtcdKeys.prefixEnd(Self.key("/vltava/c1/topics/")),
                                              prevKV: true)
        #expect(deleted.deleted == 2)
        #expect(deleted.prevKVs.map(\.valueText) == ["2", String(decoding: [0xff, 0x00], as: UTF8.self)])
        #expect(try await client.prefix(Self.key("/vltava/c1/")).kvs.map(\.key) == [Self.key("/vltava/c1/topics0")])
        let none = try await client.delete(key: Self.key("/vltava/c1/none"), rangeEnd: [], prevKV: false)
        #expect(none.deleted == 0)
        #expect(none.revision == deleted.revision, "deleting nothing makes no revision")
    }

    func compareAndSwapThroughTxn() async throws {
        let controller = Self.key("/vltava/c1/controller")
        func claim(_ broker: String) async throws -> EtcdTxnResult {
            try await client.txn(compare: [EtcdCompare(key: controller, .createRevision(0), .equal)],
                                 success: [.put(key: controller, value: Self.key(broker))],
                                 failure: [.range(key: controller)])
        }
        let won = try await claim("broker-1")
        #expect(won.succeeded)
        guard case let .put(put) = won.responses.first else { Issue.record("no put answer: \(won)"); return }
        #expect(put.revision == won.revision)
        let lost = try await claim("broker-2")
        #expect(!lost.succeeded)
        #expect(lost.revision == won.revision, "the losing branch only read")
        guard case let .range(holder) = lost.responses.first else { Issue.record("no range answer: \(lost)"); return }
        #expect(holder.kvs.first?.valueText == "broker-1")
        #expect(holder.kvs.first?.createRevision == won.revision, "the controller epoch is the key's create revision")

        // Two writers read the partition state at the same mod revision; the first swap wins, the second sees it lost.
        let partition = Self.key("/vltava/c1/partitions/t/0")
        let initial = try await client.put(partition, Self.key("leader=1 epoch=0"))
        func swap(to state: String, from revision: Int64) async throws -> Bool {
            try await client.txn(compare: [EtcdCompare(key: partition, .modRevision(revision), .equal)],
                                 success: [.put(key: partition, value: Self.key(state))], failure: []).succeeded
        }
        #expect(try await swap(to: "leader=2 epoch=1", from: initial.revision))
        #expect(!(try await swap(to: "leader=3 epoch=1", from: initial.revision)))
        #expect(try await client.get(partition)?.valueText == "leader=2 epoch=1")

        let current = try #require(try await client.get(partition))
        let guards: [(EtcdCompare, Bool)] = [
            (EtcdCompare(key: partition, .value(Self.key("leader=2 epoch=1")), .equal), true),
            (EtcdCompare(key: partition, .value(Self.key("leader=1")), .greater), true),
            (EtcdCompare(key: partition, .version(2), .equal), true),
            (EtcdCompare(key: partition, .version(2), .less), false),
            (EtcdCompare(key: partition, .modRevision(current.modRevision), .notEqual), false),
            (EtcdCompare(key: partition, .createRevision(initial.revision), .equal), true),
            (EtcdCompare(key: partition, .lease(0), .equal), true),
            (EtcdCompare(key: Self.key("/vltava/absent"), .value([]), .equal), false),
            (EtcdCompare(key: Self.key("/vltava/absent"), .version(0), .equal), true),
        ]
        for (compare, expected) in guards {
            let result = try await client.txn(compare: [compare], success: [], failure: [])
            #expect(result.succeeded == expected, "\(compare)")
        }
        let both = try await client.txn(
            compare: [EtcdCompare(key: partition, .version(2), .equal)],
            success: [.put(key: Self.key("/vltava/c1/a"), value: Self.key("x")),
                      .delete(key: partition, prevKV: true), .range(key: Self.key("/vltava/c1/a"))],
            failure: [])
        #expect(both.succeeded)
        #expect(both.revision == current.modRevision + 1, "a transaction's writes share one revision")
        guard both.responses.count == 3, case let .delete(gone) = both.responses[1], case let .range(read) = both.responses[2] else {
            Issue.record("unexpected answers: \(both.responses)")
            return
        }
        #expect(gone.prevKVs.first?.valueText == "leader=2 epoch=1")
        #expect(read.kvs.first?.modRevision == both.revision, "a read in a transaction sees its earlier writes")
    }

    func leaseExpiryAndKeepAlive() async throws {
        let lapsing = try await client.grant(ttl: 2)
        let kept = try await client.grant(ttl: 2)
        #expect(lapsing.ttl >= 2)
        #expect(lapsing.id != kept.id)
        try await client.put(Self.key("/vltava/c1/brokers/1"), Self.key("lapsing"), lease: lapsing.id)
        try await client.put(Self.key("/vltava/c1/brokers/2"), Self.key("kept"), lease: kept.id)
        #expect(try await client.get(Self.key("/vltava/c1/brokers/1"))?.lease == lapsing.id)
        let remaining = try await client.timeToLive(id: kept.id)
        #expect(remaining.grantedTTL == kept.ttl)
        #expect((0...kept.ttl).contains(remaining.ttl))

        var gone = false
        for _ in 0..<16 where !gone {
            await pass(.milliseconds(500))
            #expect(try await client.keepAlive(id: kept.id) == kept.ttl)
            gone = try await client.get(Self.key("/vltava/c1/brokers/1")) == nil
        }
        #expect(gone, "the key of the lease left to expire is still there")
        #expect(try await client.get(Self.key("/vltava/c1/brokers/2"))?.valueText == "kept")
        await #expect(throws: EtcdError.leaseNotFound(lapsing.id)) { _ = try await client.keepAlive(id: lapsing.id) }
        await #expect(throws: EtcdError.leaseNotFound(lapsing.id)) { _ = try await client.timeToLive(id: lapsing.id) }
        await #expect(throws: EtcdError.leaseNotFound(lapsing.id)) {
            try await client.put(Self.key("/vltava/c1/brokers/1"), Self.key("again"), lease: lapsing.id)
        }

        try await client.revoke(id: kept.id)
        #expect(try await client.get(Self.key("/vltava/c1/brokers/2")) == nil, "revoking deletes the lease's keys")
        await #expect(throws: EtcdError.leaseNotFound(kept.id)) { try await client.revoke(id: kept.id) }
    }

    func watchSeesChangesInOrder() async throws {
        let prefix = Self.key("/vltava/c1/partitions/")
        let start = try await client.put(Self.key("/vltava/c1/partitions/t/0"), Self.key("a"))
        try await client.put(Self.key("/vltava/c1/other"), Self.key("not watched"))
        try await client.put(Self.key("/vltava/c1/partitions/t/1"), Self.key("b"))
        _ = try await client.delete(key: Self.key("/vltava/c1/partitions/t/0"), rangeEnd: [], prevKV: false)
        let watch = try await client.watch(prefix: prefix, startRevision: start.revision, prevKV: true)
        // Written after the watch is set up: seen live.
        let live = try await client.put(Self.key("/vltava/c1/partitions/t/1"), Self.key("c"))
        let (events, error) = try await EtcdWatchReader.read(watch, events: 4)
        #expect(error == nil)
        #expect(events.map(\.kind) == [.put, .put, .delete, .put])
        #expect(events.map { String(decoding: $0.kv.key, as: UTF8.self) }
            == ["/vltava/c1/partitions/t/0", "/vltava/c1/partitions/t/1", "/vltava/c1/partitions/t/0", "/vltava/c1/partitions/t/1"])
        #expect(events.map(\.kv.modRevision) == [start.revision, start.revision + 2, start.revision + 3, live.revision])
        #expect(events[2].prevKV?.valueText == "a", "the delete carries the deleted pair")
        #expect(events[2].kv.value == [])
        #expect(events[3].prevKV?.valueText == "b")
        #expect(events[3].kv.version == 2)
    }

    func watchResumesFromARevision() async throws {
        let key = Self.key("/vltava/c1/topics/t")
        let first = try await client.put(key, Self.key("v1"))
        var lastSeen: Int64 = 0
        do {
            let watch = try await client.watch(key: key, rangeEnd: [], startRevision: first.revision, prevKV: false)
            let (events, _) = try await EtcdWatchReader.read(watch, events: 1)
            lastSeen = events.last?.kv.modRevision ?? 0
        }
        #expect(lastSeen == first.revision)
        // Written while nobody watches.
        try await client.put(key, Self.key("v2"))
        try await client.put(key, Self.key("v3"))
        let resumed = try await client.watch(key: key, rangeEnd: [], startRevision: lastSeen + 1, prevKV: false)
        let (events, _) = try await EtcdWatchReader.read(resumed, events: 2)
        #expect(events.map(\.kv.valueText) == ["v2", "v3"], "nothing missed, nothing seen twice")
    }

    func compactionEndsOlderWatches() async throws {
        let key = Self.key("/vltava/c1/controller")
        let first = try await client.put(key, Self.key("1"))
        try await client.put(key, Self.key("2"))
        let third = try await client.put(key, Self.key("3"))
        try await client.compact(revision: third.revision)
        await #expect(throws: EtcdError.revisionCompacted(requested: first.revision)) {
            _ = try await client.range(key: key, rangeEnd: [], revision: first.revision, limit: 0, keysOnly: false)
        }
        let atCompaction = try await client.range(key: key, rangeEnd: [], revision: third.revision, limit: 0, keysOnly: false)
        #expect(atCompaction.kvs.first?.valueText == "3")
        await #expect(throws: EtcdError.revisionCompacted(requested: third.revision)) {
            try await client.compact(revision: third.revision)
        }

        let stale = try await client.watch(key: key, rangeEnd: [], startRevision: first.revision, prevKV: false)
        let (staleEvents, error) = try await EtcdWatchReader.read(stale, events: nil)
        #expect(staleEvents.isEmpty)
        #expect(error == .watchCompacted(requested: first.revision, compactRevision: third.revision))

        let fresh = try await client.watch(key: key, rangeEnd: [], startRevision: third.revision, prevKV: false)
        let (events, _) = try await EtcdWatchReader.read(fresh, events: 1)
        #expect(events.map(\.kv.valueText) == ["3"])
    }

    func stoppingTheConsumerEndsTheWatch() async throws {
        let before = try await activeWatches()
        let watch = try await client.watch(prefix: Self.key("/vltava/c1/"), startRevision: 0, prevKV: false)
        #expect(try await activeWatches() == before + 1)
        let consumer = Task {
            var seen = 0
            for try await batch in watch { seen += batch.events.count }
            return seen
        }
        try await client.put(Self.key("/vltava/c1/x"), Self.key("1"))
        consumer.cancel()
        _ = await consumer.result
        var count = try await activeWatches()
        for _ in 0..<50 where count != before {
            try await Task.sleep(for: .milliseconds(100))
            count = try await activeWatches()
        }
        #expect(count == before, "the watch is still served after its consumer stopped")
    }
}

/// Reads a watch with a deadline so that a missing event fails the test instead of hanging it.
enum EtcdWatchReader {
    /// The first `events` events (all until the watch fails when nil), and the error that ended the watch.
    static func read(_ watch: EtcdWatch, events wanted: Int?, within deadline: Duration = .seconds(10)) async throws
        -> ([EtcdEvent], EtcdError?) {
        try await withThrowingTaskGroup(of: ([EtcdEvent], EtcdError?)?.self) { group in
            group.addTask {
                var events: [EtcdEvent] = []
                do throws(EtcdError) {
                    for try await batch in watch {
                        events += batch.events
                        if let wanted, events.count >= wanted { return (events, nil) }
                    }
                    return (events, nil)
                } catch {
                    return (events, error)
                }
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first else {
                Issue.record("the watch gave fewer events than \(wanted.map(String.init) ?? "expected") within \(deadline)")
                return ([], nil)
            }
            return first
        }
    }
}
