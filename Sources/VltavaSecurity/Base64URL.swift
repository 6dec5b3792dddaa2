import Foundation

/// base64url without padding (RFC 4648 §5), as JWTs and JWKs write it; padding is accepted too.
enum Base64URL {
    static func encode(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var base64 = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if base64.contains("=") {
            guard base64.utf8.count % 4 == 0 else { return nil }
        } else {
            guard base64.utf8.count % 4 != 1 else { return nil }
            while base64.utf8.count % 4 != 0 { base64 += "=" }
        }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return Array(data)
    }
}
