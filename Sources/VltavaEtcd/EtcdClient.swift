/// What the cluster needs from etcd's v3 API: ranges, puts, deletes, transactions, leases and watches. The gateway
/// client speaks etcd's JSON gateway; `InMemoryEtcd` keeps the same semantics in memory for tests, and a gRPC client
/// could take the gateway's place behind this protocol.
public protocol EtcdClient: Sendable {
    /// The keys in `[key, rangeEnd)` (only `key` when `rangeEnd` is empty; every key from `key` on when it is `[0]`)
    /// as of `revision` (0: the newest), at most `limit` of them (0: all), without their values when `keysOnly`.
    func range(key: [UInt8], rangeEnd: [UInt8], revision: Int64, limit: Int64, keysOnly: Bool) async throws(EtcdError)
        -> EtcdRangeResult
    /// Sets `key` to `value`, attached to `lease` (0: none); the previous pair comes back when `prevKV`.
    func put(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdPutResult
    /// Deletes the keys in `[key, rangeEnd)` (only `key` when `rangeEnd` is empty); the deleted pairs come back when
    /// `prevKV`.
    func delete(key: [UInt8], rangeEnd: [UInt8], prevKV: Bool) async throws(EtcdError) -> EtcdDeleteResult
    /// Runs `success` if every comparison holds, else `failure`, atomically at one revision.
    func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) async throws(EtcdError)
        -> EtcdTxnResult
    /// Forgets the history before `revision`: older revisions can no longer be read or watched from.
    func compact(revision: Int64) async throws(EtcdError)
    /// A new lease that expires `ttl` seconds from now unless kept alive; etcd may grant a longer TTL than asked.
    func grant(ttl: Int64) async throws(EtcdError) -> EtcdLease
    /// Restarts the lease's countdown once (one round trip: the caller repeats it, about every TTL/3) and gives the
    /// TTL it restarted from; `EtcdError.leaseNotFound` once the lease has expired or been revoked.
    func keepAlive(id: Int64) async throws(EtcdError) -> Int64
    /// Ends the lease now and deletes the keys attached to it.
    func revoke(id: Int64) async throws(EtcdError)
    /// The seconds the lease has left and the TTL it was granted; `EtcdError.leaseNotFound` when it is gone.
    func timeToLive(id: Int64) async throws(EtcdError) -> EtcdLeaseTimeToLive
    /// The changes to the keys in `[key, rangeEnd)` from `startRevision` on (0: from the next change), returned once
    /// etcd has set the watch up, so every later write is seen. The sequence ends with `EtcdError.watchCompacted`
    /// when `startRevision` is older than the compacted history (read again, then watch from the read's revision
    /// + 1) and with `EtcdError.connectionLost` when the stream breaks; leaving it stops the watch.
    func watch(key: [UInt8], rangeEnd: [UInt8], startRevision: Int64, prevKV: Bool) async throws(EtcdError) -> EtcdWatch
}

extension EtcdClient {
    /// The newest value of one key, or nil.
    public func get(_ key: [UInt8]) async throws(EtcdError) -> EtcdKeyValue? {
        try await range(key: key, rangeEnd: [], revision: 0, limit: 1, keysOnly: false).kvs.first
    }

    /// Every key starting with `prefix`, as of `revision` (0: the newest).
    public func prefix(_ prefix: [UInt8], revision: Int64 = 0, limit: Int64 = 0, keysOnly: Bool = false)
        async throws(EtcdError) -> EtcdRangeResult {
        try await range(key: EtcdKeys.prefixStart(prefix), rangeEnd: EtcdKeys.prefixEnd(prefix), revision: revision, limit: limit,
                        keysOnly: keysOnly)
    }

    /// Sets `key` to `value` with no lease and no previous pair asked for.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> EtcdPutResult {
        try await put(key: key, value: value, lease: lease, prevKV: false)
    }

    /// Watches every key starting with `prefix`.
    public func watch(prefix: [UInt8], startRevision: Int64, prevKV: Bool = false) async throws(EtcdError) -> EtcdWatch {
        try await watch(key: EtcdKeys.prefixStart(prefix), rangeEnd: EtcdKeys.prefixEnd(prefix), startRevision: startRevision,
                        prevKV: prevKV)
    }
}

/// Key helpers: range ends and readable keys.
public enum EtcdKeys {
    /// The end of the range holding every key that starts with `prefix`: the prefix with its last byte below 0xff
    /// increased and what followed dropped; `[0]` (every key) when the prefix is empty or all 0xff.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }

    /// The first key of a prefix range: the prefix, or `[0]` for the empty prefix (etcd refuses an empty key).
    public static func prefixStart(_ prefix: [UInt8]) -> [UInt8] { prefix.isEmpty ? [0] : prefix }

