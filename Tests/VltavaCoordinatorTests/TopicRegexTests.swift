import Testing
@testable import VltavaCoordinator

/// Regex subscriptions: RE2's syntax and refusals, whole-name matching, and an automaton that never backtracks.
@Suite("Topic regular expressions (RE2 syntax, linear-time matching)")
struct TopicRegexTests {
    static let names = ["orders", "orders-1", "orders-eu-2", "Orders-3", "payments", "xorders", "a.b", "aXb", "__consumer_offsets"]

    @Test(arguments: [
        ("orders-.*", ["orders-1", "orders-eu-2"]),
        ("^orders", ["orders"]),
        ("orders$", ["orders"]),
        ("\\Aorders\\z", ["orders"]),
        ("(?i)orders-\\d+", ["orders-1", "Orders-3"]),
        ("(?i:o)rders-\\d", ["orders-1", "Orders-3"]),
        ("orders-[0-9]", ["orders-1"]),
        ("orders-[^0-9].*", ["orders-eu-2"]),
        ("[[:alpha:]]+", ["orders", "payments", "xorders", "aXb"]),
        ("a\\.b", ["a.b"]),
        ("a.b", ["a.b", "aXb"]),
        ("(orders|payments)", ["orders", "payments"]),
        ("(?:orders|pay)(ments)?", ["orders", "payments"]),
        ("(?P<topic>orders)-\\w+", ["orders-1"]),
        ("orders-\\w{2}-\\d", ["orders-eu-2"]),
        ("o{1,2}rders.*", ["orders", "orders-1", "orders-eu-2"]),
        ("x?orders", ["orders", "xorders"]),
        ("orders-.*?", ["orders-1", "orders-eu-2"]),
        (".*", ["orders", "orders-1", "orders-eu-2", "Orders-3", "payments", "xorders", "a.b", "aXb"]),
        ("a{,2}", []),
        ("", []),
    ])
    func matchesWholeNames(pattern: String, expected: [String]) {
        #expect(TopicRegex.problem(pattern) == nil, "\(pattern)")
        #expect(TopicRegex.matching(pattern, in: Self.names) == expected, "\(pattern)")
    }

    @Test(arguments: ["(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b", "(a)\\1", "a*+", "a++", "[", "(a", "a)", "*a", "a**",
                      "a{1001}", "a{3,2}", "\\", "\\q", "(?x)a", "[z-a]", "[[:nope:]]", "(a{1000}){1000}"])
    func refusesWhatRE2Refuses(pattern: String) {
        #expect(TopicRegex.problem(pattern) != nil, "\(pattern)")
        #expect(TopicRegex.matching(pattern, in: Self.names).isEmpty)
    }

    /// Patterns that make a backtracking engine take exponential time on a long name: here each is a pass over the
    /// name with a bounded set of states (a hang would show as this test not finishing).
    @Test(arguments: [
        // (pattern, matches 249 a's, matches 249 a's then b)
        ("(a|aa)*b", false, true), ("(a*)*b", false, true), ("(a+)+b", false, true), ("(.*a){20}", true, false),
        ("((a|a)|a)*c", false, false),
    ])
    func pathologicalPatternsFinish(pattern: String, matchesAs: Bool, matchesAsThenB: Bool) {
        let name = String(repeating: "a", count: 249)
        #expect(TopicRegex.problem(pattern) == nil)
        #expect(TopicRegex.matching(pattern, in: [name, name + "b"]) == [name].filter { _ in matchesAs } + [name + "b"].filter { _ in matchesAsThenB })
        #expect(TopicRegex.matching(pattern, in: [name]).isEmpty == !matchesAs)
    }
}

/// Random patterns over a small alphabet: the parser never traps, and where Swift's own (backtracking) `Regex` reads
/// the same syntax, both agree on which names match whole.
@Suite("Topic regular expressions against Swift's Regex")
struct TopicRegexDifferentialTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test func randomPatternsAgree() throws {
        var random = Generator(state: 0x5eed)
        let pieces = ["a", "b", ".", "*", "+", "?", "|", "(", ")", "[ab]", "[^a]", "^", "$", "{2}", "{1,2}", "\\d", "1"]
        let names = ["", "a", "b", "ab", "ba", "aab", "abab", "1", "a1", "bbb", "aaaa"]
        var compared = 0
        for _ in 0..<20000 {
            var pattern = ""
            for _ in 0..<(1 + random.next(12)) { pattern += pieces[random.next(pieces.count)] }
            let ours = TopicRegex.problem(pattern) == nil ? TopicRegex.matching(pattern, in: names) : nil
            guard let ours, let theirs = try? Regex(pattern) else { continue }
            let expected = names.filter { (try? theirs.wholeMatch(in: $0)) != nil }
            #expect(ours == expected, "pattern \(pattern)")
            compared += 1
        }
        #expect(compared > 3000)
    }
}
