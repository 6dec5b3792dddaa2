/// Numbers written as Java writes them, since converters' bytes must be the ones Kafka's produce: `Double.toString`
/// and `Float.toString` (what Jackson writes for JSON numbers and `StringConverter` for values) and
/// `BigDecimal.toString` (Jackson's decimal numbers).
enum JavaNumberText {
    /// Java's `Double.toString`: the shortest digits that read back as the value, plain between 10^-3 and 10^7
    /// (`100.0`, `0.001`), else computerized scientific notation (`1.0E10`, `1.0E-5`). One known difference: where
    /// the shortest digits are a single one, Java (since JDK 19) prints the closest two-digit decimal instead, which
    /// differs only for subnormals (`4.9E-324` for the smallest double; here `5.0E-324`).
    static func double(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return format(value.description, isZero: value == 0)
    }

    /// Java's `Float.toString`, with the same rules as `double` over a float's shortest digits.
    static func float(_ value: Float) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return format(value.description, isZero: value == 0)
    }

    /// Reformats Swift's shortest round-tripping text (`1e-05`, `123.25`, `1.5e+20`) in Java's notation.
    private static func format(_ swiftText: String, isZero: Bool) -> String {
        var text = Substring(swiftText)
        let negative = text.first == "-"
        if negative { text.removeFirst() }
        if isZero { return negative ? "-0.0" : "0.0" }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = parts.first.map(String.init) ?? ""
        let fractionPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = Array(integerPart + fractionPart)
        // The decimal point sits after `point` digits.
        var point = integerPart.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        guard !digits.isEmpty else { return negative ? "-0.0" : "0.0" }
        let scientificExponent = point - 1
        var result = negative ? "-" : ""
        if scientificExponent >= -3 && scientificExponent < 7 {
            if point <= 0 {
                result += "0." + String(repeating: "0", count: -point) + String(digits)
            } else if point >= digits.count {
                result += String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
            } else {
                result += String(digits[..<point]) + "." + String(digits[point...])
            }
        } else {
            result += String(digits[0]) + "." + (digits.count > 1 ? String(digits[1...]) : "0") + "E" + String(scientificExponent)
        }
        return result
    }

    /// Java's `BigDecimal.toString` of `unscaled × 10^-scale`, the unscaled value given in decimal digits with an
    /// optional leading `-`: plain when the scale is not negative and the adjusted exponent is at least -6
    /// (`1.56`, `0.000001`), else scientific (`1.56E+4`, `1E-7`).
    static func bigDecimal(unscaled: String, scale: Int) -> String {
        let negative = unscaled.hasPrefix("-")
        let digits = Array(negative ? unscaled.dropFirst() : Substring(unscaled))
        let adjusted = -scale + (digits.count - 1)
        var result = negative ? "-" : ""
        if scale >= 0 && adjusted >= -6 {
            if scale == 0 {
                result += String(digits)
            } else if digits.count > scale {
                result += String(digits[..<(digits.count - scale)]) + "." + String(digits[(digits.count - scale)...])
            } else {
                result += "0." + String(repeating: "0", count: scale - digits.count) + String(digits)
            }
        } else {
            result += String(digits[0])
            if digits.count > 1 { result += "." + String(digits[1...]) }
            result += "E" + (adjusted > 0 ? "+" : "") + String(adjusted)
        }
        return result
    }
}
