import NIOCore

/// A transaction that ended with an ABORT marker, as Kafka's transaction index records it: read_committed fetches
/// return `producerId` and `firstOffset` so that consumers drop the producer's records from there up to the marker.
public struct AbortedTransaction: Hashable, Sendable {
    /// The transactional producer.
    public var producerId: Int64
    /// The offset of the transaction's first batch.
    public var firstOffset: Int64
    /// The offset of the ABORT marker.
    public var lastOffset: Int64
    /// The partition's last stable offset once the transaction was completed.
    public var lastStableOffset: Int64

    /// An entry from its fields.
    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64, lastStableOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.lastStableOffset = lastStableOffset
    }

    /// Whether the transaction's offsets, from its first batch to its marker, meet `[start, end)`.
    func overlaps(from start: Int64, upTo end: Int64) -> Bool {
        lastOffset >= start && firstOffset < end
    }
}

/// A segment's `.txnindex`: the transactions aborted by markers in that segment, in marker order, in Kafka's
/// layout (34 bytes an entry, big-endian: version int16 = 0, producerId, firstOffset, lastOffset, lastStableOffset).
/// The file is created with its first entry; a segment without aborted transactions has none.
final class TransactionIndex: @unchecked Sendable {
    static let entrySize = 34
    static let version: Int16 = 0

    private(set) var path: String
    private var file: SystemFile?
    /// The bytes of whole entries in the file.
    private(set) var size = 0
    /// The marker offset of the last entry, which the next must exceed.
    private var lastOffset: Int64 = -1

    var isEmpty: Bool { size == 0 }

    /// Opens the index at `path` if it exists: entries are checked in order, and the file is cut before the first
    /// that is torn (a crash during its write) or out of place. Entries outside `[baseOffset, endOffset)` are
    /// also cut, as they cannot belong to the segment.
    init(path: String, baseOffset: Int64, endOffset: Int64) throws(StorageError) {
        self.path = path
        guard FileSystem.exists(path) else { return }
        let file = try SystemFile(path: path, create: false)
        self.file = file
        let fileSize = try file.size()
        var bytes = try file.read(at: 0, length: fileSize)
        var valid = 0
        while let entry = Self.decode(&bytes), entry.lastOffset > lastOffset,
              entry.lastOffset >= baseOffset, entry.lastOffset < endOffset, entry.firstOffset <= entry.lastOffset {
            lastOffset = entry.lastOffset
            valid += Self.entrySize
        }
        size = valid
        if valid < fileSize { try file.truncate(to: valid) }
    }

    static func encode(_ entry: AbortedTransaction, into buffer: inout ByteBuffer) {
        buffer.writeInteger(version, endianness: .big)
        buffer.writeInteger(entry.producerId, endianness: .big)
        buffer.writeInteger(entry.firstOffset, endianness: .big)
        buffer.writeInteger(entry.lastOffset, endianness: .big)
        buffer.writeInteger(entry.lastStableOffset, endianness: .big)
    }

    /// The next entry of `buffer`, or nil when fewer than 34 bytes are left or the version is not 0.
    static func decode(_ buffer: inout ByteBuffer) -> AbortedTransaction? {
        guard buffer.readableBytes >= entrySize,
              buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int16.self) == version
        else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        guard let producerId = buffer.readInteger(endianness: .big, as: Int64.self),
              let firstOffset = buffer.readInteger(endianness: .big, as: Int64.self),
              let lastOffset = buffer.readInteger(endianness: .big, as: Int64.self),
              let lastStableOffset = buffer.readInteger(endianness: .big, as: Int64.self)
        else { return nil }
        return AbortedTransaction(producerId: producerId, firstOffset: firstOffset, lastOffset: lastOffset,
                                  lastStableOffset: lastStableOffset)
    }

    /// Every entry of `bytes`, a whole number of entries read from an index file.
    static func decodeAll(_ bytes: ByteBuffer) -> [AbortedTransaction] {
        var bytes = bytes
        var entries: [AbortedTransaction] = []
        while let entry = decode(&bytes) { entries.append(entry) }
        return entries
    }

    /// Writes `entries` as a new index file at `path` (a compacted copy's), or removes the file when there are none.
    static func write(_ entries: [AbortedTransaction], to path: String) throws(StorageError) {
        guard !entries.isEmpty else {
            try FileSystem.remove(path)
            return
        }
        var buffer = ByteBuffer()
        for entry in entries { encode(entry, into: &buffer) }
        let file = try SystemFile(path: path, create: true)
        defer { file.close() }
        try file.truncate(to: 0)
        try file.write(buffer, at: 0)
        try file.sync()
    }

    /// Appends an entry; its marker must come after the last one's.
    func append(_ entry: AbortedTransaction) throws(StorageError) {
        guard entry.lastOffset > lastOffset else {
            throw .corrupt("\(path): aborted transaction at \(entry.lastOffset) after one at \(lastOffset)")
        }
        let file = try openFile()
        var buffer = ByteBuffer()
        Self.encode(entry, into: &buffer)
        try file.write(buffer, at: size)
        size += Self.entrySize
        lastOffset = entry.lastOffset
    }

    /// Removes the entries whose marker is at or after `offset` (before they are rebuilt from the log).
    func truncate(from offset: Int64) throws(StorageError) {
        guard let file else { return }
        let entries = Self.decodeAll(try file.read(at: 0, length: size))
        let kept = entries.prefix { $0.lastOffset < offset }
        guard kept.count < entries.count else { return }
        size = kept.count * Self.entrySize
        lastOffset = kept.last?.lastOffset ?? -1
        try file.truncate(to: size)
    }

    /// The entries, read now (under the partition lock: for compaction and tests).
    func entries() throws(StorageError) -> [AbortedTransaction] {
        guard let file, size > 0 else { return [] }
        return Self.decodeAll(try file.read(at: 0, length: size))
    }

    /// The file on a descriptor of its own with the bytes of its whole entries, to read after the partition lock is
    /// released; nil when there are no entries.
    func duplicateFile() throws(StorageError) -> (file: SystemFile, size: Int)? {
        guard let file, size > 0 else { return nil }
        return (SystemFile(adopting: try file.duplicateDescriptor(), path: path), size)
    }

    private func openFile() throws(StorageError) -> SystemFile {
        if let file { return file }
        let opened = try SystemFile(path: path, create: true)
        try opened.truncate(to: 0)
        file = opened
        return opened
    }

    func sync() throws(StorageError) {
        try file?.sync()
    }

    /// Gives a compacted copy's index its final name.
    func rename(to newPath: String) throws(StorageError) {
        if let file {
            try file.rename(to: newPath)
        } else {
            try FileSystem.remove(newPath)
        }
        path = newPath
    }

    func close() {
        file?.close()
    }

    func delete() throws(StorageError) {
        close()
        try FileSystem.remove(path)
    }
}
