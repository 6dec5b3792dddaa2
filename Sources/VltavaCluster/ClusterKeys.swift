#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VltavaEtcd
import VltavaStorage

/// Where a cluster keeps its state in etcd: everything under `/vltava/<cluster>/`.
public struct ClusterKeys: Sendable {
    /// `/vltava/<cluster>/`.
    public let prefix: String

    public init(clusterName: String) {
        prefix = "/vltava/\(clusterName)/"
    }

    public var clusterId: [UInt8] { bytes("cluster-id") }
    public var controller: [UInt8] { bytes("controller") }
    public var producerIds: [UInt8] { bytes("producer-ids") }
    public var scramCredentials: [UInt8] { bytes("security/scram") }
    public var acls: [UInt8] { bytes("security/acls") }
    public var clientQuotas: [UInt8] { bytes("security/quotas") }
    public var brokersPrefix: [UInt8] { bytes("brokers/") }
    public func broker(_ nodeId: Int32) -> [UInt8] { bytes("brokers/\(nodeId)") }
    public func topic(_ name: String) -> [UInt8] { bytes("topics/\(name)") }
    public func partitions(of topic: String) -> [UInt8] { bytes("partitions/\(topic)/") }
    public func partition(_ partition: TopicPartition) -> [UInt8] { bytes("partitions/\(partition.topic)/\(partition.partition)") }

    private func bytes(_ suffix: String) -> [UInt8] { Array((prefix + suffix).utf8) }

    /// What a key under the prefix holds.
    enum Entry: Hashable {
        case broker(Int32)
        case controller
        case topic(String)
        case partition(TopicPartition)
        /// A document read whole when asked for (producer ids, cluster id, security).
        case document(String)
    }

    /// The entry of a key, nil for a key outside the prefix or of no known shape.
    func entry(_ key: [UInt8]) -> Entry? {
        let text = String(decoding: key, as: UTF8.self)
        guard text.hasPrefix(prefix) else { return nil }
        let suffix = String(text.dropFirst(prefix.count))
        if suffix == "controller" { return .controller }
        if suffix.hasPrefix("brokers/") {
            return Int32(suffix.dropFirst("brokers/".count)).map(Entry.broker)
        }
        if suffix.hasPrefix("topics/") { return .topic(String(suffix.dropFirst("topics/".count))) }
        if suffix.hasPrefix("partitions/") {
            let rest = suffix.dropFirst("partitions/".count)
            guard let slash = rest.lastIndex(of: "/"), let index = Int32(rest[rest.index(after: slash)...]) else { return nil }
            return .partition(TopicPartition(topic: String(rest[..<slash]), partition: index))
        }
        return .document(suffix)
    }
}

/// A broker's registration as stored under `brokers/<id>`.
struct BrokerRecord: Codable, Equatable {
    var nodeId: Int32
    var listeners: [BrokerListener]
    var rack: String?
}

/// The controller key's value.
struct ControllerRecord: Codable, Equatable {
    var nodeId: Int32
}

/// The producer id document: the first id no broker has taken a block of.
struct ProducerIdRecord: Codable {
    var next: Int64
}

/// JSON in and out of etcd values.
enum ClusterJSON {
    static func encode<Value: Encodable>(_ value: Value) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Every record is plain structs of strings, numbers and arrays: encoding cannot fail.
        return (try? Array(encoder.encode(value))) ?? []
    }

    static func decode<Value: Decodable>(_ type: Value.Type, _ bytes: [UInt8], key: [UInt8]) throws(ClusterError) -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw .invalidRecord(key: String(decoding: key, as: UTF8.self), detail: "\(error)")
        }
    }
}
