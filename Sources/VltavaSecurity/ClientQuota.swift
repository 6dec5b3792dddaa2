/// Kafka's client quotas: the entities they are set on, their keys, which one applies to a client, and the
/// sampled rate that decides how long a client over its quota is throttled (`ClientQuotaManager`'s arithmetic).

/// A quota entity: `user`, `client-id` or both, each named or the default (a nil name), or `ip` alone.
public struct ClientQuotaEntity: Hashable, Codable, Sendable, CustomStringConvertible {
    public struct Component: Hashable, Codable, Sendable {
        public var type: String
        /// Nil for the default entity of this type (`<default>`).
        public var name: String?

        public init(type: String, name: String?) {
            self.type = type
            self.name = name
        }
    }

    public static let user = "user"
    public static let clientId = "client-id"
    public static let ip = "ip"

    /// Sorted by type, no type twice.
    public private(set) var components: [Component]

    /// An entity from its components; nil when a type repeats.
    public init?(_ components: [Component]) {
        let sorted = components.sorted { $0.type < $1.type }
        for index in sorted.indices.dropFirst() where sorted[index].type == sorted[index - 1].type { return nil }
        self.components = sorted
    }

    public func name(of type: String) -> String?? {
        components.first { $0.type == type }.map(\.name)
    }

    public var types: Set<String> { Set(components.map(\.type)) }

    public var description: String {
        components.map { "\($0.type)=\($0.name ?? "<default>")" }.joined(separator: ",")
    }

    /// Why the entity cannot carry quotas, if it cannot (Kafka: user and client-id, alone or together; ip alone).
    public var problem: String? {
        if components.isEmpty { return "Invalid empty client quota entity" }
        for component in components where ![Self.user, Self.clientId, Self.ip].contains(component.type) {
            return "Unknown client quota entity type \(component.type)"
        }
        if types.contains(Self.ip), components.count > 1 { return "Invalid quota entity combination: ip cannot go with user or client-id" }
        if let ip = name(of: Self.ip), let address = ip, !Self.isIPAddress(address) {
            return "\(address) is not a valid IP address"
        }
        if let user = name(of: Self.user), user?.isEmpty == true { return "Empty user name; use the default entity instead" }
        return nil
    }

    static func isIPAddress(_ text: String) -> Bool {
        if text.contains(":") { return text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && text.count <= 45 }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isNumber) && (Int(part) ?? 256) <= 255
        }
    }
}

/// The quota keys Kafka knows, with their value rules.
public enum ClientQuotaKey: String, CaseIterable, Sendable, Codable {
    case producerByteRate = "producer_byte_rate"
    case consumerByteRate = "consumer_byte_rate"
    case requestPercentage = "request_percentage"
    case controllerMutationRate = "controller_mutation_rate"
    case connectionCreationRate = "connection_creation_rate"

    /// Whether the key applies to an entity of these types (`connection_creation_rate` to ip; the others to
    /// user and client-id).
    public func applies(to types: Set<String>) -> Bool {
        self == .connectionCreationRate ? types == [ClientQuotaEntity.ip] : !types.contains(ClientQuotaEntity.ip)
    }

    /// Why `value` cannot be this key's quota, if it cannot.
    public func problem(with value: Double) -> String? {
        guard value.isFinite, value > 0 else { return "\(rawValue) must be greater than 0, not \(value)" }
        switch self {
        case .producerByteRate, .consumerByteRate, .connectionCreationRate:
            if value.rounded() != value || value > 9.2e18 { return "\(rawValue) must be a whole number, not \(value)" }
        case .requestPercentage, .controllerMutationRate:
            break
        }
        return nil
    }
}

/// Which configured quota applies to a client, in Kafka's order of precedence: user and client-id, user and
/// default client-id, user, default user and client-id, default user and default client-id, default user,
/// client-id, default client-id. The quota's metric is shared by every client the matched entity covers.
public struct ClientQuotaResolver: Sendable {
    public struct Match: Equatable, Sendable {
        public var bound: Double
        /// Names the shared metric (the matched entity with its names filled in for this client).
        public var metricKey: String
    }

    public let quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]]

    public init(quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]]) {
        self.quotas = quotas
    }

    public var isEmpty: Bool { quotas.isEmpty }

    public func match(_ key: ClientQuotaKey, user: String, clientId: String) -> Match? {
        typealias C = ClientQuotaEntity.Component
        let u = ClientQuotaEntity.user, c = ClientQuotaEntity.clientId
        let levels: [(components: [C], metric: String)] = [
            ([C(type: u, name: user), C(type: c, name: clientId)], "user=\(user),client-id=\(clientId)"),
            ([C(type: u, name: user), C(type: c, name: nil)], "user=\(user),client-id=\(clientId)"),
            ([C(type: u, name: user)], "user=\(user)"),
            ([C(type: u, name: nil), C(type: c, name: clientId)], "user=\(user),client-id=\(clientId)"),
            ([C(type: u, name: nil), C(type: c, name: nil)], "user=\(user),client-id=\(clientId)"),
            ([C(type: u, name: nil)], "user=\(user)"),
            ([C(type: c, name: clientId)], "client-id=\(clientId)"),
            ([C(type: c, name: nil)], "client-id=\(clientId)"),
        ]
        for level in levels {
            if let entity = ClientQuotaEntity(level.components), let bound = quotas[entity]?[key] {
                return Match(bound: bound, metricKey: "\(key.rawValue):\(level.metric)")
            }
        }
        return nil
    }

    /// The `connection_creation_rate` of an IP address: its own, else the default IP's.
    public func connectionRate(ip: String) -> Match? {
        for name in [ip, nil] as [String?] {
            if let entity = ClientQuotaEntity([.init(type: ClientQuotaEntity.ip, name: name)]),
               let bound = quotas[entity]?[.connectionCreationRate] {
                return Match(bound: bound, metricKey: "connection_creation_rate:ip=\(ip)")
            }
        }
        return nil
    }
}

