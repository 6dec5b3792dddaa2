import NIOConcurrencyHelpers
import VltavaClient

/// What the charts draw, sampled from the cluster every few seconds and kept in memory: the cluster's records
/// produced per second, each topic's latest rate, and each group's total lag over time. Bounded: `length` samples,
/// at most `maximumGroups` groups followed; per topic only the last end offsets are kept (for the rate).
final class ConsoleHistory: Sendable {
    struct State {
        var clusterRate: [(time: Double, value: Double)] = []
        var lastEnds: [String: Int64] = [:]
        var lastTime: Double?
        var topicRates: [String: Double] = [:]
        var groupLag: [String: [(time: Double, value: Double)]] = [:]
    }

    let length: Int
    let maximumGroups = 500
    private let state = NIOLockedValueBox(State())

    init(length: Int) {
        self.length = max(2, length)
    }

    /// Adds a sample: the summed end offsets of every topic, and the total lag of each group, at `time` (seconds).
    func record(time: Double, topicEnds: [String: Int64], groupLags: [String: Int64]) {
        state.withLockedValue { state in
            if let lastTime = state.lastTime, time > lastTime {
                let elapsed = time - lastTime
                var total = 0.0
                var rates: [String: Double] = [:]
                for (topic, end) in topicEnds {
                    // A topic recreated or purged can go back; that is not negative traffic.
                    let produced = Double(max(0, end - (state.lastEnds[topic] ?? end)))
                    rates[topic] = produced / elapsed
                    total += produced
                }
                state.topicRates = rates
                Self.append(&state.clusterRate, (time, total / elapsed), length: length)
            }
            state.lastEnds = topicEnds
            state.lastTime = time
            for (group, lag) in groupLags.sorted(by: { $0.key < $1.key }).prefix(maximumGroups) {
                Self.append(&state.groupLag[group, default: []], (time, Double(lag)), length: length)
            }
            for group in state.groupLag.keys where groupLags[group] == nil { state.groupLag[group] = nil }
        }
    }

    var clusterRate: [(time: Double, value: Double)] { state.withLockedValue { $0.clusterRate } }

    /// Records per second into `topic` between the last two samples; nil before two samples.
    func rate(topic: String) -> Double? { state.withLockedValue { $0.topicRates[topic] } }

    var latestClusterRate: Double? { state.withLockedValue { $0.clusterRate.last?.value } }

    func lag(group: String) -> [(time: Double, value: Double)] { state.withLockedValue { $0.groupLag[group] ?? [] } }

    private static func append(_ series: inout [(time: Double, value: Double)], _ point: (Double, Double), length: Int) {
        series.append(point)
        if series.count > length { series.removeFirst(series.count - length) }
    }
}

extension Console {
    /// One sample for the charts: a Metadata, one ListOffsets per leader, ListGroups and an OffsetFetch per group.
    /// Failures are logged at debug level (the broker may be starting) and leave a gap.
    func sample() async {
        do {
            let metadata = try await kafka.refreshMetadata()
            let partitions = Dictionary(uniqueKeysWithValues: metadata.topics.filter { $0.errorCode == .none }
                .map { ($0.name, $0.partitions.map(\.partition)) })
            let ends = try await kafka.listOffsets(partitions, spec: .latest, metadata: metadata)
            var topicEnds: [String: Int64] = [:]
            for (topic, offsets) in ends { topicEnds[topic] = offsets.values.reduce(0, +) }
            var groupLags: [String: Int64] = [:]
            let groups = try await kafka.listGroups().prefix(history.maximumGroups)
                .filter { $0.protocolType == "consumer" || $0.protocolType.isEmpty }.map(\.groupId)
            for (group, committed) in try await kafka.committedOffsets(groups: groups) {
                groupLags[group] = PartitionLag.total(committed: committed, ends: ends)
            }
            history.record(time: WallClock.seconds, topicEnds: topicEnds, groupLags: groupLags)
        } catch {
            logger.debug("console sample failed: \(error)")
        }
    }
}

extension WallClock {
    /// Seconds since the epoch, with milliseconds.
    static var seconds: Double { Double(WallClock.milliseconds()) / 1000 }
}
