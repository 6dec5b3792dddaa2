import SchemaRegistry

/// The bundled schemas of Confluent's kafka-connect-datagen (`quickstart`), written here in Swift: the same record
/// names, fields, types, hints and value domains a user of Confluent's connector sees, and the same key fields.
enum DatagenQuickstart: String, CaseIterable, Sendable {
    case clickstreamCodes = "clickstream_codes"
    case clickstream
    case clickstreamUsers = "clickstream_users"
    case orders
    case ratings
    case users
    case usersArrayMap = "users_"
    case pageviews
    case stockTrades = "stock_trades"
    case inventory
    case product
    case purchases
    case transactions
    case stores
    case creditCards = "credit_cards"
    case campaignFinance = "campaign_finance"
    case fleetManagementLocation = "fleet_mgmt_location"
    case fleetManagementSensors = "fleet_mgmt_sensors"
    case pizzaOrders = "pizza_orders"
    case pizzaOrdersCompleted = "pizza_orders_completed"
    case pizzaOrdersCancelled = "pizza_orders_cancelled"
    case insuranceOffers = "insurance_offers"
    case gamingGames = "gaming_games"
    case gamingPlayerActivity = "gaming_player_activity"
    case payrollBonus = "payroll_bonus"
    case payrollEmployeeLocation = "payroll_employee_location"

    /// Confluent's quickstarts whose schemas (mostly long lists of sample values) are not built in; their schema
    /// files work through `schema.filename`.
    static let notBuiltIn = [
        "fleet_mgmt_description", "insurance_customers", "insurance_customer_activity", "gaming_players",
        "payroll_employee", "syslog_logs", "device_information", "siem_logs", "shoes", "shoe_customers",
        "shoe_orders", "shoe_clickstream",
    ]

    /// The quickstart a configuration names (case-insensitive, as Confluent's upper-cases it).
    static func named(_ name: String) throws(ConnectError) -> DatagenQuickstart {
        if let quickstart = DatagenQuickstart(rawValue: name.lowercased()) { return quickstart }
        if notBuiltIn.contains(name.lowercased()) {
            throw .config(name: "quickstart", message: "the quickstart \(name) is not built into Vltava; give its schema file "
                + "(from kafka-connect-datagen's src/main/resources) as schema.filename, with schema.keyfield")
        }
        throw .config(name: "quickstart", message: "quickstart must be one out of \(allCases.map(\.rawValue).joined(separator: ","))")
    }

    /// The field whose value becomes the record key when `schema.keyfield` is not set.
    var keyField: String {
        switch self {
        case .clickstreamCodes: return "code"
        case .clickstream: return "ip"
        case .clickstreamUsers: return "user_id"
        case .orders: return "orderid"
        case .ratings: return "rating_id"
        case .users, .usersArrayMap: return "userid"
        case .pageviews: return "viewtime"
        case .stockTrades: return "symbol"
        case .inventory, .product, .purchases, .gamingGames: return "id"
        case .transactions: return "transaction_id"
        case .stores, .pizzaOrders, .pizzaOrdersCompleted, .pizzaOrdersCancelled: return "store_id"
        case .creditCards: return "card_id"
        case .campaignFinance: return "candidate_id"
        case .fleetManagementLocation, .fleetManagementSensors: return "vehicle_id"
        case .insuranceOffers: return "offer_id"
        case .gamingPlayerActivity: return "player_id"
        case .payrollBonus, .payrollEmployeeLocation: return "employee_id"
        }
    }

