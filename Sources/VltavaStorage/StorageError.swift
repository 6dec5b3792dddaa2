/// Failures of the storage layer.
public enum StorageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed; `errno` says why.
    case system(call: String, path: String, errno: Int32)
    /// An offset below the log start or above the log end was asked for.
    case offsetOutOfRange(requested: Int64, logStartOffset: Int64, logEndOffset: Int64)
    /// The partition's files are damaged in a way recovery cannot repair; it is kept offline.
    case corrupt(String)
    /// The log was closed or deleted.
    case closed
    /// A configuration value is invalid.
    case invalidConfig(name: String, value: String, reason: String)
    /// The metadata file could not be read.
    case invalidMetadata(String)
    /// Opening more files would exhaust the process's descriptor limit.
    case tooManyOpenFiles(String)
    /// A topic of this name exists (another request created it first).
    case topicExists(String)
    /// The cluster's metadata store (etcd) could not carry out a change: unreachable, too slow or too contended.
    case metadataUnavailable(String)

    public var isTooManyOpenFiles: Bool {
        if case .tooManyOpenFiles = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .system(call, path, errno): return "\(call)(\(path)) failed: errno \(errno)"
        case let .offsetOutOfRange(requested, start, end): return "offset \(requested) outside [\(start), \(end)]"
        case let .corrupt(message): return "corrupt log: \(message)"
        case .closed: return "log closed"
        case let .invalidConfig(name, value, reason): return "invalid value \(value) for \(name): \(reason)"
        case let .invalidMetadata(message): return "invalid metadata: \(message)"
        case let .tooManyOpenFiles(message): return "not enough file descriptors: \(message)"
        case let .topicExists(name): return "topic \(name) exists"
        case let .metadataUnavailable(message): return "the cluster metadata could not be changed: \(message)"
        }
    }
}
