import Atomics

/// What clients produced to and fetched from one partition since the broker started, for the per-topic byte and
/// record counters of `/metrics`. Relaxed atomic adds: the request path pays a few nanoseconds a partition and
/// takes no lock; the scrape adds the partitions of a topic up.
public final class PartitionTraffic: Sendable {
    private let recordsIn = ManagedAtomic<Int64>(0)
    private let bytesIn = ManagedAtomic<Int64>(0)
    private let bytesOut = ManagedAtomic<Int64>(0)

    public init() {}

    /// A produce appended `records` records in `bytes` bytes.
    public func produced(records: Int, bytes: Int) {
        recordsIn.wrappingIncrement(by: Int64(records), ordering: .relaxed)
        bytesIn.wrappingIncrement(by: Int64(bytes), ordering: .relaxed)
    }

    /// A fetch answer carried `bytes` bytes of this partition's records.
    public func fetched(bytes: Int) {
        bytesOut.wrappingIncrement(by: Int64(bytes), ordering: .relaxed)
    }

    /// The totals so far.
    public var totals: (recordsIn: Int64, bytesIn: Int64, bytesOut: Int64) {
        (recordsIn.load(ordering: .relaxed), bytesIn.load(ordering: .relaxed), bytesOut.load(ordering: .relaxed))
    }
}
