extension RegexStringGenerator {
    /// Reads a Java regular expression into pieces (recursive descent: alternation, sequence, quantified atom).
    struct Parser {
        let scalars: [Unicode.Scalar]
        let pattern: String
        var position = 0
        private var depth = 0

        init(scalars: [Unicode.Scalar], pattern: String) {
            self.scalars = scalars
            self.pattern = pattern
        }

        func failure(_ problem: String) -> ConnectError {
            .config(name: "regex", message: "cannot generate strings for the regular expression \(pattern): \(problem) at position \(position)")
        }

        private var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        private func peek(_ ahead: Int) -> Unicode.Scalar? {
            position + ahead < scalars.count ? scalars[position + ahead] : nil
        }

        mutating func parseAlternation() throws(ConnectError) -> Piece {
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { throw failure("groups nested too deeply") }
            var branches = [try parseSequence()]
            while current == "|" {
                position += 1
                branches.append(try parseSequence())
            }
            return .alternation(branches)
        }

        private mutating func parseSequence() throws(ConnectError) -> Piece {
            var items: [Piece] = []
            while let scalar = current, scalar != "|", scalar != ")" {
                guard let atom = try parseAtom() else { continue }
                items.append(try parseQuantifiers(atom))
            }
            return .sequence(items)
        }

        private mutating func parseQuantifiers(_ atom: Piece) throws(ConnectError) -> Piece {
            var piece = atom
            while let scalar = current {
                let bounds: (Int, Int)
                switch scalar {
                case "?": bounds = (0, 1)
                case "*": bounds = (0, RegexStringGenerator.unboundedExtra)
                case "+": bounds = (1, 1 + RegexStringGenerator.unboundedExtra)
                case "{":
                    guard let counted = try parseBraces() else { return piece }
                    bounds = counted
                    piece = .repetition(piece, minimum: bounds.0, maximum: bounds.1)
                    skipQuantifierModifier()
                    continue
                default: return piece
                }
                position += 1
                piece = .repetition(piece, minimum: bounds.0, maximum: bounds.1)
                skipQuantifierModifier()
            }
            return piece
        }

        /// A lazy (`?`) or possessive (`+`) quantifier matches the same strings.
        private mutating func skipQuantifierModifier() {
            if current == "?" || current == "+" { position += 1 }
        }

        /// `{n}`, `{n,}` or `{n,m}` at `position` (which is at "{").
        private mutating func parseBraces() throws(ConnectError) -> (Int, Int)? {
            position += 1
            let minimum = try parseCount()
            guard let minimum else { throw failure("a quantifier {n,m} needs a number") }
            var maximum = minimum
            if current == "," {
                position += 1
                maximum = try parseCount() ?? minimum + RegexStringGenerator.unboundedExtra
            }
            guard current == "}" else { throw failure("unclosed quantifier {") }
            position += 1
            guard maximum >= minimum else { throw failure("a quantifier's maximum is below its minimum") }
            return (minimum, maximum)
        }

        private mutating func parseCount() throws(ConnectError) -> Int? {
            var value: Int?
            while let scalar = current, let digit = scalar.properties.numericType == .decimal ? Int(String(scalar)) : nil {
                value = (value ?? 0) * 10 + digit
                guard let count = value, count <= RegexStringGenerator.maximumLength else {
                    throw failure("a repetition count above \(RegexStringGenerator.maximumLength)")
                }
                position += 1
            }
            return value
        }

        /// One atom, or nil for what generates nothing (anchors, an empty `\Q\E`).
        private mutating func parseAtom() throws(ConnectError) -> Piece? {
            guard let scalar = current else { return nil }
            switch scalar {
            case "(":
                position += 1
                try skipGroupPrefix()
                let inner = try parseAlternation()
                guard current == ")" else { throw failure("unclosed group (") }
                position += 1
                return inner
            case "[":
                position += 1
                return .characters(try parseClass())
            case ".":
                position += 1
                return .characters(.printable)
            case "^", "$":
                position += 1
                return nil
            case "\\":
                position += 1
                return try parseEscape()
            case "*", "+", "?", "{":
                throw failure("a quantifier with nothing to repeat")
            default:
                position += 1
                return .characters(CharacterRanges([scalar.value...scalar.value]))
            }
        }

