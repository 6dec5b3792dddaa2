/// The assignment a worker group's leader computes at each rebalance, as Kafka's `EagerAssignor` and
/// `IncrementalCooperativeAssignor` (KIP-415) decide it. A pure value: the leader keeps it between rebalances
/// (what it assigned last time, what departed workers held), tests drive it without sockets.
///
/// Incremental cooperative rules:
/// - what members already run stays where it is; work no longer configured, or run twice, is revoked;
/// - work of a member that left is held back for `maxDelayMs` (`scheduled.rebalance.max.delay.ms`) so that a
///   worker coming back gets it again without a shuffle; a new, empty worker joining meanwhile takes it at
///   once; when the delay runs out it goes to whoever is least loaded;
/// - new work goes to the least loaded members (connectors and tasks balanced separately);
/// - if the load is still uneven, the most loaded members give work back (revoked now, assigned at the
///   rebalance that follows), never in two rounds in a row, so that work does not bounce.
public struct ConnectAssignor: Sendable {
    /// What one member is told.
    public struct Share: Hashable, Sendable {
        public var assigned: [ConnectAssignmentItem]
        public var revoked: [ConnectAssignmentItem]
        public var delayMs: Int32
    }

    public var incremental: Bool
    public var maxDelayMs: Int64
    /// What each member runs after the last assignment (as the leader computed it).
    public private(set) var previous: [String: Set<ConnectAssignmentItem>] = [:]
    /// Work of departed members held back, and until when.
    public private(set) var delayed: Set<ConnectAssignmentItem> = []
    public private(set) var delayDeadlineMs: Int64?
    /// Whether the last assignment revoked anything (no balancing revocation two rounds in a row).
    public private(set) var revokedLastRound = false

    public init(incremental: Bool, maxDelayMs: Int64 = 300_000) {
        self.incremental = incremental
        self.maxDelayMs = maxDelayMs
    }

    /// Assigns `configured` (every connector and task that should run) among `members` (member id → what
    /// the member reports running; ignored in eager mode, where every member starts from nothing).
    public mutating func assign(
        members: [String: Set<ConnectAssignmentItem>], configured: Set<ConnectAssignmentItem>, nowMs: Int64
    ) -> [String: Share] {
        incremental ? assignIncrementally(members: members, configured: configured, nowMs: nowMs)
            : assignEagerly(memberIds: members.keys.sorted(), configured: configured)
    }

    /// Eager: everything anew, connectors then tasks dealt round-robin over the members in id order.
    private mutating func assignEagerly(memberIds: [String], configured: Set<ConnectAssignmentItem>) -> [String: Share] {
        var shares = Dictionary(uniqueKeysWithValues: memberIds.map { ($0, [ConnectAssignmentItem]()) })
        guard !memberIds.isEmpty else { return [:] }
        let ordered = configured.filter(\.isConnector).sorted() + configured.filter { !$0.isConnector }.sorted()
        for (index, item) in ordered.enumerated() {
            shares[memberIds[index % memberIds.count], default: []].append(item)
        }
        previous = shares.mapValues(Set.init)
        return shares.mapValues { Share(assigned: $0, revoked: [], delayMs: 0) }
    }