/// Kafka's `Rate` over a `SampledStat`: `samples` windows of `windowMs`; the rate is what was recorded in the
/// windows not yet obsolete, per second of the time they cover — counted as at least `samples - 1` whole windows,
/// so that a new client's first burst is measured against the full window and not against a few milliseconds.
public struct QuotaRate: Sendable {
    private struct Sample {
        var start: Int64
        var value: Double
    }

    public let windowMs: Int64
    public let samples: Int
    private var ring: [Sample]
    private var current = 0

    public init(windowMs: Int64 = 1000, samples: Int = 11, nowMs: Int64) {
        self.windowMs = max(1, windowMs)
        self.samples = max(2, samples)
        ring = [Sample(start: nowMs, value: 0)]
    }

    public mutating func record(_ value: Double, nowMs: Int64) {
        if nowMs - ring[current].start >= windowMs {
            current = (current + 1) % samples
            let sample = Sample(start: nowMs, value: 0)
            if current < ring.count { ring[current] = sample } else { ring.append(sample) }
        }
        ring[current].value += value
    }

    /// Per second.
    public mutating func measure(nowMs: Int64) -> Double {
        rate(overMs: windowSizeMs(nowMs: nowMs))
    }

    private func rate(overMs elapsed: Int64) -> Double {
        let total = ring.reduce(0) { $0 + $1.value }
        return elapsed > 0 ? total * 1000 / Double(elapsed) : 0
    }

    /// The time the rate is measured over, as Kafka's `Rate.windowSize`.
    public mutating func windowSizeMs(nowMs: Int64) -> Int64 {
        let expiry = Int64(samples) * windowMs
        for index in ring.indices where nowMs - ring[index].start >= expiry {
            ring[index] = Sample(start: nowMs, value: 0)
        }
        let oldest = ring.reduce(nowMs) { min($0, $1.start) }
        var elapsed = nowMs - oldest
        let fullWindows = elapsed / windowMs
        let minimum = Int64(samples - 1)
        if fullWindows < minimum { elapsed += (minimum - fullWindows) * windowMs }
        return elapsed
    }

    /// Records `value` and returns how long the client must wait, 0 within `bound` (Kafka's
    /// `QuotaUtils.throttleTime`: the excess over the bound, as a share of it, times the measured window; at most
    /// the whole window).
    public mutating func recordAndThrottle(_ value: Double, bound: Double, nowMs: Int64) -> Int64 {
        record(value, nowMs: nowMs)
        let window = windowSizeMs(nowMs: nowMs)
        let rate = rate(overMs: window)
        guard rate > bound, bound > 0 else { return 0 }
        let throttle = (rate - bound) / bound * Double(window)
        return min(Int64(throttle.rounded()), Int64(samples) * windowMs)
    }
}

/// Kafka's `TokenBucket` for `controller_mutation_rate` (KIP-599): tokens refill at the quota's rate up to a burst
/// of the quota times the whole quota window (`quota.window.num` × `quota.window.size.seconds`); each partition a
/// request creates or deletes takes one. A mutation is accepted while the bucket is not in debt (it may take the
/// bucket below zero); once it is, the time to pay the debt back is the throttle.
public struct QuotaTokenBucket: Sendable {
    public private(set) var tokens: Double
    private var lastMs: Int64

    /// A full bucket.
    public init(rate: Double, burstSeconds: Double, nowMs: Int64) {
        tokens = rate * burstSeconds
        lastMs = nowMs
    }

    private mutating func refill(rate: Double, burstSeconds: Double, nowMs: Int64) {
        tokens = min(rate * burstSeconds, tokens + rate * Double(max(0, nowMs - lastMs)) / 1000)
        lastMs = max(lastMs, nowMs)
    }

    /// Takes `value` tokens if the bucket is not in debt; otherwise takes nothing and returns the throttle in ms.
    public mutating func take(_ value: Double, rate: Double, burstSeconds: Double, nowMs: Int64, strict: Bool) -> Int64 {
        refill(rate: rate, burstSeconds: burstSeconds, nowMs: nowMs)
        if strict, tokens < 0 { return max(1, throttleMs(rate: rate)) }
        tokens -= value
        return 0
    }

    /// The time until the bucket is out of debt (0 when it is not in debt).
    public mutating func throttleMs(rate: Double, burstSeconds: Double, nowMs: Int64) -> Int64 {
        refill(rate: rate, burstSeconds: burstSeconds, nowMs: nowMs)
        return throttleMs(rate: rate)
    }

    private func throttleMs(rate: Double) -> Int64 {
        guard tokens < 0, rate > 0 else { return 0 }
        return Int64((-tokens / rate * 1000).rounded())
    }
}
