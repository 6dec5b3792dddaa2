import KafkaProtocol
import NIOCore

/// A partition's place in a group: the group's committed offset, the log end offset, and the member that owns it.
public struct PartitionLag: Hashable, Sendable {
    public var topic: String
    public var partition: Int32
    /// Nil when the group has committed nothing for the partition.
    public var committed: Int64?
    /// Nil when the log end offset could not be read (the topic deleted).
    public var logEnd: Int64?
    /// The member the partition is assigned to, if any.
    public var owner: GroupMemberDescription?

    /// `logEnd - committed`, never negative (kafka-consumer-groups' LAG); nil without both offsets.
    public var lag: Int64? {
        guard let committed, let logEnd else { return nil }
        return max(0, logEnd - committed)
    }

    /// A group's total lag from its committed offsets and the log end offsets (both by topic, then partition): the
    /// sum of each partition's `lag`; a partition without an end offset (its topic gone) counts nothing.
    public static func total(committed: [String: [Int32: Int64]], ends: [String: [Int32: Int64]]) -> Int64 {
        var total: Int64 = 0
        for (topic, partitions) in committed {
            for (partition, offset) in partitions {
                if let end = ends[topic]?[partition] { total += max(0, end - offset) }
            }
        }
        return total
    }
}

/// Where `reset offsets` moves a group's committed offsets (kafka-consumer-groups' `--to-*` and `--shift-by`).
public enum OffsetResetTarget: Hashable, Sendable {
    case earliest
    case latest
    case offset(Int64)
    case shiftBy(Int64)
    /// The first offset at or after these milliseconds since the epoch (the log end when there is none).
    case timestamp(Int64)
}

/// The outcome of planning an offset reset.
public enum OffsetResetPlan: Hashable, Sendable {
    /// The new offset per partition, within the log's bounds.
    case offsets([Int32: Int64])
    /// The group has members: offsets can only be reset for an inactive group (its state given).
    case groupActive(String)
}

extension KafkaClient {
    /// A group's committed offset, log end offset, lag and owner per partition: every partition it committed or is
    /// assigned, sorted by topic and partition (what `kafka-consumer-groups --describe` shows). The log end offsets
    /// are read in one ListOffsets per leader.
    public func groupLag(group: String, description: GroupDescription) async throws(KafkaClientError) -> [PartitionLag] {
        let committed = try await committedOffsets(group: group)
        var owners: [String: [Int32: GroupMemberDescription]] = [:]
        for member in description.members {
            for (topic, partitions) in member.assignment {
                for partition in partitions { owners[topic, default: [:]][partition] = member }
            }
        }
        var wanted: [String: [Int32]] = [:]
        for topic in Set(committed.keys).union(owners.keys) {
            wanted[topic] = Set(committed[topic].map { Array($0.keys) } ?? []).union(owners[topic].map { Array($0.keys) } ?? []).sorted()
        }
        let ends = try await listOffsets(wanted, spec: .latest)
        var rows: [PartitionLag] = []
        for topic in wanted.keys.sorted() {
            for partition in wanted[topic] ?? [] {
                rows.append(PartitionLag(
                    topic: topic, partition: partition, committed: committed[topic]?[partition],
                    logEnd: ends[topic]?[partition], owner: owners[topic]?[partition]))
            }
        }
        return rows
    }