    /// Whether `key` is in `[start, end)` as etcd reads a range: only `start` when `end` is empty, everything from
    /// `start` on when `end` is `[0]`.
    public static func contains(_ key: [UInt8], start: [UInt8], end: [UInt8]) -> Bool {
        if end.isEmpty { return key == start }
        if end == [0] { return !key.lexicographicallyPrecedes(start) }
        return !key.lexicographicallyPrecedes(start) && key.lexicographicallyPrecedes(end)
    }

    /// Bytes of a UTF-8 key.
    public static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}

/// A key and its value at one revision, with etcd's bookkeeping.
public struct EtcdKeyValue: Sendable, Hashable {
    public var key: [UInt8]
    public var value: [UInt8]
    /// The revision that created the key (since its last deletion).
    public var createRevision: Int64
    /// The revision of its last change.
    public var modRevision: Int64
    /// How many times it was set since it was created (1 after the creation).
    public var version: Int64
    /// The lease it is attached to, 0 for none.
    public var lease: Int64

    public init(key: [UInt8], value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The value as UTF-8 text (for messages and tests).
    public var valueText: String { String(decoding: value, as: UTF8.self) }
}

/// The answer to a range: the pairs found and the store's revision when it was read.
public struct EtcdRangeResult: Sendable, Hashable {
    public var revision: Int64
    public var kvs: [EtcdKeyValue]
    /// How many keys are in the range (more than `kvs` when a limit cut it).
    public var count: Int64
    /// Whether a limit left keys out.
    public var more: Bool

    public init(revision: Int64, kvs: [EtcdKeyValue], count: Int64, more: Bool) {
        self.revision = revision
        self.kvs = kvs
        self.count = count
        self.more = more
    }
}

/// The answer to a put: the revision it made and, when asked, the pair it replaced.
public struct EtcdPutResult: Sendable, Hashable {
    public var revision: Int64
    public var prevKV: EtcdKeyValue?

    public init(revision: Int64, prevKV: EtcdKeyValue?) {
        self.revision = revision
        self.prevKV = prevKV
    }
}

/// The answer to a delete: the revision after it, how many keys went and, when asked, their last pairs.
public struct EtcdDeleteResult: Sendable, Hashable {
    public var revision: Int64
    public var deleted: Int64
    public var prevKVs: [EtcdKeyValue]

    public init(revision: Int64, deleted: Int64, prevKVs: [EtcdKeyValue]) {
        self.revision = revision
        self.deleted = deleted
        self.prevKVs = prevKVs
    }
}

/// One comparison of a transaction's guard, on a single key.
public struct EtcdCompare: Sendable, Hashable {
    /// What is compared, with the operand.
    public enum Target: Sendable, Hashable {
        case value([UInt8])
        case version(Int64)
        /// 0 for a key that does not exist: `createRevision(0)` with `.equal` means "absent".
        case createRevision(Int64)
        case modRevision(Int64)
        case lease(Int64)
    }

    /// etcd's comparison results, in its order.
    public enum Result: String, Sendable, Hashable {
        case equal = "EQUAL"
        case greater = "GREATER"
        case less = "LESS"
        case notEqual = "NOT_EQUAL"
    }

    public var key: [UInt8]
    public var target: Target
    public var result: Result

    public init(key: [UInt8], _ target: Target, _ result: Result) {
        self.key = key
        self.target = target
        self.result = result
    }
}

/// One operation of a transaction branch.
public enum EtcdOperation: Sendable, Hashable {
    case range(key: [UInt8], rangeEnd: [UInt8] = [], revision: Int64 = 0, limit: Int64 = 0, keysOnly: Bool = false)
    case put(key: [UInt8], value: [UInt8], lease: Int64 = 0, prevKV: Bool = false)
    case delete(key: [UInt8], rangeEnd: [UInt8] = [], prevKV: Bool = false)
}

/// The answer to one operation of a transaction branch.
public enum EtcdOperationResult: Sendable, Hashable {
    case range(EtcdRangeResult)
    case put(EtcdPutResult)
    case delete(EtcdDeleteResult)
}

/// The answer to a transaction: which branch ran, its answers in order, the revision after it.
public struct EtcdTxnResult: Sendable, Hashable {
    public var succeeded: Bool
    public var responses: [EtcdOperationResult]
    public var revision: Int64

    public init(succeeded: Bool, responses: [EtcdOperationResult], revision: Int64) {
        self.succeeded = succeeded
        self.responses = responses
        self.revision = revision
    }
}

/// A granted lease.
public struct EtcdLease: Sendable, Hashable {
    public var id: Int64
    /// The TTL granted, in seconds.
    public var ttl: Int64

    public init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }
}

/// A lease's remaining time.
public struct EtcdLeaseTimeToLive: Sendable, Hashable {
    public var id: Int64
    /// Seconds left.
    public var ttl: Int64
    public var grantedTTL: Int64

    public init(id: Int64, ttl: Int64, grantedTTL: Int64) {
        self.id = id
        self.ttl = ttl
        self.grantedTTL = grantedTTL
    }
}
