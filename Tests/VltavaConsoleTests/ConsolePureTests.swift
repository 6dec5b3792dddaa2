import Testing
import VltavaSecurity
@testable import VltavaConsole

@Suite struct ConsolePureTests {
    @Test func formFieldsDecodePlusAndPercent() {
        let form = FormFields("name=a+b%2Fc&empty=&x=%E2%82%AC&name=second&bad=%ZZ%4")
        #expect(form["name"] == "a b/c")
        #expect(form.values("name") == ["a b/c", "second"])
        #expect(form["empty"] == "")
        #expect(form.text("empty") == nil)
        #expect(form["x"] == "€")
        #expect(form["bad"] == "%ZZ%4")
        // A sign is not a hex digit: `%+f` stays as written.
        #expect(FormFields.percentDecoded("a%+fb", plusIsSpace: false) == "a%+fb")
        #expect(FormFields("s=%2Bf%+f")["s"] == "+f% f")
        #expect(FormFields.percentEncoded("a b/€") == "a%20b%2F%E2%82%AC")
    }

    @Test func formIntegersAreCheckedAgainstTheirRange() throws {
        let form = FormFields("p=12&q=-1&r=abc")
        #expect(try form.integer("p", label: "P", in: Int32(1)...Int32(100)) == 12)
        #expect(throws: ConsoleError.self) { try form.integer("q", label: "Q", in: Int32(0)...Int32(100)) }
        #expect(throws: ConsoleError.self) { try form.integer("r", label: "R", in: Int32(0)...Int32(100)) }
        #expect(try form.integer("missing", label: "M", in: Int32(0)...Int32(100)) == nil)
    }

    @Test func csrfTokensAreBoundToTheirCookie() {
        let tokens = CSRFTokens()
        let cookie = CSRFTokens.newCookie()
        #expect(CSRFTokens.isWellFormedCookie(cookie))
        #expect(!CSRFTokens.isWellFormedCookie("short"))
        let token = tokens.token(forCookie: cookie)
        #expect(tokens.isValid(token, forCookie: cookie))
        #expect(!tokens.isValid(token, forCookie: CSRFTokens.newCookie()))
        // The same token with its last digit changed.
        let altered = String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")
        #expect(!tokens.isValid(altered, forCookie: cookie))
        #expect(!tokens.isValid("", forCookie: cookie))
        // Another process (another secret) does not accept this one's tokens.
        #expect(!CSRFTokens().isValid(token, forCookie: cookie))
    }

    @Test func flashSurvivesItsCookie() {
        let flash = Flash(kind: .error, text: "Type orders; then <try> again = 100%")
        #expect(Flash(cookieValue: flash.cookieValue) == flash)
        #expect(!flash.cookieValue.contains(";") && !flash.cookieValue.contains(" "))
        #expect(Flash(cookieValue: "zbad") == nil)
        let long = Flash(kind: .notice, text: String(repeating: "é", count: 2000))
        #expect(long.cookieValue.count < 10_000)
        #expect(Flash(cookieValue: long.cookieValue)?.text.utf8.count ?? 0 <= Flash.maximumBytes)
    }

    @Test func lineDiffMarksAddedAndRemovedLines() {
        let diff = LineDiff.diff("a\nb\nc", "a\nc\nd")
        #expect(diff.map { $0.kind.marker + $0.text } == [" a", "-b", " c", "+d"])
        #expect(LineDiff.diff("", "").map(\.kind) == [.kept])
        let readable = LineDiff.readable(#"{"type":"record","name":"T","fields":[{"name":"a","type":"int"}]}"#)
        #expect(readable.contains("\n  \"fields\": [\n"))
        #expect(LineDiff.readable("syntax = \"proto3\";") == "syntax = \"proto3\";")
    }

    @Test func chartsEscapeLabelsAndScaleToNiceNumbers() {
        #expect(SVGChart.niceCeiling(0) == 1)
        #expect(SVGChart.niceCeiling(7) == 10)
        #expect(SVGChart.niceCeiling(1200) == 2000)
        #expect(SVGChart.niceCeiling(230) == 250)
        #expect(SVGChart.compact(1500) == "1.5k")
        let svg = SVGChart().render([.init(name: "<script>", points: [(0, 1), (10, 5)])])
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
        #expect(!svg.contains("<script>") && svg.contains("&lt;script&gt;"))
        #expect(svg.contains("<polyline class=\"series-0\""))
        #expect(SVGChart().render([.init(name: "x", points: [(0, 1)])]).contains("Collecting data"))
    }

    @Test func templatesEscapeWhatTheyShow() throws {
        #expect(FastHTMLContentType.escape("plain ünïcödé 42") == "plain ünïcödé 42")
        #expect(FastHTMLContentType.escape("<script>\"a\" & 'b'</script>") == "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;")
        let library = try ConsoleTemplates.library()
        let row = library.render(["partition": 0, "offset": 7, "timestamp": "t", "key": "<b>k</b>", "value": "x'y", "format": "UTF-8",
                                  "headers": [["name": "h&", "value": "\"v\""]]], withTemplate: "message_row") ?? ""
        #expect(row.contains("<td class=\"key\">&lt;b&gt;k&lt;/b&gt;</td>"))
        #expect(row.contains("<td class=\"value\">x&#39;y</td>"))
        #expect(row.contains("<div>h&amp;: &quot;v&quot;</div>"))
        #expect(!row.contains("CONTENT_TYPE"))
    }

    @Test func kafkaNamesOfAclEnums() throws {
        #expect(Console.kafkaName(AclOperation.describeConfigs) == "DESCRIBE_CONFIGS")
        #expect(Console.kafkaName(AclResourceType.transactionalId) == "TRANSACTIONAL_ID")
        for operation in AclOperation.allCases {
            #expect(try Console.parse(Console.kafkaName(operation), as: AclOperation.self, what: "operation") == operation)
        }
        #expect(throws: ConsoleError.self) { try Console.parse("READS", as: AclOperation.self, what: "operation") }
    }
}
