import KafkaRecords
import NIOCore

extension PartitionLog {
    // MARK: Read

    /// The data from `offset`: up to `maxBytes` from the segment holding it, and at least the whole first
    /// batch when `minOneBatch` is set (the last batch may be cut short, as Kafka does; clients skip it).
    /// With `maxOffset`, only whole batches that end before it; with `stableOnly` (read_committed), only whole
    /// batches below the last stable offset, taken under the same lock as the read.
    public func read(offset: Int64, maxBytes: Int, minOneBatch: Bool, upTo maxOffset: Int64? = nil,
                     stableOnly: Bool = false) throws(StorageError) -> LogReadResult {
        try lock.withTypedLock { () throws(StorageError) -> LogReadResult in
            if isClosed { throw .closed }
            let end = segments.last!.nextOffset
            let start = logStartOffsetValue
            guard offset >= start, offset <= end else {
                throw .offsetOutOfRange(requested: offset, logStartOffset: start, logEndOffset: end)
            }
            let stable = lastStableOffsetLocked
            let empty = LogReadResult.empty(highWatermark: end, logStartOffset: start, logEndOffset: end, lastStableOffset: stable)
            let limit = min(maxOffset ?? end, stableOnly ? stable : end)
            if offset >= limit { return empty }
            var index = segmentIndex(containing: offset)
            while index < segments.count {
                let segment = segments[index]
                if let location = try segment.locate(offset: offset) {
                    if location.lastOffset >= limit { return empty }
                    var available = segment.size - location.position
                    // The batch holding `limit` and those after it stay out.
                    if limit < segment.nextOffset, let cut = try segment.locate(offset: limit) {
                        available = cut.position - location.position
                    }
                    var length = min(maxBytes, available)
                    if minOneBatch { length = max(length, location.size) }
                    if length <= 0 { return empty }
                    return LogReadResult(
                        fileDescriptor: try segment.file.duplicateDescriptor(), position: location.position, length: length,
                        highWatermark: end, logStartOffset: start, logEndOffset: end, lastStableOffset: stable)
                }
                index += 1
            }
            return empty
        }
    }

    /// Slices up to this size are read into memory by `fetch`; larger ones are left to sendfile.
    public static let inMemorySliceLimit = 64 * 1024

    /// What `fetch` found: small slices as bytes (read off the caller's thread's time, outside the lock), larger
    /// ones as a file region the caller sends with sendfile and then closes.
    public enum FetchSlice: Sendable {
        case none
        case bytes(ByteBuffer)
        case file(descriptor: Int32, position: Int, length: Int)

        public var length: Int {
            switch self {
            case .none: return 0
            case let .bytes(buffer): return buffer.readableBytes
            case let .file(_, _, length): return length
            }
        }
    }

    /// What `fetch` returns: the slice and the partition's offsets as they were when it was read.
    public struct FetchResult: Sendable {
        public var slice: FetchSlice
        public var highWatermark: Int64
        public var logStartOffset: Int64
        public var logEndOffset: Int64
        public var lastStableOffset: Int64
    }

    /// The data from `offset` as `read` finds it (bounded as `read` is), storage deciding how it is handed over: in
    /// memory up to `inMemoryLimit` (`Int.max` for connections that cannot send file regions), else as a file region.
    public func fetch(offset: Int64, maxBytes: Int, minOneBatch: Bool, upTo maxOffset: Int64? = nil,
                      stableOnly: Bool = false, inMemoryLimit: Int = inMemorySliceLimit) throws(StorageError) -> FetchResult {
        let result = try read(offset: offset, maxBytes: maxBytes, minOneBatch: minOneBatch, upTo: maxOffset, stableOnly: stableOnly)
        let slice: FetchSlice
        if let descriptor = result.fileDescriptor, result.length > 0 {
            slice = result.length <= inMemoryLimit
                ? .bytes(try Self.load(result))
                : .file(descriptor: descriptor, position: result.position, length: result.length)
        } else {
            if let descriptor = result.fileDescriptor { Self.closeDescriptor(descriptor) }
            slice = .none
        }
        return FetchResult(slice: slice, highWatermark: result.highWatermark, logStartOffset: result.logStartOffset,
                           logEndOffset: result.logEndOffset, lastStableOffset: result.lastStableOffset)
    }

    /// Reads a `read` result's bytes into memory (for callers that cannot use sendfile), closing its descriptor.
    public static func load(_ result: LogReadResult) throws(StorageError) -> ByteBuffer {
        guard let descriptor = result.fileDescriptor else { return ByteBuffer() }
        let file = SystemFile(adopting: descriptor, path: "fd \(descriptor)")
        defer { file.close() }
        return try file.read(at: result.position, length: result.length)
    }

    /// Closes a descriptor handed out by `read` that the caller will not use.
    @discardableResult
    public static func closeDescriptor(_ descriptor: Int32) -> Int32 {
        SystemFile(adopting: descriptor, path: "fd \(descriptor)").close()
        return 0
    }

    func segmentIndex(containing offset: Int64) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].baseOffset <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The first batch whose newest timestamp is at least `timestamp`: its first offset whose record is at or after
    /// the timestamp, and that record's timestamp. Nil when every record is older.
    public func offset(forTimestamp timestamp: Int64) throws(StorageError) -> (offset: Int64, timestamp: Int64)? {
        // The batch is read (and decoded) without the lock, through a duplicated descriptor: retention or
        // compaction may close the segment meanwhile, and its descriptor number be reused by another file.
        typealias Found = (file: SystemFile, location: BatchLocation, hook: (@Sendable () -> Void)?)
        let found: Found? = try lock.withTypedLock { () throws(StorageError) -> Found? in
            if isClosed { throw .closed }
            for segment in segments where segment.maxTimestamp >= timestamp {
                if let location = try segment.locate(timestamp: timestamp) {
                    return (try segment.duplicateFile(), location, testHooks.afterTimestampLookup)
                }
            }
            return nil
        }
        guard let (file, location, hook) = found else { return nil }
        defer { file.close() }
        hook?()
        let bytes = try file.read(at: location.position, length: location.size)
        if let records = try? RecordBatch.decodeRecords(bytes) {
            for record in records where record.timestamp >= timestamp {
                return (max(record.offset, logStartOffset), record.timestamp)
            }
        }
        return (max(location.baseOffset, logStartOffset), location.maxTimestamp)
    }

    /// The newest timestamp in the log and the offset of the batch that carries it.
    public func maxTimestampAndOffset() -> (timestamp: Int64, offset: Int64)? {
        lock.withLock {
            var best: (Int64, Int64)?
            for segment in segments where segment.maxTimestamp >= 0 {
                if best == nil || segment.maxTimestamp > best!.0 { best = (segment.maxTimestamp, segment.offsetOfMaxTimestamp) }
            }
            return best
        }
    }
}
