import ArgumentParser
import KafkaRecords
import NIOCore
import VltavaClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vltava produce`: one record per line of standard input, like kcat -P.
struct Produce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Produce one record per line of standard input.")

    @OptionGroup var bootstrap: BootstrapOptions
    @Option(name: [.customShort("t"), .long], help: "The topic to produce to.") var topic: String
    @Option(name: [.customShort("k"), .long], help: "The key of every record.") var key: String?
    @Option(name: [.customShort("H"), .customLong("header")], help: "A header name=value for every record; repeatable.")
    var headers: [String] = []
    @Option(name: .customLong("key-separator"), help: "Split each line at the first SEP into key and value.")
    var keySeparator: String?
    @Option(help: "Acknowledgements the leader waits for: all, 1 or 0.") var acks: String = "all"
    @Option(name: [.customShort("p"), .long], help: "The partition (default: by key, else one at random).")
    var partition: Int32?
    @Option(name: [.customShort("z"), .customLong("compression")], help: "none, gzip, snappy, lz4 or zstd.")
    var compression: String = "none"

    func run() async throws {
        let acks: Acks
        switch self.acks {
        case "all", "-1": acks = .all
        case "1": acks = .leader
        case "0": acks = .none
        default: throw ValidationError("--acks must be all, -1, 1 or 0")
        }
        guard let codec = CompressionCodec.allCases.first(where: { $0.description == compression }) else {
            throw ValidationError("-z must be none, gzip, snappy, lz4 or zstd")
        }
        let recordHeaders = try headers.map { text -> RecordHeader in
            guard let equals = text.firstIndex(of: "=") else { throw ValidationError("header '\(text)' is not name=value") }
            return RecordHeader(key: String(text[..<equals]), value: ByteBuffer(string: String(text[text.index(after: equals)...])))
        }
        let separator = keySeparator.map { Array($0.utf8) }
        guard separator?.isEmpty != true else { throw ValidationError("--key-separator must not be empty") }
        let fixedKey = key.map { ByteBuffer(string: $0) }
        try await bootstrap.withClient { (client) throws(KafkaClientError) in
            // Each read takes what standard input has: a pipe's lines go out in large batches, a terminal's
            // line by line as typed.
            var input = StandardInputLines()
            while let lines = input.nextLines() {
                let records = lines.map { line in
                    Self.record(line: line, separator: separator, fixedKey: fixedKey, headers: recordHeaders)
                }
                try await client.produce(
                    topic: topic, records: records, partition: partition, acks: acks, compression: codec)
            }
        }
    }

    static func record(line: ArraySlice<UInt8>, separator: [UInt8]?, fixedKey: ByteBuffer?, headers: [RecordHeader]) -> ProducerRecord {
        if let separator, let at = line.firstRange(of: separator) {
            return ProducerRecord(
                key: ByteBuffer(bytes: line[..<at.lowerBound]), value: ByteBuffer(bytes: line[at.upperBound...]),
                headers: headers)
        }
        return ProducerRecord(key: fixedKey, value: ByteBuffer(bytes: line), headers: headers)
    }
}

/// Lines of standard input, without their newline, in the groups that each read brings.
struct StandardInputLines {
    private var partial: [UInt8] = []
    private var atEnd = false

    /// The complete lines of the next read (the unterminated last line at end of input); nil at the end.
    mutating func nextLines() -> [ArraySlice<UInt8>]? {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while !atEnd {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                atEnd = true
                break
            }
            partial += chunk[..<count]
            guard let lastNewline = partial.lastIndex(of: 0x0A) else { continue }
            let complete = partial[..<lastNewline]
            let lines = complete.split(separator: 0x0A, omittingEmptySubsequences: false)
            partial = Array(partial[(lastNewline + 1)...])
            return lines.map { ArraySlice($0) }
        }
        guard !partial.isEmpty else { return nil }
        defer { partial = [] }
        return [partial[...]]
    }
}
