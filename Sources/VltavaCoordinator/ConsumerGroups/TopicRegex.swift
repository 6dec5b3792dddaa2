/// Topic subscriptions by regular expression (KIP-848's `SubscribedTopicRegex`), with Kafka's semantics: RE2
/// syntax, the whole topic name must match (so `^topic` alone matches only "topic"), internal topics are never
/// matched.
///
/// Matching runs on an automaton of our own (a Thompson NFA simulated state set by state set, as RE2 does), so it
/// takes time linear in the name for any pattern: a client's pattern such as `(a|aa)*b` cannot stall a
/// request-handler thread the way a backtracking engine would. What RE2 refuses (lookaround, backreferences,
/// possessive quantifiers, repeat counts over 1000) is refused with INVALID_REGULAR_EXPRESSION.
public enum TopicRegex {
    /// Kafka's internal topics, which a pattern never subscribes to.
    static let internalTopics: Set<String> = ["__consumer_offsets", "__transaction_state"]

    /// Why the pattern is refused (INVALID_REGULAR_EXPRESSION), nil when it compiles.
    public static func problem(_ pattern: String) -> String? {
        switch compile(pattern) {
        case .success: nil
        case let .failure(error): "Invalid regular expression \(pattern): \(error.reason)."
        }
    }

    /// The names that the pattern matches whole, internal topics left out; none for a pattern that does not
    /// compile.
    public static func matching<Names: Sequence>(_ pattern: String, in names: Names) -> [String] where Names.Element == String {
        guard case let .success(program) = compile(pattern) else { return [] }
        return names.filter { !internalTopics.contains($0) && program.matches(Array($0.utf8)) }
    }

    static func compile(_ pattern: String) -> Result<RegexProgram, RegexSyntaxError> {
        do {
            var parser = RegexParser(Array(pattern.utf8))
            let node = try parser.parse()
            var compiler = RegexCompiler()
            try compiler.emit(node)
            compiler.program.append(.match)
            return .success(RegexProgram(instructions: compiler.program))
        } catch {
            return .failure(error)
        }
    }
}

struct RegexSyntaxError: Error {
    var reason: String
}

/// A set of bytes, as 256 bits.
struct ByteSet: Equatable {
    var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static func == (lhs: ByteSet, rhs: ByteSet) -> Bool { lhs.bits == rhs.bits }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return bits.0 & bit != 0
        case 1: return bits.1 & bit != 0
        case 2: return bits.2 & bit != 0
        default: return bits.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: bits.0 |= bit
        case 1: bits.1 |= bit
        case 2: bits.2 |= bit
        default: bits.3 |= bit
        }
    }

    mutating func insert(_ range: ClosedRange<UInt8>) { for byte in range { insert(byte) } }

    mutating func formUnion(_ other: ByteSet) {
        bits = (bits.0 | other.bits.0, bits.1 | other.bits.1, bits.2 | other.bits.2, bits.3 | other.bits.3)
    }

    var inverted: ByteSet {
        var result = ByteSet()
        result.bits = (~bits.0, ~bits.1, ~bits.2, ~bits.3)
        return result
    }

    /// With both cases of every ASCII letter it holds.
    var caseFolded: ByteSet {
        var result = self
        for byte in UInt8(ascii: "a")...UInt8(ascii: "z") where contains(byte) || contains(byte - 32) {
            result.insert(byte)
            result.insert(byte - 32)
        }
        return result
    }

    static func of(_ bytes: UInt8...) -> ByteSet {
        var set = ByteSet()
        for byte in bytes { set.insert(byte) }
        return set
    }

    static let digits: ByteSet = { var set = ByteSet(); set.insert(UInt8(ascii: "0")...UInt8(ascii: "9")); return set }()
    static let word: ByteSet = {
        var set = digits
        set.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
        set.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        set.insert(UInt8(ascii: "_"))
        return set
    }()
    static let space: ByteSet = .of(0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D)
    /// `.`: any byte but a newline (RE2 without the s flag).
    static let dot: ByteSet = ByteSet.of(0x0A).inverted
}