    /// The Avro schema, as JSON.
    var schema: JSONValue {
        switch self {
        case .clickstreamCodes: return QuickstartSchemas.clickstreamCodes
        case .clickstream: return QuickstartSchemas.clickstream
        case .clickstreamUsers: return QuickstartSchemas.clickstreamUsers
        case .orders: return QuickstartSchemas.orders
        case .ratings: return QuickstartSchemas.ratings
        case .users: return QuickstartSchemas.users(withInterests: false)
        case .usersArrayMap: return QuickstartSchemas.users(withInterests: true)
        case .pageviews: return QuickstartSchemas.pageviews
        case .stockTrades: return QuickstartSchemas.stockTrades
        case .inventory: return QuickstartSchemas.inventory
        case .product: return QuickstartSchemas.product
        case .purchases: return QuickstartSchemas.purchases
        case .transactions: return QuickstartSchemas.transactions
        case .stores: return QuickstartSchemas.stores
        case .creditCards: return QuickstartSchemas.creditCards
        case .campaignFinance: return QuickstartSchemas.campaignFinance
        case .fleetManagementLocation: return QuickstartSchemas.fleetManagementLocation
        case .fleetManagementSensors: return QuickstartSchemas.fleetManagementSensors
        case .pizzaOrders: return QuickstartSchemas.pizzaOrders
        case .pizzaOrdersCompleted: return QuickstartSchemas.pizzaOrdersCompleted
        case .pizzaOrdersCancelled: return QuickstartSchemas.pizzaOrdersCancelled
        case .insuranceOffers: return QuickstartSchemas.insuranceOffers
        case .gamingGames: return QuickstartSchemas.gamingGames
        case .gamingPlayerActivity: return QuickstartSchemas.gamingPlayerActivity
        case .payrollBonus: return QuickstartSchemas.payrollBonus
        case .payrollEmployeeLocation: return QuickstartSchemas.payrollEmployeeLocation
        }
    }
}

/// A small vocabulary for writing Avro schemas with avro-random-generator's hints as JSON values.
enum AvroJSON {
    /// One hint of `arg.properties`.
    enum Hint {
        case range(Int64, Int64)
        case decimalRange(Double, Double)
        case regex(String)
        case options([String])
        case values([JSONValue])
        case iteration(start: Int64, step: Int64? = nil)
        case length(min: Int, max: Int)

        var member: (String, JSONValue) {
            switch self {
            case let .range(low, high): return ("range", .object([("min", .integer(low)), ("max", .integer(high))]))
            case let .decimalRange(low, high): return ("range", .object([("min", number(low)), ("max", number(high))]))
            case let .regex(pattern): return ("regex", .string(pattern))
            case let .options(texts): return ("options", .array(texts.map { .string($0) }))
            case let .values(values): return ("options", .array(values))
            case let .iteration(start, step):
                var members: [(String, JSONValue)] = [("start", .integer(start))]
                if let step { members.append(("step", .integer(step))) }
                return ("iteration", .object(members))
            case let .length(low, high): return ("length", .object([("min", .integer(low)), ("max", .integer(high))]))
            }
        }
    }

    static func number(_ value: Double) -> JSONValue { .number(String(value)) }

    /// A primitive type with hints (and a logical type, or other members such as a decimal's precision).
    static func type(_ name: String, _ hints: Hint..., extra: [(String, JSONValue)] = []) -> JSONValue {
        var members: [(String, JSONValue)] = [("type", .string(name))]
        members += extra
        if !hints.isEmpty { members.append(("arg.properties", .object(hints.map(\.member)))) }
        return .object(members)
    }

    static func field(_ name: String, _ type: JSONValue, doc: String? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(name)), ("type", type)]
        if let doc { members.append(("doc", .string(doc))) }
        return .object(members)
    }

    /// A field of a primitive type without hints.
    static func field(_ name: String, _ primitive: String) -> JSONValue { field(name, .string(primitive)) }

    static func record(_ name: String, namespace: String? = nil, doc: String? = nil, _ fields: [JSONValue],
                       options: [JSONValue]? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if let namespace { members.append(("namespace", .string(namespace))) }
        members += [("name", .string(name)), ("type", .string("record"))]
        if let doc { members.append(("doc", .string(doc))) }
        members.append(("fields", .array(fields)))
        if let options { members.append(("arg.properties", .object([("options", .array(options))]))) }
        return .object(members)
    }

    /// A record value for `options`.
    static func object(_ members: (String, JSONValue)...) -> JSONValue { .object(members) }
}
