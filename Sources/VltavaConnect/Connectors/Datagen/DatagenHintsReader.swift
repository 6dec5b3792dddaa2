import SchemaRegistry

/// Reads one `arg.properties` object as avro-random-generator does, with its rules and (mostly) its messages:
/// which hints go with which types, which exclude each other, and what their values must be.
struct DatagenHintsReader {
    private let properties: [(String, JSONValue)]

    init(_ json: JSONValue?) throws(ConnectError) {
        guard let json else {
            properties = []
            return
        }
        guard let members = json.objectValue else {
            throw DatagenSchemaReader.invalid("arg.properties property must be given as object, was \(json.serialized.prefix(100)) instead")
        }
        properties = members
    }

    private subscript(_ name: String) -> JSONValue? { properties.last { $0.0 == name }?.1 }

    /// The `keys` object of a map's hints (string hints for its keys).
    var keysProperties: JSONValue? {
        get throws(ConnectError) {
            guard let keys = self["keys"] else { return nil }
            guard keys.isObject else { throw DatagenSchemaReader.invalid("keys prop must be an object") }
            return keys
        }
    }

    func hints(for type: DatagenType) throws(ConnectError) -> DatagenHints {
        var hints = DatagenHints()
        if let options = self["options"] {
            try exclude(["length", "regex", "iteration", "range"], given: "options")
            guard let values = options.arrayValue else {
                throw DatagenSchemaReader.invalid("options prop must be an array (options read from a file are not supported)")
            }
            guard !values.isEmpty else { throw DatagenSchemaReader.invalid("options prop must not be empty") }
            var converted: [ConnectValue] = []
            for value in values { converted.append(try DatagenOptionValues.value(value, of: type)) }
            hints.options = converted
        }
        if let iteration = self["iteration"] {
            try exclude(["length", "regex", "options", "range"], given: "iteration")
            hints.iteration = try Self.iteration(iteration, kind: type.kind)
        }
        if let range = self["range"] { hints.range = try Self.range(range, type: type) }
        if let length = self["length"] { hints.length = try Self.length(length) }
        if let regex = self["regex"] {
            guard let pattern = regex.stringValue else { throw DatagenSchemaReader.invalid("regex property must be a string") }
            hints.regex = try RegexStringGenerator(pattern)
            // With a regex, a single length is a minimum (avro-random-generator's README).
            if let single = self["length"]?.integerValue {
                hints.length = DatagenHints.LengthBounds(minimum: Int(single), maximum: Int(Int32.max))
            }
        }
        if let prefix = self["prefix"] {
            guard let text = prefix.stringValue else { throw DatagenSchemaReader.invalid("prefix property must be a string") }
            hints.prefix = text
        }
        if let suffix = self["suffix"] {
            guard let text = suffix.stringValue else { throw DatagenSchemaReader.invalid("suffix property must be a string") }
            hints.suffix = text
        }
        if let odds = self["odds"] {
            guard let value = odds.doubleValue, value >= 0, value <= 1 else {
                throw DatagenSchemaReader.invalid("odds property must be in the range [0.0, 1.0]")
            }
            hints.odds = value
        }
        return hints
    }

    private func exclude(_ names: [String], given: String) throws(ConnectError) {
        for name in names where self[name] != nil {
            throw DatagenSchemaReader.invalid("Cannot specify \(name) prop when \(given) prop is given")
        }
    }

    // MARK: iteration