/// A parsed pattern.
indirect enum RegexNode {
    case bytes(ByteSet)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repeated(RegexNode, min: Int, max: Int?)
    case assertStart
    case assertEnd
}

/// RE2's syntax, as far as topic names need it: literals, `.`, classes (ranges, negation, `\d\w\s` and their
/// negations, POSIX `[:alpha:]` names), groups (capturing, `(?:`, named), alternation, `* + ? {m} {m,} {m,n}` and
/// their lazy forms, anchors `^ $ \A \z`, flags `(?i)` (and `m s U`, which change nothing for a whole-name match).
struct RegexParser {
    private let bytes: [UInt8]
    private var position = 0
    private var caseInsensitive = false
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func parse() throws(RegexSyntaxError) -> RegexNode {
        let node = try alternation()
        if position < bytes.count { throw RegexSyntaxError(reason: "unexpected ) at \(position)") }
        return node
    }

    private mutating func alternation() throws(RegexSyntaxError) -> RegexNode {
        var branches = [try concatenation()]
        while current == UInt8(ascii: "|") {
            position += 1
            branches.append(try concatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func concatenation() throws(RegexSyntaxError) -> RegexNode {
        var items: [RegexNode] = []
        while let byte = current, byte != UInt8(ascii: "|"), byte != UInt8(ascii: ")") {
            guard let atom = try atom() else { continue }
            items.append(try quantified(atom))
        }
        return items.count == 1 ? items[0] : .concat(items)
    }

    /// One atom; nil for a flag group that only changes flags.
    private mutating func atom() throws(RegexSyntaxError) -> RegexNode? {
        guard let byte = current else { throw RegexSyntaxError(reason: "missing argument") }
        position += 1
        switch byte {
        case UInt8(ascii: "("):
            return try group()
        case UInt8(ascii: "["):
            return .bytes(try characterClass())
        case UInt8(ascii: "."):
            return .bytes(.dot)
        case UInt8(ascii: "^"):
            return .assertStart
        case UInt8(ascii: "$"):
            return .assertEnd
        case UInt8(ascii: "\\"):
            return try escape(inClass: false)
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
            throw RegexSyntaxError(reason: "missing argument to repetition operator \(Character(UnicodeScalar(byte)))")
        default:
            return .bytes(literal(byte))
        }
    }

    private func literal(_ byte: UInt8) -> ByteSet {
        let set = ByteSet.of(byte)
        return caseInsensitive ? set.caseFolded : set
    }

    private mutating func group() throws(RegexSyntaxError) -> RegexNode? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 1000 else { throw RegexSyntaxError(reason: "expression nests too deeply") }
        let saved = caseInsensitive
        if current == UInt8(ascii: "?") {
            position += 1
            switch current {
            case UInt8(ascii: "="), UInt8(ascii: "!"):
                throw RegexSyntaxError(reason: "lookahead is not supported (RE2 syntax)")
            case UInt8(ascii: "<") where position + 1 < bytes.count && (bytes[position + 1] == UInt8(ascii: "=") || bytes[position + 1] == UInt8(ascii: "!")):
                throw RegexSyntaxError(reason: "lookbehind is not supported (RE2 syntax)")
            case UInt8(ascii: "P"), UInt8(ascii: "<"):
                // A named group: (?P<name>...) or (?<name>...).
                if current == UInt8(ascii: "P") { position += 1 }
                guard current == UInt8(ascii: "<") else { throw RegexSyntaxError(reason: "invalid named capture group") }
                position += 1
                let start = position
                while let byte = current, byte != UInt8(ascii: ">") {
                    guard ByteSet.word.contains(byte) else { throw RegexSyntaxError(reason: "invalid named capture group") }
                    position += 1
                }
                guard current == UInt8(ascii: ">"), position > start else { throw RegexSyntaxError(reason: "invalid named capture group") }
                position += 1
            default:
                // Flags: (?flags) for the rest of the group, (?flags:...) for a group.
                var negate = false
                var sawFlag = false
                while let byte = current, byte != UInt8(ascii: ")"), byte != UInt8(ascii: ":") {
                    switch byte {
                    case UInt8(ascii: "i"): caseInsensitive = !negate
                    case UInt8(ascii: "m"), UInt8(ascii: "s"), UInt8(ascii: "U"): break
                    case UInt8(ascii: "-") where !negate: negate = true
                    default: throw RegexSyntaxError(reason: "invalid or unsupported Perl syntax (?\(Character(UnicodeScalar(byte)))")
                    }
                    sawFlag = true
                    position += 1
                }
                guard let end = current else { throw RegexSyntaxError(reason: "missing closing )") }
                position += 1
                if end == UInt8(ascii: ")") {
                    guard sawFlag else { throw RegexSyntaxError(reason: "missing flags") }
                    return nil // the flags hold until the end of the enclosing group
                }
            }
        }
        let inner = try alternation()
        guard current == UInt8(ascii: ")") else { throw RegexSyntaxError(reason: "missing closing )") }
        position += 1
        caseInsensitive = saved
        return inner
    }

    private mutating func quantified(_ atom: RegexNode) throws(RegexSyntaxError) -> RegexNode {
        var node = atom
        var quantifiers = 0
        while let byte = current {
            let bounds: (Int, Int?)
            switch byte {
            case UInt8(ascii: "*"): bounds = (0, nil); position += 1
            case UInt8(ascii: "+"): bounds = (1, nil); position += 1
            case UInt8(ascii: "?"): bounds = (0, 1); position += 1
            case UInt8(ascii: "{"):
                guard let counted = countedRepetition() else { return node }
                bounds = counted
            default:
                return node
            }
            quantifiers += 1
            if quantifiers > 1 { throw RegexSyntaxError(reason: "bad repetition operator") }
            if case .assertStart = node { throw RegexSyntaxError(reason: "missing argument to repetition operator") }
            if case .assertEnd = node { throw RegexSyntaxError(reason: "missing argument to repetition operator") }
            // A lazy form (`*?`) matches the same whole names; a possessive one (`*+`) RE2 refuses.
            if current == UInt8(ascii: "?") {
                position += 1
            } else if current == UInt8(ascii: "+") {
                throw RegexSyntaxError(reason: "possessive quantifiers are not supported (RE2 syntax)")
            }
            node = .repeated(node, min: bounds.0, max: bounds.1)
        }
        return node
    }

    /// `{m}`, `{m,}`, `{m,n}` (each count at most 1000); nil (and nothing read) when the brace is a literal.
    private mutating func countedRepetition() -> (Int, Int?)? {
        var cursor = position + 1
        func number() -> Int? {
            let start = cursor
            var value = 0
            while cursor < bytes.count, let digit = Int(exactly: bytes[cursor]).map({ $0 - 48 }), (0...9).contains(digit) {
                value = min(value * 10 + digit, 100_000)
                cursor += 1
            }
            return cursor > start ? value : nil
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if cursor < bytes.count, bytes[cursor] == UInt8(ascii: ",") {
            cursor += 1
            maximum = number()
        }
        guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "}") else { return nil }
        position = cursor + 1
        return (minimum, maximum)
    }

    private mutating func escape(inClass: Bool) throws(RegexSyntaxError) -> RegexNode {
        guard let byte = current else { throw RegexSyntaxError(reason: "trailing backslash at end of expression") }
        position += 1
        switch byte {
        case UInt8(ascii: "d"): return .bytes(.digits)
        case UInt8(ascii: "D"): return .bytes(ByteSet.digits.inverted)
        case UInt8(ascii: "w"): return .bytes(.word)
        case UInt8(ascii: "W"): return .bytes(ByteSet.word.inverted)
        case UInt8(ascii: "s"): return .bytes(.space)
        case UInt8(ascii: "S"): return .bytes(ByteSet.space.inverted)
        case UInt8(ascii: "t"): return .bytes(.of(0x09))
        case UInt8(ascii: "n"): return .bytes(.of(0x0A))
        case UInt8(ascii: "r"): return .bytes(.of(0x0D))
        case UInt8(ascii: "f"): return .bytes(.of(0x0C))
        case UInt8(ascii: "v"): return .bytes(.of(0x0B))
        case UInt8(ascii: "A") where !inClass: return .assertStart
        case UInt8(ascii: "z") where !inClass: return .assertEnd
        case UInt8(ascii: "x"):
            guard position + 1 < bytes.count, let high = hexValue(bytes[position]), let low = hexValue(bytes[position + 1]) else {
                throw RegexSyntaxError(reason: "invalid escape sequence \\x")
            }
            position += 2
            return .bytes(literal(high << 4 | low))
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            throw RegexSyntaxError(reason: "backreferences are not supported (RE2 syntax)")
        default:
            // Any punctuation may be escaped; other letters and digits are escapes RE2 does not have here.
            if ByteSet.word.contains(byte) {
                throw RegexSyntaxError(reason: "invalid escape sequence \\\(Character(UnicodeScalar(byte)))")
            }
            return .bytes(literal(byte))
        }
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 55
        default: nil
        }
    }

    static let posixClasses: [String: ByteSet] = {
        var alpha = ByteSet()
        alpha.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
        alpha.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        var alnum = alpha
        alnum.formUnion(.digits)
        var lower = ByteSet()
        lower.insert(UInt8(ascii: "a")...UInt8(ascii: "z"))
        var upper = ByteSet()
        upper.insert(UInt8(ascii: "A")...UInt8(ascii: "Z"))
        var xdigit = ByteSet.digits
        xdigit.insert(UInt8(ascii: "a")...UInt8(ascii: "f"))
        xdigit.insert(UInt8(ascii: "A")...UInt8(ascii: "F"))
        var punct = ByteSet()
        for byte in UInt8(0x21)...UInt8(0x7E) where !alnum.contains(byte) { punct.insert(byte) }
        return ["alpha": alpha, "alnum": alnum, "digit": .digits, "lower": lower, "upper": upper, "xdigit": xdigit,
                "punct": punct, "space": .space, "word": .word]
    }()

    /// After `[`: the class up to its `]`.
    private mutating func characterClass() throws(RegexSyntaxError) -> ByteSet {
        var set = ByteSet()
        var negated = false
        if current == UInt8(ascii: "^") {
            negated = true
            position += 1
        }
        var first = true
        while true {
            guard let byte = current else { throw RegexSyntaxError(reason: "missing closing ]") }
            if byte == UInt8(ascii: "]") && !first {
                position += 1
                break
            }
            first = false
            if byte == UInt8(ascii: "["), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: ":") {
                guard let close = (position + 2..<bytes.count).first(where: { bytes[$0] == UInt8(ascii: ":") }),
                      close + 1 < bytes.count, bytes[close + 1] == UInt8(ascii: "]") else {
                    throw RegexSyntaxError(reason: "missing closing ]")
                }
                var name = String(decoding: bytes[(position + 2)..<close], as: UTF8.self)
                let inverted = name.hasPrefix("^")
                if inverted { name.removeFirst() }
                guard let named = Self.posixClasses[name] else { throw RegexSyntaxError(reason: "invalid character class range [:\(name):]") }
                set.formUnion(inverted ? named.inverted : named)
                position = close + 2
                continue
            }
            let low: UInt8
            position += 1
            if byte == UInt8(ascii: "\\") {
                guard case let .bytes(escaped) = try escape(inClass: true) else { throw RegexSyntaxError(reason: "invalid escape in class") }
                // A single escaped byte may start a range; a class escape (\d) may not.
                let members = (0...255).filter { escaped.contains(UInt8($0)) }
                if members.count != 1 {
                    set.formUnion(escaped)
                    continue
                }
                low = UInt8(members[0])
            } else {
                low = byte
            }
            if current == UInt8(ascii: "-"), position + 1 < bytes.count, bytes[position + 1] != UInt8(ascii: "]") {
                position += 1
                guard var high = current else { throw RegexSyntaxError(reason: "missing closing ]") }
                position += 1
                if high == UInt8(ascii: "\\") {
                    guard let escaped = current else { throw RegexSyntaxError(reason: "missing closing ]") }
                    position += 1
                    high = escaped
                }
                guard low <= high else { throw RegexSyntaxError(reason: "invalid character class range") }
                set.insert(low...high)
            } else {
                set.insert(low)
            }
        }
        if caseInsensitive { set = set.caseFolded }
        return negated ? set.inverted : set
    }
}

