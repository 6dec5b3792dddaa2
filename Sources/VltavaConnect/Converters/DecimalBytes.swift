/// Connect's Decimal travels as the big-endian two's-complement bytes of its unscaled value (Java's
/// `BigInteger.toByteArray`). These turn such bytes into decimal digits and back, for `decimal.format=NUMERIC` and
/// for `StringConverter`'s text.
enum DecimalBytes {
    /// The largest number of decimal digits accepted when reading a decimal (a bound on the work a hostile
    /// exponent such as `1e999999999` could cause).
    static let maximumDigits = 4096

    /// The signed decimal digits of two's-complement bytes (`[0x00, 0x9C]` → `"156"`); nil for no bytes.
    static func decimalString(twosComplement bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        let negative = first & 0x80 != 0
        var magnitude = negative ? negate(bytes) : bytes
        var groups: [UInt32] = []
        // Repeated division by 10^9 of the big-endian magnitude: each step yields nine decimal digits.
        while magnitude.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            var quotient: [UInt8] = []
            quotient.reserveCapacity(magnitude.count)
            for byte in magnitude {
                let current = remainder << 8 | UInt64(byte)
                let digit = current / 1_000_000_000
                remainder = current % 1_000_000_000
                if !quotient.isEmpty || digit != 0 { quotient.append(UInt8(digit)) }
            }
            groups.append(UInt32(remainder))
            magnitude = quotient
        }
        guard let last = groups.last else { return "0" }
        var text = negative ? "-" : ""
        text += String(last)
        for group in groups.dropLast().reversed() {
            let part = String(group)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return text
    }

    /// The minimal two's-complement bytes of a signed decimal integer (`"-1"` → `[0xFF]`), as
    /// `BigInteger.toByteArray` gives them; nil when the text is not an integer.
    static func twosComplement(decimal text: Substring) -> [UInt8]? {
        let negative = text.first == "-"
        let digits = negative ? text.dropFirst() : text
        guard !digits.isEmpty, digits.count <= maximumDigits else { return nil }
        var magnitude: [UInt8] = [0]
        for character in digits.utf8 {
            guard (0x30...0x39).contains(character) else { return nil }
            var carry = UInt32(character - 0x30)
            for index in magnitude.indices.reversed() {
                let product = UInt32(magnitude[index]) * 10 + carry
                magnitude[index] = UInt8(truncatingIfNeeded: product)
                carry = product >> 8
            }
            while carry > 0 {
                magnitude.insert(UInt8(truncatingIfNeeded: carry), at: 0)
                carry >>= 8
            }
        }
        // A leading zero byte keeps the sign bit clear, so the magnitude negates correctly.
        magnitude.insert(0, at: 0)
        return minimal(negative ? negate(magnitude) : magnitude)
    }

    /// The same value in the fewest bytes (no redundant leading 0x00 or 0xFF).
    static func minimal(_ bytes: [UInt8]) -> [UInt8] {
        var start = 0
        while start + 1 < bytes.count {
            let byte = bytes[start], next = bytes[start + 1]
            guard (byte == 0x00 && next & 0x80 == 0) || (byte == 0xFF && next & 0x80 != 0) else { break }
            start += 1
        }
        return Array(bytes[start...])
    }

    /// Two's-complement negation (invert, add one).
    private static func negate(_ bytes: [UInt8]) -> [UInt8] {
        var result = bytes.map { ~$0 }
        for index in result.indices.reversed() {
            result[index] &+= 1
            if result[index] != 0 { break }
        }
        return result
    }

    /// The unscaled digits of a JSON number at `scale` (`"1.5"` at scale 2 → `"150"`); nil when the number has
    /// more fractional digits than the scale keeps (other than zeros) or is too long.
    static func unscaledDigits(jsonNumber text: String, scale: Int) -> String? {
        var mantissa = Substring(text)
        var exponent = 0
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(mantissa[mantissa.index(after: e)...]), abs(value) <= maximumDigits else { return nil }
            exponent = value
            mantissa = mantissa[..<e]
        }
        let negative = mantissa.first == "-"
        if negative { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? parts[1] : ""
        var digits = String(parts.first ?? "") + String(fraction)
        let numberScale = fraction.count - exponent
        if scale >= numberScale {
            guard scale - numberScale + digits.count <= maximumDigits else { return nil }
            digits += String(repeating: "0", count: scale - numberScale)
        } else {
            let drop = numberScale - scale
            guard drop <= digits.count, digits.suffix(drop).allSatisfy({ $0 == "0" }) else {
                guard digits.allSatisfy({ $0 == "0" }) else { return nil }
                return "0"
            }
            digits.removeLast(drop)
        }
        while digits.count > 1 && digits.first == "0" { digits.removeFirst() }
        if digits.isEmpty { digits = "0" }
        return (negative && digits != "0" ? "-" : "") + digits
    }
}

/// Base64 as Jackson writes binary values (the standard alphabet, padded, no line breaks).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = bytes[index]
            let b1 = index + 1 < bytes.count ? bytes[index + 1] : 0
            let b2 = index + 2 < bytes.count ? bytes[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes padded standard Base64; nil when the text is not that.
    static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            var values: [UInt8] = []
            var padding = 0
            for offset in 0..<4 {
                let character = input[index + offset]
                if character == UInt8(ascii: "=") {
                    // Padding only at the end of the last group, in its last one or two places.
                    guard index + 4 == input.count, offset >= 2 else { return nil }
                    padding += 1
                    values.append(0)
                } else {
                    guard padding == 0, let value = sextet(character) else { return nil }
                    values.append(value)
                }
            }
            output.append(values[0] << 2 | values[1] >> 4)
            if padding < 2 { output.append(values[1] << 4 | values[2] >> 2) }
            if padding < 1 { output.append(values[2] << 6 | values[3]) }
            index += 4
        }
        return output
    }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
