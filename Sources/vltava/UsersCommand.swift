import ArgumentParser
import VltavaClient
import VltavaSecurity

/// `vltava users`: SCRAM users made, removed and listed through AlterUserScramCredentials and
/// DescribeUserScramCredentials (what `kafka-configs.sh --entity-type users --add-config 'SCRAM-SHA-256=[...]'`
/// does). Passwords are salted on this side; only salted keys reach the broker.
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, delete and list SCRAM users.", subcommands: [Create.self, Delete.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a SCRAM user, or change their password.",
            discussion: "Either --password (with --mechanism, default both SCRAM mechanisms, and --iterations) or "
                + "kafka-configs.sh's --add-config 'SCRAM-SHA-256=[iterations=8192,password=secret],SCRAM-SHA-512=[password=secret]'.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "The user name.") var user: String
        @Option(help: "The password.") var password: String?
        @Option(name: .customLong("mechanism"), help: "SCRAM-SHA-256 or SCRAM-SHA-512; repeatable (default: both).")
        var mechanisms: [String] = []
        @Option(help: "PBKDF2 iterations, 4096 to 16384.") var iterations: Int32 = 4096
        @Option(name: .customLong("add-config"), help: "kafka-configs.sh's SCRAM settings.") var addConfig: String?

        func run() async throws {
            let credentials = try Users.credentials(
                addConfig: addConfig, password: password, mechanisms: mechanisms, iterations: iterations)
            try await bootstrap.withClient { (client) throws(KafkaClientError) in
                for (mechanism, password, iterations) in credentials {
                    try await client.upsertScramCredential(user: user, mechanism: mechanism, password: password, iterations: iterations)
                }
            }
            print("User \(user): " + credentials.map { "\($0.0.rawValue) (\($0.2) iterations)" }.joined(separator: ", ") + " set.")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a SCRAM user's credentials.")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "The user name.") var user: String
        @Option(name: .customLong("mechanism"), help: "Only this mechanism's credential; repeatable (default: all the user has).")
        var mechanisms: [String] = []

        func run() async throws {
            let chosen = try mechanisms.map(Users.mechanism)
            let deleted = try await bootstrap.withClient { (client) throws(KafkaClientError) -> [ScramMechanism] in
                var targets = chosen
                if targets.isEmpty {
                    targets = try await client.describeScramUsers([user]).first?.credentials.map(\.mechanism) ?? []
                }
                for mechanism in targets { try await client.deleteScramCredential(user: user, mechanism: mechanism) }
                return targets
            }
            print("User \(user): " + deleted.map(\.rawValue).joined(separator: ", ") + " deleted.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List SCRAM users and their mechanisms (never passwords).")
        @OptionGroup var bootstrap: BootstrapOptions
        @Argument(help: "Only these users.") var users: [String] = []

        func run() async throws {
            let described = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.describeScramUsers(users.isEmpty ? nil : users)
            }
            for user in described.sorted(by: { $0.user < $1.user }) {
                print("SCRAM credential configs for user-principal '\(user.user)' are "
                    + user.credentials.map { "\($0.mechanism.rawValue)=iterations=\($0.iterations)" }.joined(separator: ", "))
            }
        }
    }

    static func mechanism(_ text: String) throws -> ScramMechanism {
        guard let mechanism = ScramMechanism(rawValue: text.uppercased()) else {
            throw ValidationError("unknown mechanism '\(text)' (SCRAM-SHA-256, SCRAM-SHA-512)")
        }
        return mechanism
    }

    /// The credentials to set, from --password and --mechanism or from kafka-configs.sh's --add-config text.
    static func credentials(
        addConfig: String?, password: String?, mechanisms: [String], iterations: Int32
    ) throws -> [(ScramMechanism, String, Int32)] {
        if let addConfig {
            guard password == nil else { throw ValidationError("give either --password or --add-config, not both") }
            return try parseAddConfig(addConfig)
        }
        guard let password, !password.isEmpty else { throw ValidationError("give --password (or --add-config)") }
        let chosen = mechanisms.isEmpty ? ScramMechanism.allCases : try mechanisms.map(mechanism)
        return chosen.map { ($0, password, iterations) }
    }

    /// `SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]`.
    static func parseAddConfig(_ text: String) throws -> [(ScramMechanism, String, Int32)] {
        var result: [(ScramMechanism, String, Int32)] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)...].hasPrefix("["),
                  let close = rest.firstIndex(of: "]") else {
                throw ValidationError("--add-config must look like SCRAM-SHA-256=[iterations=8192,password=secret]")
            }
            let mechanism = try mechanism(String(rest[..<equals]).trimmedWhitespace)
            var password: String?
            var iterations: Int32 = 4096
            for setting in rest[rest.index(equals, offsetBy: 2)..<close].split(separator: ",") {
                let parts = setting.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("bad setting '\(setting)' in --add-config") }
                switch parts[0] {
                case "password": password = String(parts[1])
                case "iterations":
                    guard let value = Int32(parts[1]) else { throw ValidationError("iterations must be a number: '\(parts[1])'") }
                    iterations = value
                default: throw ValidationError("unknown setting '\(parts[0])' in --add-config (password, iterations)")
                }
            }
            guard let password else { throw ValidationError("--add-config: \(mechanism.rawValue) has no password") }
            result.append((mechanism, password, iterations))
            rest = rest[rest.index(after: close)...].drop { $0 == "," || $0 == " " }
        }
        return result
    }
}