    private static func iteration(_ json: JSONValue, kind: DatagenType.Kind) throws(ConnectError) -> DatagenHints.Iteration {
        guard json.isObject else { throw DatagenSchemaReader.invalid("iteration prop must be an object") }
        switch kind {
        case .boolean:
            guard let start = json["start"] else { throw DatagenSchemaReader.invalid("iteration property must contain start field") }
            guard let flag = start.boolValue else {
                throw DatagenSchemaReader.invalid("start field of iteration property for a boolean schema must be a boolean")
            }
            guard json["restart"] == nil, json["step"] == nil else {
                throw DatagenSchemaReader.invalid("iteration property cannot contain restart or step fields for a boolean schema")
            }
            return .boolean(start: flag)
        case .int, .string:
            return try integral(json, low: Int64(Int32.min), high: Int64(Int32.max), typeName: "int")
        case .long:
            return try integral(json, low: .min, high: .max, typeName: "long")
        case .float:
            return try decimal(json, bound: Double(Float.greatestFiniteMagnitude))
        case .double:
            return try decimal(json, bound: Double.greatestFiniteMagnitude)
        default:
            throw DatagenSchemaReader.invalid("iteration property can only be specified on numeric, boolean or string schemas")
        }
    }

    private static func integral(_ json: JSONValue, low: Int64, high: Int64, typeName: String) throws(ConnectError) -> DatagenHints.Iteration {
        func field(_ name: String) throws(ConnectError) -> Int64? {
            guard let value = json[name] else { return nil }
            guard let number = value.integerValue else {
                throw DatagenSchemaReader.invalid("'\(name)' field of iteration property must be an integral number")
            }
            guard number >= low, number <= high else {
                throw DatagenSchemaReader.invalid("'\(name)' field of iteration property must be a valid \(typeName) for \(typeName) schemas")
            }
            return number
        }
        guard let start = try field("start") else { throw DatagenSchemaReader.invalid("iteration property must contain start field") }
        let restartField = try field("restart")
        let stepField = try field("step")
        var restart = restartField ?? high
        var step = stepField ?? 1
        switch (restartField, stepField) {
        case (nil, nil):
            break
        case let (nil, step?):
            guard step != 0 else { throw DatagenSchemaReader.invalid("step field of iteration property cannot be zero") }
            restart = step > 0 ? high : low
        case let (restart?, nil):
            guard restart != start else { throw DatagenSchemaReader.invalid("start and restart fields of iteration property cannot be equal") }
            step = restart > start ? 1 : -1
        case let (restart?, step?):
            guard step != 0 else { throw DatagenSchemaReader.invalid("step field of iteration property cannot be zero") }
            guard restart != start else { throw DatagenSchemaReader.invalid("start and restart fields of iteration property cannot be equal") }
            guard (restart > start) == (step > 0) else {
                throw DatagenSchemaReader.invalid("step field of iteration property must go from start towards restart")
            }
        }
        return .integral(start: start, restart: restart, step: step, initial: try field("initial") ?? start)
    }

    private static func decimal(_ json: JSONValue, bound: Double) throws(ConnectError) -> DatagenHints.Iteration {
        func field(_ name: String) throws(ConnectError) -> Double? {
            guard let value = json[name] else { return nil }
            guard let number = value.doubleValue, abs(number) <= bound else {
                throw DatagenSchemaReader.invalid("'\(name)' field of iteration property must be a number in the type's range")
            }
            return number
        }
        guard let start = try field("start") else { throw DatagenSchemaReader.invalid("iteration property must contain start field") }
        let restartField = try field("restart")
        var step = try field("step") ?? 1
        var restart = restartField ?? bound
        if restartField == nil {
            guard step != 0 else { throw DatagenSchemaReader.invalid("step field of iteration property cannot be zero") }
            restart = step > 0 ? bound : -bound
        } else if json["step"] == nil {
            guard restart != start else { throw DatagenSchemaReader.invalid("start and restart fields of iteration property cannot be equal") }
            step = restart > start ? 1 : -1
        } else {
            guard step != 0, restart != start, (restart > start) == (step > 0) else {
                throw DatagenSchemaReader.invalid("step field of iteration property must be non-zero and go from start towards restart")
            }
        }
        return .decimal(start: start, restart: restart, step: step, initial: try field("initial") ?? start)
    }

    // MARK: range and length

