import Crypto
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import VltavaSecurity

/// Who may use the console: nobody needs to log in when no user file is configured; with one (Jetty's
/// `user: password,role...` lines, as the registry's Basic authentication reads them), every page asks for HTTP
/// Basic credentials, and a user whose roles include `read-only` (or `readonly`, `viewer`) may look but not change.
public struct ConsoleUsers: Sendable {
    public enum Role: Sendable, Equatable {
        case admin
        case readOnly
    }

    let store: PropertyFileUserStore?

    public init() { store = nil }

    /// The users of a Jetty property file.
    public init(file: String) throws(SecurityError) {
        store = try PropertyFileUserStore(path: file)
    }

    public var isEnabled: Bool { store != nil }

    static let readOnlyRoles: Set<String> = ["read-only", "readonly", "viewer"]

    /// The role of the user an `Authorization` header names; nil when it names nobody (or a wrong password).
    public func role(authorization: String?) -> Role? {
        guard let store else { return .admin }
        guard let (user, password) = BasicAuthentication.credentials(authorization),
              let roles = store.roles(of: user, password: password) else { return nil }
        return roles.contains(where: { Self.readOnlyRoles.contains($0.lowercased()) }) ? .readOnly : .admin
    }
}

/// The console's gate: with users configured, 401 with a Basic challenge until a user logs in, and 403 for a
/// read-only user's POST (the forms check it again) other than choosing a theme.
struct ConsoleAccess: RouterMiddleware {
    typealias Context = BasicRequestContext
    let users: ConsoleUsers

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard users.isEnabled else { return try await next(request, context) }
        switch users.role(authorization: request.headers[.authorization]) {
        case nil:
            return Response(
                status: .unauthorized,
                headers: [.wwwAuthenticate: "Basic realm=\"Vltava console\", charset=\"UTF-8\"", .contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "Log in to use the console.\n")))
        case .readOnly where request.method == .post && request.uri.path != "/theme":
            return Response(status: .forbidden, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "Your console role is read-only.\n")))
        default:
            return try await next(request, context)
        }
    }
}

/// CSRF protection without server-side sessions: each browser gets a random cookie (HttpOnly, SameSite=Strict), and
/// each form carries HMAC-SHA256(secret, cookie). A page of another site can neither read the cookie nor compute the
/// token, so it cannot make a form that passes; the secret lives for the process.
struct CSRFTokens: Sendable {
    static let cookieName = "vltava_csrf"
    private let key: SymmetricKey

    init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    static func newCookie() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in hex(generator.next() as UInt64) }.joined()
    }

    /// 64 hexadecimal digits, as `newCookie` makes them.
    static func isWellFormedCookie(_ value: String) -> Bool {
        value.utf8.count == 64 && value.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    func token(forCookie cookie: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(cookie.utf8), using: key)
        return mac.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// Compares in constant time.
    func isValid(_ token: String, forCookie cookie: String) -> Bool {
        let expected = Array(self.token(forCookie: cookie).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// Bounds the live tails open at once: each holds a fetch loop and a connection's attention.
final class TailLimiter: Sendable {
    private let open = NIOLockedValueBox(0)
    let maximum: Int

    init(maximum: Int) {
        self.maximum = maximum
    }

    func acquire() -> Bool {
        open.withLockedValue { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func release() {
        open.withLockedValue { $0 -= 1 }
    }
}
