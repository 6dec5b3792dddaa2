import Dispatch
import NIOConcurrencyHelpers
import NIOPosix
import VltavaEtcd

/// Every way cluster coordination can fail, said in plain words.
public enum ClusterError: Error, Sendable, CustomStringConvertible {
    /// etcd refused or failed a call.
    case etcd(EtcdError)
    /// A call to etcd did not finish within the wait allowed to a synchronous caller.
    case timedOut(operation: String, milliseconds: Int64)
    /// Another live broker holds this node id.
    case duplicateBroker(nodeId: Int32, holder: String)
    /// A value under the cluster's prefix is not what Vltava writes there.
    case invalidRecord(key: String, detail: String)

    public var description: String {
        switch self {
        case let .etcd(error):
            return "\(error)"
        case let .timedOut(operation, milliseconds):
            return "etcd did not finish \(operation) within \(milliseconds) ms"
        case let .duplicateBroker(nodeId, holder):
            return "another broker is already registered with node id \(nodeId) (\(holder)); give this one another node.id"
        case let .invalidRecord(key, detail):
            return "the value of \(key) in etcd is not a Vltava record: \(detail)"
        }
    }
}

/// Runs an etcd call from synchronous code (the `ClusterMetadataStore` protocol is synchronous) and waits for it,
/// at most `timeout`. Blocks its thread: only for the request-handler pool and other threads that may block,
/// never for an event loop.
enum BlockingEtcd {
    static func wait<Value: Sendable>(operation: String, timeout: Duration,
                                      _ work: @escaping @Sendable () async throws(EtcdError) -> Value) throws(ClusterError) -> Value {
        assert(MultiThreadedEventLoopGroup.currentEventLoop == nil, "an etcd call would block an event loop: \(operation)")
        let outcome = NIOLockedValueBox<Result<Value, EtcdError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            let result: Result<Value, EtcdError>
            do throws(EtcdError) {
                result = .success(try await work())
            } catch {
                result = .failure(error)
            }
            outcome.withLockedValue { $0 = result }
            done.signal()
        }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        if done.wait(timeout: .now() + .milliseconds(Int(milliseconds))) == .timedOut {
            task.cancel()
            throw .timedOut(operation: operation, milliseconds: milliseconds)
        }
        switch outcome.withLockedValue({ $0 }) {
        case let .success(value): return value
        case let .failure(error): throw .etcd(error)
        case nil: throw .timedOut(operation: operation, milliseconds: milliseconds)
        }
    }
}
