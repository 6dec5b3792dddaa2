/// The part of Java's `SimpleDateFormat` that connector configs use, always in UTC: `yyyy`/`yy`, `MM`/`M`, `dd`/`d`,
/// `HH`/`H`, `mm`/`m`, `ss`/`s`, `SSS`/`S`, quoted literals (`'T'`, `''` for a quote) and other characters as they
/// are. Any other pattern letter is refused when configured, as Java refuses an unknown one.
struct JavaDateFormat: Sendable, Hashable {
    enum Token: Sendable, Hashable {
        case field(Character, Int)
        case literal(String)
    }

    static let supportedLetters: Set<Character> = ["y", "M", "d", "H", "m", "s", "S"]
    let pattern: String
    let tokens: [Token]

    init(_ pattern: String) throws(ConnectError) {
        self.pattern = pattern
        var tokens: [Token] = []
        let chars = Array(pattern)
        var index = 0
        while index < chars.count {
            let char = chars[index]
            if char == "'" {
                var literal = ""
                index += 1
                if index < chars.count, chars[index] == "'" {
                    tokens.append(.literal("'"))
                    index += 1
                    continue
                }
                while true {
                    guard index < chars.count else { throw .config(name: "format", message: "Unterminated quote") }
                    if chars[index] == "'" {
                        if index + 1 < chars.count, chars[index + 1] == "'" {
                            literal.append("'")
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    literal.append(chars[index])
                    index += 1
                }
                tokens.append(.literal(literal))
            } else if char.isASCII, char.isLetter {
                guard Self.supportedLetters.contains(char) else {
                    throw .config(name: "format", message: "Illegal pattern character '\(char)'")
                }
                var count = 1
                while index + count < chars.count, chars[index + count] == char { count += 1 }
                tokens.append(.field(char, count))
                index += count
            } else {
                tokens.append(.literal(String(char)))
                index += 1
            }
        }
        self.tokens = tokens
    }

    /// Formats milliseconds since the epoch in UTC.
    func format(millis: Int64) -> String {
        let civil = CivilTime(millis: millis)
        var out = ""
        for token in tokens {
            switch token {
            case let .literal(text): out += text
            case let .field(letter, count):
                switch letter {
                case "y": out += count == 2 ? Self.pad(((civil.year % 100) + 100) % 100, 2) : Self.pad(civil.year, count)
                case "M": out += Self.pad(civil.month, count)
                case "d": out += Self.pad(civil.day, count)
                case "H": out += Self.pad(civil.hour, count)
                case "m": out += Self.pad(civil.minute, count)
                case "s": out += Self.pad(civil.second, count)
                default: out += Self.pad(civil.millisecond, count)
                }
            }
        }
        return out
    }

    /// Parses text to milliseconds since the epoch in UTC. A number followed by another number field takes exactly
    /// its pattern's width (`yyyyMMdd`), else as many digits as there are; out-of-range fields roll over as Java's
    /// lenient calendar does.
    func parse(_ text: String) -> Int64? {
        let chars = Array(text)
        var index = 0
        var fields: [Character: Int64] = [:]
        for (position, token) in tokens.enumerated() {
            switch token {
            case let .literal(literal):
                for char in literal {
                    guard index < chars.count, chars[index] == char else { return nil }
                    index += 1
                }
            case let .field(letter, count):
                var nextIsNumber = false
                if position + 1 < tokens.count, case .field = tokens[position + 1] { nextIsNumber = true }
                var negative = false
                if letter == "y", index < chars.count, chars[index] == "-" { negative = true; index += 1 }
                var digits = ""
                while index < chars.count, chars[index].isASCII, chars[index].isNumber, !nextIsNumber || digits.count < count {
                    digits.append(chars[index])
                    index += 1
                }
                guard !digits.isEmpty, digits.count <= 18, var value = Int64(digits) else { return nil }
                if letter == "y", count <= 2, digits.count == 2 { value += 2000 }
                fields[letter] = negative ? -value : value
            }
        }
        let days = CivilTime.days(year: fields["y"] ?? 1970, month: fields["M"] ?? 1, day: fields["d"] ?? 1)
        let hours: Int64 = fields["H"] ?? 0
        let minutes: Int64 = fields["m"] ?? 0
        let seconds: Int64 = fields["s"] ?? 0
        let millis: Int64 = fields["S"] ?? 0
        let time: Int64 = hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + millis
        return days * 86_400_000 + time
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value < 0 ? -value : value)
        return (value < 0 ? "-" : "") + String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }

    /// How Kafka's `Values.dateFormatFor` prints a logical date/time value: a time of day before the first day's
    /// end as a time, a whole day as a date, anything else as an ISO timestamp.
    static func connectValuesFormat(millis: Int64) -> String {
        let pattern = millis >= 0 && millis < 86_400_000 ? "HH:mm:ss.SSS"
            : millis % 86_400_000 == 0 ? "yyyy-MM-dd" : "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return (try? JavaDateFormat(pattern))?.format(millis: millis) ?? String(millis)
    }
}

/// A UTC calendar date and time of day from milliseconds since the epoch (proleptic Gregorian).
struct CivilTime {
    let year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, millisecond: Int64

    init(millis: Int64) {
        let (days, rest) = Self.floorDivide(millis, 86_400_000)
        hour = rest / 3_600_000
        minute = rest / 60_000 % 60
        second = rest / 1000 % 60
        millisecond = rest % 1000
        let z = days + 719_468
        let era = Self.floorDivide(z, 146_097).0
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since the epoch of a date; months and days out of range roll over.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let (carry, monthIndex) = floorDivide(month - 1, 12)
        let y0 = year + carry - (monthIndex < 2 ? 1 : 0)
        let m = monthIndex + 1
        let era = floorDivide(y0, 400).0
        let yearOfEra = y0 - era * 400
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468 + (day - 1)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }
}
