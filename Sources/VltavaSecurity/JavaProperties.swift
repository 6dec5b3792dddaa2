#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Java properties text as `java.util.Properties.load` reads it, for the files Kafka's and Confluent's tools take
/// (client properties, Jetty's user files).
public enum JavaProperties {
    /// Reads a Java properties file (`key=value` or `key: value` lines, `#`/`!` comments, `\` continuations), as
    /// Kafka's tools read `--command-config`.
    public static func read(path: String) throws(SecurityError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("cannot read the properties file \(path)")
        }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// Parses Java properties text; later keys win.
    public static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var logical = ""
        func finish(_ line: String) {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            guard !trimmed.isEmpty, trimmed.first != "#", trimmed.first != "!" else { return }
            let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" })
            let key = separator.map { trimmed[..<$0] } ?? trimmed
            let value = separator.map { trimmed[trimmed.index(after: $0)...] } ?? ""
            result[key.trimmingCharacters(in: .whitespaces)] = value.trimmingCharacters(in: .whitespaces)
        }
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            var line = String(rawLine)
            if !logical.isEmpty { line = String(line.drop(while: { $0 == " " || $0 == "\t" })) }
            let trailingBackslashes = line.reversed().prefix(while: { $0 == "\\" }).count
            if trailingBackslashes % 2 == 1 {
                logical += line.dropLast()
                continue
            }
            finish(logical + line)
            logical = ""
        }
        if !logical.isEmpty { finish(logical) }
        return result
    }

}
