/// etcd's key-value semantics in memory, for testing what stands on `EtcdClient` without a server: one revision per
/// write (a transaction's writes share one), create and mod revisions and versions, reads at past revisions until
/// they are compacted, transactions, leases whose expiry follows an injected clock (checked before every call and by
/// `expireLeases()`), and watches from a revision.
public actor InMemoryEtcd: EtcdClient {
    struct Lease {
        var ttl: Int64
        var expiresAt: ContinuousClock.Instant
        var keys: Set<[UInt8]> = []
    }

    struct Watcher {
        var startRevision: Int64
        var key: [UInt8]
        var rangeEnd: [UInt8]
        var prevKV: Bool
        var continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation
    }

    /// Every change of every key still in the history: the pair from `revision` on, nil once deleted.
    private var history: [[UInt8]: [(revision: Int64, kv: EtcdKeyValue?)]] = [:]
    /// The events of each revision still in the history, with the previous pairs, for watches from a revision.
    private var events: [(revision: Int64, events: [EtcdEvent])] = []
    private var revision: Int64 = 1
    private var compactRevision: Int64 = 0
    private var leases: [Int64: Lease] = [:]
    private var nextLeaseID: Int64 = 7_587_870_000_000_000_001
    private var watchers: [Int: Watcher] = [:]
    private var nextWatcherID = 0
    /// The events of the write in progress, committed as one revision.
    private var pending: [EtcdEvent] = []
    private let now: @Sendable () -> ContinuousClock.Instant

    /// An empty store at revision 1; `now` drives lease expiry (a test can move it forward by hand).
    public init(now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.now = now
    }

    // MARK: Keys

    public func range(key: [UInt8], rangeEnd: [UInt8], revision: Int64, limit: Int64, keysOnly: Bool) throws(EtcdError)
        -> EtcdRangeResult {
        expireLeases()
        return try read(key: key, rangeEnd: rangeEnd, revision: revision, limit: limit, keysOnly: keysOnly)
    }

    public func put(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) throws(EtcdError) -> EtcdPutResult {
        expireLeases()
        let previous = try write(key: key, value: value, lease: lease)
        commit()
        return EtcdPutResult(revision: revision, prevKV: prevKV ? previous : nil)
    }

    public func delete(key: [UInt8], rangeEnd: [UInt8], prevKV: Bool) throws(EtcdError) -> EtcdDeleteResult {
        expireLeases()
        guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
        let deleted = erase(key: key, rangeEnd: rangeEnd)
        commit()
        return EtcdDeleteResult(revision: revision, deleted: Int64(deleted.count), prevKVs: prevKV ? deleted : [])
    }

    public func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) throws(EtcdError) -> EtcdTxnResult {
        expireLeases()
        let succeeded = compare.allSatisfy(holds)
        let operations = succeeded ? success : failure
        try validate(operations)
        var responses: [EtcdOperationResult] = []
        for operation in operations {
            switch operation {
            case let .range(key, rangeEnd, revision, limit, keysOnly):
                responses.append(.range(try read(key: key, rangeEnd: rangeEnd, revision: revision, limit: limit, keysOnly: keysOnly)))
            case let .put(key, value, lease, prevKV):
                let previous = try write(key: key, value: value, lease: lease)
                responses.append(.put(EtcdPutResult(revision: 0, prevKV: prevKV ? previous : nil)))
            case let .delete(key, rangeEnd, prevKV):
                let deleted = erase(key: key, rangeEnd: rangeEnd)
                responses.append(.delete(EtcdDeleteResult(revision: 0, deleted: Int64(deleted.count), prevKVs: prevKV ? deleted : [])))
            }
        }
        commit()
        let stamped = responses.map { response -> EtcdOperationResult in
            switch response {
            case var .range(result): result.revision = revision; return .range(result)
            case var .put(result): result.revision = revision; return .put(result)
            case var .delete(result): result.revision = revision; return .delete(result)
            }
        }
        return EtcdTxnResult(succeeded: succeeded, responses: stamped, revision: revision)
    }

    public func compact(revision target: Int64) throws(EtcdError) {
        expireLeases()
        guard target > compactRevision else { throw EtcdError.revisionCompacted(requested: target) }
        guard target <= revision else { throw EtcdError.futureRevision(requested: target) }
        compactRevision = target
        for (key, changes) in history {
            // Keep the pair visible at the compaction revision (unless deleted) and everything after it.
            let firstKept = changes.lastIndex { $0.revision <= target } ?? 0
            var kept = Array(changes[firstKept...])
            if let first = kept.first, first.revision <= target, first.kv == nil { kept.removeFirst() }
            history[key] = kept.isEmpty ? nil : kept
        }
        events.removeAll { $0.revision < target }
    }

    // MARK: Leases

    public func grant(ttl: Int64) -> EtcdLease {
        expireLeases()
        let ttl = max(ttl, 1)
        let id = nextLeaseID
        nextLeaseID += 1
        leases[id] = Lease(ttl: ttl, expiresAt: now() + .seconds(ttl))
        return EtcdLease(id: id, ttl: ttl)
    }

    public func keepAlive(id: Int64) throws(EtcdError) -> Int64 {
        expireLeases()
        guard var lease = leases[id] else { throw EtcdError.leaseNotFound(id) }
        lease.expiresAt = now() + .seconds(lease.ttl)
        leases[id] = lease
        return lease.ttl
    }

    public func revoke(id: Int64) throws(EtcdError) {
        expireLeases()
        guard leases[id] != nil else { throw EtcdError.leaseNotFound(id) }
        end(lease: id)
    }

    public func timeToLive(id: Int64) throws(EtcdError) -> EtcdLeaseTimeToLive {
        expireLeases()
        guard let lease = leases[id] else { throw EtcdError.leaseNotFound(id) }
        let left = now().duration(to: lease.expiresAt).components.seconds
        return EtcdLeaseTimeToLive(id: id, ttl: max(left, 0), grantedTTL: lease.ttl)
    }

    /// Ends every lease whose TTL has run out by the clock, deleting its keys (one revision per lease, as etcd).
    public func expireLeases() {
        let current = now()
        for id in leases.filter({ $0.value.expiresAt <= current }).keys.sorted() { end(lease: id) }
    }

    // MARK: Watches

    public func watch(key: [UInt8], rangeEnd: [UInt8], startRevision: Int64, prevKV: Bool) throws(EtcdError) -> EtcdWatch {
        expireLeases()
        guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
        let id = nextWatcherID
        nextWatcherID += 1
        let (watch, continuation) = EtcdWatch.make { [weak self] in
            Task { await self?.removeWatcher(id) }
        }
        let watcher = Watcher(startRevision: startRevision, key: key, rangeEnd: rangeEnd, prevKV: prevKV, continuation: continuation)
        if startRevision > 0, startRevision < compactRevision {
            continuation.finish(throwing: EtcdError.watchCompacted(requested: startRevision, compactRevision: compactRevision))
            return watch
        }
        if startRevision > 0 {
            for (revision, changes) in events where revision >= startRevision {
                deliver(changes, to: watcher, revision: self.revision)
            }
        }
        watchers[id] = watcher
        return watch
    }

    /// How many watches are running (tests check that a stopped consumer ends its watch).
    public var watchCount: Int { watchers.count }

    private func removeWatcher(_ id: Int) {
        watchers[id] = nil
    }

    private func deliver(_ changes: [EtcdEvent], to watcher: Watcher, revision: Int64) {
        let seen = changes.filter { EtcdKeys.contains($0.kv.key, start: watcher.key, end: watcher.rangeEnd) }.map { event in
            watcher.prevKV ? event : EtcdEvent(kind: event.kind, kv: event.kv, prevKV: nil)
        }
        if !seen.isEmpty { watcher.continuation.yield(EtcdWatchBatch(revision: revision, events: seen)) }
    }

    // MARK: The store

    private func current(_ key: [UInt8]) -> EtcdKeyValue? {
        history[key]?.last?.kv
    }

    private func read(key: [UInt8], rangeEnd: [UInt8], revision at: Int64, limit: Int64, keysOnly: Bool) throws(EtcdError)
        -> EtcdRangeResult {
        guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
        if at > revision { throw EtcdError.futureRevision(requested: at) }
        if at > 0, at < compactRevision { throw EtcdError.revisionCompacted(requested: at) }
        var found: [EtcdKeyValue] = []
        for (candidate, changes) in history where EtcdKeys.contains(candidate, start: key, end: rangeEnd) {
            let visible = at == 0 ? changes.last : changes.last { $0.revision <= at }
            if let kv = visible?.kv { found.append(kv) }
        }
        found.sort { $0.key.lexicographicallyPrecedes($1.key) }
        let count = Int64(found.count)
        if limit > 0, found.count > limit { found = Array(found.prefix(Int(limit))) }
        if keysOnly { found = found.map { EtcdKeyValue(key: $0.key, value: [], createRevision: $0.createRevision,
                                                       modRevision: $0.modRevision, version: $0.version, lease: $0.lease) } }
        return EtcdRangeResult(revision: revision, kvs: found, count: count, more: Int64(found.count) < count)
    }

    /// Sets a key in the write in progress (at the next revision) and returns its previous pair.
    private func write(key: [UInt8], value: [UInt8], lease: Int64) throws(EtcdError) -> EtcdKeyValue? {
        guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
        guard lease == 0 || leases[lease] != nil else { throw EtcdError.leaseNotFound(lease) }
        let next = revision + 1
        let previous = current(key)
        let kv = EtcdKeyValue(key: key, value: value, createRevision: previous?.createRevision ?? next, modRevision: next,
                              version: (previous?.version ?? 0) + 1, lease: lease)
        if let old = previous?.lease, old != 0 { leases[old]?.keys.remove(key) }
        if lease != 0 { leases[lease]?.keys.insert(key) }
        record(key: key, kv: kv)
        pending.append(EtcdEvent(kind: .put, kv: kv, prevKV: previous))
        return previous
    }

    /// Deletes the keys of a range in the write in progress and returns their last pairs.
    private func erase(key: [UInt8], rangeEnd: [UInt8]) -> [EtcdKeyValue] {
        let next = revision + 1
        let doomed = history.keys.filter { EtcdKeys.contains($0, start: key, end: rangeEnd) }
            .compactMap(current).sorted { $0.key.lexicographicallyPrecedes($1.key) }
        for kv in doomed {
            if kv.lease != 0 { leases[kv.lease]?.keys.remove(kv.key) }
            record(key: kv.key, kv: nil)
            let tombstone = EtcdKeyValue(key: kv.key, value: [], createRevision: 0, modRevision: next, version: 0, lease: 0)
            pending.append(EtcdEvent(kind: .delete, kv: tombstone, prevKV: kv))
        }
        return doomed
    }

    private func record(key: [UInt8], kv: EtcdKeyValue?) {
        let next = revision + 1
        if let last = history[key]?.last, last.revision == next {
            history[key]?[history[key, default: []].count - 1] = (next, kv)
        } else {
            history[key, default: []].append((next, kv))
        }
    }

    /// Ends the write in progress: a new revision if it changed anything, its events to the watches.
    private func commit() {
        guard !pending.isEmpty else { return }
        revision += 1
        events.append((revision, pending))
        for watcher in watchers.values where watcher.startRevision <= revision {
            deliver(pending, to: watcher, revision: revision)
        }
        pending = []
    }

    private func end(lease id: Int64) {
        guard let lease = leases.removeValue(forKey: id) else { return }
        for key in lease.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) { _ = erase(key: key, rangeEnd: []) }
        commit()
    }

    /// Refuses a transaction branch before any of it runs, as etcd does, so a refused one changes nothing.
    private func validate(_ operations: [EtcdOperation]) throws(EtcdError) {
        var putKeys: Set<[UInt8]> = []
        for operation in operations {
            switch operation {
            case let .range(key, _, at, _, _):
                guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
                if at > revision { throw EtcdError.futureRevision(requested: at) }
                if at > 0, at < compactRevision { throw EtcdError.revisionCompacted(requested: at) }
            case let .put(key, _, lease, _):
                guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
                guard putKeys.insert(key).inserted else { throw EtcdError.invalidRequest("duplicate key given in txn request") }
                guard lease == 0 || leases[lease] != nil else { throw EtcdError.leaseNotFound(lease) }
            case let .delete(key, _, _):
                guard !key.isEmpty else { throw EtcdError.invalidRequest("key is not provided") }
            }
        }
    }

    private func holds(_ compare: EtcdCompare) -> Bool {
        let kv = current(compare.key)
        let order: Int
        switch compare.target {
        case let .value(value):
            // etcd fails a value comparison on a missing key, whatever the operator.
            guard let kv else { return false }
            order = kv.value == value ? 0 : (kv.value.lexicographicallyPrecedes(value) ? -1 : 1)
        case let .version(operand): order = Self.order(kv?.version ?? 0, operand)
        case let .createRevision(operand): order = Self.order(kv?.createRevision ?? 0, operand)
        case let .modRevision(operand): order = Self.order(kv?.modRevision ?? 0, operand)
        case let .lease(operand): order = Self.order(kv?.lease ?? 0, operand)
        }
        switch compare.result {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .greater: return order > 0
        case .less: return order < 0
        }
    }

    private static func order(_ left: Int64, _ right: Int64) -> Int {
        left == right ? 0 : (left < right ? -1 : 1)
    }
}
