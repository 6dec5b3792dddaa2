/// Where a consumer starts in each partition, as kcat's `-o` says it.
public enum StartOffset: Hashable, Sendable {
    /// The log start offset.
    case beginning
    /// The log end offset: only records produced from now on.
    case end
    /// This offset.
    case absolute(Int64)
    /// This many records before the end (but not before the beginning).
    case fromEnd(Int64)
    /// The first record with a timestamp at or after these milliseconds since the epoch.
    case timestamp(Int64)

    /// Parses `beginning`, `end`, `N`, `-N` or `s@MILLISECONDS`.
    public init(parsing text: String) throws(KafkaClientError) {
        switch text {
        case "beginning", "earliest": self = .beginning
        case "end", "latest": self = .end
        default:
            if text.hasPrefix("s@"), let milliseconds = Int64(text.dropFirst(2)), milliseconds >= 0 {
                self = .timestamp(milliseconds)
            } else if let value = Int64(text) {
                self = value < 0 ? .fromEnd(-value) : .absolute(value)
            } else {
                throw .invalidArgument("bad offset '\(text)': use beginning, end, N, -N or s@MILLISECONDS")
            }
        }
    }
}

extension KafkaClient {
    /// The offset to start consuming each partition from.
    public func startOffsets(
        topic: String, partitions: [Int32], start: StartOffset
    ) async throws(KafkaClientError) -> [Int32: Int64] {
        switch start {
        case .beginning:
            return try await listOffsets(topic: topic, partitions: partitions, spec: .earliest)
        case .end:
            return try await listOffsets(topic: topic, partitions: partitions, spec: .latest)
        case let .absolute(offset):
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, offset) })
        case let .fromEnd(count):
            let earliest = try await listOffsets(topic: topic, partitions: partitions, spec: .earliest)
            let latest = try await listOffsets(topic: topic, partitions: partitions, spec: .latest)
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, max(earliest[$0]!, latest[$0]! - count)) })
        case let .timestamp(milliseconds):
            let found = try await listOffsets(topic: topic, partitions: partitions, spec: .timestamp(milliseconds))
            // -1 means no record is that recent: start at the end.
            let latest = try await listOffsets(topic: topic, partitions: partitions, spec: .latest)
            return Dictionary(uniqueKeysWithValues: partitions.map { ($0, found[$0]! < 0 ? latest[$0]! : found[$0]!) })
        }
    }
}
