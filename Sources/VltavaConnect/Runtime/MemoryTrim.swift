import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Gives the memory of a burst back to the system when a task falls idle. A source task keeps three batches in flight
/// (up to 8 MB of polled records each, and their converted copies); once freed, glibc keeps that memory in its heap,
/// so a worker that moved a million records stayed at ~140 MB while idle. `malloc_trim(0)` returns the free pages
/// (top of the heap and whole free pages within it) and costs a few milliseconds, so it runs only on the transition
/// from busy to idle, on the blocking pool, at most once a second for the whole worker. Without glibc it does nothing.
enum MemoryTrim {
    private static let lastTrim = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    static let minimumInterval = Duration.seconds(1)

    private typealias Trim = @convention(c) (Int) -> Int32

    /// `malloc_trim` is in <malloc.h>, which the Glibc module leaves out: looked up by name (absent elsewhere).
    private static let trim: Trim? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: Trim.self)
        #else
        return nil
        #endif
    }()

    /// Called by a task that has just gone idle after moving records.
    static func afterBurst() async {
        guard let trim else { return }
        let now = ContinuousClock.now
        let due = lastTrim.withLockedValue { last -> Bool in
            if let last, now - last < minimumInterval { return false }
            last = now
            return true
        }
        guard due else { return }
        _ = try? await BlockingCall.run { () throws(ConnectError) in _ = trim(0) }
    }
}
