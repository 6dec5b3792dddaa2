/// One change seen by a watch.
public struct EtcdEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case put = "PUT"
        case delete = "DELETE"
    }

    public var kind: Kind
    /// The pair after the change; for a delete only the key and its `modRevision` (the deleting revision).
    public var kv: EtcdKeyValue
    /// The pair before the change, when the watch asked for it and the key existed.
    public var prevKV: EtcdKeyValue?

    public init(kind: Kind, kv: EtcdKeyValue, prevKV: EtcdKeyValue?) {
        self.kind = kind
        self.kv = kv
        self.prevKV = prevKV
    }
}

/// The events of one answer of a watch, in revision order, with the store's revision when it was sent (which may
/// be ahead of the events' revisions while a watch catches up on history).
public struct EtcdWatchBatch: Sendable, Hashable {
    public var revision: Int64
    public var events: [EtcdEvent]

    public init(revision: Int64, events: [EtcdEvent]) {
        self.revision = revision
        self.events = events
    }
}

/// A running watch: batches of events until the consumer stops (which closes the watch) or the watch fails
/// (`EtcdError.watchCompacted`, `EtcdError.connectionLost`, `EtcdError.watchCanceled`).
public struct EtcdWatch: AsyncSequence, Sendable {
    public typealias Element = EtcdWatchBatch
    public typealias Failure = EtcdError

    let stream: AsyncThrowingStream<EtcdWatchBatch, any Error>

    init(stream: AsyncThrowingStream<EtcdWatchBatch, any Error>) {
        self.stream = stream
    }

    /// A watch fed through a continuation; `onStop` runs once when the consumer stops or the stream finishes.
    static func make(onStop: @escaping @Sendable () -> Void) -> (EtcdWatch, AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) {
        let (stream, continuation) = AsyncThrowingStream<EtcdWatchBatch, any Error>.makeStream()
        continuation.onTermination = { _ in onStop() }
        return (EtcdWatch(stream: stream), continuation)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: stream.makeAsyncIterator())
    }

    /// Gives each batch in turn; nil once the consumer's task is cancelled.
    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<EtcdWatchBatch, any Error>.AsyncIterator

        public mutating func next() async throws(EtcdError) -> EtcdWatchBatch? {
            do {
                return try await base.next()
            } catch let error as EtcdError {
                throw error
            } catch {
                throw EtcdError.connectionLost(endpoint: "", detail: "\(error)")
            }
        }
    }
}
