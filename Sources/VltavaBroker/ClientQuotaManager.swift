import NIOConcurrencyHelpers
import NIOCore
import Synchronization
import VltavaSecurity

/// The broker's client quotas at work (Kafka's `ClientQuotaManager` and `ClientRequestQuotaManager`): the
/// configured quotas, one sampled rate per matched quota entity (`quota.window.num` windows of
/// `quota.window.size.seconds`), and the throttle time a request earns. Without any quota configured a check is
/// one atomic load.
final class ClientQuotaManager: Sendable {
    private struct State {
        var resolver: ClientQuotaResolver
        var rates = Metrics<QuotaRate>()
        /// `controller_mutation_rate` buckets, by metric.
        var buckets = Metrics<QuotaTokenBucket>()
        /// The matches of each client, by key, until the quotas change.
        var matches: [MatchKey: ClientQuotaResolver.Match?] = [:]
    }

    private struct MatchKey: Hashable {
        var key: ClientQuotaKey
        var user: String
        var clientId: String
    }

    let windowMs: Int64
    let samples: Int
    /// A metric idle this long (the whole quota window) may be dropped.
    var idleMs: Int64 { Int64(samples) * windowMs }
    private let state: NIOLockedValueBox<State>
    private let active = Atomic<Bool>(false)

    init(quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]], windowMs: Int64 = 1000, samples: Int = 11) {
        self.windowMs = windowMs
        self.samples = samples
        state = NIOLockedValueBox(State(resolver: ClientQuotaResolver(quotas: quotas)))
        active.store(!quotas.isEmpty, ordering: .releasing)
    }

    /// Whether any quota is configured (without one, nothing is recorded).
    var isActive: Bool { active.load(ordering: .acquiring) }

    /// Takes the quotas as they are now (after AlterClientQuotas); rates of quotas that still apply go on.
    func replace(_ quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]]) {
        state.withLockedValue { state in
            state.resolver = ClientQuotaResolver(quotas: quotas)
            state.matches.removeAll()
        }
        active.store(!quotas.isEmpty, ordering: .releasing)
    }

    /// Records `value` against the quota `key` of this client, if one applies; returns the throttle time in ms.
    func record(_ key: ClientQuotaKey, user: String, clientId: String, value: Double, nowMs: Int64) -> Int64 {
        guard active.load(ordering: .acquiring) else { return 0 }
        return state.withLockedValue { state in
            guard let match = Self.match(&state, key, user: user, clientId: clientId) else { return 0 }
            return record(&state, match, value, nowMs: nowMs)
        }
    }

    /// Takes back a recorded value (a fetch answered empty because its client was throttled, as Kafka does).
    func unrecord(_ key: ClientQuotaKey, user: String, clientId: String, value: Double, nowMs: Int64) {
        guard active.load(ordering: .acquiring) else { return }
        state.withLockedValue { state in
            guard let match = Self.match(&state, key, user: user, clientId: clientId) else { return }
            guard var rate = state.rates[match.metricKey] else { return }
            rate.record(-value, nowMs: nowMs)
            state.rates.store(rate, for: match.metricKey, nowMs: nowMs, idleMs: idleMs)
        }
    }

    /// A new connection from `ip` under `connection_creation_rate`: the time to hold it before serving it
    /// (Kafka delays, then closes, connections over the rate).
    func recordConnection(ip: String, nowMs: Int64) -> Int64 {
        guard active.load(ordering: .acquiring) else { return 0 }
        return state.withLockedValue { state in
            guard let match = state.resolver.connectionRate(ip: ip) else { return 0 }
            return record(&state, match, 1, nowMs: nowMs)
        }
    }

    /// `controller_mutation_rate` (KIP-599): `partitions` created or deleted by this client. Strict (the request
    /// versions that know THROTTLING_QUOTA_EXCEEDED): refused, with the throttle time, while the client's bucket is
    /// in debt; otherwise taken, possibly into debt. Permissive (older versions): always taken. Returns nil when
    /// taken, else the throttle time.
    func takeMutations(_ partitions: Int64, user: String, clientId: String, strict: Bool, nowMs: Int64) -> Int64? {
        guard active.load(ordering: .acquiring) else { return nil }
        return state.withLockedValue { state -> Int64? in
            guard let match = Self.match(&state, .controllerMutationRate, user: user, clientId: clientId) else { return nil }
            let burst = Double(samples) * Double(windowMs) / 1000
            var bucket = state.buckets[match.metricKey] ?? QuotaTokenBucket(rate: match.bound, burstSeconds: burst, nowMs: nowMs)
            let throttle = bucket.take(Double(partitions), rate: match.bound, burstSeconds: burst, nowMs: nowMs, strict: strict)
            state.buckets.store(bucket, for: match.metricKey, nowMs: nowMs, idleMs: idleMs)
            return throttle > 0 ? throttle : nil
        }
    }

    /// How long this client's `controller_mutation_rate` bucket is in debt (0 when it is not, or has no quota).
    func mutationThrottle(user: String, clientId: String, nowMs: Int64) -> Int64 {
        guard active.load(ordering: .acquiring) else { return 0 }
        return state.withLockedValue { state in
            guard let match = Self.match(&state, .controllerMutationRate, user: user, clientId: clientId),
                  var bucket = state.buckets[match.metricKey] else { return 0 }
            let throttle = bucket.throttleMs(rate: match.bound, burstSeconds: Double(samples) * Double(windowMs) / 1000, nowMs: nowMs)
            state.buckets.store(bucket, for: match.metricKey, nowMs: nowMs, idleMs: idleMs)
            return throttle
        }
    }

    private func record(_ state: inout State, _ match: ClientQuotaResolver.Match, _ value: Double, nowMs: Int64) -> Int64 {
        var rate = state.rates[match.metricKey] ?? QuotaRate(windowMs: windowMs, samples: samples, nowMs: nowMs)
        let throttle = rate.recordAndThrottle(value, bound: match.bound, nowMs: nowMs)
        state.rates.store(rate, for: match.metricKey, nowMs: nowMs, idleMs: idleMs)
        return throttle
    }

    private static func match(_ state: inout State, _ key: ClientQuotaKey, user: String, clientId: String) -> ClientQuotaResolver.Match? {
        let matchKey = MatchKey(key: key, user: user, clientId: clientId)
        if let known = state.matches[matchKey] { return known }
        let match = state.resolver.match(key, user: user, clientId: clientId)
        // Client ids are chosen by clients: the cache is bounded, not a way to grow memory.
        if state.matches.count >= 100_000 { state.matches.removeAll() }
        state.matches[matchKey] = match
        return match
    }
}

