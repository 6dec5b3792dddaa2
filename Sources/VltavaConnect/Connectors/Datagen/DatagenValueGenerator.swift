/// Generates Connect values of `DatagenType`s as avro-random-generator generates Avro values: `options` first, then
/// `iteration`, else a random value within the hints (`range`, `length`, `regex`, `odds`...).
struct DatagenValueGenerator: Sendable {
    /// The longest string, byte array, array or map generated, whatever `length` allows.
    static let maximumLength = 10_000

    var random: DatagenRandom
    /// avro-random-generator starts each iteration at the generation the task resumes from.
    private let firstGeneration: Int64
    /// The next step of each iteration, by the identity of its schema (equal schemas share one).
    private var iterationSteps: [String: Int64] = [:]

    init(random: DatagenRandom, generation: Int64) {
        self.random = random
        self.firstGeneration = generation
    }

    mutating func value(of type: DatagenType) -> ConnectValue {
        let hints = type.hints
        if let options = hints.options { return options[random.index(below: options.count)] }
        if let iteration = hints.iteration { return nextIteration(iteration, of: type) }
        switch type.kind {
        case .null:
            return .null
        case .boolean:
            if let odds = hints.odds { return .boolean(random.unit() < odds) }
            return .boolean(random.bool())
        case .int:
            if case let .integral(minimum, maximum)? = hints.range {
                return .int32(Int32(truncatingIfNeeded: random.int64(from: minimum, below: maximum)))
            }
            return .int32(Int32(truncatingIfNeeded: random.next()))
        case .long:
            if case let .integral(minimum, maximum)? = hints.range { return .int64(random.int64(from: minimum, below: maximum)) }
            return .int64(Int64(bitPattern: random.next()))
        case .float:
            if case let .decimal(minimum, maximum)? = hints.range {
                let value = Float(minimum + random.unit() * (maximum - minimum))
                return .float32(value < Float(maximum) ? value : Float(maximum).nextDown)
            }
            return .float32(Float(random.unit()))
        case .double:
            if case let .decimal(minimum, maximum)? = hints.range {
                let value = minimum + random.unit() * (maximum - minimum)
                return .float64(value < maximum ? value : maximum.nextDown)
            }
            return .float64(random.unit())
        case .bytes:
            if case let .decimal(precision, scale)? = type.logical { return .bytes(decimal(precision: precision, scale: scale, range: hints.range)) }
            return .bytes(randomBytes(count: length(hints.length)))
        case .string:
            return .string(hints.prefix + string(hints) + hints.suffix)
        case let .enumeration(symbols):
            return symbols.isEmpty ? .null : .string(symbols[random.index(below: symbols.count)])
        case let .fixed(size):
            return .bytes(randomBytes(count: size))
        case let .array(items):
            let count = length(hints.length)
            var values: [ConnectValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(value(of: items)) }
            return .array(values)
        case let .map(valueType, keys):
            let count = length(hints.length)
            var entries: [ConnectMapEntry] = []
            var seen: [ConnectValue: Int] = [:]
            for _ in 0..<count {
                let key = keys.map { value(of: $0) } ?? .string(printable(count: 1))
                let entry = ConnectMapEntry(key: key, value: value(of: valueType))
                if let index = seen[key] {
                    entries[index] = entry
                } else {
                    seen[key] = entries.count
                    entries.append(entry)
                }
            }
            return .map(entries)
        case let .record(fields):
            var values: [ConnectValue] = []
            values.reserveCapacity(fields.count)
            for field in fields { values.append(value(of: field.type)) }
            return .structure(ConnectStruct(schema: type.connectSchema, values: values))
        case let .union(branches):
            let branch = random.index(below: branches.count)
            return DatagenOptionValues.unionValue(value(of: branches[branch]), branch: branch, of: type)
        }
    }

    // MARK: Parts

    private mutating func length(_ bounds: DatagenHints.LengthBounds) -> Int {
        let minimum = min(bounds.minimum, Self.maximumLength)
        let maximum = min(max(bounds.maximum, minimum + 1), Self.maximumLength + 1)
        return minimum + random.index(below: maximum - minimum)
    }

    private mutating func string(_ hints: DatagenHints) -> String {
        guard let regex = hints.regex else { return printable(count: length(hints.length)) }
        let minimum = min(hints.length.minimum, Self.maximumLength)
        let maximum = max(minimum, min(hints.length.maximum - 1, Self.maximumLength))
        return regex.generate(minimumLength: minimum, maximumLength: maximum, using: &random)
    }

