import Foundation

/// `file:` URLs, as Kafka's settings name files (a JWKS, a token).
public enum FileURL {
    /// The path of a `file:` URL (`file:/p`, `file:///p`, `file://localhost/p`), nil for any other URL.
    public static func path(_ url: String) -> String? {
        guard url.lowercased().hasPrefix("file:") else { return nil }
        var rest = Substring(url.dropFirst("file:".count))
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            if rest.lowercased().hasPrefix("localhost/") { rest = rest.dropFirst("localhost".count) }
            guard rest.hasPrefix("/") else { return nil }
        }
        guard rest.hasPrefix("/") else { return nil }
        return String(rest).removingPercentEncoding ?? String(rest)
    }
}

/// What tells a file's new version from its old one: its modification time, size and inode (a file replaced by a
/// rename, as certificate renewers do, has a new inode).
struct FileStamp: Equatable, Sendable {
    var modified: Date?
    var size: Int?
    var inode: Int?

    static func of(_ path: String) -> FileStamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileStamp(modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue,
                         inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
    }
}
