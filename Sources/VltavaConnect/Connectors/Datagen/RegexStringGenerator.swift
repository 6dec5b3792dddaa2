/// Random strings that match a regular expression, for avro-random-generator's `regex` hint (which Confluent's
/// generator answers with Generex). Supported: literal characters, `.`, character classes with ranges, negation
/// and escapes (`\d \w \s \D \W \S`, `\t \n \xHH \uHHHH`, escaped punctuation), groups (capturing, `(?:`, named),
/// alternation, the quantifiers `? * + {n} {n,} {n,m}` (a lazy or possessive suffix is accepted), `\Q...\E`, and
/// the anchors `^ $ \b`, which generate nothing. Back-references, look-around and inline flags are refused.
///
/// Like Generex given a length range, the generator aims for a length in the range when the expression allows one
/// and otherwise returns the nearest length it can; unbounded quantifiers repeat at most 32 times beyond their
/// minimum, so the output is bounded.
struct RegexStringGenerator: Sendable {
    /// Repetitions an unbounded quantifier may add beyond its minimum.
    static let unboundedExtra = 32
    /// The longest string a pattern may be made to produce.
    static let maximumLength = 10_000

    let pattern: String
    private let root: Piece

    init(_ pattern: String) throws(ConnectError) {
        self.pattern = pattern
        var parser = Parser(scalars: Array(pattern.unicodeScalars), pattern: pattern)
        let root = try parser.parseAlternation()
        if parser.position < parser.scalars.count {
            throw parser.failure("unmatched ')'")
        }
        guard root.shortest <= Self.maximumLength else {
            throw .config(name: "regex", message: "the regular expression \(pattern) only matches strings longer than \(Self.maximumLength) characters")
        }
        self.root = root
    }

    /// A matching string, of a length in `minimumLength...maximumLength` when the expression has such strings.
    func generate(minimumLength: Int, maximumLength: Int, using random: inout DatagenRandom) -> String {
        let low = max(minimumLength, root.shortest)
        let high = min(maximumLength, root.longest)
        let target: Int
        if low <= high {
            target = low + random.index(below: high - low + 1)
        } else {
            target = root.longest < minimumLength ? root.longest : root.shortest
        }
        var output = String.UnicodeScalarView()
        _ = emit(root, target: target, into: &output, random: &random)
        return String(output)
    }

    // MARK: Generation

    /// Appends a string of `piece` as close to `target` characters as it allows; returns how many it appended.
    private func emit(_ piece: Piece, target: Int, into output: inout String.UnicodeScalarView, random: inout DatagenRandom) -> Int {
        switch piece.kind {
        case let .characters(set):
            output.append(set.pick(using: &random))
            return 1
        case let .sequence(items):
            return emitSequence(items, target: target, into: &output, random: &random)
        case let .alternation(branches):
            let distance = { (branch: Piece) -> Int in
                target < branch.shortest ? branch.shortest - target : (target > branch.longest ? target - branch.longest : 0)
            }
            let best = branches.map(distance).min() ?? 0
            let candidates = branches.filter { distance($0) == best }
            return emit(candidates[random.index(below: candidates.count)], target: target, into: &output, random: &random)
        case let .repetition(item, minimum, maximum):
            var lowCount = minimum
            var highCount = maximum
            if item.longest > 0 { lowCount = max(lowCount, (target + item.longest - 1) / item.longest) }
            if item.shortest > 0 { highCount = min(highCount, target / item.shortest) }
            let count: Int
            if lowCount <= highCount {
                count = lowCount + random.index(below: highCount - lowCount + 1)
            } else {
                count = target > maximum * item.longest ? maximum : minimum
            }
            return emitSequence(Array(repeating: item, count: count), target: target, into: &output, random: &random)
        }
    }

    private func emitSequence(_ items: [Piece], target: Int, into output: inout String.UnicodeScalarView,
                              random: inout DatagenRandom) -> Int {
        var suffixShortest = [Int](repeating: 0, count: items.count + 1)
        var suffixLongest = [Int](repeating: 0, count: items.count + 1)
        for index in items.indices.reversed() {
            suffixShortest[index] = Piece.add(items[index].shortest, suffixShortest[index + 1])
            suffixLongest[index] = Piece.add(items[index].longest, suffixLongest[index + 1])
        }
        var remaining = target
        var produced = 0
        for (index, item) in items.enumerated() {
            let low = Self.clamp(remaining - suffixLongest[index + 1], item.shortest, item.longest)
            let high = Self.clamp(remaining - suffixShortest[index + 1], item.shortest, item.longest)
            let share = low + random.index(below: high - low + 1)
            let length = emit(item, target: share, into: &output, random: &random)
            remaining -= length
            produced += length
        }
        return produced
    }