        /// After "(": accepts "?:" and a name ("?<name>"); refuses look-around and flags.
        private mutating func skipGroupPrefix() throws(ConnectError) {
            guard current == "?" else { return }
            switch peek(1) {
            case ":":
                position += 2
            case "<" where peek(2) != "=" && peek(2) != "!":
                position += 2
                while let scalar = current, scalar != ">" { position += 1 }
                guard current == ">" else { throw failure("unclosed group name") }
                position += 1
            case "=", "!", "<":
                throw failure("look-around is not supported")
            default:
                throw failure("inline flags and special groups are not supported")
            }
        }

        private mutating func parseEscape() throws(ConnectError) -> Piece? {
            guard let scalar = current else { throw failure("a trailing backslash") }
            switch scalar {
            case "b", "B", "A", "z", "Z", "G":
                position += 1
                return nil
            case "Q":
                position += 1
                var items: [Piece] = []
                while let literal = current {
                    if literal == "\\" && peek(1) == "E" {
                        position += 2
                        break
                    }
                    items.append(.characters(CharacterRanges([literal.value...literal.value])))
                    position += 1
                }
                return items.isEmpty ? nil : .sequence(items)
            case "1"..."9", "k":
                throw failure("back-references are not supported")
            default:
                return .characters(try parseEscapedSet())
            }
        }

        /// The characters an escape stands for (at the character after the backslash), inside or outside a class.
        private mutating func parseEscapedSet() throws(ConnectError) -> CharacterRanges {
            guard let scalar = current else { throw failure("a trailing backslash") }
            position += 1
            switch scalar {
            case "d": return .digits
            case "D": return CharacterRanges.digits.complement
            case "w": return .word
            case "W": return CharacterRanges.word.complement
            case "s": return .space
            case "S": return CharacterRanges.space.complement
            case "t": return CharacterRanges([0x09...0x09])
            case "n": return CharacterRanges([0x0A...0x0A])
            case "r": return CharacterRanges([0x0D...0x0D])
            case "f": return CharacterRanges([0x0C...0x0C])
            case "e": return CharacterRanges([0x1B...0x1B])
            case "a": return CharacterRanges([0x07...0x07])
            case "x": return try hexadecimal(digits: 2)
            case "u": return try hexadecimal(digits: 4)
            case "p", "P", "c", "N", "R", "X", "h", "H", "v", "V":
                throw failure("the escape \\\(scalar) is not supported")
            default:
                guard !scalar.properties.isAlphabetic || !scalar.isASCII else {
                    throw failure("the escape \\\(scalar) is not supported")
                }
                return CharacterRanges([scalar.value...scalar.value])
            }
        }

        private mutating func hexadecimal(digits: Int) throws(ConnectError) -> CharacterRanges {
            guard position + digits <= scalars.count,
                  let value = UInt32(String(String.UnicodeScalarView(scalars[position..<(position + digits)])), radix: 16) else {
                throw failure("a hexadecimal escape needs \(digits) digits")
            }
            position += digits
            return CharacterRanges([value...value])
        }

        /// A class after "[": items, ranges, escapes and nested classes (their union), up to "]".
        private mutating func parseClass() throws(ConnectError) -> CharacterRanges {
            var negated = false
            if current == "^" {
                negated = true
                position += 1
            }
            var set = CharacterRanges()
            var first = true
            while true {
                guard let scalar = current else { throw failure("unclosed character class [") }
                if scalar == "]" && !first { break }
                first = false
                if scalar == "[" {
                    position += 1
                    set.formUnion(try parseClass())
                    continue
                }
                if scalar == "&" && peek(1) == "&" { throw failure("class intersection (&&) is not supported") }
                let lower: CharacterRanges
                if scalar == "\\" {
                    position += 1
                    lower = try parseEscapedSet()
                } else {
                    position += 1
                    lower = CharacterRanges([scalar.value...scalar.value])
                }
                guard let single = lower.ranges.first, lower.ranges.count == 1, single.count == 1,
                      current == "-", let next = peek(1), next != "]" else {
                    set.formUnion(lower)
                    continue
                }
                position += 1
                let upper: CharacterRanges
                if next == "\\" {
                    position += 1
                    upper = try parseEscapedSet()
                } else {
                    position += 1
                    upper = CharacterRanges([next.value...next.value])
                }
                guard let end = upper.ranges.first, upper.ranges.count == 1, end.count == 1,
                      single.lowerBound <= end.lowerBound else {
                    throw failure("an invalid range in a character class")
                }
                set.insert(single.lowerBound...end.lowerBound)
            }
            position += 1
            let result = negated ? set.complement : set
            guard !result.isEmpty else { throw failure("a character class with no printable character") }
            return result
        }
    }
}
