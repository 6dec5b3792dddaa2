import Crypto
import Testing
@testable import VltavaSecurity

/// Malformed PKCS12 truststores are refused with a reason, never a trap (the files are read at start-up and on every
/// certificate reload). Real files, from openssl and keytool, are read in `Tests/interop/test_tls.py`.
@Suite struct PKCS12TruststoreTests {
    @Test(arguments: [
        [],
        [0x30, 0x00],
        [0x30, 0x03, 0x02, 0x01, 0x03],
        [0x30, 0x05, 0x02, 0x01, 0x03, 0x30, 0x00],
        [0x30, 0x08, 0x02, 0x01, 0x02, 0x30, 0x03, 0x06, 0x01, 0x2A],
        [0x30, 0x0A, 0x02, 0x01, 0x03, 0x30, 0x05, 0x06, 0x01, 0x2A, 0xA0, 0x00],
        Array("-----BEGIN CERTIFICATE-----\n".utf8),
    ] as [[UInt8]])
    func malformedFilesAreRefused(bytes: [UInt8]) {
        #expect(throws: PKCS12Truststore.Failure.self) { try PKCS12Truststore.certificates(bytes, password: "x") }
        #expect(throws: PKCS12Truststore.Failure.self) { try PKCS12Truststore.certificates(bytes, password: nil) }
    }

    /// RFC 7292's key derivation gives keys of any length, longer than one hash by repeating the rounds.
    @Test func keyDerivationIsDeterministicAndLengthened() {
        let password: [UInt8] = [0, 0x70, 0, 0x77, 0, 0]
        let short = PKCS12Truststore.pkcs12Key(SHA256.self, blockSize: 64, id: 3, password: password, salt: [1, 2, 3],
                                                iterations: 2, length: 32)
        let long = PKCS12Truststore.pkcs12Key(SHA256.self, blockSize: 64, id: 3, password: password, salt: [1, 2, 3],
                                               iterations: 2, length: 48)
        #expect(short.count == 32 && long.count == 48)
        #expect(Array(long.prefix(32)) == short)
        let otherId = PKCS12Truststore.pkcs12Key(SHA256.self, blockSize: 64, id: 1, password: password, salt: [1, 2, 3],
                                                  iterations: 2, length: 32)
        #expect(otherId != short)
    }
}
