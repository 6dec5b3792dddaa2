import Testing
@testable import VltavaSecurity

@Suite("Client quotas")
struct ClientQuotaTests {
    typealias C = ClientQuotaEntity.Component

    static func entity(_ components: [C]) -> ClientQuotaEntity { ClientQuotaEntity(components)! }

    @Test func precedenceAsKafka() {
        let quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]] = [
            Self.entity([C(type: "user", name: "alice"), C(type: "client-id", name: "app")]): [.producerByteRate: 1],
            Self.entity([C(type: "user", name: "alice"), C(type: "client-id", name: nil)]): [.producerByteRate: 2],
            Self.entity([C(type: "user", name: "alice")]): [.producerByteRate: 3, .consumerByteRate: 30],
            Self.entity([C(type: "user", name: nil), C(type: "client-id", name: "app")]): [.producerByteRate: 4],
            Self.entity([C(type: "user", name: nil)]): [.producerByteRate: 6],
            Self.entity([C(type: "client-id", name: "app")]): [.producerByteRate: 7],
            Self.entity([C(type: "client-id", name: nil)]): [.producerByteRate: 8, .requestPercentage: 80],
        ]
        let resolver = ClientQuotaResolver(quotas: quotas)
        #expect(resolver.match(.producerByteRate, user: "alice", clientId: "app")?.bound == 1)
        #expect(resolver.match(.producerByteRate, user: "alice", clientId: "other")?.bound == 2)
        #expect(resolver.match(.consumerByteRate, user: "alice", clientId: "other")?.bound == 30)
        #expect(resolver.match(.producerByteRate, user: "bob", clientId: "app")?.bound == 4)
        #expect(resolver.match(.producerByteRate, user: "bob", clientId: "other")?.bound == 6)
        #expect(resolver.match(.requestPercentage, user: "bob", clientId: "other")?.bound == 80)
        // A user-level quota is one metric for all of that user's clients.
        #expect(resolver.match(.consumerByteRate, user: "alice", clientId: "a")?.metricKey
            == resolver.match(.consumerByteRate, user: "alice", clientId: "b")?.metricKey)
        #expect(resolver.match(.producerByteRate, user: "bob", clientId: "x")?.metricKey
            != resolver.match(.producerByteRate, user: "carol", clientId: "x")?.metricKey)
        let clientOnly = ClientQuotaResolver(quotas: [Self.entity([C(type: "client-id", name: "app")]): [.producerByteRate: 7]])
        #expect(clientOnly.match(.producerByteRate, user: "anyone", clientId: "app")?.bound == 7)
        #expect(clientOnly.match(.producerByteRate, user: "anyone", clientId: "other") == nil)
        #expect(clientOnly.match(.consumerByteRate, user: "anyone", clientId: "app") == nil)
    }

    @Test func entityAndValueRules() {
        #expect(ClientQuotaEntity([C(type: "user", name: "a"), C(type: "user", name: "b")]) == nil)
        #expect(Self.entity([C(type: "ip", name: "10.0.0.1"), C(type: "user", name: nil)]).problem != nil)
        #expect(Self.entity([C(type: "ip", name: "10.0.0.300")]).problem != nil)
        #expect(Self.entity([C(type: "ip", name: "::1")]).problem == nil)
        #expect(Self.entity([C(type: "group", name: "g")]).problem != nil)
        #expect(ClientQuotaKey.producerByteRate.problem(with: 1.5) != nil)
        #expect(ClientQuotaKey.producerByteRate.problem(with: 0) != nil)
        #expect(ClientQuotaKey.requestPercentage.problem(with: 12.5) == nil)
        #expect(ClientQuotaKey.requestPercentage.problem(with: .infinity) != nil)
        #expect(ClientQuotaKey.connectionCreationRate.applies(to: ["ip"]))
        #expect(!ClientQuotaKey.producerByteRate.applies(to: ["ip"]))
    }

    @Test func rateAndThrottleAsKafka() {
        var rate = QuotaRate(windowMs: 1000, samples: 11, nowMs: 0)
        // The first burst is measured over ten whole windows: 10 MB at once stays within 1 MB/s.
        #expect(rate.recordAndThrottle(10_000_000, bound: 1_000_000, nowMs: 0) == 0)
        // 1 MB more: 11 MB over 10 s is 1.1 MB/s, 10 % over: a tenth of the 10 s window.
        #expect(rate.recordAndThrottle(1_000_000, bound: 1_000_000, nowMs: 0) == 1000)
        // Long after, the old samples are obsolete and the client starts afresh.
        #expect(rate.recordAndThrottle(1_000_000, bound: 1_000_000, nowMs: 60_000) == 0)
        #expect(rate.measure(nowMs: 60_000) == 100_000)
        // Throttles never exceed the whole window.
        var flood = QuotaRate(windowMs: 1000, samples: 11, nowMs: 0)
        #expect(flood.recordAndThrottle(1e12, bound: 1, nowMs: 0) == 11_000)
    }

    @Test func aSteadyClientIsHeldToItsBound() {
        // A client that sends 100 kB whenever it is allowed: over a minute it gets the bound (plus the window's
        // allowance at the start).
        var rate = QuotaRate(windowMs: 1000, samples: 11, nowMs: 0)
        var now: Int64 = 0
        var sent = 0.0
        while now < 120_000 {
            let throttle = rate.recordAndThrottle(100_000, bound: 1_000_000, nowMs: now)
            sent += 100_000
            now += max(throttle, 5)
        }
        let perSecond = sent / 120
        #expect(perSecond > 0.9e6 && perSecond < 1.2e6, "\(perSecond)")
    }

    @Test func controllerMutationTokenBucket() {
        // 2 mutations/s over 11 one-second windows: a burst of 22.
        var bucket = QuotaTokenBucket(rate: 2, burstSeconds: 11, nowMs: 0)
        #expect(bucket.tokens == 22)
        #expect(bucket.take(20, rate: 2, burstSeconds: 11, nowMs: 0, strict: true) == 0)
        #expect(bucket.take(10, rate: 2, burstSeconds: 11, nowMs: 0, strict: true) == 0, "not in debt yet: let through")
        #expect(bucket.tokens == -8)
        #expect(bucket.take(1, rate: 2, burstSeconds: 11, nowMs: 0, strict: true) == 4000, "8 tokens of debt at 2/s")
        #expect(bucket.tokens == -8, "a refused mutation takes nothing")
        #expect(bucket.throttleMs(rate: 2, burstSeconds: 11, nowMs: 1000) == 3000)
        #expect(bucket.take(1, rate: 2, burstSeconds: 11, nowMs: 4000, strict: true) == 0, "the debt is paid")
        // Permissive: always taken, the debt is the throttle.
        #expect(bucket.take(30, rate: 2, burstSeconds: 11, nowMs: 4000, strict: false) == 0)
        #expect(bucket.throttleMs(rate: 2, burstSeconds: 11, nowMs: 4000) == 15_500)
        // Refilled no further than the burst.
        #expect(bucket.throttleMs(rate: 2, burstSeconds: 11, nowMs: 1_000_000) == 0)
        #expect(bucket.tokens == 22)
    }
}
