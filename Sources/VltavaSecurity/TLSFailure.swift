#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOSSL

/// TLS failures said in plain words (`TLS handshake failed: certificate verify failed`) instead of swift-nio-ssl's
/// debug descriptions with BoringSSL's error numbers and source paths.
public enum TLSFailure {
    /// A sentence for a TLS error, or nil when `error` is not one.
    public static func describe(_ error: any Error) -> String? {
        if let error = error as? NIOSSLError {
            switch error {
            case let .handshakeFailed(reason): return "TLS handshake failed: \(describe(reason))"
            case .uncleanShutdown: return "the TLS connection was cut without a TLS close (is the other side a TLS listener?)"
            case .noCertificateToValidate: return "the other side sent no certificate"
            case .unableToValidateCertificate: return "the other side's certificate could not be validated"
            default: return "TLS failed: \(error)"
            }
        }
        if let error = error as? NIOSSLExtraError {
            if error == .failedToValidateHostname { return "TLS: the broker's certificate does not name the host connected to" }
            return "TLS failed: \(error)"
        }
        return nil
    }

    static func describe(_ error: BoringSSLError) -> String {
        switch error {
        case let .sslError(stack), let .unknownError(stack):
            let reasons = stack.map { reason($0.description) }.filter { !$0.isEmpty }
            return reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; ")
        case .syscallError: return "the connection failed during the handshake"
        case .zeroReturn: return "the other side closed the connection"
        default: return "\(error)"
        }
    }

    /// `Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file:12` →
    /// `certificate verify failed`.
    static func reason(_ text: String) -> String {
        var text = Substring(text)
        if let at = text.range(of: " at ", options: .backwards) { text = text[..<at.lowerBound] }
        let last = text.split(separator: ":").last.map(String.init) ?? String(text)
        return last.replacingOccurrences(of: "_", with: " ").lowercased().trimmingCharacters(in: .whitespaces)
    }
}