/// Per-client metrics, by metric key. Client ids are chosen by clients: past 10 000 metrics, those idle for a whole
/// quota window go before a new one is added (Kafka expires its quota sensors after an hour of inactivity).
struct Metrics<Value: Sendable>: Sendable {
    private var entries: [String: (value: Value, lastMs: Int64)] = [:]

    subscript(key: String) -> Value? { entries[key]?.value }

    mutating func store(_ value: Value, for key: String, nowMs: Int64, idleMs: Int64) {
        if entries.count >= 10_000, entries[key] == nil {
            entries = entries.filter { nowMs - $0.value.lastMs < idleMs }
        }
        entries[key] = (value, nowMs)
    }
}

/// A connection's throttle, set by the request handlers and obeyed by the connection: once the answer that earned
/// it is written, the connection reads nothing more until the time has passed (KIP-219's muting). Every read and
/// every queued request asks, so an unthrottled connection's answer is one atomic load, without reading the clock.
final class ConnectionThrottle: Sendable {
    /// The end of the throttle in uptime nanoseconds; 0 when the connection is not throttled.
    private let until = Atomic<UInt64>(0)

    /// Throttles the connection for `milliseconds` from now, unless it already is for longer.
    func throttle(_ milliseconds: Int64) {
        guard milliseconds > 0 else { return }
        let deadline = (NIODeadline.now() + .milliseconds(milliseconds)).uptimeNanoseconds
        var current = until.load(ordering: .relaxed)
        while current < deadline {
            let (exchanged, original) = until.compareExchange(expected: current, desired: deadline, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// When the connection may read again, if that is still ahead.
    var mutedUntil: NIODeadline? {
        let deadline = until.load(ordering: .relaxed)
        guard deadline != 0 else { return nil }
        if deadline > NIODeadline.now().uptimeNanoseconds { return .uptimeNanoseconds(deadline) }
        // Over: the next askers need not read the clock (a newer throttle set meanwhile stays).
        _ = until.compareExchange(expected: deadline, desired: 0, ordering: .relaxed)
        return nil
    }
}
