#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Kafka's `org.apache.kafka.connect.file.FileStreamSinkConnector`: each record's value is appended to a file as
/// a line (its string form, as Java's `String.valueOf` prints it for strings, numbers, booleans, structs, maps,
/// lists and logical types).
public struct FileStreamSinkConnector: Connector {
    public static let className = "org.apache.kafka.connect.file.FileStreamSinkConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.sink
    public static let version = "3.9.1"
    public static let configDefinition = [
        ConfigKeyDefinition(name: "file", type: .string, defaultValue: "", importance: .high,
                            documentation: "Destination filename. If not specified, the standard output will be used"),
    ]

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        var task: [String: String] = [:]
        if let file = config["file"], !file.isEmpty { task["file"] = file }
        return Array(repeating: task, count: max(1, maxTasks))
    }

    public mutating func stop() {}
}

/// The task of `FileStreamSinkConnector`.
public struct FileStreamSinkTask: SinkTask {
    private var descriptor: Int32 = -1
    private var path = ""
    private var buffered: [UInt8] = []

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        guard let file = config["file"], !file.isEmpty else {
            descriptor = STDOUT_FILENO
            return
        }
        path = file
        descriptor = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            throw .failed("Couldn't find or create file '\(file)' for FileStreamSinkTask: \(String(cString: strerror(errno)))")
        }
    }

    public mutating func put(_ records: [ConnectRecord]) throws(ConnectError) {
        for index in records.indices {
            buffered.append(contentsOf: Self.javaString(records[index].value, schema: records[index].valueSchema).utf8)
            buffered.append(0x0A)
        }
        // One write per batch: lines reach the file as Kafka's task prints them, at each put.
        try flush()
    }

    public mutating func flush() throws(ConnectError) {
        var offset = 0
        while offset < buffered.count {
            let written = buffered.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .failed("cannot write \(path.isEmpty ? "the standard output" : path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        buffered.removeAll(keepingCapacity: true)
    }

    public mutating func stop() {
        try? flush()
        if descriptor > STDERR_FILENO { close(descriptor) }
        descriptor = -1
    }

    /// A value as Java's `String.valueOf` prints it (`JavaObjectText`); bytes at the top level are written as
    /// they are (Java would print an object identity).
    public static func javaString(_ value: ConnectValue, schema: ConnectSchema? = nil) -> String {
        if case let .bytes(bytes) = value { return String(decoding: bytes, as: UTF8.self) }
        return JavaObjectText.text(value, schema: schema)
    }
}
