#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Java's `.properties` text format, as `java.util.Properties.load` reads it: Kafka Connect's worker and connector
/// files, Kafka clients' properties files (`--command-config`), Jetty's and Kafka Connect's user files.
///
/// Rules: lines starting (after blanks) with `#` or `!` are comments; a key ends at the first unescaped `=`, `:`
/// or blank, blanks around that separator are skipped; a line ending in an odd number of `\` continues on the
/// next line, whose leading blanks are dropped; `\t`, `\n`, `\r`, `\f`, `\uXXXX` are escapes and `\` before any
/// other character stands for that character.
public enum JavaProperties {
    /// The key/value pairs of `text` in file order (a repeated key appears twice; the last one wins when the
    /// pairs are put in a dictionary).
    public static func parse(_ text: String) -> [(String, String)] {
        var result: [(String, String)] = []
        for line in logicalLines(text) {
            let (rawKey, rawValue) = split(line)
            result.append((unescape(rawKey), unescape(rawValue)))
        }
        return result
    }

    /// The pairs as a dictionary, later keys winning.
    public static func dictionary(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in parse(text) { result[key] = value }
        return result
    }

    /// Reads a properties file as a dictionary (a client properties file for `--command-config`, as Kafka's tools
    /// read it).
    public static func read(path: String) throws(SecurityError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("cannot read the properties file \(path)")
        }
        return dictionary(String(decoding: data, as: UTF8.self))
    }

    /// A Confluent image's environment variable, without its prefix (`KAFKA_`, `SCHEMA_REGISTRY_`, `CONNECT_`), as the
    /// property it sets: lower case, `_` read as `.`, `__` as `_` and `___` as `-` (`SASL_JAAS_CONFIG` →
    /// `sasl.jaas.config`).
    public static func propertyName(confluentVariable name: Substring) -> String {
        name.replacing("___", with: "-")
            .replacing("__", with: "\u{0}")
            .replacing("_", with: ".")
            .replacing("\u{0}", with: "_")
            .lowercased()
    }

    private static func isBlank(_ character: Character) -> Bool {
        character == " " || character == "\t" || character == "\u{0C}"
    }

    /// Natural lines joined where a line ends in an unescaped backslash; comments and blank lines dropped.
    private static func logicalLines(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        var current = ""
        var continuing = false
        // \r\n, \r and \n all end a line in Java's reader.
        let natural = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
        for raw in natural {
            var line = raw.drop(while: isBlank)
            if !continuing {
                if line.isEmpty || line.first == "#" || line.first == "!" { continue }
            }
            var trailingBackslashes = 0
            for character in line.reversed() {
                guard character == "\\" else { break }
                trailingBackslashes += 1
            }
            if trailingBackslashes % 2 == 1 {
                line = line.dropLast()
                current += line
                continuing = true
                continue
            }
            current += line
            continuing = false
            lines.append(Substring(current))
            current = ""
        }
        if continuing, !current.isEmpty { lines.append(Substring(current)) }
        return lines
    }

    /// The raw key and raw value of a logical line (escapes still in).
    private static func split(_ line: Substring) -> (Substring, Substring) {
        var index = line.startIndex
        var escaped = false
        while index < line.endIndex {
            let character = line[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "=" || character == ":" || isBlank(character) {
                break
            }
            index = line.index(after: index)
        }
        let key = line[line.startIndex..<index]
        var rest = line[index...].drop(while: isBlank)
        if let first = rest.first, first == "=" || first == ":" {
            rest = rest.dropFirst().drop(while: isBlank)
        }
        return (key, rest)
    }

    private static func unescape(_ text: Substring) -> String {
        guard text.contains("\\") else { return String(text) }
        var result = ""
        var characters = text.makeIterator()
        while let character = characters.next() {
            guard character == "\\" else {
                result.append(character)
                continue
            }
            guard let next = characters.next() else { break }
            switch next {
            case "t": result.append("\t")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "f": result.append("\u{0C}")
            case "u":
                var hex = ""
                for _ in 0..<4 {
                    guard let digit = characters.next() else { break }
                    hex.append(digit)
                }
                if let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) {
                    result.unicodeScalars.append(scalar)
                } else {
                    result += "u" + hex
                }
            default: result.append(next)
            }
        }
        return result
    }
}
