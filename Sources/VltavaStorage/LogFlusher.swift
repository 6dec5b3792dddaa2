import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The one thread that fsyncs partition logs. Logs ask for a flush; every log that asked while the previous
/// round ran is synced in the next round, so concurrent acks=all producers share fsyncs (group commit). A round
/// syncs its logs in the order they first asked, so a record whose sync was asked for before another's is never
/// on disk later than it (the transaction coordinator relies on it).
public final class LogFlusher: @unchecked Sendable {
    private let condition = ConditionLock(value: 0)
    private var pending: [PartitionLog] = []
    private var pendingIds: Set<ObjectIdentifier> = []
    private var running = true
    private let thread: NIOThreadPool
    private let clock: @Sendable () -> Int64
    /// Each log's flush (its fdatasync calls) is timed into this histogram.
    private let flushDuration: CoreMetrics.Timer

    public init(clock: @escaping @Sendable () -> Int64, metrics: (any MetricsFactory)? = nil) {
        self.clock = clock
        self.flushDuration = CoreMetrics.Timer(
            label: "vltava_log_flush_duration_seconds", factory: metrics ?? NOOPMetricsHandler.instance)
        self.thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        thread.submit { [self] state in
            guard case .active = state else { return }
            self.loop()
        }
    }

    /// Queues `log` for the next flush round.
    public func schedule(_ log: PartitionLog) {
        condition.lock()
        if pendingIds.insert(ObjectIdentifier(log)).inserted { pending.append(log) }
        condition.unlock(withValue: 1)
    }

    private func loop() {
        while true {
            condition.lock(whenValue: 1)
            let batch = pending
            pending.removeAll()
            pendingIds.removeAll()
            let keepRunning = running
            condition.unlock(withValue: keepRunning ? 0 : 1)
            for log in batch {
                let started = NIODeadline.now()
                try? log.flush(nowMs: clock())
                flushDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
            }
            if !keepRunning && batch.isEmpty { return }
            if !keepRunning { continue }
        }
    }

    /// Finishes the queued flushes and stops the thread.
    public func shutdown() {
        condition.lock()
        running = false
        condition.unlock(withValue: 1)
        try? thread.syncShutdownGracefully()
    }
}
