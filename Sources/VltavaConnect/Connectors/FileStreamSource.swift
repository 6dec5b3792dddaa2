#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Kafka's `org.apache.kafka.connect.file.FileStreamSourceConnector`: the lines appended to a file become records
/// (string values, no key) of one topic, with the byte position after each line as the source offset, so a restart
/// resumes after the last committed line. One task.
public struct FileStreamSourceConnector: Connector {
    public static let className = "org.apache.kafka.connect.file.FileStreamSourceConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = "3.9.1"
    public static let configDefinition = [
        ConfigKeyDefinition(name: "file", type: .string, defaultValue: "", importance: .high,
                            documentation: "Source filename. If not specified, the standard input will be used"),
        ConfigKeyDefinition(name: "topic", type: .list, defaultValue: nil, importance: .high,
                            documentation: "The topic to publish data to"),
        ConfigKeyDefinition(name: "batch.size", type: .int, defaultValue: "2000", importance: .low,
                            documentation: "The maximum number of records the source task can read from the file each time it is polled"),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        let topics = ConnectConfig.list(config, "topic")
        if config["topic"] == nil { _ = try ConnectConfig.string(config, "topic") }
        guard topics.count == 1 else {
            throw .config(name: "topic", message: "'topic' in FileStreamSourceConnector configuration requires definition of a single topic")
        }
        _ = try ConnectConfig.int(config, "batch.size", default: 2000, minimum: 1)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        // Only one task reads a file, whatever tasks.max says, as in Kafka.
        var task: [String: String] = ["topic": ConnectConfig.list(config, "topic").first ?? "", "batch.size": config["batch.size"] ?? "2000"]
        if let file = config["file"], !file.isEmpty { task["file"] = file }
        return [task]
    }

    public mutating func stop() {}
}

/// The task of `FileStreamSourceConnector`.
public struct FileStreamSourceTask: SourceTask {
    public static let filenameField = "filename"
    public static let positionField = "position"

    private var path = ""
    private var topic = ""
    private var batchSize = 2000
    /// The byte position after the last line handed out.
    private var position: Int64 = 0
    /// Bytes read past `position` that do not end in a line terminator yet.
    private var pending: [UInt8] = []

    public init() {}

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        guard let file = config["file"], !file.isEmpty else {
            throw .config(name: "file", message: "reading the standard input is not supported by this worker; name a file")
        }
        path = file
        topic = try ConnectConfig.string(config, "topic")
        batchSize = try ConnectConfig.int(config, "batch.size", default: 2000, minimum: 1)
        if let stored = offsets.offset(for: Self.partition(path))?[entry: Self.positionField]?.integerValue {
            position = stored
        }
    }

    /// The source partition of a file: `{"filename": path}`, as Kafka stores it.
    public static func partition(_ path: String) -> ConnectValue {
        .map([ConnectMapEntry(key: .string(filenameField), value: .string(path))])
    }

    /// Reads what the file has past the last line handed out and returns up to `batch.size` complete lines.
    /// A file that does not exist yet gives nothing (it is looked for again at the next poll).
    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return [] }
            throw .failed("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var records: [ConnectRecord] = []
        var readAt = position + Int64(pending.count)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let partition = Self.partition(path)
        // Lines are cut from `pending` by index and the consumed prefix removed once at the end: removing each
        // line from the front would move the rest of the buffer once per line.
        var cursor = 0
        defer { pending.removeFirst(cursor) }
        while records.count < batchSize {
            while records.count < batchSize, let line = Self.nextLine(in: pending, from: cursor) {
                position += Int64(line.next - cursor)
                cursor = line.next
                records.append(ConnectRecord(
                    topic: topic, valueSchema: .string, value: .string(String(decoding: pending[line.text], as: UTF8.self)),
                    sourcePartition: partition,
                    sourceOffset: .map([ConnectMapEntry(key: .string(Self.positionField), value: .int64(position))])))
            }
            if records.count >= batchSize { break }
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(readAt)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .failed("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            pending.append(contentsOf: buffer[0..<count])
            readAt += Int64(count)
        }
        return records
    }

    /// The first complete line of `bytes` at or after `start` (ended by \n, \r or \r\n, as Kafka's task splits
    /// them): the range of its text and where the next line starts.
    static func nextLine(in bytes: [UInt8], from start: Int) -> (text: Range<Int>, next: Int)? {
        guard start < bytes.count, let end = bytes[start...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) else { return nil }
        var next = end + 1
        if bytes[end] == 0x0D {
            // A lone \r at the end of what was read may be the first half of \r\n: wait for the next byte.
            if end + 1 == bytes.count { return nil }
            if bytes[end + 1] == 0x0A { next += 1 }
        }
        return (start..<end, next)
    }

    public mutating func stop() {}
}