/// One instruction of the automaton.
enum RegexInstruction {
    case bytes(ByteSet)
    case split(Int, Int)
    case jump(Int)
    case assertStart
    case assertEnd
    case match
}

struct RegexCompiler {
    var program: [RegexInstruction] = []
    /// The automaton's size bound: counted repetitions are copied out, so `(a{1000}){1000}` is refused, not built.
    static let maximumInstructions = 20_000

    mutating func emit(_ node: RegexNode) throws(RegexSyntaxError) {
        guard program.count <= Self.maximumInstructions else { throw RegexSyntaxError(reason: "expression too large") }
        switch node {
        case let .bytes(set):
            program.append(.bytes(set))
        case .assertStart:
            program.append(.assertStart)
        case .assertEnd:
            program.append(.assertEnd)
        case let .concat(items):
            for item in items { try emit(item) }
        case let .alternation(branches):
            var jumps: [Int] = []
            for (index, branch) in branches.enumerated() {
                if index < branches.count - 1 {
                    let split = program.count
                    program.append(.split(split + 1, -1))
                    try emit(branch)
                    jumps.append(program.count)
                    program.append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try emit(branch)
                }
            }
            for jump in jumps { program[jump] = .jump(program.count) }
        case let .repeated(inner, minimum, maximum):
            if minimum > 1000 || (maximum ?? 0) > 1000 || (maximum.map { $0 < minimum } ?? false) {
                throw RegexSyntaxError(reason: "bad repetition operator")
            }
            for _ in 0..<minimum { try emit(inner) }
            if let maximum {
                // Each optional copy may be skipped, to the end of them all.
                var splits: [Int] = []
                for _ in minimum..<maximum {
                    splits.append(program.count)
                    program.append(.split(program.count + 1, -1))
                    try emit(inner)
                }
                for split in splits { program[split] = .split(split + 1, program.count) }
            } else {
                // x*: L1: split L2, L3; L2: x; jump L1; L3:
                let loop = program.count
                program.append(.split(loop + 1, -1))
                try emit(inner)
                program.append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}

/// A compiled pattern: matched by advancing the set of live states one byte at a time (no backtracking).
struct RegexProgram {
    let instructions: [RegexInstruction]

    func matches(_ input: [UInt8]) -> Bool {
        var current: [Int] = []
        var next: [Int] = []
        var onList = [Int](repeating: -1, count: instructions.count)
        var generation = 0
        addState(0, at: 0, length: input.count, to: &current, onList: &onList, generation: generation)
        for (index, byte) in input.enumerated() {
            generation += 1
            next.removeAll(keepingCapacity: true)
            for state in current {
                if case let .bytes(set) = instructions[state], set.contains(byte) {
                    addState(state + 1, at: index + 1, length: input.count, to: &next, onList: &onList, generation: generation)
                }
            }
            swap(&current, &next)
            if current.isEmpty { return false }
        }
        return current.contains { if case .match = instructions[$0] { true } else { false } }
    }

    /// Adds a state and everything reachable from it without reading a byte (an explicit stack, no recursion).
    private func addState(_ start: Int, at position: Int, length: Int, to list: inout [Int], onList: inout [Int], generation: Int) {
        var stack = [start]
        while let state = stack.popLast() {
            guard onList[state] != generation else { continue }
            onList[state] = generation
            switch instructions[state] {
            case let .jump(target):
                stack.append(target)
            case let .split(first, second):
                stack.append(second)
                stack.append(first)
            case .assertStart:
                if position == 0 { stack.append(state + 1) }
            case .assertEnd:
                if position == length { stack.append(state + 1) }
            case .bytes, .match:
                list.append(state)
            }
        }
    }
}
