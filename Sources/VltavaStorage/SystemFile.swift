#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A file opened with POSIX calls: positional reads and writes, fsync, truncate. Owned by one object that
/// closes it; positional I/O needs no shared cursor, so concurrent readers are safe.
final class SystemFile: @unchecked Sendable {
    /// Changed only by `rename`, which its owner calls while no other thread uses the file.
    private(set) var path: String
    let descriptor: Int32
    private var isClosed = false

    init(path: String, create: Bool) throws(StorageError) {
        self.path = path
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let descriptor = open(path, flags, 0o644)
        if descriptor < 0 { throw .system(call: "open", path: path, errno: errno) }
        self.descriptor = descriptor
    }

    /// Takes ownership of an open descriptor.
    init(adopting descriptor: Int32, path: String) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        if !isClosed { _ = Glibc.close(descriptor) }
    }

    func close() {
        if !isClosed {
            isClosed = true
            _ = Glibc.close(descriptor)
        }
    }

    func size() throws(StorageError) -> Int {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw .system(call: "fstat", path: path, errno: errno) }
        return Int(info.st_size)
    }

    /// Writes all of `buffer`'s readable bytes at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int) throws(StorageError) {
        var written = 0
        let total = buffer.readableBytes
        let result: Int32 = buffer.withUnsafeReadableBytes { bytes in
            while written < total {
                let count = pwrite(descriptor, bytes.baseAddress! + written, total - written, off_t(offset + written))
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return 0
        }
        if result != 0 { throw .system(call: "pwrite", path: path, errno: result) }
    }

    /// A part of a gathered write: `length` bytes at `offset` of the first (`inFirst`) or the second buffer.
    struct GatherPiece {
        var inFirst: Bool
        var offset: Int
        var length: Int
    }

    /// Writes `pieces`, taken from two buffers, one after another at `offset`, with `pwritev` (no copying
    /// into one buffer first).
    func write(gathering pieces: [GatherPiece], from first: ByteBuffer, _ second: ByteBuffer, at offset: Int) throws(StorageError) {
        let result: Int32 = first.withUnsafeReadableBytes { firstBytes in
            second.withUnsafeReadableBytes { secondBytes in
                var vectors = pieces.map { piece in
                    let base = piece.inFirst ? firstBytes.baseAddress! : secondBytes.baseAddress!
                    return iovec(iov_base: UnsafeMutableRawPointer(mutating: base + piece.offset), iov_len: piece.length)
                }
                var index = 0
                var position = offset
                while index < vectors.count {
                    let count = min(vectors.count - index, 1024)  // IOV_MAX on Linux
                    let written = vectors.withUnsafeBufferPointer { buffer in
                        pwritev(descriptor, buffer.baseAddress! + index, Int32(count), off_t(position))
                    }
                    if written < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    position += written
                    var remaining = written
                    while remaining > 0 && index < vectors.count {
                        if remaining >= vectors[index].iov_len {
                            remaining -= vectors[index].iov_len
                            index += 1
                        } else {
                            vectors[index].iov_base += remaining
                            vectors[index].iov_len -= remaining
                            remaining = 0
                        }
                    }
                    while index < vectors.count && vectors[index].iov_len == 0 { index += 1 }
                }
                return 0
            }
        }
        if result != 0 { throw .system(call: "pwritev", path: path, errno: result) }
    }

    /// Reads up to `length` bytes at `offset`; fewer at the end of the file.
    func read(at offset: Int, length: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(StorageError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var done = 0
            while done < length {
                let count = pread(descriptor, bytes.baseAddress! + done, length - done, off_t(offset + done))
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if count == 0 { break }
                done += count
            }
            return done
        }
        if failure != 0 { throw .system(call: "pread", path: path, errno: failure) }
        return buffer
    }

    func sync() throws(StorageError) {
        if fdatasync(descriptor) != 0 { throw .system(call: "fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: Int) throws(StorageError) {
        if ftruncate(descriptor, off_t(size)) != 0 { throw .system(call: "ftruncate", path: path, errno: errno) }
    }

    /// Gives the file the name `newPath` (replacing any file of that name); the descriptor stays valid.
    func rename(to newPath: String) throws(StorageError) {
        try FileSystem.rename(path, newPath)
        path = newPath
    }

    /// A new descriptor for the same open file, for a reader (such as sendfile) that outlives this object.
    func duplicateDescriptor() throws(StorageError) -> Int32 {
        let copy = dup(descriptor)
        if copy < 0 { throw .system(call: "dup", path: path, errno: errno) }
        return copy
    }
}

/// Small file-system helpers over POSIX calls.
enum FileSystem {
    /// The soft limit on open descriptors, if there is one.
    static func descriptorLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// How many descriptors the process has open (from /proc/self/fd).
    static func openDescriptorCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return max(0, count - 3)  // ".", ".." and the directory's own descriptor
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func createDirectory(_ path: String) throws(StorageError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST {
                throw .system(call: "mkdir", path: partial, errno: errno)
            }
        }
    }

    static func list(_ path: String) throws(StorageError) -> [String] {
        guard let directory = opendir(path) else { throw .system(call: "opendir", path: path, errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ path: String) throws(StorageError) {
        if unlink(path) != 0 && errno != ENOENT { throw .system(call: "unlink", path: path, errno: errno) }
    }

    static func removeTree(_ path: String) throws(StorageError) {
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT { throw .system(call: "rmdir", path: path, errno: errno) }
        } else {
            try remove(path)
        }
    }

    static func rename(_ from: String, _ to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw .system(call: "rename", path: from, errno: errno) }
    }

    /// Makes a directory's entries (new, renamed or removed files) durable.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor < 0 { throw .system(call: "open", path: path, errno: errno) }
        defer { _ = close(descriptor) }
        if fsync(descriptor) != 0 { throw .system(call: "fsync", path: path, errno: errno) }
    }

    /// Replaces `path` with `contents` atomically and durably: write a temporary file, fsync, rename, fsync the directory.
    static func writeAtomically(_ contents: [UInt8], to path: String) throws(StorageError) {
        let temporary = path + ".tmp"
        let file = try SystemFile(path: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(ByteBuffer(bytes: contents), at: 0)
        if fsync(file.descriptor) != 0 { throw .system(call: "fsync", path: temporary, errno: errno) }
        file.close()
        try rename(temporary, path)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    static func readAll(_ path: String) throws(StorageError) -> [UInt8] {
        let file = try SystemFile(path: path, create: false)
        defer { file.close() }
        let buffer = try file.read(at: 0, length: try file.size())
        return Array(buffer.readableBytesView)
    }
}

import NIOConcurrencyHelpers

extension NIOLock {
    /// `withLock` that keeps the body's thrown error type.
    func withTypedLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
