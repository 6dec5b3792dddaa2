#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Jetty's property-file user store, as Confluent's REST services read it through `PropertyFileLoginModule`:
/// `name: credential[,role ...]` lines, the credential plain text, `OBF:` (Jetty's reversible obfuscation),
/// `MD5:` (hex of the password's MD5) or `CRYPT:` (Unix DES crypt). A changed file is read again (checked at most
/// once a second), as Jetty's store can be told to; a file that cannot be read again keeps the users it had.
public final class PropertyFileUserStore: Sendable {
    public struct User: Sendable, Equatable {
        public var credential: String
        public var roles: [String]
    }

    /// How a line's value is read: Jetty's `password[,role ...]` with credential prefixes, or Kafka Connect's
    /// `PropertyFileLoginModule`, whose whole value is the password, compared as it is.
    public enum Format: Sendable {
        case jetty
        case plain
    }

    public let path: String
    public let format: Format
    private struct Loaded {
        var users: [String: User]
        var stamp: FileStamp?
        var checked: ContinuousClock.Instant
    }
    private let loaded: Mutex<Loaded>

    /// Reads the users of `path`; refuses a file that cannot be read or a credential scheme it cannot check.
    public init(path: String, format: Format = .jetty) throws(SecurityError) {
        self.path = path
        self.format = format
        let stamp = FileStamp.of(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidConfiguration("cannot read the user file \(path)")
        }
        let users = try Self.parse(String(decoding: data, as: UTF8.self), path: path, format: format)
        loaded = Mutex(Loaded(users: users, stamp: stamp, checked: .now))
    }

    /// The users of Jetty's format; a `CRYPT:` credential needs the system's crypt(3), checked here once.
    static func parse(_ text: String, path: String, format: Format = .jetty) throws(SecurityError) -> [String: User] {
        var users: [String: User] = [:]
        for (name, value) in JavaProperties.parse(text) {
            if format == .plain {
                users[name] = User(credential: value, roles: [])
                continue
            }
            let fields = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let credential = fields.first, !credential.isEmpty else {
                throw .invalidConfiguration("\(path): user \(name) has no password")
            }
            if credential.hasPrefix("CRYPT:"), UnixCrypt.function == nil {
                throw .invalidConfiguration("\(path): user \(name) has a CRYPT: password, but this system has no crypt(3) "
                    + "(libcrypt.so.1): use MD5: or OBF:")
            }
            users[name] = User(credential: credential, roles: fields.dropFirst().filter { !$0.isEmpty })
        }
        return users
    }

    /// The roles of `user` if `password` is theirs, nil otherwise.
    public func roles(of user: String, password: String) -> [String]? {
        let stored = currentUsers()[user]
        // A missing user still costs a comparison, so timing tells nothing about which names exist.
        let credential = stored?.credential ?? "MD5:00000000000000000000000000000000"
        let matches = format == .plain
            ? SecureRandom.constantTimeEqual(Array(credential.utf8), Array(password.utf8))
            : JettyCredential.verifies(stored: credential, password: password)
        guard let stored, matches else { return nil }
        return stored.roles
    }

    private func currentUsers() -> [String: User] {
        loaded.withLock { state in
            let now = ContinuousClock.now
            guard now - state.checked >= .seconds(1) else { return state.users }
            state.checked = now
            let stamp = FileStamp.of(path)
            guard stamp != state.stamp, let data = FileManager.default.contents(atPath: path),
                  let users = try? Self.parse(String(decoding: data, as: UTF8.self), path: path, format: format) else { return state.users }
            state.users = users
            state.stamp = stamp
            return users
        }
    }
}

/// Jetty's `Credential` check of a stored password.
public enum JettyCredential {
    public static func verifies(stored: String, password: String) -> Bool {
        if stored.hasPrefix("CRYPT:") {
            let hash = String(stored.dropFirst("CRYPT:".count))
            guard let computed = UnixCrypt.crypt(password: password, setting: hash) else { return false }
            return SecureRandom.constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
        }
        if stored.hasPrefix("MD5:") {
            // Jetty hashes the password's ISO-8859-1 bytes; for ASCII passwords they are the UTF-8 bytes.
            let digest = Insecure.MD5.hash(data: Array(password.utf8)).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
            return SecureRandom.constantTimeEqual(Array(digest.utf8), Array(stored.dropFirst("MD5:".count).lowercased().utf8))
        }
        var plain = stored
        while plain.hasPrefix("OBF:") { plain = deobfuscate(plain) ?? "" }
        return SecureRandom.constantTimeEqual(Array(plain.utf8), Array(password.utf8))
    }

    /// Jetty's `Password.deobfuscate`: groups of four base-36 digits (or `U` and four for bytes above 127).
    public static func deobfuscate(_ text: String) -> String? {
        var rest = Substring(text.hasPrefix("OBF:") ? String(text.dropFirst(4)) : text)
        var bytes: [UInt8] = []
        while !rest.isEmpty {
            let high = rest.first == "U"
            if high { rest = rest.dropFirst() }
            guard rest.count >= 4, let value = Int(rest.prefix(4), radix: 36) else { return nil }
            rest = rest.dropFirst(4)
            if high {
                bytes.append(UInt8(truncatingIfNeeded: value >> 8))
            } else {
                bytes.append(UInt8(truncatingIfNeeded: (value / 256 + value % 256 - 254) / 2))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Jetty's `Password.obfuscate` (for tests and for people writing user files).
    public static func obfuscate(_ text: String) -> String {
        let bytes = Array(text.utf8).map { Int8(bitPattern: $0) }
        var result = "OBF:"
        for index in bytes.indices {
            let b1 = Int(bytes[index]), b2 = Int(bytes[bytes.count - 1 - index])
            let digits: String
            if b1 < 0 || b2 < 0 {
                result += "U"
                digits = String((b1 & 0xFF) * 256 + (b2 & 0xFF), radix: 36)
            } else {
                digits = String((127 + b1 + b2) * 256 + (127 + b1 - b2), radix: 36)
            }
            result += String(repeating: "0", count: max(0, 4 - digits.count)) + digits
        }
        return result
    }
}

/// The system's crypt(3), found at run time (libcrypt.so.1 is on every glibc system, its header is not), used
/// only to check Jetty's `CRYPT:` passwords. It keeps its answer in static memory, hence the lock.
enum UnixCrypt {
    typealias Function = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>?

    static let function: Function? = {
        #if canImport(Glibc)
        guard let library = dlopen("libcrypt.so.1", RTLD_NOW) ?? dlopen("libcrypt.so", RTLD_NOW),
              let symbol = dlsym(library, "crypt") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()
    private static let lock = Mutex(())

    static func crypt(password: String, setting: String) -> String? {
        guard let function else { return nil }
        return lock.withLock { _ in
            password.withCString { key in
                setting.withCString { salt in function(key, salt).map { String(cString: $0) } }
            }
        }
    }
}