    /// Random printable ASCII (avro-random-generator draws from all of ASCII, control characters included).
    private mutating func printable(count: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<count { scalars.append(Unicode.Scalar(UInt8(0x20 + random.below(95)))) }
        return String(scalars)
    }

    private mutating func randomBytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// A decimal's unscaled bytes: within `range` when given (an extension: avro-random-generator ignores it),
    /// else `precision` random digits with a random sign, as avro-random-generator makes them.
    private mutating func decimal(precision: Int, scale: Int, range: DatagenHints.NumericRange?) -> [UInt8] {
        var digits: String
        if case let .decimal(minimum, maximum)? = range {
            let factor = pow10(scale)
            let low = (minimum * factor).rounded(.up)
            let high = (maximum * factor).rounded(.up)
            if low < high, abs(low) < 9e15, abs(high) < 9e15 {
                let unscaled = random.int64(from: Int64(low), below: Int64(high))
                digits = String(unscaled)
                return DecimalBytes.twosComplement(decimal: Substring(digits)) ?? [0]
            }
        }
        digits = random.bool() ? "-" : ""
        for _ in 0..<min(precision, 1000) { digits.append(Character(Unicode.Scalar(UInt8(0x30 + random.below(10))))) }
        return DecimalBytes.twosComplement(decimal: Substring(digits)) ?? [0]
    }

    private func pow10(_ exponent: Int) -> Double {
        (0..<min(exponent, 308)).reduce(1.0) { value, _ in value * 10 }
    }

    // MARK: Iteration

    private mutating func nextIteration(_ iteration: DatagenHints.Iteration, of type: DatagenType) -> ConnectValue {
        let step = iterationSteps[type.identity] ?? firstGeneration
        iterationSteps[type.identity] = step + 1
        let value = Self.iterationValue(iteration, at: step)
        switch (type.kind, value) {
        case let (.int, .int64(number)): return .int32(Int32(truncatingIfNeeded: number))
        case let (.string, .int64(number)): return .string(type.hints.prefix + String(Int32(truncatingIfNeeded: number)) + type.hints.suffix)
        case let (.float, .float64(number)): return .float32(Float(number))
        default: return value
        }
    }

    /// The iteration's value at step `index`: start + (index·step + initial − start) wrapped into [start, restart),
    /// computed directly so that a resumed task continues where it stopped.
    static func iterationValue(_ iteration: DatagenHints.Iteration, at index: Int64) -> ConnectValue {
        switch iteration {
        case let .boolean(start):
            return .boolean(start != (index % 2 == 1))
        case let .decimal(start, restart, step, initial):
            let offset = (Double(index) * step + (initial - start)).truncatingRemainder(dividingBy: restart - start)
            return .float64(start + offset)
        case let .integral(start, restart, step, initial):
            let span = restart > start ? UInt64(bitPattern: restart &- start) : UInt64(bitPattern: start &- restart)
            let magnitude = WideArithmetic.magnitudeModulo(index, times: step, plus: initial, minus: start, modulo: span)
            return .int64(step > 0 ? start &+ Int64(bitPattern: magnitude) : start &- Int64(bitPattern: magnitude))
        }
    }
}

/// 128-bit arithmetic for iterations, whose `index × step` may pass 64 bits.
enum WideArithmetic {
    /// |a·b + c − d| mod m (m > 0).
    static func magnitudeModulo(_ a: Int64, times b: Int64, plus c: Int64, minus d: Int64, modulo m: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        var sum = add((product.high, product.low), extend(c))
        sum = add(sum, negate(extend(d)))
        if sum.high < 0 { sum = negate(sum) }
        let high = UInt64(bitPattern: sum.high) % m
        return m.dividingFullWidth((high: high, low: sum.low)).remainder
    }

    private static func extend(_ value: Int64) -> (high: Int64, low: UInt64) {
        (value < 0 ? -1 : 0, UInt64(bitPattern: value))
    }

    private static func add(_ x: (high: Int64, low: UInt64), _ y: (high: Int64, low: UInt64)) -> (high: Int64, low: UInt64) {
        let (low, carry) = x.low.addingReportingOverflow(y.low)
        return (x.high &+ y.high &+ (carry ? 1 : 0), low)
    }

    private static func negate(_ x: (high: Int64, low: UInt64)) -> (high: Int64, low: UInt64) {
        let low = ~x.low &+ 1
        return (~x.high &+ (low == 0 ? 1 : 0), low)
    }
}
