#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import VltavaConnect

/// Offsets as a worker would hand them back.
struct FixedOffsets: SourceOffsetReader {
    var offsets: [ConnectValue: ConnectValue] = [:]
    func offset(for partition: ConnectValue) -> ConnectValue? { offsets[partition] }
}

func temporaryPath(_ name: String) -> String {
    var template = Array("/tmp/vltava-connect-test-XXXXXX".utf8CString)
    let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    return directory + "/" + name
}

func appendText(_ text: String, to path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

func readText(_ path: String) -> String {
    let descriptor = open(path, O_RDONLY)
    defer { close(descriptor) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        result += buffer[0..<count]
    }
    return String(decoding: result, as: UTF8.self)
}

@Suite("FileStream connectors")
struct FileStreamTests {
    @Test func sourceReadsCompleteLinesWithTheirByteOffsetsAndResumes() throws {
        let path = temporaryPath("in.txt")
        var task = FileStreamSourceTask()
        try task.start(["file": path, "topic": "lines"], offsets: FixedOffsets())
        #expect(try task.poll().isEmpty, "a file that does not exist yet gives nothing")
        appendText("alpha\nbeta\r\ngam", to: path)
        let first = try task.poll()
        #expect(first.map(\.value) == [.string("alpha"), .string("beta")])
        #expect(first.map(\.topic) == ["lines", "lines"])
        #expect(first.last?.sourceOffset == .map([ConnectMapEntry(key: .string("position"), value: .int64(12))]))
        #expect(first.last?.sourcePartition == FileStreamSourceTask.partition(path))
        appendText("ma\n", to: path)
        #expect(try task.poll().map(\.value) == [.string("gamma")], "a line completed later")

        // A new task resumes after the committed offset of "beta".
        var resumed = FileStreamSourceTask()
        let offset = ConnectValue.map([ConnectMapEntry(key: .string("position"), value: .int64(12))])
        try resumed.start(["file": path, "topic": "lines"], offsets: FixedOffsets(offsets: [FileStreamSourceTask.partition(path): offset]))
        #expect(try resumed.poll().map(\.value) == [.string("gamma")])
    }

    @Test func sourceHandsOutAtMostBatchSizeLines() throws {
        let path = temporaryPath("batch.txt")
        appendText((0..<5).map { "line-\($0)\n" }.joined(), to: path)
        var task = FileStreamSourceTask()
        try task.start(["file": path, "topic": "t", "batch.size": "2"], offsets: FixedOffsets())
        #expect(try task.poll().count == 2)
        #expect(try task.poll().count == 2)
        #expect(try task.poll().map(\.value) == [.string("line-4")])
        #expect(try task.poll().isEmpty)
    }

    @Test func sourceConnectorChecksItsConfigAndMakesOneTask() throws {
        var connector = FileStreamSourceConnector()
        #expect(throws: ConnectError.self) { try connector.start(["file": "/x"]) }
        #expect(throws: ConnectError.self) { try connector.start(["file": "/x", "topic": "a,b"]) }
        #expect(throws: ConnectError.self) { try connector.start(["file": "/x", "topic": "a", "batch.size": "zero"]) }
        try connector.start(["file": "/x", "topic": "a", "batch.size": "10"])
        #expect(connector.taskConfigs(maxTasks: 3) == [["file": "/x", "topic": "a", "batch.size": "10"]])
    }

    @Test func sinkAppendsEachValueAsALineAtEachPut() throws {
        let path = temporaryPath("out.txt")
        var task = FileStreamSinkTask()
        try task.start(["file": path])
        let schema = ConnectSchema.structure(name: "s", fields: [("a", .int32), ("b", .optionalString)])
        try task.put([
            ConnectRecord(topic: "t", value: .string("hello")),
            ConnectRecord(topic: "t", value: .int64(42)),
            ConnectRecord(topic: "t", value: .structure(ConnectStruct(schema: schema).putting("a", .int32(1)))),
            ConnectRecord(topic: "t", value: .map([ConnectMapEntry(key: .string("k"), value: .float64(1))])),
            ConnectRecord(topic: "t", value: .null),
        ])
        #expect(readText(path) == "hello\n42\nStruct{a=1}\n{k=1.0}\nnull\n")
        try task.flush()
        #expect(readText(path) == "hello\n42\nStruct{a=1}\n{k=1.0}\nnull\n", "a flush writes nothing twice")
        task.stop()
    }

    @Test func pluginsAreFoundByKafkasNamesAndAliases() throws {
        #expect(try ConnectorPlugins.named("org.apache.kafka.connect.file.FileStreamSourceConnector").type == .source)
        #expect(try ConnectorPlugins.named("FileStreamSourceConnector").type == .source)
        #expect(try ConnectorPlugins.named("FileStreamSink").type == .sink)
        #expect(throws: ConnectError.self) { try ConnectorPlugins.named("com.example.Nope") }
    }
}
