#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOConcurrencyHelpers

/// What a sink task can ask of the worker running it (Kafka's `SinkTaskContext`): whether the worker wants it to
/// stop, the worker's logger, and, under `errors.tolerance=all`, a reporter of records the task could not deliver
/// (Kafka's `errantRecordReporter()`, KIP-610), which the worker logs and sends to the dead-letter queue.
///
/// `put` runs on a blocking thread that stopping the worker task does not interrupt (after
/// `task.shutdown.graceful.timeout.ms` the worker only abandons it), so a task that waits — retries, backoff, a slow
/// server — looks at `isStopping` and gives its batch up by throwing `SinkTaskContext.stopped`.
public final class SinkTaskContext: Sendable {
    /// What a task throws when it gives up a batch because the worker asked it to stop: the worker then neither
    /// commits the batch's offsets nor reports the task FAILED.
    public static let stopped = ConnectError.failed("the task was asked to stop before its records were delivered")

    public let logger: Logger
    /// nil unless `errors.tolerance=all`: without it, a record the task cannot deliver fails the task.
    public let errantRecordReporter: ErrantRecordReporter?
    private let stopRequested: @Sendable () -> Bool

    public init(logger: Logger, errantRecordReporter: ErrantRecordReporter? = nil,
                stopRequested: @escaping @Sendable () -> Bool = { false }) {
        self.logger = logger
        self.errantRecordReporter = errantRecordReporter
        self.stopRequested = stopRequested
    }

    /// Whether the worker is stopping the task (stop, pause of the connector's tasks, delete, reconfiguration).
    public var isStopping: Bool { stopRequested() }

    /// Waits `milliseconds`, in short steps so that a stop is seen at once; false when the wait ended because the
    /// task is stopping.
    public func sleep(milliseconds: Int64) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        while !isStopping {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            let step = min(left, .milliseconds(20))
            let (seconds, attoseconds) = step.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            nanosleep(&request, nil)
        }
        return false
    }
}

/// Kafka's `ErrantRecordReporter`: a sink task hands it a record it could not deliver, with the reason; the worker
/// logs it (`errors.log.enable`) and produces the record as it was read to `errors.deadletterqueue.topic.name`.
public final class ErrantRecordReporter: Sendable {
    private let reported = NIOLockedValueBox<[(record: ConnectRecord, error: ConnectError)]>([])

    public init() {}

    public func report(_ record: ConnectRecord, error: ConnectError) {
        reported.withLockedValue { $0.append((record, error)) }
    }

    /// The records reported since the last call (the worker takes them after each `put`).
    func take() -> [(record: ConnectRecord, error: ConnectError)] {
        reported.withLockedValue { reported in
            defer { reported.removeAll() }
            return reported
        }
    }
}