    private static func range(_ json: JSONValue, type: DatagenType) throws(ConnectError) -> DatagenHints.NumericRange {
        guard json.isObject else { throw DatagenSchemaReader.invalid("range property must be an object") }
        guard json["min"] != nil || json["max"] != nil else {
            throw DatagenSchemaReader.invalid("range property must contain at least one of 'min' or 'max' fields")
        }
        let range: DatagenHints.NumericRange
        switch (type.kind, type.logical) {
        case (.int, _):
            range = try integralRange(json, low: Int64(Int32.min), high: Int64(Int32.max), typeName: "int")
        case (.long, _):
            range = try integralRange(json, low: .min, high: .max, typeName: "long")
        case (.float, _):
            range = try decimalRange(json, bound: Double(Float.greatestFiniteMagnitude))
        case (.double, _), (.bytes, .decimal?):
            range = try decimalRange(json, bound: Double.greatestFiniteMagnitude)
        default:
            throw DatagenSchemaReader.invalid("range property can only be specified on numeric schemas")
        }
        switch range {
        case let .integral(minimum, maximum) where minimum >= maximum:
            throw DatagenSchemaReader.invalid("'min' field must be strictly less than 'max' field in range property")
        case let .decimal(minimum, maximum) where !(minimum < maximum):
            throw DatagenSchemaReader.invalid("'min' field must be strictly less than 'max' field in range property")
        default:
            return range
        }
    }

    private static func integralRange(_ json: JSONValue, low: Int64, high: Int64, typeName: String) throws(ConnectError) -> DatagenHints.NumericRange {
        func field(_ name: String, default defaultValue: Int64) throws(ConnectError) -> Int64 {
            guard let value = json[name] else { return defaultValue }
            guard let number = value.integerValue, number >= low, number <= high else {
                throw DatagenSchemaReader.invalid("'\(name)' field of range property must be a valid \(typeName) for \(typeName) schemas")
            }
            return number
        }
        return .integral(minimum: try field("min", default: low), maximum: try field("max", default: high))
    }

    private static func decimalRange(_ json: JSONValue, bound: Double) throws(ConnectError) -> DatagenHints.NumericRange {
        func field(_ name: String, default defaultValue: Double) throws(ConnectError) -> Double {
            guard let value = json[name] else { return defaultValue }
            guard let number = value.doubleValue, abs(number) <= bound else {
                throw DatagenSchemaReader.invalid("'\(name)' field of range property must be a number in the type's range")
            }
            return number
        }
        return .decimal(minimum: try field("min", default: -bound), maximum: try field("max", default: bound))
    }

    private static func length(_ json: JSONValue) throws(ConnectError) -> DatagenHints.LengthBounds {
        if let exact = json.integerValue {
            guard exact >= 0, exact < Int32.max else { throw DatagenSchemaReader.invalid("when given as integral number, length property cannot be negative") }
            return DatagenHints.LengthBounds(minimum: Int(exact), maximum: Int(exact) + 1)
        }
        guard json.isObject else {
            throw DatagenSchemaReader.invalid("length property must either be an integral number or an object")
        }
        guard json["min"] != nil || json["max"] != nil else {
            throw DatagenSchemaReader.invalid("length property must contain at least one of 'min' or 'max' fields when given as object")
        }
        func field(_ name: String, default defaultValue: Int64) throws(ConnectError) -> Int64 {
            guard let value = json[name] else { return defaultValue }
            guard let number = value.integerValue, number >= 0, number <= Int64(Int32.max) else {
                throw DatagenSchemaReader.invalid("\(name) field of length property must be a non-negative int")
            }
            return number
        }
        let minimum = try field("min", default: 0)
        let maximum = try field("max", default: Int64(Int32.max))
        guard maximum > minimum else { throw DatagenSchemaReader.invalid("max field must be strictly greater than min field for length property") }
        return DatagenHints.LengthBounds(minimum: Int(minimum), maximum: Int(maximum))
    }
}
