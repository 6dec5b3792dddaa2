import KafkaRecords
import Logging
import NIOCore

/// Where a batch sits in a segment file.
struct BatchLocation: Equatable {
    var position: Int
    var size: Int
    var baseOffset: Int64
    var lastOffset: Int64
    var maxTimestamp: Int64
    var producerId: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1
    var isTransactional = false
    var isControl = false
}

/// One segment of a partition log: `<baseOffset>.log` holding record batches as clients sent them (with
/// offsets assigned), a sparse offset index (`.index`: relative offset and file position, 4 bytes each) and a
/// time index (`.timeindex`: timestamp and relative offset, 8 + 4 bytes), both in Kafka's layouts, and the
/// transactions aborted by markers in the segment (`.txnindex`, see `TransactionIndex`). A compacted
/// copy of a segment is opened under temporary names (`.log.cleaned` and so on) and renamed when it is swapped in.
final class LogSegment: @unchecked Sendable {
    let baseOffset: Int64
    let directory: String
    let file: SystemFile
    private let offsetIndexFile: SystemFile
    private let timeIndexFile: SystemFile
    /// The transactions aborted by markers in this segment. Not checked against the log on opening: the recovered
    /// (last) segment's is rebuilt by `PartitionLog` while it replays the producers' batches.
    private(set) var transactionIndex: TransactionIndex
    /// When a compaction pass may next have transaction work in this segment (aborted records to remove, markers
    /// to give a delete horizon or to remove); nil when it has none. Kept in memory only: unknown after opening.
    var transactionCleanupDueMs: Int64? = 0

    private(set) var size: Int
    /// The offset after the last batch of this segment.
    private(set) var nextOffset: Int64
    private(set) var maxTimestamp: Int64 = -1
    private(set) var offsetOfMaxTimestamp: Int64 = -1
    /// When this segment was created, in milliseconds since the epoch (for `segment.ms`).
    let createdAtMs: Int64

    private var indexRelativeOffsets: [UInt32] = []
    private var indexPositions: [UInt32] = []
    private var timeIndexTimestamps: [Int64] = []
    private var timeIndexRelativeOffsets: [UInt32] = []
    private var bytesSinceLastIndexEntry = 0
    private let indexIntervalBytes: Int

