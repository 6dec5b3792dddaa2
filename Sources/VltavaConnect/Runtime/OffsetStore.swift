#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers
import SchemaRegistry

/// Where a worker keeps source offsets: `connect-offsets` in distributed mode, `offset.storage.file.filename` in
/// standalone mode. Keys and values are Kafka's `connect-offsets` JSON (`ConnectStorageRecords`).
public protocol OffsetStore: Sendable {
    /// The committed offset of a connector's source partition.
    func offset(connector: String, partition: ConnectValue) -> ConnectValue?
    /// Commits offsets (nil removes one); durable when this returns.
    func commit(connector: String, _ offsets: [(partition: ConnectValue, offset: ConnectValue?)]) async throws(ConnectError)
    /// Every committed offset of a connector (`GET /connectors/{name}/offsets`).
    func offsets(connector: String) -> [(partition: ConnectValue, offset: ConnectValue)]
}

extension OffsetStore {
    /// Removes every committed offset of a connector.
    public func removeAll(connector: String) async throws(ConnectError) {
        let partitions = offsets(connector: connector).map { (partition: $0.partition, offset: ConnectValue?.none) }
        guard !partitions.isEmpty else { return }
        try await commit(connector: connector, partitions)
    }
}

/// The offsets of one connector, as its tasks read them at start.
public struct ConnectorOffsets: SourceOffsetReader {
    public let store: any OffsetStore
    public let connector: String

    public init(store: any OffsetStore, connector: String) {
        self.store = store
        self.connector = connector
    }

    public func offset(for partition: ConnectValue) -> ConnectValue? { store.offset(connector: connector, partition: partition) }
}

/// Standalone mode's offset file: one JSON object of `connect-offsets` keys to values, replaced atomically (written
/// to a temporary file, synced, renamed over). Kafka's own file is Java-serialized; this one is readable JSON.
public final class FileOffsetStore: OffsetStore, @unchecked Sendable {
    private let path: String
    private let lock = NIOLock()
    private var entries: [(String, String)] = []

    /// Loads the file if it exists; an unreadable file is an error (never silently starting over).
    public init(path: String) throws(ConnectError) {
        self.path = path
        guard let text = try Self.read(path) else { return }
        guard let parsed = try? JSONParser.parse(text), let members = parsed.objectValue else {
            throw .failed("the offsets file \(path) is not a JSON object; move it away to start over")
        }
        entries = members.compactMap { key, value in value.stringValue.map { (key, $0) } ?? (key, value.serialized) }
    }

    public func offset(connector: String, partition: ConnectValue) -> ConnectValue? {
        let key = ConnectStorageRecords.offsetKey(connector: connector, partition: partition)
        return lock.withLock { entries.last { $0.0 == key }?.1 }.flatMap(ConnectStorageRecords.parseOffsetValue)
    }

    public func offsets(connector: String) -> [(partition: ConnectValue, offset: ConnectValue)] {
        lock.withLock { entries }.compactMap { key, value in
            guard let parsed = ConnectStorageRecords.parseOffsetKey(key), parsed.connector == connector,
                  let offset = ConnectStorageRecords.parseOffsetValue(value) else { return nil }
            return (parsed.partition, offset)
        }
    }

    public func commit(connector: String, _ offsets: [(partition: ConnectValue, offset: ConnectValue?)]) async throws(ConnectError) {
        let snapshot = lock.withLock { () -> [(String, String)] in
            for (partition, offset) in offsets {
                let key = ConnectStorageRecords.offsetKey(connector: connector, partition: partition)
                entries.removeAll { $0.0 == key }
                if let value = ConnectStorageRecords.offsetValue(offset) { entries.append((key, value)) }
            }
            return entries
        }
        let document = JSONValue.object(snapshot.map { ($0.0, (try? JSONParser.parse($0.1)) ?? .string($0.1)) }).serialized
        try Self.replace(path, with: Array(document.utf8))
    }

    private static func read(_ path: String) throws(ConnectError) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw .failed("cannot open the offsets file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .failed("cannot read the offsets file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func replace(_ path: String, with bytes: [UInt8]) throws(ConnectError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .failed("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress.map { $0 + offset }, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                close(descriptor)
                throw .failed("cannot write \(temporary): \(message)")
            }
            offset += written
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced, rename(temporary, path) == 0 else {
            throw .failed("cannot replace the offsets file \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Offsets kept in memory (tests, and connectors whose offsets need not survive the process).
public final class MemoryOffsetStore: OffsetStore, @unchecked Sendable {
    private let lock = NIOLock()
    private var entries: [String: ConnectValue] = [:]

    public init() {}

    public func offsets(connector: String) -> [(partition: ConnectValue, offset: ConnectValue)] {
        lock.withLock { entries }.sorted { $0.key < $1.key }.compactMap { key, value in
            guard let parsed = ConnectStorageRecords.parseOffsetKey(key), parsed.connector == connector else { return nil }
            return (parsed.partition, value)
        }
    }

    public func offset(connector: String, partition: ConnectValue) -> ConnectValue? {
        lock.withLock { entries[ConnectStorageRecords.offsetKey(connector: connector, partition: partition)] }
    }

    public func commit(connector: String, _ offsets: [(partition: ConnectValue, offset: ConnectValue?)]) async throws(ConnectError) {
        lock.withLock {
            for (partition, offset) in offsets {
                entries[ConnectStorageRecords.offsetKey(connector: connector, partition: partition)] = offset
            }
        }
    }
}