    private static func clamp(_ value: Int, _ low: Int, _ high: Int) -> Int { min(max(value, low), high) }

    // MARK: Model

    /// A part of the expression with the shortest and longest strings it generates.
    struct Piece: Sendable {
        indirect enum Kind: Sendable {
            case characters(CharacterRanges)
            case sequence([Piece])
            case alternation([Piece])
            case repetition(Piece, minimum: Int, maximum: Int)
        }

        var kind: Kind
        var shortest: Int
        var longest: Int

        static func add(_ a: Int, _ b: Int) -> Int { min(a + b, RegexStringGenerator.maximumLength) }

        static func characters(_ set: CharacterRanges) -> Piece { Piece(kind: .characters(set), shortest: 1, longest: 1) }

        static func sequence(_ items: [Piece]) -> Piece {
            if items.count == 1 { return items[0] }
            return Piece(kind: .sequence(items), shortest: items.reduce(0) { add($0, $1.shortest) },
                         longest: items.reduce(0) { add($0, $1.longest) })
        }

        static func alternation(_ branches: [Piece]) -> Piece {
            if branches.count == 1 { return branches[0] }
            return Piece(kind: .alternation(branches), shortest: branches.map(\.shortest).min() ?? 0,
                         longest: branches.map(\.longest).max() ?? 0)
        }

        static func repetition(_ item: Piece, minimum: Int, maximum: Int) -> Piece {
            Piece(kind: .repetition(item, minimum: minimum, maximum: maximum),
                  shortest: min(item.shortest * minimum, RegexStringGenerator.maximumLength),
                  longest: min(item.longest * maximum, RegexStringGenerator.maximumLength))
        }
    }

    /// A set of characters as sorted, disjoint ranges of scalar values.
    struct CharacterRanges: Sendable {
        private(set) var ranges: [ClosedRange<UInt32>] = []

        /// What `.` and negated classes choose from: printable ASCII.
        static let printable = CharacterRanges([0x20...0x7E])
        static let digits = CharacterRanges([0x30...0x39])
        static let word = CharacterRanges([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
        static let space = CharacterRanges([0x09...0x0D, 0x20...0x20])

        init(_ ranges: [ClosedRange<UInt32>] = []) {
            for range in ranges { insert(range) }
        }

        var isEmpty: Bool { ranges.isEmpty }

        mutating func insert(_ range: ClosedRange<UInt32>) {
            var merged = range
            var kept: [ClosedRange<UInt32>] = []
            for existing in ranges {
                if existing.upperBound &+ 1 < merged.lowerBound || merged.upperBound &+ 1 < existing.lowerBound {
                    kept.append(existing)
                } else {
                    merged = min(existing.lowerBound, merged.lowerBound)...max(existing.upperBound, merged.upperBound)
                }
            }
            kept.append(merged)
            ranges = kept.sorted { $0.lowerBound < $1.lowerBound }
        }

        mutating func formUnion(_ other: CharacterRanges) {
            for range in other.ranges { insert(range) }
        }

        /// The printable ASCII characters not in the set.
        var complement: CharacterRanges {
            var result = CharacterRanges()
            var next: UInt32 = 0x20
            for range in ranges where range.upperBound >= 0x20 && range.lowerBound <= 0x7E {
                if range.lowerBound > next { result.insert(next...(range.lowerBound - 1)) }
                next = max(next, range.upperBound + 1)
            }
            if next <= 0x7E { result.insert(next...0x7E) }
            return result
        }

        func pick(using random: inout DatagenRandom) -> Unicode.Scalar {
            let total = ranges.reduce(UInt64(0)) { $0 + UInt64($1.count) }
            var index = random.below(total)
            for range in ranges {
                if index < UInt64(range.count) {
                    return Unicode.Scalar(range.lowerBound + UInt32(index)) ?? "?"
                }
                index -= UInt64(range.count)
            }
            return "?"
        }
    }
}