    static func fileName(_ offset: Int64, _ suffix: String) -> String {
        let digits = String(offset)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The log file's path (under its temporary name until a compacted copy is renamed).
    var logPath: String { file.path }

    /// The path of one of the segment's files: `suffix` is `.log`, `.index` or `.timeindex`, `temporarySuffix`
    /// empty or `.cleaned`.
    static func path(directory: String, baseOffset: Int64, _ suffix: String, temporarySuffix: String = "") -> String {
        directory + "/" + fileName(baseOffset, suffix) + temporarySuffix
    }

    /// Opens (or creates) the segment. With `recover`, every batch is checked (length, magic, CRC) and the file
    /// is truncated at the first one that fails — a torn write from a crash; the indexes are rebuilt.
    /// Otherwise the indexes are loaded, and rebuilt from the batch headers if missing or damaged. A
    /// `temporarySuffix` opens the files under names ending with it (a compacted copy, see `renameLogFile`).
    init(directory: String, baseOffset: Int64, indexIntervalBytes: Int, recover: Bool, nowMs: Int64, logger: Logger,
         temporarySuffix: String = "") throws(StorageError) {
        self.directory = directory
        self.baseOffset = baseOffset
        self.indexIntervalBytes = max(1, indexIntervalBytes)
        self.createdAtMs = nowMs
        func path(_ suffix: String) -> String {
            Self.path(directory: directory, baseOffset: baseOffset, suffix, temporarySuffix: temporarySuffix)
        }
        self.file = try SystemFile(path: path(".log"), create: true)
        self.offsetIndexFile = try SystemFile(path: path(".index"), create: true)
        self.timeIndexFile = try SystemFile(path: path(".timeindex"), create: true)
        self.size = try file.size()
        self.nextOffset = baseOffset
        // Opened with no bound on offsets first; reopened below once the segment's end is known.
        self.transactionIndex = try TransactionIndex(path: path(".txnindex"), baseOffset: baseOffset, endOffset: .max)
        if size == 0 {
            try offsetIndexFile.truncate(to: 0)
            try timeIndexFile.truncate(to: 0)
            try transactionIndex.truncate(from: baseOffset)
            transactionCleanupDueMs = nil
            return
        }
        var loaded = false
        if !recover { loaded = try loadIndexes() }
        if !loaded { try rebuild(verifyChecksums: recover, logger: logger) }
        try transactionIndex.truncate(from: nextOffset)
    }

    // MARK: Recovery and indexes

    /// Loads both index files and the segment's end from the last indexed batch; false if they are unusable.
    /// The first batch of a segment is always indexed, so an empty offset index of a non-empty segment was lost
    /// (deleted, or a crash came before it was written): without this check every lookup would scan from the start.
    private func loadIndexes() throws(StorageError) -> Bool {
        let indexBytes = try offsetIndexFile.size()
        let timeBytes = try timeIndexFile.size()
        guard indexBytes > 0, indexBytes % 8 == 0, timeBytes % 12 == 0 else { return false }
        var index = try offsetIndexFile.read(at: 0, length: indexBytes)
        var lastPosition: UInt32 = 0
        var lastRelative: UInt32 = 0
        while index.readableBytes >= 8 {
            let relative = index.readInteger(endianness: .big, as: UInt32.self)!
            let position = index.readInteger(endianness: .big, as: UInt32.self)!
            guard Int(position) < size, indexRelativeOffsets.isEmpty || (relative > lastRelative && position > lastPosition) else {
                return false
            }
            indexRelativeOffsets.append(relative)
            indexPositions.append(position)
            lastRelative = relative
            lastPosition = position
        }
        var times = try timeIndexFile.read(at: 0, length: timeBytes)
        while times.readableBytes >= 12 {
            let timestamp = times.readInteger(endianness: .big, as: Int64.self)!
            let relative = times.readInteger(endianness: .big, as: UInt32.self)!
            if let previous = timeIndexTimestamps.last, timestamp < previous { return false }
            timeIndexTimestamps.append(timestamp)
            timeIndexRelativeOffsets.append(relative)
        }
        // Walk the headers after the last index entry to find the segment's end and newest timestamp.
        var endOffset = baseOffset
        var clean = true
        try scanBatches(from: Int(indexPositions.last ?? 0), verifyChecksums: false) { location in
            endOffset = location.lastOffset + 1
            if location.maxTimestamp > maxTimestamp {
                maxTimestamp = location.maxTimestamp
                offsetOfMaxTimestamp = location.lastOffset
            }
            return true
        } onInvalid: { _, _ in
            clean = false
        }
        guard clean else { return false }
        if let last = timeIndexTimestamps.last, last > maxTimestamp {
            maxTimestamp = last
            offsetOfMaxTimestamp = baseOffset + Int64(timeIndexRelativeOffsets.last!)
        }
        nextOffset = endOffset
        return true
    }

    private func rebuild(verifyChecksums: Bool, logger: Logger) throws(StorageError) {
        indexRelativeOffsets.removeAll()
        indexPositions.removeAll()
        timeIndexTimestamps.removeAll()
        timeIndexRelativeOffsets.removeAll()
        bytesSinceLastIndexEntry = 0
        maxTimestamp = -1
        offsetOfMaxTimestamp = -1
        var validEnd = 0
        var endOffset = baseOffset
        var problem: String?
        try scanBatches(from: 0, verifyChecksums: verifyChecksums) { location in
            addIndexEntries(for: location)
            validEnd = location.position + location.size
            endOffset = location.lastOffset + 1
            return true
        } onInvalid: { position, reason in
            problem = "at position \(position): \(reason)"
        }
        nextOffset = endOffset
        if let problem {
            if verifyChecksums {
                logger.warning("truncating torn or corrupt tail of segment", metadata: [
                    "segment": "\(logPath)", "problem": "\(problem)", "validBytes": "\(validEnd)", "removedBytes": "\(size - validEnd)",
                ])
                try file.truncate(to: validEnd)
                try file.sync()
                size = validEnd
            } else {
                throw .corrupt("\(logPath) \(problem)")
            }
        }
        try writeIndexFiles()
    }

    private func writeIndexFiles() throws(StorageError) {
        var index = ByteBuffer()
        index.reserveCapacity(indexPositions.count * 8)
        for (relative, position) in zip(indexRelativeOffsets, indexPositions) {
            index.writeInteger(relative, endianness: .big)
            index.writeInteger(position, endianness: .big)
        }
        try offsetIndexFile.truncate(to: 0)
        try offsetIndexFile.write(index, at: 0)
        var times = ByteBuffer()
        for (timestamp, relative) in zip(timeIndexTimestamps, timeIndexRelativeOffsets) {
            times.writeInteger(timestamp, endianness: .big)
            times.writeInteger(relative, endianness: .big)
        }
        try timeIndexFile.truncate(to: 0)
        try timeIndexFile.write(times, at: 0)
    }

    /// Adds offset and time index entries for a batch appended at `location`, writing them to the index files
    /// when `persist` is set.
    private func addIndexEntries(for location: BatchLocation, persist: Bool = false) {
        if bytesSinceLastIndexEntry >= indexIntervalBytes || indexPositions.isEmpty {
            let relative = UInt32(truncatingIfNeeded: location.baseOffset - baseOffset)
            indexRelativeOffsets.append(relative)
            indexPositions.append(UInt32(truncatingIfNeeded: location.position))
            if persist {
                var entry = ByteBuffer()
                entry.writeInteger(relative, endianness: .big)
                entry.writeInteger(UInt32(truncatingIfNeeded: location.position), endianness: .big)
                try? offsetIndexFile.write(entry, at: (indexPositions.count - 1) * 8)
            }
            if location.maxTimestamp > maxTimestamp {
                let timeRelative = UInt32(truncatingIfNeeded: location.lastOffset - baseOffset)
                timeIndexTimestamps.append(location.maxTimestamp)
                timeIndexRelativeOffsets.append(timeRelative)
                if persist {
                    var entry = ByteBuffer()
                    entry.writeInteger(location.maxTimestamp, endianness: .big)
                    entry.writeInteger(timeRelative, endianness: .big)
                    try? timeIndexFile.write(entry, at: (timeIndexTimestamps.count - 1) * 12)
                }
            }
            bytesSinceLastIndexEntry = 0
        }
        bytesSinceLastIndexEntry += location.size
        if location.maxTimestamp > maxTimestamp {
            maxTimestamp = location.maxTimestamp
            offsetOfMaxTimestamp = location.lastOffset
        }
    }

    /// Walks the batches from `start`, reading the file in large chunks. `visit` returns false to stop;
    /// `onInvalid` is called once with the position and reason of the first batch that fails its checks.
    func scanBatches(
        from start: Int, verifyChecksums: Bool, chunkSize: Int = 1 << 20,
        _ visit: (BatchLocation) throws(StorageError) -> Bool,
        onInvalid: (Int, String) -> Void = { _, _ in }
    ) throws(StorageError) {
        var chunk = ByteBuffer()
        var chunkStart = start
        var position = start
        let end = size
        while position < end {
            if position + RecordBatchHeader.size > chunkStart + chunk.readableBytes {
                chunk = try file.read(at: position, length: min(chunkSize, end - position))
                chunkStart = position
            }
            let offsetInChunk = position - chunkStart
            guard chunk.readableBytes - offsetInChunk >= RecordBatchHeader.size else {
                onInvalid(position, "\(end - position) trailing bytes, less than a batch header")
                return
            }
            let header: RecordBatchHeader
            do {
                header = try RecordBatchHeader(parsing: chunk.getSlice(at: chunk.readerIndex + offsetInChunk, length: RecordBatchHeader.size)!)
            } catch {
                onInvalid(position, "\(error)")
                return
            }
            let batchSize = header.totalSize
            if position + batchSize > end {
                onInvalid(position, "batch of \(batchSize) bytes runs past the end of the file")
                return
            }
            if verifyChecksums {
                if position + batchSize > chunkStart + chunk.readableBytes {
                    chunk = try file.read(at: position, length: max(min(chunkSize, end - position), batchSize))
                    chunkStart = position
                }
                let batch = chunk.getSlice(at: chunk.readerIndex + position - chunkStart, length: batchSize)!
                if !RecordBatchHeader.checksumMatches(batch) {
                    onInvalid(position, "CRC mismatch")
                    return
                }
            }
            let location = BatchLocation(
                position: position, size: batchSize, baseOffset: header.baseOffset,
                lastOffset: header.lastOffset, maxTimestamp: header.maxTimestamp,
                producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
                isTransactional: header.isTransactional, isControl: header.isControl)
            guard try visit(location) else { return }
            position += batchSize
        }
    }

    // MARK: Append and read

    /// Reads while looking up an offset: the index puts the batch within about `index.interval.bytes` of the
    /// entry, so a small read usually covers it.
    static let lookupChunkSize = 16 * 1024

    /// Appends batches gathered from two buffers (see `SystemFile.write(gathering:from:_:at:)`). `batches` describes
    /// them with positions relative to the start of the appended bytes.
    func append(gathering pieces: [SystemFile.GatherPiece], from first: ByteBuffer, _ second: ByteBuffer,
                batches: [BatchLocation]) throws(StorageError) {
        try file.write(gathering: pieces, from: first, second, at: size)
        for batch in batches {
            var located = batch
            located.position += size
            addIndexEntries(for: located, persist: true)
        }
        size += pieces.reduce(0) { $0 + $1.length }
        if let last = batches.last { nextOffset = last.lastOffset + 1 }
        if batches.contains(where: \.isTransactional) { transactionCleanupDueMs = 0 }
    }

    /// The location of the batch that holds `offset`, or nil if the segment ends before it.
    func locate(offset: Int64) throws(StorageError) -> BatchLocation? {
        let relative = offset - baseOffset
        var start = 0
        if relative > 0, !indexRelativeOffsets.isEmpty {
            var low = 0
            var high = indexRelativeOffsets.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if Int64(indexRelativeOffsets[middle]) <= relative { low = middle } else { high = middle - 1 }
            }
            if Int64(indexRelativeOffsets[low]) <= relative { start = Int(indexPositions[low]) }
        }
        var found: BatchLocation?
        try scanBatches(from: start, verifyChecksums: false, chunkSize: Self.lookupChunkSize) { location in
            if location.lastOffset >= offset {
                found = location
                return false
            }
            return true
        }
        return found
    }

