/// The Datagen connector's source of randomness: SplitMix64, whose whole state is one 64-bit number, so a task can
/// store it in its source offset (`random.seed`) and a restarted task continues the same sequence.
struct DatagenRandom: RandomNumberGenerator, Sendable {
    private(set) var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// Seeded from the system's generator (no `random.seed` configured).
    static func unseeded() -> DatagenRandom {
        var system = SystemRandomNumberGenerator()
        return DatagenRandom(seed: system.next())
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// Uniform in 0..<bound (Lemire's method; `bound` > 0). Written out rather than taken from the standard
    /// library so that a seed gives the same data whatever the compiler version.
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "an empty range has no random element")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// Uniform in 0..<bound.
    mutating func index(below bound: Int) -> Int {
        Int(below(UInt64(bound)))
    }

    /// Uniform in `range` (min inclusive, max exclusive).
    mutating func int64(from minimum: Int64, below maximum: Int64) -> Int64 {
        let span = UInt64(bitPattern: maximum &- minimum)
        return minimum &+ Int64(bitPattern: below(span))
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    mutating func bool() -> Bool { next() & 1 == 1 }
}
