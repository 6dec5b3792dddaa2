import Logging
import ServiceLifecycle
import VltavaClient

/// `vltava connect mirror`: Kafka's dedicated MirrorMaker 2 (`connect-mirror-maker.sh`). Runs one worker per
/// enabled flow of a `MirrorMakerConfig`, without a REST API, puts the flow's three connectors into its config topic
/// and keeps them running until shutdown, when every task stops and flushes its offsets.
public struct MirrorMakerService: Service {
    let config: MirrorMakerConfig
    let logger: Logger

    public init(config: MirrorMakerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        var workers: [(flow: MirrorMakerConfig.Flow, herder: Herder, client: KafkaClient)] = []
        for flow in config.flows {
            let worker = try WorkerConfig(properties: flow.workerProperties)
            let (herder, client) = try ConnectService.distributed(worker: worker, logger: logger, clientId: "\(flow.source)->\(flow.target)|mm2")
            workers.append((flow, herder, client))
        }
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            for (flow, herder, _) in workers {
                group.addTask {
                    await ConnectService.startHerder(herder, logger: logger)
                    for connector in flow.connectors {
                        let name = connector["name"] ?? ""
                        do {
                            _ = try await herder.putConnector(name: name, config: connector, allowReplace: true)
                            logger.info("mirror connector running", metadata: ["flow": "\(flow.source)->\(flow.target)", "connector": "\(name)"])
                        } catch {
                            logger.error("cannot create mirror connector", metadata: [
                                "flow": "\(flow.source)->\(flow.target)", "connector": "\(name)", "error": "\(error)"])
                        }
                    }
                }
            }
        }
        try? await gracefulShutdown()
        for (_, herder, client) in workers {
            await herder.stop()
            await client.close()
        }
    }
}
