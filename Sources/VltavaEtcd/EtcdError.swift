/// Every way a call to etcd can fail, said in plain words.
public enum EtcdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No endpoint could be connected to; one reason per endpoint tried ("127.0.0.1:2379: connection refused").
    case unreachable([String])
    /// The endpoint took longer than the call's timeout to answer.
    case timedOut(endpoint: String, path: String, milliseconds: Int64)
    /// The connection broke before a whole answer, or a watch's stream ended.
    case connectionLost(endpoint: String, detail: String)
    /// etcd refused the call: its gRPC status code and message.
    case server(endpoint: String, path: String, code: Int, message: String)
    /// A read asked for a revision older than the compacted history.
    case revisionCompacted(requested: Int64)
    /// A read asked for a revision the store has not reached.
    case futureRevision(requested: Int64)
    /// The lease has expired or was revoked (or never existed).
    case leaseNotFound(Int64)
    /// A watch's start revision is older than the compacted history: read again and watch from the newer revision.
    case watchCompacted(requested: Int64, compactRevision: Int64)
    /// etcd ended a watch for another reason.
    case watchCanceled(reason: String)
    /// The answer was not the JSON etcd's gateway writes.
    case malformedAnswer(endpoint: String, path: String, detail: String)
    /// The call itself is invalid (an empty key, a bad endpoint, a duplicate key in a transaction).
    case invalidRequest(String)

    public var description: String {
        switch self {
        case let .unreachable(reasons):
            return "cannot reach etcd at " + reasons.joined(separator: "; nor at ")
        case let .timedOut(endpoint, path, milliseconds):
            return "etcd at \(endpoint) did not answer \(path) within \(milliseconds) ms"
        case let .connectionLost(endpoint, detail):
            return "the connection to etcd at \(endpoint) was lost: \(detail)"
        case let .server(endpoint, path, code, message):
            return "etcd at \(endpoint) refused \(path) with gRPC code \(code) (\(Self.grpcCodeName(code))): \(message)"
        case let .revisionCompacted(requested):
            return "revision \(requested) has been compacted away; read at a newer revision"
        case let .futureRevision(requested):
            return "revision \(requested) is newer than etcd's current revision"
        case let .leaseNotFound(id):
            return "lease \(id) was not found: it expired or was revoked"
        case let .watchCompacted(requested, compactRevision):
            return "cannot watch from revision \(requested): etcd compacted its history up to revision \(compactRevision); "
                + "read the keys again and watch from the read's revision + 1"
        case let .watchCanceled(reason):
            return "etcd canceled the watch" + (reason.isEmpty ? "" : ": \(reason)")
        case let .malformedAnswer(endpoint, path, detail):
            return "etcd at \(endpoint) answered \(path) with something that is not its gateway's JSON: \(detail)"
        case let .invalidRequest(detail):
            return "invalid etcd request: \(detail)"
        }
    }

    /// The name of a gRPC status code.
    static func grpcCodeName(_ code: Int) -> String {
        let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                     "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
        return names.indices.contains(code) ? names[code] : "code \(code)"
    }
}
