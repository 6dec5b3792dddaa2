import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import VltavaSecurity

/// An HTTPS server's child channel whose TLS settings follow their files: each new connection gets the settings in
/// force (`TLSServerReloader`), so a renewed certificate is served without a restart. Hummingbird's `TLSChannel`
/// takes one configuration for the server's life.
struct ReloadingTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value

    let baseChannel: BaseChannel
    let reloader: TLSServerReloader

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = reloader.settings.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            baseChannel.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: BaseChannel.Value, logger: Logger) async {
        await baseChannel.handle(value: value, logger: logger)
    }
}

extension ReloadingTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { baseChannel.responder }
}
