import NIOCore

/// Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive, modulo the count.
/// Producing with the same function keeps a key on the partition that Java and librdkafka's
/// `murmur2_random` producers would pick.
public enum Partitioner {
    /// The partition of `key` among `partitionCount` partitions.
    public static func partition(forKey key: ByteBuffer, partitionCount: Int32) -> Int32 {
        let hash = key.withUnsafeReadableBytes { murmur2($0) }
        return (hash & 0x7fff_ffff) % partitionCount
    }

    /// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed 0x9747b28c.
    static func murmur2(_ data: UnsafeRawBufferPointer) -> Int32 {
        let length = data.count
        let m: UInt32 = 0x5bd1_e995
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        for block in 0..<(length / 4) {
            let i = block * 4
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = length & ~3
        switch length % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
