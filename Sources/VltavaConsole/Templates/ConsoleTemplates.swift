import Mustache

/// The console's Mustache templates, compiled into the binary. `{{x}}` escapes what it shows (a record holding
/// `<script>` is shown as text); `{{{x}}}` is used only for HTML the console made itself (a page's body in the
/// layout, a chart's SVG, rendered message rows).
enum ConsoleTemplates {
    static func library() throws -> MustacheLibrary {
        MustacheContentTypes.register(FastHTMLContentType(), named: FastHTMLContentType.name)
        var library = MustacheLibrary()
        for (name, text) in layoutTemplates.merging(kafkaTemplates, uniquingKeysWith: { a, _ in a })
            .merging(groupTemplates, uniquingKeysWith: { a, _ in a }).merging(serviceTemplates, uniquingKeysWith: { a, _ in a }) {
            // Every template (partials too: a partial starts again from Mustache's own HTML type) escapes with ours.
            try library.register("{{% CONTENT_TYPE: \(FastHTMLContentType.name)}}\n" + text, named: name)
        }
        return library
    }

    static let layoutTemplates: [String: String] = [
        "layout": """
            <!doctype html>
            <html lang="en" data-theme="{{theme}}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · Vltava</title>
            <link rel="icon" href="/favicon.svg" type="image/svg+xml">
            <link rel="stylesheet" href="/console/app.css">
            <script src="/console/app.js" defer></script>
            </head>
            <body>
            <header>
            <a class="brand" href="/">Vltava</a>
            <nav>
            <a href="/"{{#nav_overview}} class="active"{{/nav_overview}}>Overview</a>
            <a href="/topics"{{#nav_topics}} class="active"{{/nav_topics}}>Topics</a>
            <a href="/groups"{{#nav_groups}} class="active"{{/nav_groups}}>Consumer groups</a>
            <a href="/schemas"{{#nav_schemas}} class="active"{{/nav_schemas}}>Schemas</a>
            <a href="/connectors"{{#nav_connectors}} class="active"{{/nav_connectors}}>Connectors</a>
            <a href="/security"{{#nav_security}} class="active"{{/nav_security}}>Security</a>
            </nav>
            <form method="post" action="/theme" class="inline">
            <input type="hidden" name="_csrf" value="{{csrf}}">
            <select name="theme" aria-label="Theme">
            <option value="auto">Theme: system</option><option value="light">Light</option><option value="dark">Dark</option>
            </select>
            <button type="submit" class="plain">Apply</button>
            </form>
            </header>
            <main id="content">
            {{#notice}}<p class="notice" id="notice">{{notice}}</p>{{/notice}}
            {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
            {{{body}}}
            </main>
            </body>
            </html>
            """,
        "error": """
            <h1>Something went wrong</h1>
            <p class="error" id="error">{{message}}</p>
            """,
        "csrf": #"<input type="hidden" name="_csrf" value="{{csrf}}">"#,
    ]
}

/// HTML escaping as Mustache's own (`<`, `>`, `&`, `"`, `'`), over UTF-8 bytes: a value with nothing to escape — most
/// of them — is returned as it is, without building a new string Character by Character (the topics page of a
/// cluster of a thousand topics escapes some 8 000 values).
struct FastHTMLContentType: MustacheContentType {
    static let name = "VLTAVAHTML"

    func escapeText(_ text: String) -> String {
        Self.escape(text)
    }

    static func escape(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes in
            guard let first = bytes.firstIndex(where: needsEscape) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 16)
            out.append(contentsOf: bytes[..<first])
            for byte in bytes[first...] {
                switch byte {
                case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
                case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
                case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
                case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
                case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
                default: out.append(byte)
                }
            }
            return String(decoding: out, as: UTF8.self)
        } ?? text
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "\"")
            || byte == UInt8(ascii: "'")
    }
}
