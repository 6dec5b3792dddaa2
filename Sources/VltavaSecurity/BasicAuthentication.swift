#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// HTTP Basic authentication of a REST service configured as Confluent's rest-utils is: `authentication.method=BASIC`,
/// `authentication.realm` naming the JAAS section (read from the file of `-Djava.security.auth.login.config` in the
/// service's `*_OPTS`) whose Jetty `PropertyFileLoginModule` names the user file, `authentication.roles` (a user needs
/// one of them; `*` and `**` let any user who logs in through), `authentication.skip.paths` (no login needed there).
public struct BasicAuthentication: Sendable {
    public enum Decision: Equatable, Sendable {
        case allowed(user: String?)
        /// No credentials, malformed ones, or a wrong password: 401 with a challenge.
        case unauthorized
        /// A user without a permitted role: 403.
        case forbidden(user: String)
    }

    public let realm: String
    /// Nil when any user who logs in is let through.
    public let roles: Set<String>?
    public let skipPaths: [String]
    public let users: PropertyFileUserStore

    public init(realm: String, roles: Set<String>?, skipPaths: [String], users: PropertyFileUserStore) {
        self.realm = realm
        self.roles = roles
        self.skipPaths = skipPaths
        self.users = users
    }

    /// The authentication `properties` configure (nil for `authentication.method` NONE or unset); names the setting
    /// that cannot be used. `javaOptions` is the service's `*_OPTS` text.
    public static func configured(properties: [String: String], javaOptions: String?) throws(SecurityError) -> BasicAuthentication? {
        let method = (properties["authentication.method"] ?? "NONE").trimmingCharacters(in: .whitespaces).uppercased()
        switch method {
        case "NONE", "":
            return nil
        case "BASIC":
            break
        default:
            throw .invalidConfiguration("authentication.method \(method) is not supported (NONE, BASIC)")
        }
        let realm = (properties["authentication.realm"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !realm.isEmpty else {
            throw .invalidConfiguration("authentication.method=BASIC needs authentication.realm: the name of the JAAS section "
                + "that names the user file (for example SchemaRegistry)")
        }
        let file = try userFile(
            jaasPath: properties["java.security.auth.login.config"] ?? javaOptions.flatMap(JaasConfiguration.loginConfigPath),
            section: realm, allowing: JaasConfiguration.jettyPropertyFileModules,
            missingPath: "authentication.method=BASIC needs a JAAS file: -Djava.security.auth.login.config=/path/jaas.conf in the "
                + "service's OPTS variable")
        let roleList = (properties["authentication.roles"] ?? "*").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let roles: Set<String>? = roleList.contains("*") || roleList.contains("**") ? nil : Set(roleList)
        let skipPaths = (properties["authentication.skip.paths"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return BasicAuthentication(realm: realm, roles: roles, skipPaths: skipPaths, users: try PropertyFileUserStore(path: file))
    }

    /// Kafka Connect's `BasicAuthSecurityRestExtension` named in `rest.extension.classes` (nil without it): the
    /// `KafkaConnect` section of the JAAS file in `KAFKA_OPTS` names Kafka's `PropertyFileLoginModule` and its file
    /// of `user: password` lines. Any other extension class is refused: none is loaded.
    public static let connectBasicAuthExtension = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
    static let connectLoginModule = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"

    public static func connect(restExtensionClasses: String?, javaOptions: String?) throws(SecurityError) -> BasicAuthentication? {
        let classes = (restExtensionClasses ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        for name in classes where name != connectBasicAuthExtension {
            throw .invalidConfiguration("rest.extension.classes: \(name) is not supported: Vltava loads no classes "
                + "(\(connectBasicAuthExtension) is built in)")
        }
        guard !classes.isEmpty else { return nil }
        let file = try userFile(
            jaasPath: javaOptions.flatMap(JaasConfiguration.loginConfigPath), section: "KafkaConnect", allowing: [connectLoginModule],
            missingPath: "BasicAuthSecurityRestExtension needs a JAAS file: -Djava.security.auth.login.config=/path in KAFKA_OPTS, "
                + "with a KafkaConnect section")
        return BasicAuthentication(realm: "KafkaConnect", roles: nil, skipPaths: [],
                                   users: try PropertyFileUserStore(path: file, format: .plain))
    }

    /// The user file that the JAAS file's `section` names (its login module's `file` option).
    private static func userFile(jaasPath: String?, section name: String, allowing modules: Set<String>, missingPath: String)
        throws(SecurityError) -> String {
        guard let jaasPath else { throw .invalidConfiguration(missingPath) }
        guard let data = FileManager.default.contents(atPath: jaasPath) else {
            throw .invalidConfiguration("cannot read the JAAS file \(jaasPath)")
        }
        let sections = try JaasConfiguration.sections(parsingFile: String(decoding: data, as: UTF8.self), allowing: modules)
        guard let section = sections[name] else {
            throw .invalidConfiguration("the JAAS file \(jaasPath) has no section \(name)")
        }
        guard let file = section.modules.first?.options["file"] else {
            throw .invalidConfiguration("the JAAS section \(name) of \(jaasPath) names no user file (file=\"...\")")
        }
        return file
    }

    /// Whether a request for `path` with this `Authorization` header may go on.
    public func decide(authorization: String?, path: String) -> Decision {
        if skipPaths.contains(where: { Self.matches(path: path, pattern: $0) }) { return .allowed(user: nil) }
        guard let (user, password) = Self.credentials(authorization) else { return .unauthorized }
        guard let userRoles = users.roles(of: user, password: password) else { return .unauthorized }
        if let roles, !userRoles.contains(where: roles.contains) { return .forbidden(user: user) }
        return .allowed(user: user)
    }

    /// The challenge header of a 401.
    public var challenge: String { "Basic realm=\"\(realm)\"" }

    /// `Basic base64(user:password)`, the scheme in any case; the password may hold colons.
    public static func credentials(_ header: String?) -> (String, String)? {
        guard let header else { return nil }
        let parts = header.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// Jetty's path specs: an exact path, or `/prefix/*`.
    static func matches(path: String, pattern: String) -> Bool {
        if pattern.hasSuffix("/*") {
            let prefix = String(pattern.dropLast(2))
            return path == prefix || path.hasPrefix(prefix + "/")
        }
        return path == pattern
    }
}