    /// The offsets a reset of `group` on `topic` would commit (all partitions when `partitions` is nil), each kept
    /// within the partition's log start and end; `.groupActive` when the group has members (Kafka refuses to move
    /// the offsets of a running group). Nothing is committed: pass the plan to `commitOffsets`.
    public func planOffsetReset(
        group: String, topic: String, partitions: [Int32]? = nil, to target: OffsetResetTarget
    ) async throws(KafkaClientError) -> OffsetResetPlan {
        let description = try await describeGroup(group)
        guard ["Empty", "Dead"].contains(description.state) else { return .groupActive(description.state) }
        let metadata = try await topicMetadata(topic)
        let chosen = partitions ?? metadata.partitions.map(\.partition).sorted()
        for partition in chosen where !metadata.partitions.contains(where: { $0.partition == partition }) {
            throw .broker(code: .unknownTopicOrPartition, message: nil, resource: "\(topic)-\(partition)")
        }
        let earliest = try await listOffsets(topic: topic, partitions: chosen, spec: .earliest)
        let latest = try await listOffsets(topic: topic, partitions: chosen, spec: .latest)
        var targets: [Int32: Int64] = [:]
        switch target {
        case .earliest:
            targets = earliest
        case .latest:
            targets = latest
        case let .offset(offset):
            for partition in chosen { targets[partition] = offset }
        case let .shiftBy(shift):
            let committed = try await committedOffsets(group: group)[topic] ?? [:]
            for partition in chosen {
                let base = committed[partition] ?? latest[partition] ?? 0
                let (shifted, overflow) = base.addingReportingOverflow(shift)
                targets[partition] = overflow ? (shift < 0 ? Int64.min : Int64.max) : shifted
            }
        case let .timestamp(milliseconds):
            let found = try await listOffsets(topic: topic, partitions: chosen, spec: .timestamp(milliseconds))
            for partition in chosen {
                targets[partition] = found[partition].flatMap { $0 < 0 ? nil : $0 } ?? latest[partition]
            }
        }
        for partition in chosen {
            let low = earliest[partition] ?? 0
            let high = max(low, latest[partition] ?? low)
            targets[partition] = min(max(targets[partition] ?? high, low), high)
        }
        return .offsets(targets)
    }

    /// The committed offsets of several groups (by group, topic, partition), in as few round trips as the brokers
    /// allow: one batched FindCoordinator (v4+) and one OffsetFetch of many groups (v8+) per coordinator; per group
    /// on older brokers. A group whose coordinator cannot answer is left out rather than failing the rest.
    public func committedOffsets(groups: [String]) async throws(KafkaClientError) -> [String: [String: [Int32: Int64]]] {
        guard !groups.isEmpty else { return [:] }
        let any = try await anyConnection()
        guard let findVersion = any.version(of: FindCoordinatorRequest.self), findVersion >= 4,
              let fetchVersion = any.version(of: OffsetFetchRequest.self), fetchVersion >= 8 else {
            var result: [String: [String: [Int32: Int64]]] = [:]
            for group in groups { result[group] = try? await committedOffsets(group: group) }
            return result
        }
        var byCoordinator: [Int32: [String]] = [:]
        for chunk in stride(from: 0, to: groups.count, by: 500).map({ Array(groups[$0..<min($0 + 500, groups.count)]) }) {
            var request = FindCoordinatorRequest()
            request.keyType = 0
            request.coordinatorKeys = chunk
            let response = try await any.send(request)
            for coordinator in response.coordinators where coordinator.errorCode == 0 {
                byCoordinator[coordinator.nodeId, default: []].append(coordinator.key)
            }
        }
        if byCoordinator.keys.contains(where: { metadata?.broker(id: $0) == nil }) { try await refreshMetadata(topics: []) }
        var result: [String: [String: [Int32: Int64]]] = [:]
        for (node, members) in byCoordinator.sorted(by: { $0.key < $1.key }) {
            var request = OffsetFetchRequest()
            request.groups = members.map { OffsetFetchRequest.OffsetFetchRequestGroup(groupId: $0, topics: nil) }
            let response = try await connection(toBroker: node).send(request)
            for group in response.groups where group.errorCode == 0 {
                var offsets: [String: [Int32: Int64]] = [:]
                for topic in group.topics {
                    for partition in topic.partitions where partition.errorCode == 0 && partition.committedOffset >= 0 {
                        offsets[topic.name, default: [:]][partition.partitionIndex] = partition.committedOffset
                    }
                }
                result[group.groupId] = offsets
            }
        }
        return result
    }

