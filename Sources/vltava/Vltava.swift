import ArgumentParser

@main
struct Vltava: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vltava",
        abstract: "A Kafka-compatible event-streaming platform in one binary.",
        subcommands: [Version.self, Serve.self, Topics.self, Produce.self, Consume.self, Ready.self, Groups.self, Transactions.self, SchemaRegistryCommand.self, SchemasCommand.self,
                      Acls.self, Users.self, Quotas.self, ClusterCommand.self,
                      ConnectCommand.self, ConnectorsCommand.self, ConsoleCommand.self, PerfCommand.self])

    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print Vltava's version.")
        func run() {
            print("vltava \(vltavaVersion)")
        }
    }
}

let vltavaVersion = "0.1.0"
