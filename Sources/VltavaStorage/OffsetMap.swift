import NIOCore

/// The newest offset of each key seen, as Kafka's `SkimpyOffsetMap` keeps it for the log cleaner: a key is
/// stored as a 128-bit hash, so every entry takes 24 bytes whatever the key's size, in an open-addressing table
/// allocated once within a memory limit. When the table is as full as its load factor allows, new keys are
/// refused and the cleaner cleans up to the offset where that happened.
struct OffsetMap {
    /// A key's 128-bit hash: two SipHash-1-3 values of the key under the process's random seed (Swift's `Hasher`),
    /// each behind a different prefix byte. Keyed with a secret seed, a client cannot craft keys that collide,
    /// which would make the cleaner drop the newest record of one of them.
    struct KeyHash: Equatable {
        var high: UInt64
        var low: UInt64

        init(_ key: ByteBuffer) {
            var first = Hasher()
            var second = Hasher()
            first.combine(UInt8(1))
            second.combine(UInt8(2))
            key.withUnsafeReadableBytes { bytes in
                first.combine(bytes: bytes)
                second.combine(bytes: bytes)
            }
            high = UInt64(bitPattern: Int64(first.finalize()))
            low = UInt64(bitPattern: Int64(second.finalize()))
        }

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }
    }

    /// The two hash words and the offset plus one (zero marks a free slot).
    static let bytesPerEntry = 24

    /// Three words a slot: hash high, hash low, offset + 1.
    private var words: [UInt64]
    /// How many slots the table has.
    let slots: Int
    /// How many keys it takes before it counts as full.
    let capacity: Int
    /// How many keys it holds.
    private(set) var count = 0

    /// A table of at most `memoryBytes` (at least two slots), filled up to `loadFactor`, with no more slots than
    /// `expectedKeys` needs at that load.
    init(memoryBytes: Int, loadFactor: Double, expectedKeys: Int64) {
        let load = min(max(loadFactor, 0.1), 0.99)
        let limit = max(2, memoryBytes / Self.bytesPerEntry)
        let needed = Double(max(1, expectedKeys)) / load + 1
        slots = needed >= Double(limit) ? limit : max(2, Int(needed))
        capacity = max(1, min(slots - 1, Int(Double(slots) * load)))
        words = [UInt64](repeating: 0, count: slots * 3)
    }

    /// The memory the table takes.
    var memoryBytes: Int { slots * Self.bytesPerEntry }

    var isEmpty: Bool { count == 0 }

    /// Records `offset` as the newest of the key; false, and nothing recorded, when the key is new and the map full.
    mutating func put(_ key: KeyHash, offset: Int64) -> Bool {
        var slot = Int(key.high % UInt64(slots))
        while true {
            let base = slot * 3
            if words[base + 2] == 0 {
                guard count < capacity else { return false }
                words[base] = key.high
                words[base + 1] = key.low
                words[base + 2] = UInt64(offset) + 1
                count += 1
                return true
            }
            if words[base] == key.high && words[base + 1] == key.low {
                words[base + 2] = UInt64(offset) + 1
                return true
            }
            slot = slot + 1 == slots ? 0 : slot + 1
        }
    }

    /// The newest offset recorded for the key, or nil.
    func offset(of key: KeyHash) -> Int64? {
        var slot = Int(key.high % UInt64(slots))
        while true {
            let base = slot * 3
            if words[base + 2] == 0 { return nil }
            if words[base] == key.high && words[base + 1] == key.low { return Int64(words[base + 2] - 1) }
            slot = slot + 1 == slots ? 0 : slot + 1
        }
    }
}
