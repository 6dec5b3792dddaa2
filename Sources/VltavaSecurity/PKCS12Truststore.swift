import Crypto
import CryptoExtras
import Foundation
import SwiftASN1

/// The certificates of a PKCS12 truststore (RFC 7292), as Java's `keytool -importcert -storetype PKCS12` and
/// `openssl pkcs12 -export -nokeys` make them: swift-nio-ssl opens PKCS12 files only when they hold a private key.
///
/// Certificate bags are read from plain and from password-encrypted contents (PBES2 with PBKDF2 and AES-CBC, what
/// Java 17 and OpenSSL 3 write). With a password the file's MAC is checked, as Java checks it; without one the
/// certificates are read unchecked, as Kafka does when `ssl.truststore.password` is not set. Legacy encryption (RC2,
/// 3DES) is refused with the way out.
enum PKCS12Truststore {
    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// The DER bytes of every certificate in the file.
    static func certificates(_ bytes: [UInt8], password: String?) throws(Failure) -> [[UInt8]] {
        do {
            return try read(bytes, password: password)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure("not a PKCS12 file (\(error))")
        }
    }

    private static func read(_ bytes: [UInt8], password: String?) throws -> [[UInt8]] {
        let pfx = try children(DER.parse(bytes))
        guard pfx.count >= 2, try Int(derEncoded: at(pfx, 0)) == 3 else { throw Failure("not a PKCS12 file (version 3 expected)") }
        let authSafe = try contentInfo(at(pfx, 1))
        guard authSafe.type == OID.data, let content = authSafe.content else { throw Failure("PKCS12 contents that are not data") }
        let data = try ASN1OctetString(derEncoded: content).bytes
        if let password, pfx.count >= 3 {
            try checkMac(at(pfx, 2), data: Array(data), password: password)
        }
        var certificates: [[UInt8]] = []
        for item in try children(DER.parse(Array(data))) {
            let info = try contentInfo(item)
            let safeContents: [UInt8]
            switch info.type {
            case OID.data:
                guard let content = info.content else { continue }
                safeContents = Array(try ASN1OctetString(derEncoded: content).bytes)
            case OID.encryptedData:
                guard let content = info.content else { continue }
                safeContents = try decrypt(content, password: password)
            default:
                continue
            }
            for bag in try children(DER.parse(safeContents)) {
                let fields = try children(bag)
                guard fields.count >= 2, try ASN1ObjectIdentifier(derEncoded: at(fields, 0)) == OID.certBag,
                      let certBag = try explicit(at(fields, 1)) else { continue }
                let certFields = try children(certBag)
                guard certFields.count >= 2, try ASN1ObjectIdentifier(derEncoded: at(certFields, 0)) == OID.x509Certificate,
                      let value = try explicit(at(certFields, 1)) else { continue }
                certificates.append(Array(try ASN1OctetString(derEncoded: value).bytes))
            }
        }
        return certificates
    }

    // MARK: Encryption (PBES2)