    private mutating func assignIncrementally(
        members: [String: Set<ConnectAssignmentItem>], configured: Set<ConnectAssignmentItem>, nowMs: Int64
    ) -> [String: Share] {
        let memberIds = members.keys.sorted()
        guard !memberIds.isEmpty else { return [:] }
        var current: [String: Set<ConnectAssignmentItem>] = [:]
        var revoked: [String: Set<ConnectAssignmentItem>] = [:]
        var held: Set<ConnectAssignmentItem> = []
        for id in memberIds {
            for item in (members[id] ?? []).sorted() {
                if !configured.contains(item) || held.contains(item) {
                    revoked[id, default: []].insert(item)  // deleted, or already run by another member
                } else {
                    held.insert(item)
                    current[id, default: []].insert(item)
                }
            }
        }

        // Work of members that left, not run by anyone now.
        let departed = Set(previous.keys).subtracting(memberIds)
        var lost = departed.reduce(into: delayed) { $0.formUnion(previous[$1] ?? []) }
        lost = lost.intersection(configured).subtracting(held)
        var unassigned = configured.subtracting(held).subtracting(lost)
        var delayMs: Int32 = 0
        var lostGoesTo: [String] = []
        if lost.isEmpty {
            delayed = []
            delayDeadlineMs = nil
        } else {
            let deadline = delayDeadlineMs ?? nowMs + maxDelayMs
            // New members with nothing yet may be the departed ones back: they take the lost work now.
            let newcomers = memberIds.filter { previous[$0] == nil && (current[$0] ?? []).isEmpty }
            if nowMs >= deadline || maxDelayMs <= 0 {
                unassigned.formUnion(lost)
                delayed = []
                delayDeadlineMs = nil
            } else if !newcomers.isEmpty {
                lostGoesTo = newcomers
                delayed = []
                delayDeadlineMs = nil
            } else {
                delayed = lost
                delayDeadlineMs = deadline
                delayMs = Int32(clamping: deadline - nowMs)
                lost = []
            }
        }

        var added: [String: [ConnectAssignmentItem]] = [:]
        func give(_ items: Set<ConnectAssignmentItem>, to candidates: [String]) {
            for item in items.sorted() {
                let load: (String) -> Int = { id in
                    (current[id] ?? []).filter { $0.isConnector == item.isConnector }.count
                }
                guard let target = candidates.min(by: { (load($0), $0) < (load($1), $1) }) else { return }
                current[target, default: []].insert(item)
                added[target, default: []].append(item)
            }
        }
        if !lostGoesTo.isEmpty { give(lost, to: lostGoesTo) }
        give(unassigned, to: memberIds)

        // Balance what is still uneven, unless this round or the last one already revoked something.
        let revokingAlready = revoked.values.contains { !$0.isEmpty }
        if !revokingAlready, !revokedLastRound, delayMs == 0 {
            for connectors in [true, false] {
                for (id, items) in Self.excess(current, memberIds: memberIds, connectors: connectors, protected: added) {
                    revoked[id, default: []].formUnion(items)
                    current[id]?.subtract(items)
                }
            }
        }

        revokedLastRound = revoked.values.contains { !$0.isEmpty }
        previous = Dictionary(uniqueKeysWithValues: memberIds.map { ($0, current[$0] ?? []) })
        return Dictionary(uniqueKeysWithValues: memberIds.map { id in
            (id, Share(assigned: (added[id] ?? []).sorted(), revoked: (revoked[id] ?? []).sorted(), delayMs: delayMs))
        })
    }

    /// What the most loaded members give back so that every member can end with ⌊n/m⌋ or ⌈n/m⌉ items of the kind:
    /// first everything above ⌈n/m⌉, then, while some member is below ⌊n/m⌋, one more from those above ⌊n/m⌋.
    /// Work just added is not taken back.
    static func excess(
        _ current: [String: Set<ConnectAssignmentItem>], memberIds: [String], connectors: Bool,
        protected: [String: [ConnectAssignmentItem]]
    ) -> [String: [ConnectAssignmentItem]] {
        var loads = Dictionary(uniqueKeysWithValues: memberIds.map { id in
            (id, (current[id] ?? []).filter { $0.isConnector == connectors }.sorted())
        })
        let total = loads.values.reduce(0) { $0 + $1.count }
        let floor = total / memberIds.count
        let ceiling = (total + memberIds.count - 1) / memberIds.count
        var deficit = memberIds.reduce(0) { $0 + max(0, floor - (loads[$1]?.count ?? 0)) }
        var result: [String: [ConnectAssignmentItem]] = [:]
        func takeOne(from id: String) -> Bool {
            let keep = Set(protected[id] ?? [])
            guard let item = loads[id]?.last(where: { !keep.contains($0) }) else { return false }
            loads[id]?.removeAll { $0 == item }
            result[id, default: []].append(item)
            return true
        }
        for id in memberIds {
            while (loads[id]?.count ?? 0) > ceiling, takeOne(from: id) { deficit -= 1 }
        }
        var progress = true
        while deficit > 0, progress {
            progress = false
            for id in memberIds.sorted(by: { (loads[$0]?.count ?? 0) > (loads[$1]?.count ?? 0) })
            where deficit > 0 && (loads[id]?.count ?? 0) > floor {
                if takeOne(from: id) {
                    deficit -= 1
                    progress = true
                }
            }
        }
        return result
    }
}
