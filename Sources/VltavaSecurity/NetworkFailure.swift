#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore
import NIOPosix

/// Connection failures in plain words (`connection refused`, `timed out`, `the host name cannot be resolved`, or a
/// TLS failure as `TLSFailure` says it) instead of SwiftNIO's debug descriptions.
public enum NetworkFailure {
    public static func describe(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError {
            if let first = connection.connectionErrors.first { return describe(first.error) }
            if connection.dnsAError != nil || connection.dnsAAAAError != nil { return "the host name cannot be resolved" }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let channel = error as? ChannelError {
            switch channel {
            case .connectTimeout: return "timed out"
            case .ioOnClosedChannel, .alreadyClosed, .eof: return "the connection was closed"
            default: break
            }
        }
        if let tls = TLSFailure.describe(error) { return tls }
        return "\(error)"
    }
}
