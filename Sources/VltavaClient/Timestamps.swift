/// Record times as people write and read them (the console's messages and offset resets, `vltava groups
/// reset-offsets --to-datetime`): ISO 8601 in UTC with milliseconds, without Foundation's formatters (one call per
/// shown record).
public enum Timestamps {
    /// `2024-01-31T12:00:00.123Z`; negative times (no timestamp) as `-`.
    public static func iso(_ milliseconds: Int64) -> String {
        guard milliseconds >= 0 else { return "-" }
        let days = milliseconds / 86_400_000
        let rest = milliseconds % 86_400_000
        let (year, month, day) = CivilDate.fromDays(days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3_600_000, 2)):\(pad(rest / 60_000 % 60, 2)):"
            + "\(pad(rest / 1000 % 60, 2)).\(pad(rest % 1000, 3))Z"
    }

    /// Milliseconds since the epoch from `1706702400000`, `2024-01-31`, `2024-01-31T12:00`, `2024-01-31T12:00:00.5Z`
    /// or with an offset (`+01:00`); nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        if let milliseconds = Int64(text) { return milliseconds }
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, fraction: Int64 = 0, offset: Int64 = 0
        if index < bytes.count {
            guard expect("T") || expect(" "), let h = number(2), expect(":"), let m = number(2) else { return nil }
            (hour, minute) = (h, m)
            if expect(":") {
                guard let s = number(2) else { return nil }
                second = s
                if expect(".") {
                    var digits = 0
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                        if digits < 3 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                        digits += 1
                        index += 1
                    }
                    guard digits > 0 else { return nil }
                    if digits < 3 { for _ in digits..<3 { fraction *= 10 } }
                }
            }
            if expect("Z") {
                offset = 0
            } else if index < bytes.count {
                let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                guard expect("+") || expect("-"), let oh = number(2) else { return nil }
                _ = expect(":")
                let om = number(2) ?? 0
                offset = sign * (oh * 60 + om) * 60_000
            }
            guard index == bytes.count, hour < 24, minute < 60, second < 61 else { return nil }
        }
        let days = CivilDate.toDays(year: year, month: month, day: day)
        return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + fraction - offset
    }
}

/// Days since 1970-01-01 and proleptic Gregorian (year, month, day), as `google.type.Date` carries a Connect Date
/// and `java.util.Date.toString()` prints one (after Howard Hinnant's `civil_from_days` / `days_from_civil`).
public enum CivilDate {
    public static func fromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func toDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let adjustedYear = month <= 2 ? year - 1 : year
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
