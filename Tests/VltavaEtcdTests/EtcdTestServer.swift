import Foundation
import NIOCore
import NIOPosix
import Testing
import VltavaEtcd
import VltavaHTTP

/// A real single-member etcd for one test: Debian's `/usr/bin/etcd` (or `$VLTAVA_ETCD_BIN`) on free local ports, its
/// data in a temporary folder, run as `nobody` when the tests run as root (as the PostgreSQL of the interop tests),
/// killed with the test process if that dies first.
final class EtcdTestServer {
    static var binary: String { ProcessInfo.processInfo.environment["VLTAVA_ETCD_BIN"] ?? "/usr/bin/etcd" }
    /// `scripts/test` sets `VLTAVA_REQUIRE_ETCD=1`: a missing etcd then fails the tests instead of skipping them.
    static var required: Bool { ProcessInfo.processInfo.environment["VLTAVA_REQUIRE_ETCD"] == "1" }
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    /// Whether the real-etcd tests run (skipped, with the reason, only when etcd is missing and not required).
    static var shouldRun: Bool { installed || required }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let folder: URL
    let clientPort: Int
    let peerPort: Int
    private var process: Process?

    var endpoint: String { "http://127.0.0.1:\(clientPort)" }
    var log: URL { folder.appendingPathComponent("etcd.log") }

    /// Runs `body` with a started etcd and a client of it; the server is killed and its folder removed after.
    static func with<T>(_ body: (EtcdTestServer, EtcdGatewayClient) async throws -> T) async throws -> T {
        let server = try await EtcdTestServer()
        defer { server.remove() }
        try await server.start()
        return try await body(server, try server.client())
    }

    private init() async throws {
        guard Self.installed else {
            throw Failure(description: "etcd is not installed at \(Self.binary): install Debian's etcd-server package "
                + "(apt-get install --no-install-recommends etcd-server; scripts/test does) or set VLTAVA_ETCD_BIN")
        }
        folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vltava-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if geteuid() == 0, let nobody = getpwnam("nobody") {
            guard chown(folder.path, nobody.pointee.pw_uid, nobody.pointee.pw_gid) == 0 else {
                throw Failure(description: "cannot give \(folder.path) to nobody: \(String(cString: strerror(errno)))")
            }
        }
        clientPort = try await Self.freePort()
        peerPort = try await Self.freePort()
    }

    func client(requestTimeout: TimeAmount = .seconds(5)) throws -> EtcdGatewayClient {
        try EtcdGatewayClient(endpoints: [endpoint], requestTimeout: requestTimeout, connectTimeout: .seconds(1))
    }

    /// Starts etcd (again, on the same data, after `kill`) and waits until it answers a read.
    func start() async throws {
        let peer = "http://127.0.0.1:\(peerPort)"
        let arguments = ["--name", "vltava-test", "--data-dir", folder.appendingPathComponent("data").path,
                         "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                         "--initial-cluster", "vltava-test=\(peer)"]
        let process = Process()
        if geteuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--pdeathsig", "KILL", "--", Self.binary]
                + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let output = try FileHandle(forWritingTo: log)
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        self.process = process
        let client = try client(requestTimeout: .milliseconds(500))
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            do {
                _ = try await client.get([0])
                return
            } catch {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw Failure(description: "etcd did not start (\(error)); its log:\n\(logTail())")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// SIGKILLs etcd, as a crash would.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGCONT)
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Stops (SIGSTOP) or resumes (SIGCONT) etcd: connections are still accepted by the kernel, nothing answers.
    /// Stops (SIGSTOP) or continues etcd. A signal is delivered asynchronously — a busy machine may run etcd a little
    /// longer — so a pause returns only once /proc shows every thread stopped (state `T`), at most 5 s.
    func pause(_ paused: Bool) {
        guard let process, process.isRunning else { return }
        let pid = process.processIdentifier
        Foundation.kill(pid, paused ? SIGSTOP : SIGCONT)
        guard paused else { return }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline, !Self.allThreadsStopped(pid) { usleep(5_000) }
    }

    private static func allThreadsStopped(_ pid: Int32) -> Bool {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task"), !threads.isEmpty else { return false }
        return threads.allSatisfy { thread in
            guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/task/\(thread)/stat"),
                  let text = String(data: stat, encoding: .utf8), let close = text.lastIndex(of: ")") else { return false }
            return text[text.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
        }
    }

    /// The value of one of etcd's Prometheus gauges (`/metrics` on the client port).
    static func metric(_ name: String, port: Int) async throws -> Int {
        let endpoint = HTTPEndpoint(host: "127.0.0.1", port: port)
        let answer = try await HTTPExchange.exchange(endpoint: endpoint, method: .GET, target: "/metrics", headers: [:], body: [],
                                                     on: MultiThreadedEventLoopGroup.singleton.next(),
                                                     connectTimeout: .seconds(1), timeout: .seconds(5)).get()
        let text = String(decoding: answer.body, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            if let value = Double(line.dropFirst(name.count + 1)) { return Int(value) }
        }
        throw Failure(description: "etcd's /metrics has no \(name)")
    }

    private func remove() {
        kill()
        try? FileManager.default.removeItem(at: folder)
    }

    private func logTail() -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// A port nothing listens on now (bound to port 0, then released).
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw Failure(description: "no free local port") }
        return port
    }
}