    private static func decrypt(_ encryptedData: ASN1Node, password: String?) throws -> [UInt8] {
        let fields = try children(encryptedData)
        guard fields.count >= 2 else { throw Failure("malformed encrypted PKCS12 contents") }
        let info = try children(at(fields, 1))
        guard info.count >= 3 else { throw Failure("PKCS12 encrypted contents without data") }
        let algorithm = try children(at(info, 1))
        let scheme = try ASN1ObjectIdentifier(derEncoded: at(algorithm, 0))
        guard scheme == OID.pbes2, algorithm.count >= 2 else {
            throw Failure("its certificates are encrypted with \(legacyName(scheme)), which Vltava cannot read: convert it with "
                + "`openssl pkcs12 -in FILE -nokeys -out truststore.pem` and set ssl.truststore.type=PEM")
        }
        guard let password else {
            throw Failure("its certificates are encrypted: set ssl.truststore.password")
        }
        let parameters = try children(at(algorithm, 1))
        let kdf = try children(at(parameters, 0))
        guard try ASN1ObjectIdentifier(derEncoded: at(kdf, 0)) == OID.pbkdf2, kdf.count >= 2 else {
            throw Failure("PBES2 with a key derivation other than PBKDF2")
        }
        let kdfParameters = try children(at(kdf, 1))
        let salt = try ASN1OctetString(derEncoded: at(kdfParameters, 0)).bytes
        let iterations = try Int(derEncoded: at(kdfParameters, 1))
        var keyLength: Int?
        var prf = KDF.Insecure.PBKDF2.HashFunction.insecureSHA1
        for node in kdfParameters.dropFirst(2) {
            if node.identifier == .integer {
                keyLength = try Int(derEncoded: node)
            } else {
                let oid = try ASN1ObjectIdentifier(derEncoded: at(children(node), 0))
                guard let function = OID.hmacs[oid] else { throw Failure("PBKDF2 with an unknown PRF \(oid)") }
                prf = function
            }
        }
        let cipher = try children(at(parameters, 1))
        let cipherOID = try ASN1ObjectIdentifier(derEncoded: at(cipher, 0))
        guard let aesKeyLength = OID.aesCBC[cipherOID], cipher.count >= 2 else {
            throw Failure("PBES2 with a cipher other than AES-CBC (\(cipherOID))")
        }
        guard (1...10_000_000).contains(iterations), keyLength == nil || keyLength == aesKeyLength else {
            throw Failure("PBKDF2 parameters out of range")
        }
        let iv = try ASN1OctetString(derEncoded: at(cipher, 1)).bytes
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: Array(salt), using: prf, outputByteCount: aesKeyLength, unsafeUncheckedRounds: iterations)
        let ciphertext = try ASN1OctetString(
            derEncoded: at(info, 2), withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)).bytes
        do {
            return Array(try AES._CBC.decrypt(Array(ciphertext), using: key, iv: AES._CBC.IV(ivBytes: iv)))
        } catch {
            throw Failure("ssl.truststore.password does not open it")
        }
    }

    private static func legacyName(_ oid: ASN1ObjectIdentifier) -> String {
        switch oid {
        case OID.rc2With40BitKey: "pbeWithSHAAnd40BitRC2-CBC"
        case OID.tripleDES: "pbeWithSHAAnd3-KeyTripleDES-CBC"
        default: "\(oid)"
        }
    }

    // MARK: Integrity (MacData)

    private static func checkMac(_ macData: ASN1Node, data: [UInt8], password: String) throws {
        let fields = try children(macData)
        let digestInfo = try children(at(fields, 0))
        let digestAlgorithm = try ASN1ObjectIdentifier(derEncoded: at(children(at(digestInfo, 0)), 0))
        let expected = Array(try ASN1OctetString(derEncoded: at(digestInfo, 1)).bytes)
        let salt = Array(try ASN1OctetString(derEncoded: at(fields, 1)).bytes)
        let iterations = fields.count >= 3 ? try Int(derEncoded: at(fields, 2)) : 1
        guard (1...10_000_000).contains(iterations) else { throw Failure("MAC iteration count out of range") }
        // RFC 7292: the password as a BMPString with two zero bytes at the end.
        var bmp: [UInt8] = password.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        bmp += [0, 0]
        let matches: Bool
        switch digestAlgorithm {
        case OID.sha1: matches = mac(Insecure.SHA1.self, blockSize: 64, password: bmp, salt: salt, iterations: iterations, data: data, expected: expected)
        case OID.sha256: matches = mac(SHA256.self, blockSize: 64, password: bmp, salt: salt, iterations: iterations, data: data, expected: expected)
        case OID.sha384: matches = mac(SHA384.self, blockSize: 128, password: bmp, salt: salt, iterations: iterations, data: data, expected: expected)
        case OID.sha512: matches = mac(SHA512.self, blockSize: 128, password: bmp, salt: salt, iterations: iterations, data: data, expected: expected)
        default: throw Failure("a MAC with an unknown digest \(digestAlgorithm)")
        }
        guard matches else { throw Failure("ssl.truststore.password does not open it (its integrity check fails)") }
    }

    private static func mac<H: HashFunction>(_: H.Type, blockSize: Int, password: [UInt8], salt: [UInt8], iterations: Int,
                                             data: [UInt8], expected: [UInt8]) -> Bool {
        let key = pkcs12Key(H.self, blockSize: blockSize, id: 3, password: password, salt: salt, iterations: iterations,
                            length: H.Digest.byteCount)
        let code = HMAC<H>.authenticationCode(for: data, using: SymmetricKey(data: key))
        return code == expected
    }

    /// RFC 7292 appendix B.2: the PKCS12 key derivation (here for the MAC key, `id` 3).
    static func pkcs12Key<H: HashFunction>(_: H.Type, blockSize v: Int, id: UInt8, password: [UInt8], salt: [UInt8],
                                           iterations: Int, length: Int) -> [UInt8] {
        func stretched(_ bytes: [UInt8]) -> [UInt8] {
            guard !bytes.isEmpty else { return [] }
            let count = v * ((bytes.count + v - 1) / v)
            return (0..<count).map { bytes[$0 % bytes.count] }
        }
        let diversifier = [UInt8](repeating: id, count: v)
        var input = stretched(salt) + stretched(password)
        var output: [UInt8] = []
        while output.count < length {
            var digest = Array(H.hash(data: diversifier + input))
            for _ in 1..<max(iterations, 1) { digest = Array(H.hash(data: digest)) }
            output += digest
            guard output.count < length else { break }
            let b = (0..<v).map { digest[$0 % digest.count] }
            for start in stride(from: 0, to: input.count, by: v) {
                // input[start..<start+v] = (input block + b + 1) mod 2^(8v)
                var carry = 1
                for index in stride(from: v - 1, through: 0, by: -1) {
                    let sum = Int(input[start + index]) + Int(b[index]) + carry
                    input[start + index] = UInt8(sum & 0xFF)
                    carry = sum >> 8
                }
            }
        }
        return Array(output.prefix(length))
    }

    // MARK: ASN.1

    /// The `index`th node, or an error for a structure too short (never a trap on a malformed file).
    private static func at(_ nodes: [ASN1Node], _ index: Int) throws -> ASN1Node {
        guard nodes.indices.contains(index) else { throw Failure("malformed PKCS12 structure") }
        return nodes[index]
    }

    private static func children(_ node: ASN1Node) throws -> [ASN1Node] {
        guard case let .constructed(nodes) = node.content else { throw Failure("malformed PKCS12 structure") }
        return Array(nodes)
    }

    /// The node inside an explicit `[0]` tag, nil if the node is not one.
    private static func explicit(_ node: ASN1Node) throws -> ASN1Node? {
        guard node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) else { return nil }
        return try children(node).first
    }

    private static func contentInfo(_ node: ASN1Node) throws -> (type: ASN1ObjectIdentifier, content: ASN1Node?) {
        let fields = try children(node)
        guard let first = fields.first else { throw Failure("malformed PKCS12 content") }
        return (try ASN1ObjectIdentifier(derEncoded: first), fields.count >= 2 ? try explicit(at(fields, 1)) : nil)
    }

    private enum OID {
        static let data: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]
        static let encryptedData: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 6]
        static let certBag: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 12, 10, 1, 3]
        static let x509Certificate: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 22, 1]
        static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 13]
        static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 12]
        static let rc2With40BitKey: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 12, 1, 6]
        static let tripleDES: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 12, 1, 3]
        static let sha1: ASN1ObjectIdentifier = [1, 3, 14, 3, 2, 26]
        static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]
        static let sha384: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 2]
        static let sha512: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 3]
        static let hmacs: [ASN1ObjectIdentifier: KDF.Insecure.PBKDF2.HashFunction] = [
            [1, 2, 840, 113_549, 2, 7]: .insecureSHA1, [1, 2, 840, 113_549, 2, 9]: .sha256,
            [1, 2, 840, 113_549, 2, 10]: .sha384, [1, 2, 840, 113_549, 2, 11]: .sha512,
        ]
        static let aesCBC: [ASN1ObjectIdentifier: Int] = [
            [2, 16, 840, 1, 101, 3, 4, 1, 2]: 16, [2, 16, 840, 1, 101, 3, 4, 1, 22]: 24, [2, 16, 840, 1, 101, 3, 4, 1, 42]: 32,
        ]
    }
}
