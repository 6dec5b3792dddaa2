import NIOCore
import Testing

@testable import VltavaBroker

@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    func machine(_ configure: (inout ConnectionLimits) -> Void = { _ in }) -> ConnectionStateMachine {
        var limits = ConnectionLimits()
        configure(&limits)
        return ConnectionStateMachine(limits: limits, nowMs: 0)
    }

    func frame(_ size: Int32, body: Int? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(size)
        buffer.writeRepeatingByte(0, count: body ?? Int(size))
        return buffer
    }

    let always: (Int) -> Bool = { _ in true }

    @Test func answersLeaveInRequestOrder() {
        var state = machine()
        let first = state.requestReceived(nowMs: 0)
        let second = state.requestReceived(nowMs: 0)
        #expect(first.actions == [.dispatch(sequence: 0)])
        #expect(second.actions == [.dispatch(sequence: 1)])
        #expect(state.responseReady(sequence: 1, .answered, nowMs: 1).isEmpty, "the second waits for the first")
        #expect(state.responseReady(sequence: 0, .answered, nowMs: 2) == [.write(sequence: 0), .write(sequence: 1), .flush])
        #expect(state.pendingCount == 0)
    }

    @Test func acksZeroProduceHasNoAnswer() {
        var state = machine()
        _ = state.requestReceived(nowMs: 0)
        _ = state.requestReceived(nowMs: 0)
        #expect(state.responseReady(sequence: 0, .noAnswer, nowMs: 0).isEmpty)
        #expect(state.responseReady(sequence: 1, .answered, nowMs: 0) == [.write(sequence: 1), .flush])
    }

    @Test func aFailedRequestClosesAfterTheAnswersBeforeIt() {
        var state = machine()
        _ = state.requestReceived(nowMs: 0)
        _ = state.requestReceived(nowMs: 0)
        let actions = state.responseReady(sequence: 1, .failed("boom"), nowMs: 0)
        #expect(actions.isEmpty)
        #expect(state.responseReady(sequence: 0, .answered, nowMs: 0) == [.write(sequence: 0), .flush, .close(reason: "boom")])
        #expect(state.isClosed && !state.shouldRead)
    }

    @Test func readingStopsAtThePendingLimit() {
        var state = machine { $0.maximumPendingRequests = 2 }
        _ = state.requestReceived(nowMs: 0)
        #expect(state.shouldRead)
        _ = state.requestReceived(nowMs: 0)
        #expect(!state.shouldRead)
        _ = state.responseReady(sequence: 0, .answered, nowMs: 0)
        #expect(state.shouldRead)
    }

    @Test func aClientThatNeverReadsStopsBeingReadAndServed() {
        var state = machine { $0.maximumQueuedResponseBytes = 1000 }
        _ = state.requestReceived(nowMs: 0)
        _ = state.responseReady(sequence: 0, .answered, nowMs: 0)
        state.responseBytesQueued(5000)
        #expect(!state.shouldRead, "answers pile up: stop reading")
        let next = state.requestReceived(nowMs: 0)
        #expect(next.actions.isEmpty, "and start no further request")
        #expect(state.responseBytesSent(5000, nowMs: 1) == [.dispatch(sequence: 1)])
        #expect(state.shouldRead)
    }

    @Test func manyFramesOfOneReadAreStartedAtMostThePendingLimitAtATime() {
        var state = machine { $0.maximumPendingRequests = 2 }
        let started = (0..<5).flatMap { _ in state.requestReceived(nowMs: 0).actions }
        #expect(started == [.dispatch(sequence: 0), .dispatch(sequence: 1)])
        #expect(state.responseReady(sequence: 0, .answered, nowMs: 0) == [.write(sequence: 0), .flush, .dispatch(sequence: 2)])
    }

    @Test func oversizedFrameClosesAsSoonAsItsSizeIsKnown() {
        var state = machine { $0.maximumRequestBytes = 100 }
        var buffer = ByteBuffer()
        buffer.writeInteger(Int32(101))
        #expect(state.bytesReceived(buffer, nowMs: 0, reserve: always) == [
            .close(reason: "request frame of 101 bytes (socket.request.max.bytes is 100)"),
        ])
        var negative = machine()
        buffer.clear()
        buffer.writeInteger(Int32(-1))
        #expect(negative.bytesReceived(buffer, nowMs: 0, reserve: always).count == 1 && negative.isClosed)
    }

    @Test func aTricklingFrameIsClosedAfterTheFrameTimeout() {
        var state = machine { $0.frameTimeoutMs = 1000 }
        let whole = frame(10)
        // One byte at a time, one every 400 ms: the frame started at 0 and is not whole at 1000.
        for index in 0..<3 {
            #expect(state.bytesReceived(whole.getSlice(at: index, length: 1)!, nowMs: Int64(index) * 400, reserve: always).isEmpty)
            #expect(state.tick(nowMs: Int64(index) * 400).isEmpty)
        }
        #expect(state.tick(nowMs: 1000) == [.close(reason: "a request frame did not arrive whole within 1000 ms")])
    }

    @Test func aFrameHeldBackByTheBrokerIsNotTimedOut() {
        var state = machine {
            $0.frameTimeoutMs = 1000
            $0.maximumPendingRequests = 1
        }
        // One request in progress stops reading; the next frame's first bytes were already read with it.
        _ = state.requestReceived(nowMs: 0)
        #expect(!state.shouldRead)
        _ = state.bytesReceived(frame(10).getSlice(at: 0, length: 6)!, nowMs: 0, reserve: always)
        #expect(state.tick(nowMs: 5000).isEmpty, "the broker, not the client, keeps the frame from completing")
        _ = state.responseReady(sequence: 0, .answered, nowMs: 5000)
        #expect(state.shouldRead)
        #expect(state.tick(nowMs: 5999).isEmpty)
        #expect(state.tick(nowMs: 6000).count == 1, "once reading resumes the client has the whole timeout again")

        // A hold shorter than a tick: the handler reports that reading resumed, which restarts the frame's clock.
        var brief = machine { $0.frameTimeoutMs = 1000 }
        _ = brief.bytesReceived(frame(10).getSlice(at: 0, length: 6)!, nowMs: 0, reserve: always)
        brief.readingResumed(nowMs: 900)
        #expect(brief.tick(nowMs: 1500).isEmpty)
        #expect(brief.tick(nowMs: 1900).count == 1)

        // The broker's own time answering a large read does not count against the frame cut off at its end.
        var busy = machine { $0.frameTimeoutMs = 1000 }
        _ = busy.bytesReceived(frame(10).getSlice(at: 0, length: 6)!, nowMs: 0, reserve: always)
        busy.brokerWasBusy(milliseconds: 700)
        #expect(busy.tick(nowMs: 1600).isEmpty)
        #expect(busy.tick(nowMs: 1700).count == 1)
    }

    @Test func framesSplitAnywhereAreTrackedWhole() {
        var state = machine { $0.frameTimeoutMs = 1000 }
        var stream = frame(3)
        var second = frame(5)
        stream.writeBuffer(&second)
        // Split after 6 bytes: the first frame (7 bytes) is not whole yet.
        _ = state.bytesReceived(stream.getSlice(at: 0, length: 6)!, nowMs: 0, reserve: always)
        _ = state.bytesReceived(stream.getSlice(at: 6, length: stream.readableBytes - 6)!, nowMs: 10, reserve: always)
        #expect(state.tick(nowMs: 5000).isEmpty, "both frames complete: no frame timeout")
        var partial = machine { $0.frameTimeoutMs = 1000 }
        _ = partial.bytesReceived(stream.getSlice(at: 0, length: stream.readableBytes - 1)!, nowMs: 0, reserve: always)
        #expect(partial.tick(nowMs: 5000).count == 1, "the second frame misses a byte")
    }

    @Test func idleConnectionsAreClosedButNotBusyOnes() {
        var state = machine { $0.idleTimeoutMs = 1000 }
        #expect(state.tick(nowMs: 999).isEmpty)
        _ = state.requestReceived(nowMs: 500)
        #expect(state.tick(nowMs: 5000).isEmpty, "a request in progress is not idle")
        _ = state.responseReady(sequence: 0, .answered, nowMs: 5000)
        #expect(state.tick(nowMs: 5999).isEmpty)
        #expect(state.tick(nowMs: 6000) == [.close(reason: "idle for 1000 ms (connections.max.idle.ms)")])
    }

    @Test func requestMemoryIsTakenPerFrameAndGivenBack() {
        var pool = 100
        let reserve: (Int) -> Bool = { bytes in
            guard bytes <= pool else { return false }
            pool -= bytes
            return true
        }
        var state = machine()
        _ = state.bytesReceived(frame(60), nowMs: 0, reserve: reserve)
        _ = state.requestReceived(nowMs: 0)
        #expect(pool == 40)
        _ = state.bytesReceived(frame(50), nowMs: 0, reserve: reserve)
        #expect(state.isWaitingForMemory && !state.shouldRead)
        _ = state.requestReceived(nowMs: 0)
        let actions = state.responseReady(sequence: 0, .answered, nowMs: 0)
        #expect(actions.contains(.releaseMemory(60)))
        pool += 60
        state.retryMemory(reserve: reserve)
        #expect(!state.isWaitingForMemory && state.shouldRead && pool == 50)
        let closed = state.closed()
        #expect(closed.dropped == [1] && closed.memory == 50)
    }
}
