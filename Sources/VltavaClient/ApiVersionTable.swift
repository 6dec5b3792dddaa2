import KafkaProtocol

/// The versions of each API that a broker announced in its ApiVersions response.
public struct ApiVersionTable: Hashable, Sendable {
    /// The broker's supported range per API; APIs it did not list are absent.
    public private(set) var ranges: [ApiKey: ClosedRange<Int16>]

    /// A table with the given ranges.
    public init(ranges: [ApiKey: ClosedRange<Int16>]) {
        self.ranges = ranges
    }

    /// The table of an ApiVersions response; keys this build does not know and empty ranges are dropped.
    public init(_ response: ApiVersionsResponse) {
        var ranges: [ApiKey: ClosedRange<Int16>] = [:]
        for entry in response.apiKeys {
            guard let key = ApiKey(rawValue: entry.apiKey), entry.minVersion <= entry.maxVersion else { continue }
            ranges[key] = entry.minVersion...entry.maxVersion
        }
        self.ranges = ranges
    }

    /// The version to speak: the highest both sides support, that is min(our max, broker max), provided it is
    /// not below either side's minimum. Nil when the ranges do not overlap or the broker does not list the API.
    public func negotiatedVersion(of apiKey: ApiKey, ours: ClosedRange<Int16>) -> Int16? {
        guard let theirs = ranges[apiKey] else { return nil }
        let version = min(ours.upperBound, theirs.upperBound)
        guard version >= max(ours.lowerBound, theirs.lowerBound) else { return nil }
        return version
    }
}
