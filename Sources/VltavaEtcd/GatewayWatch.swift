import NIOConcurrencyHelpers
import NIOCore
import VltavaHTTP

/// A watch over the gateway: `POST /v3/watch` with one create request, answered by a response that never ends on
/// its own, one `{"result": WatchResponse}` per message — first `created`, then event batches, and `canceled` (with
/// `compact_revision` when the start revision was compacted away) when etcd ends the watch.
enum GatewayWatch {
    /// Opens the watch on `endpoint` and returns once etcd has created it; `EtcdError.unreachable` when no
    /// connection could be made (the caller tries the next endpoint).
    static func start(endpoint: HTTPEndpoint, body: [UInt8], startRevision: Int64, on eventLoop: any EventLoop,
                      connectTimeout: TimeAmount, timeout: TimeAmount) async throws(EtcdError) -> EtcdWatch {
        let name = GatewayConnection.display(endpoint)
        let created = eventLoop.makePromise(of: Void.self)
        let connection = WatchConnection()
        let (watch, continuation) = EtcdWatch.make(onStop: { connection.close() })
        let isCreated = NIOLockedValueBox(false)

        @Sendable func end(_ error: EtcdError) {
            created.fail(error)
            continuation.finish(throwing: error)
            connection.close()
        }

        let connected = GatewayConnection.post(endpoint: endpoint, path: "/v3/watch", body: body, on: eventLoop,
                                               connectTimeout: connectTimeout) { part in
            switch part {
            case let .object(object):
                let message: GatewayJSON.StreamMessage<GatewayJSON.WatchResponse>
                do throws(GatewayJSON.DecodeFailure) {
                    message = try GatewayJSON.decode(GatewayJSON.StreamMessage<GatewayJSON.WatchResponse>.self, from: object)
                } catch {
                    end(.malformedAnswer(endpoint: name, path: "/v3/watch", detail: error.detail))
                    return
                }
                if let error = message.error {
                    end(.server(endpoint: name, path: "/v3/watch", code: error.grpcCode ?? error.code ?? 2, message: error.message ?? ""))
                    return
                }
                guard let result = message.result else { return }
                if result.created == true, !isCreated.withLockedValue({ $0 }) {
                    isCreated.withLockedValue { $0 = true }
                    created.succeed()
                }
                if let batch = batch(of: result) { continuation.yield(batch) }
                if result.canceled == true {
                    let compactRevision = result.compactRevision?.value ?? 0
                    end(compactRevision > 0 ? .watchCompacted(requested: startRevision, compactRevision: compactRevision)
                                            : .watchCanceled(reason: result.cancelReason ?? ""))
                }
            case let .refused(status, body):
                end(GatewayRequests.refusal(endpoint: name, path: "/v3/watch", status: status, body: body,
                                            revision: startRevision, lease: 0))
            case .ended:
                end(.connectionLost(endpoint: name, detail: "etcd ended the watch's answer"))
            case let .failed(error):
                end(error)
            }
        }
        connected.whenComplete { result in
            switch result {
            case let .success(channel):
                connection.connected(channel)
            case let .failure(error):
                end(.unreachable(["\(name): \(GatewayConnection.connectFailure(error))"]))
            }
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            end(.timedOut(endpoint: name, path: "/v3/watch", milliseconds: timeout.nanoseconds / 1_000_000))
        }
        created.futureResult.whenComplete { _ in deadline.cancel() }
        do {
            try await created.futureResult.get()
        } catch let error as EtcdError {
            throw error
        } catch {
            throw EtcdError.connectionLost(endpoint: name, detail: "\(error)")
        }
        return watch
    }

    /// The events of one message, or nil when it has none (the creation, a progress notice, the cancellation).
    static func batch(of result: GatewayJSON.WatchResponse) -> EtcdWatchBatch? {
        guard let events = result.events, !events.isEmpty else { return nil }
        return EtcdWatchBatch(revision: result.header?.revision?.value ?? 0, events: events.map { event in
            EtcdEvent(kind: event.type == "DELETE" ? .delete : .put, kv: (event.kv ?? .init()).model, prevKV: event.prevKV?.model)
        })
    }
}

/// The watch's channel once connected; closing before the connection is made closes it as soon as it is.
final class WatchConnection: Sendable {
    private let state = NIOLockedValueBox<(channel: (any Channel)?, closed: Bool)>((nil, false))

    func connected(_ channel: any Channel) {
        let closed = state.withLockedValue { state in
            state.channel = channel
            return state.closed
        }
        if closed { channel.close(promise: nil) }
    }

    func close() {
        let channel = state.withLockedValue { state in
            state.closed = true
            return state.channel
        }
        channel?.close(promise: nil)
    }
}