    /// Looks up one offset per partition of several topics, in one ListOffsets per leader (rather than one per
    /// topic): by topic, then partition. A topic that no longer exists is left out. `metadata`, when the caller has
    /// just read it, saves asking again.
    public func listOffsets(_ partitions: [String: [Int32]], spec: OffsetSpec, metadata known: ClusterMetadata? = nil)
        async throws(KafkaClientError) -> [String: [Int32: Int64]] {
        let wanted = partitions.filter { !$0.value.isEmpty }
        guard !wanted.isEmpty else { return [:] }
        let metadata: ClusterMetadata
        if let known {
            metadata = known
        } else {
            metadata = try await refreshMetadata(topics: wanted.keys.sorted())
        }
        var byLeader: [Int32: [String: [Int32]]] = [:]
        for (topic, list) in wanted {
            guard let described = metadata.topic(named: topic), described.errorCode == .none else { continue }
            for (leader, group) in Self.groupByLeader(list, metadata: described) {
                guard leader >= 0 else { throw .broker(code: .leaderNotAvailable, message: nil, resource: "\(topic)-\(group[0])") }
                byLeader[leader, default: [:]][topic, default: []].append(contentsOf: group)
            }
        }
        var offsets: [String: [Int32: Int64]] = [:]
        for (leader, topics) in byLeader.sorted(by: { $0.key < $1.key }) {
            let connection = try await connection(toBroker: leader)
            let version = try connection.negotiatedVersion(ListOffsetsRequest.self, minimum: 1)
            let request = ListOffsetsRequest(
                replicaId: -1, isolationLevel: 0,
                topics: topics.sorted { $0.key < $1.key }.map { topic, list in
                    .init(name: topic, partitions: list.map { .init(partitionIndex: $0, timestamp: spec.wireTimestamp) })
                })
            let response = try await connection.send(request, version: version)
            for topic in response.topics {
                for answer in topic.partitions {
                    // A partition deleted or moved since the metadata was read is left out, not fatal to the rest.
                    if answer.errorCode == ErrorCode.unknownTopicOrPartition.rawValue { continue }
                    try KafkaClientError.check(answer.errorCode, resource: "\(topic.name)-\(answer.partitionIndex)")
                    offsets[topic.name, default: [:]][answer.partitionIndex] = answer.offset
                }
            }
        }
        return offsets
    }

    /// The bytes each partition's log holds on the disks of every broker, summed per partition (DescribeLogDirs, one
    /// request per broker): of `partitions` (by topic) when given, else of every topic; by topic, then partition.
    public func logSizes(of partitions: [String: [Int32]]? = nil) async throws(KafkaClientError) -> [String: [Int32: Int64]] {
        let metadata = try await refreshMetadata(topics: [])
        var sizes: [String: [Int32: Int64]] = [:]
        for broker in metadata.brokers {
            var request = DescribeLogDirsRequest()
            request.topics = partitions.map { wanted in
                wanted.sorted { $0.key < $1.key }.map { .init(topic: $0.key, partitions: $0.value) }
            }
            let response = try await connection(toBroker: broker.nodeId).send(request)
            try KafkaClientError.check(response.errorCode, resource: "broker \(broker.nodeId)")
            for directory in response.results where directory.errorCode == 0 {
                for topic in directory.topics {
                    for partition in topic.partitions where !partition.isFutureKey {
                        sizes[topic.name, default: [:]][partition.partitionIndex, default: 0] += partition.partitionSize
                    }
                }
            }
        }
        return sizes
    }

    /// Deletes a partition's records before `offsets` (partition → offset; -1 for the high watermark), as
    /// kafka-delete-records does, one request per leader; gives each partition's new log start offset.
    public func deleteRecords(topic: String, offsets: [Int32: Int64], timeout: TimeAmount = .seconds(30))
        async throws(KafkaClientError) -> [Int32: Int64] {
        let metadata = try await topicMetadata(topic)
        var lowWatermarks: [Int32: Int64] = [:]
        for (leader, group) in Self.groupByLeader(offsets.keys, metadata: metadata) {
            guard leader >= 0 else { throw .broker(code: .leaderNotAvailable, message: nil, resource: "\(topic)-\(group[0])") }
            let request = DeleteRecordsRequest(
                topics: [.init(name: topic, partitions: group.map { .init(partitionIndex: $0, offset: offsets[$0] ?? -1) })],
                timeoutMs: Int32(timeout.nanoseconds / 1_000_000))
            let response = try await connection(toBroker: leader).send(request, timeout: timeout + .seconds(5))
            for answer in response.topics.filter({ $0.name == topic }).flatMap(\.partitions) {
                try KafkaClientError.check(answer.errorCode, resource: "\(topic)-\(answer.partitionIndex)")
                lowWatermarks[answer.partitionIndex] = answer.lowWatermark
            }
        }
        return lowWatermarks
    }
}
