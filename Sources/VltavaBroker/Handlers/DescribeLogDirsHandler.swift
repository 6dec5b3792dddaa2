#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KafkaProtocol
import VltavaStorage

extension Broker {
    /// DescribeLogDirs: the one data folder with the size of each partition asked for (all partitions for a
    /// null topic list; partitions the node does not have are left out, as Kafka does), and from version 4 the
    /// size and free space of its file system.
    func handleDescribeLogDirs(_ request: DescribeLogDirsRequest, context: RequestContext) -> DescribeLogDirsResponse {
        guard authorizedOnCluster(context, .describe) else {
            var response = DescribeLogDirsResponse()
            if context.version >= 3 { response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue }
            return response
        }
        var wanted: [(name: String, partitions: [Int32])] = []
        if let topics = request.topics {
            wanted = topics.map { ($0.topic, $0.partitions) }
        } else {
            wanted = metadata.topics().sorted { $0.name < $1.name }.map { ($0.name, Array(0..<$0.partitionCount)) }
        }
        var result = DescribeLogDirsResponse.DescribeLogDirsResult(logDir: absoluteDataDirectory)
        for (name, partitions) in wanted {
            let described = partitions.compactMap { partition -> DescribeLogDirsResponse.DescribeLogDirsPartition? in
                guard let log = logs.log(topic: name, partition: partition) else { return nil }
                return .init(partitionIndex: partition, partitionSize: Int64(log.sizeInBytes), offsetLag: 0, isFutureKey: false)
            }
            if !described.isEmpty {
                result.topics.append(.init(name: name, partitions: described))
            }
        }
        if context.version >= 4, let space = fileSystemSpace(of: logs.dataDirectory) {
            result.totalBytes = space.total
            result.usableBytes = space.usable
        }
        var response = DescribeLogDirsResponse()
        response.results = [result]
        return response
    }

    private var absoluteDataDirectory: String {
        URL(fileURLWithPath: logs.dataDirectory).standardizedFileURL.path
    }

    /// The size of the file system holding `path` and the bytes an unprivileged writer may still use there.
    private func fileSystemSpace(of path: String) -> (total: Int64, usable: Int64)? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let blockSize = Int64(stats.f_frsize)
        return (Int64(stats.f_blocks) * blockSize, Int64(stats.f_bavail) * blockSize)
    }
}
