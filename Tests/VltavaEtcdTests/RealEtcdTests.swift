import Testing
import VltavaEtcd

/// The gateway client against a real etcd 3.4 (one server per test), through the same checks as `InMemoryEtcd`, and
/// what only a real server and network show: failover, connection loss, refusals.
@Suite("EtcdGatewayClient against a real etcd",
       .enabled(if: EtcdTestServer.shouldRun, "etcd is not installed (Debian's etcd-server); set VLTAVA_REQUIRE_ETCD=1 to fail instead"))
struct RealEtcdTests {
    static func conformance(_ run: (EtcdConformance) async throws -> Void) async throws {
        try await EtcdTestServer.with { server, client in
            let port = server.clientPort
            try await run(EtcdConformance(client: client, pass: { try? await Task.sleep(for: $0) },
                                          activeWatches: { try await EtcdTestServer.metric("etcd_debugging_mvcc_watch_stream_total", port: port) }))
        }
    }

    @Test func putRangeAndPrefix() async throws { try await Self.conformance { try await $0.putRangeAndPrefix() } }
    @Test func compareAndSwapThroughTxn() async throws { try await Self.conformance { try await $0.compareAndSwapThroughTxn() } }
    @Test func leaseExpiryAndKeepAlive() async throws { try await Self.conformance { try await $0.leaseExpiryAndKeepAlive() } }
    @Test func watchSeesChangesInOrder() async throws { try await Self.conformance { try await $0.watchSeesChangesInOrder() } }
    @Test func watchResumesFromARevision() async throws { try await Self.conformance { try await $0.watchResumesFromARevision() } }
    @Test func compactionEndsOlderWatches() async throws { try await Self.conformance { try await $0.compactionEndsOlderWatches() } }
    @Test func stoppingTheConsumerEndsTheWatch() async throws {
        try await Self.conformance { try await $0.stoppingTheConsumerEndsTheWatch() }
    }

    @Test func aWatchCutByACrashEndsAndResumesAfterTheRestart() async throws {
        try await EtcdTestServer.with { server, client in
            let key = EtcdConformance.key("/vltava/c1/brokers/1")
            let first = try await client.put(key, EtcdConformance.key("up"))
            let watch = try await client.watch(key: key, rangeEnd: [], startRevision: first.revision, prevKV: false)
            let (events, _) = try await EtcdWatchReader.read(watch, events: 1)
            #expect(events.map(\.kv.valueText) == ["up"])
            server.kill()
            let (after, error) = try await EtcdWatchReader.read(watch, events: nil)
            #expect(after.isEmpty)
            guard case .connectionLost = error else {
                Issue.record("the watch did not end with a lost connection: \(String(describing: error))")
                return
            }
            await #expect(throws: EtcdError.unreachable(["127.0.0.1:\(server.clientPort): connection refused"])) {
                _ = try await client.get(key)
            }
            try await server.start()
            let second = try await client.put(key, EtcdConformance.key("again"))
            #expect(second.revision == first.revision + 1, "the data survived the crash")
            let resumed = try await client.watch(key: key, rangeEnd: [], startRevision: first.revision + 1, prevKV: false)
            let (later, _) = try await EtcdWatchReader.read(resumed, events: 1)
            #expect(later.map(\.kv.valueText) == ["again"])
        }
    }

    @Test func aStalledEtcdTimesOut() async throws {
        try await EtcdTestServer.with { server, _ in
            let client = try server.client(requestTimeout: .milliseconds(300))
            let watch = try await client.watch(key: [0x61], rangeEnd: [], startRevision: 0, prevKV: false)
            server.pause(true)
            defer { server.pause(false) }
            await #expect(throws: EtcdError.timedOut(endpoint: "127.0.0.1:\(server.clientPort)", path: "/v3/kv/range", milliseconds: 300)) {
                _ = try await client.get([0x61])
            }
            await #expect(throws: EtcdError.timedOut(endpoint: "127.0.0.1:\(server.clientPort)", path: "/v3/watch", milliseconds: 300)) {
                _ = try await client.watch(key: [0x61], rangeEnd: [], startRevision: 0, prevKV: false)
            }
            server.pause(false)
            try await client.put([0x61], [1])
            let (events, _) = try await EtcdWatchReader.read(watch, events: 1)
            #expect(events.count == 1, "a watch outlives a pause shorter than any timeout")
        }
    }

    @Test func anUnreachableEndpointIsSkipped() async throws {
        try await EtcdTestServer.with { server, _ in
            // Port 1 on the loopback refuses connections: the client goes on to the live member and stays with it.
            let client = try EtcdGatewayClient(endpoints: ["127.0.0.1:1", server.endpoint], connectTimeout: .seconds(1))
            try await client.put(EtcdConformance.key("/k"), EtcdConformance.key("v"))
            #expect(try await client.get(EtcdConformance.key("/k"))?.valueText == "v")
            let watching = try EtcdGatewayClient(endpoints: ["127.0.0.1:1", server.endpoint], connectTimeout: .seconds(1))
            let watch = try await watching.watch(key: EtcdConformance.key("/k"), rangeEnd: [], startRevision: 1, prevKV: false)
            let (events, _) = try await EtcdWatchReader.read(watch, events: 1)
            #expect(events.count == 1)
            let dead = try EtcdGatewayClient(endpoints: ["127.0.0.1:1"], connectTimeout: .seconds(1))
            await #expect(throws: EtcdError.unreachable(["127.0.0.1:1: connection refused"])) { _ = try await dead.get([0x61]) }
        }
    }

    @Test func refusalsComeBackAsErrors() async throws {
        try await EtcdTestServer.with { _, client in
            do throws(EtcdError) {
                _ = try await client.put(key: [], value: [1], lease: 0, prevKV: false)
                Issue.record("an empty key was accepted")
            } catch {
                #expect(error.description.hasSuffix("with gRPC code 3 (INVALID_ARGUMENT): etcdserver: key is not provided"),
                        "\(error)")
            }
            await #expect(throws: EtcdError.leaseNotFound(12345)) {
                try await client.put(EtcdConformance.key("/k"), [1], lease: 12345)
            }
            let lease = try await client.grant(ttl: 30)
            try await client.revoke(id: lease.id)
            await #expect(throws: EtcdError.leaseNotFound(lease.id)) { try await client.revoke(id: lease.id) }
        }
    }
}