    /// The first batch whose newest timestamp is at least `timestamp`.
    func locate(timestamp: Int64) throws(StorageError) -> BatchLocation? {
        guard maxTimestamp >= timestamp else { return nil }
        var start = 0
        if let index = timeIndexTimestamps.lastIndex(where: { $0 < timestamp }) {
            let relative = Int64(timeIndexRelativeOffsets[index])
            start = try locate(offset: baseOffset + relative + 1).map(\.position) ?? 0
        }
        var found: BatchLocation?
        try scanBatches(from: start, verifyChecksums: false) { location in
            if location.maxTimestamp >= timestamp {
                found = location
                return false
            }
            return true
        }
        return found
    }

    func sync() throws(StorageError) {
        try file.sync()
    }

    /// Makes the indexes durable (a compacted copy's, before it is swapped in).
    func syncIndexes() throws(StorageError) {
        try offsetIndexFile.sync()
        try timeIndexFile.sync()
        try transactionIndex.sync()
    }

    /// Gives a compacted copy's log file its final name, replacing the old segment's file.
    func renameLogFile() throws(StorageError) {
        try file.rename(to: Self.path(directory: directory, baseOffset: baseOffset, ".log"))
    }

    /// Gives a compacted copy's transaction index its final name, replacing the old segment's (before
    /// `renameLogFile`: the copy keeps every entry whose aborted records may still be in the old log file, so the
    /// new index also serves the old file should a crash come before the log file is renamed).
    func renameTransactionIndex() throws(StorageError) {
        try transactionIndex.rename(to: Self.path(directory: directory, baseOffset: baseOffset, ".txnindex"))
    }

    /// Gives a compacted copy's index files their final names (after `renameLogFile`).
    func renameIndexFiles() throws(StorageError) {
        try offsetIndexFile.rename(to: Self.path(directory: directory, baseOffset: baseOffset, ".index"))
        try timeIndexFile.rename(to: Self.path(directory: directory, baseOffset: baseOffset, ".timeindex"))
    }

    /// Removes the index files from the folder (the open descriptors stay valid).
    func removeIndexFiles() throws(StorageError) {
        try FileSystem.remove(offsetIndexFile.path)
        try FileSystem.remove(timeIndexFile.path)
    }

    /// The log file on a descriptor of its own, which stays valid when the segment is closed or deleted: for
    /// work done after the partition's lock is released (taken under the lock, closed by the caller).
    func duplicateFile() throws(StorageError) -> SystemFile {
        SystemFile(adopting: try file.duplicateDescriptor(), path: file.path)
    }

    func close() {
        file.close()
        offsetIndexFile.close()
        timeIndexFile.close()
        transactionIndex.close()
    }

    func delete() throws(StorageError) {
        close()
        for path in [file.path, offsetIndexFile.path, timeIndexFile.path, transactionIndex.path] {
            try FileSystem.remove(path)
        }
    }
}
