import SchemaRegistry

/// The schemas of the built-in quickstarts (see `DatagenQuickstart`).
enum QuickstartSchemas {
    private typealias A = AvroJSON

    /// ksql's tutorial timestamps: between 2017-02-21 and 2018-02-22.
    private static let tutorialTime = A.Hint.range(1_487_715_775_521, 1_519_273_364_600)

    static func users(withInterests: Bool) -> JSONValue {
        var fields = [
            A.field("registertime", A.type("long", tutorialTime)),
            A.field("userid", A.type("string", .regex("User_[1-9]"))),
            A.field("regionid", A.type("string", .regex("Region_[1-9]"))),
            A.field("gender", A.type("string", .options(["MALE", "FEMALE", "OTHER"]))),
        ]
        if withInterests {
            let interests: [[String]] = [["Game", "News"], ["Game", "Sport"], ["News", "Movies"], ["News", "Travel"]]
            fields.append(A.field("interests", .object([
                ("type", .string("array")), ("items", .string("string")),
                ("arg.properties", .object([("options", .array(interests.map { .array($0.map { .string($0) }) }))])),
            ])))
            let contacts: [(String, String, String)] = [
                ("6503349999", "San Mateo", "94403"), ("9492229999", "Irvine", "92617"), ("6503889999", "Palo Alto", "94301"),
                ("4083366881", "San Jose", "95112"), ("6502215368", "San Carlos", "94070"),
            ]
            fields.append(A.field("contactinfo", .object([
                ("type", .string("map")), ("values", .string("string")),
                ("arg.properties", .object([("options", .array(contacts.map { phone, city, zipcode in
                    .object([("phone", .string(phone)), ("city", .string(city)), ("state", .string("CA")), ("zipcode", .string(zipcode))])
                }))])),
            ])))
        }
        return A.record("users", namespace: "ksql", fields)
    }

    static let pageviews = A.record("pageviews", namespace: "ksql", [
        A.field("viewtime", A.type("long", .iteration(start: 1, step: 10), extra: [("format_as_time", .string("unix_long"))])),
        A.field("userid", A.type("string", .regex("User_[1-9]"))),
        A.field("pageid", A.type("string", .regex("Page_[1-9][0-9]"))),
    ])

    static let orders = A.record("orders", namespace: "ksql", [
        A.field("ordertime", A.type("long", tutorialTime)),
        A.field("orderid", A.type("int", .iteration(start: 0))),
        A.field("itemid", A.type("string", .regex("Item_[1-9][0-9]{0,2}"))),
        A.field("orderunits", A.type("double", .decimalRange(0.1, 10.0))),
        A.field("address", A.record("address", [
            A.field("city", A.type("string", .regex("City_[1-9]{0,2}"))),
            A.field("state", A.type("string", .regex("State_[1-9]{0,2}"))),
            A.field("zipcode", A.type("long", .range(10000, 99999))),
        ])),
    ])

    static let ratings = A.record("ratings", namespace: "ksql", [
        A.field("rating_id", A.type("long", .iteration(start: 1))),
        A.field("user_id", A.type("int", .range(-1, 20))),
        A.field("stars", A.type("int", .range(1, 5))),
        A.field("route_id", A.type("int", .range(1, 9999))),
        A.field("rating_time", A.type("long", .iteration(start: 1, step: 12), extra: [("format_as_time", .string("unix_long"))])),
        A.field("channel", A.type("string", .options(["web", "iOS", "ios", "iOS-test", "android"]))),
        A.field("message", A.type("string", .options([
            "worst. flight. ever. #neveragain",
            "Surprisingly good, maybe you are getting your mojo back at long last!",
            "Exceeded all my expectations. Thank you !",
            "meh",
            "(expletive deleted)",
            "is this as good as it gets? really ?",
            "airport refurb looks great, will fly outta here more!",
            "why is it so difficult to keep the bathrooms clean ?",
            "thank you for the most friendly, helpful experience today at your new lounge",
            "more peanuts please",
            "your team here rocks!",
        ]))),
    ])

    static let clickstreamCodes = A.record("codes", namespace: "clickstream", [
        A.field("code", .string("int")), A.field("definition", .string("string")),
    ], options: [
        (200, "Successful"), (302, "Redirect"), (404, "Page not found"), (405, "Method not allowed"),
        (406, "Not acceptable"), (407, "Proxy authentication required"),
    ].map { code, definition in A.object(("code", .integer(code)), ("definition", .string(definition))) })

    /// Ten hosts in each of four networks; some addresses repeat, as in Confluent's list, which weights them.
    private static let clickstreamAddresses: [String] = {
        let hosts = ["152.45.45", "203.236.146", "168.57.122", "249.79.93", "168.57.122", "90.225.227", "173.165.103",
                     "145.8.144", "245.174.248"]
        var addresses: [String] = []
        addresses += hosts.map { "111.\($0)" } + ["111.245.174.111"]
        addresses += hosts.map { "222.\($0)" } + ["222.245.174.222"]
        addresses += ["122.152.45.245", "122.203.236.246", "122.168.57.222", "122.249.79.233", "122.168.57.222",
                      "122.90.225.227", "122.173.165.203", "122.145.8.244", "122.245.174.248", "122.245.174.122"]
        addresses += ["233.152.245.45", "233.203.236.146", "233.168.257.122", "233.249.279.93", "233.168.257.122",
                      "233.90.225.227", "233.173.215.103", "233.145.28.144", "233.245.174.248", "233.245.174.233"]
        return addresses
    }()

    static let clickstream = A.record("events", namespace: "clickstream", [
        A.field("ip", A.type("string", .options(clickstreamAddresses), extra: [("session", .string("true"))])),
        A.field("userid", A.type("int", .range(-1, 40), extra: [("session-sibling-int-hash", .string("true"))])),
        A.field("remote_user", A.type("string", .options(["-"]))),
        A.field("time", A.type("string", .iteration(start: 1, step: 10), extra: [("format_as_time", .string("dd/MMM/yyyy:HH:mm:ss Z"))])),
        A.field("_time", A.type("long", .iteration(start: 1, step: 10), extra: [("format_as_time", .string("unix_long"))])),
        A.field("request", A.type("string", .options([
            "GET /index.html HTTP/1.1", "GET /site/user_status.html HTTP/1.1", "GET /site/login.html HTTP/1.1",
            "GET /site/user_status.html HTTP/1.1", "GET /images/track.png HTTP/1.1", "GET /images/logo-small.png HTTP/1.1",
        ]))),
        A.field("status", A.type("string", .options(["200", "302", "404", "405", "406", "407"]))),
        A.field("bytes", A.type("string", .options(["278", "1289", "2048", "4096", "4006", "4196", "14096"]))),
        A.field("referrer", A.type("string", .options(["-"]))),
        A.field("agent", A.type("string", .options([
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36",
        ]))),
    ])

    static let clickstreamUsers = A.record("users", namespace: "clickstream", [
        A.field("user_id", A.type("int", .iteration(start: 1))),
        A.field("username", A.type("string", .options([
            "akatz1022", "bobk_43", "alison_99", "k_robertz_88", "Ferd88", "Reeva43", "Antonio_0966", "ArlyneW8ter",
            "DimitriSchenz88", "Oriana_70", "AbdelKable_86", "Roberto_123", "AlanGreta_GG66", "Nathan_126",
            "AndySims_345324", "GlenAlan_23344", "LukeWaters_23", "BenSteins_235",
        ]))),
        A.field("registered_at", A.type("long", .range(1_407_645_330_000, 1_502_339_792_000))),
        A.field("first_name", A.type("string", .options([
            "Elwyn", "Curran", "Hanson", "Woodrow", "Ferd", "Reeva", "Antonio", "Arlyne", "Dimitri", "Oriana", "Abdel", "Greta",
        ]))),
        A.field("last_name", A.type("string", .options([
            "Vanyard", "Vears", "Garrity", "Trice", "Tomini", "Jushcke", "De Banke", "Pask", "Rockhill", "Romagosa",
            "Adicot", "Lalonde",
        ]))),
        A.field("city", A.type("string", .options(["Palo Alto", "San Francisco", "Raleigh", "London", "Frankfurt", "New York"]))),
        A.field("level", A.type("string", .options(["Gold", "Silver", "Platinum"]))),
    ])

    static let stockTrades = A.record("StockTrade", namespace: "ksql",
                                      doc: "Defines a hypothetical stock trade using some known test stock symbols.", [
        A.field("side", A.type("string", .options(["BUY", "SELL"])), doc: "A simulated trade side (buy or sell or short)"),
        A.field("quantity", A.type("int", .range(1, 5000)), doc: "A simulated random quantity of the trade"),
        A.field("symbol", A.type("string", .options(["ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"])),
                doc: "Simulated stock symbols"),
        A.field("price", A.type("int", .range(5, 1000)), doc: "A simulated random trade price in pennies"),
        A.field("account", A.type("string", .options(["ABC123", "LMN456", "XYZ789"])), doc: "Simulated accounts assigned to the trade"),
        A.field("userid", A.type("string", .regex("User_[1-9]")), doc: "The simulated user who executed the trade"),
    ])

    static let inventory = A.record("inventory", namespace: "ksql", [
        A.field("id", A.type("long", .iteration(start: 0))),
        A.field("quantity", A.type("long", .iteration(start: 0))),
        A.field("productid", A.type("long", .iteration(start: 0))),
    ])

    static let product = A.record("product", namespace: "ksql", [
        A.field("id", A.type("long", .iteration(start: 0))),
        A.field("name", A.type("string", .iteration(start: 0))),
        A.field("description", A.type("string", .iteration(start: 0))),
        A.field("price", A.type("double", .iteration(start: 0))),
    ])

    static let purchases = A.record("purchase", namespace: "datagen.example", [
        A.field("id", A.type("long", .iteration(start: 0))),
        A.field("item_type", A.type("string", .options([
            "boots", "shirt", "knife", "saucepan", "table", "chair", "clock", "frame", "guitar", "thermometer", "scarf",
            "doormat", "vase", "clippers", "game", "towels",
        ]))),
        A.field("quantity", A.type("long", .range(1, 10))),
        A.field("price_per_unit", A.type("bytes", .decimalRange(10.0, 50.0),
                                         extra: [("logicalType", .string("decimal")), ("precision", .integer(4)), ("scale", .integer(2))])),
    ])

    static let transactions = A.record("transactions", namespace: "datagen.example", [
        A.field("transaction_id", A.type("long", .iteration(start: 1))),
        A.field("card_id", A.type("long", .range(1, 24))),
        A.field("user_id", A.type("string", .regex("User_[1-9]{0,1}"))),
        A.field("purchase_id", A.type("long", .iteration(start: 0))),
        A.field("store_id", A.type("int", .range(1, 7))),
    ])

    static let stores = A.record("stores", namespace: "datagen.example", [
        A.field("store_id", .string("int")), A.field("city", .string("string")), A.field("state", .string("string")),
    ], options: [
        ("Raleigh", "NC"), ("Chicago", "IL"), ("Sacramento", "CA"), ("Austin", "TX"), ("Boston", "MA"), ("Atlanta", "GA"),
        ("Lexington", "SC"),
    ].enumerated().map { index, place in
        A.object(("store_id", .integer(index + 1)), ("city", .string(place.0)), ("state", .string(place.1)))
    })

    static let creditCards = A.record("users", namespace: "datagen.example", [
        A.field("card_id", .string("int")), A.field("card_number", .string("long")), A.field("cvv", .string("int")), A.field("expiration_date", .string("string")),
    ], options: [
        (6_011_601_160_116_611, 832, "12/27"), (6_011_111_111_111_117, 833, "12/26"), (6_011_000_990_139_424, 348, "12/27"),
        (3_530_111_333_300_000, 288, "11/27"), (3_566_002_020_360_505, 558, "11/27"), (5_431_111_111_111_111, 383, "11/26"),
        (5_555_555_555_554_444, 273, "10/27"), (5_105_105_105_105_100, 663, "10/27"), (4_111_111_111_111_111, 822, "10/26"),
        (4_242_424_242_424_242, 190, "09/27"), (4_000_056_655_665_556, 729, "09/26"), (5_555_555_555_554_444, 289, "08/27"),
        (2_223_003_122_003_222, 115, "08/26"), (5_200_828_282_828_210, 927, "08/27"), (5_105_105_105_105_100, 329, "07/27"),
        (6_200_000_000_000_005, 727, "06/27"), (3_056_930_009_020_004, 563, "05/27"), (4_000_000_760_000_002, 922, "04/27"),
        (4_000_001_240_000_000, 293, "03/27"), (4_000_004_840_008_001, 779, "02/27"), (4_000_002_500_003_155, 443, "02/26"),
        (4_000_002_760_003_184, 487, "06/27"), (4_000_008_260_003_178, 663, "01/26"), (4_000_008_260_003_179, 723, "01/26"),
    ].enumerated().map { index, card in
        A.object(("card_id", .integer(index + 1)), ("card_number", .integer(Int64(card.0))), ("cvv", .integer(card.1)),
                 ("expiration_date", .string(card.2)))
    })

    static let campaignFinance = A.record("campaign_finance", namespace: "datagen", [
        A.field("time", A.type("long", .range(1_587_715_775_521, 1_619_273_364_600))),
        A.field("candidate_id", A.type("string", .regex("[A-Z][1-9]{8,8}"))),
        A.field("party_affiliation", A.type("string", .options(["REP", "DEM", "IND"]))),
        A.field("contribution", A.type("int", .range(20, 3500))),
    ])

    /// Confluent's file puts its list of coordinates on the field, where the generator does not look, so the
    /// coordinates are random doubles in [0, 1), as Confluent's connector produces them.
    static let fleetManagementLocation = A.record("fleet_mgmt_location", namespace: "fleet_mgmt", [
        A.field("vehicle_id", A.type("int", .range(1000, 9999))),
        A.field("location", A.record("location", [A.field("latitude", .string("double")), A.field("longitude", .string("double"))])),
        A.field("ts", A.type("long", .iteration(start: 1_609_459_200_000, step: 100_000), extra: [("logicalType", .string("timestamp-millis"))])),
    ])

    static let fleetManagementSensors = A.record("fleet_mgmt_sensors", namespace: "fleet_mgmt", [
        A.field("vehicle_id", A.type("int", .range(1000, 9999))),
        A.field("engine_temperature", A.type("int", .range(150, 250))),
        A.field("average_rpm", A.type("int", .range(1800, 5000))),
    ])

    private static let dateField = A.type("int", .range(18000, 19000), extra: [("logicalType", .string("date"))])

    static let pizzaOrders = A.record("pizza_orders", namespace: "pizza_orders", [
        A.field("store_id", A.type("int", .range(1, 10))),
        A.field("store_order_id", A.type("int", .iteration(start: 1000, step: 1))),
        A.field("coupon_code", A.type("int", .range(1000, 2000))),
        A.field("date", dateField),
        A.field("status", A.type("string", .options(["accepted"]))),
        A.field("order_lines", .object([
            ("type", .string("array")),
            ("items", A.record("order_line", [
                A.field("product_id", .string("int")), A.field("category", .string("string")), A.field("quantity", .string("int")),
                A.field("unit_price", .string("double")), A.field("net_price", .string("double")),
            ], options: PizzaOrderLines.options)),
            ("arg.properties", .object([A.Hint.length(min: 1, max: 5).member])),
        ])),
    ])

    static let pizzaOrdersCompleted = A.record("pizza_orders_completed", namespace: "pizza_orders", [
        A.field("store_id", A.type("int", .range(1, 10))),
        A.field("store_order_id", A.type("int", .iteration(start: 1000, step: 2))),
        A.field("date", dateField),
        A.field("status", A.type("string", .options(["completed"]))),
        A.field("rack_time_secs", A.type("int", .range(130, 230))),
        A.field("order_delivery_time_secs", A.type("int", .range(1100, 2000))),
    ])

    static let pizzaOrdersCancelled = A.record("pizza_orders_cancelled", namespace: "pizza_orders", [
        A.field("store_id", A.type("int", .range(1, 10))),
        A.field("store_order_id", A.type("int", .iteration(start: 1001, step: 2))),
        A.field("date", dateField),
        A.field("status", A.type("string", .options(["cancelled"]))),
    ])

    static let insuranceOffers = A.record("insurance_offers", namespace: "insurance", [
        A.field("offer_id", .string("int")), A.field("offer_name", .string("string")), A.field("offer_url", .string("string")),
    ], options: [
        ("new_home_policy", "http://privacy.gov.au/in/faucibus/orci/luctus.js"),
        ("new_auto_policy", "https://reddit.com/id.html"),
        ("discount_existing", "https://cbc.ca/dui/proin/leo/odio/porttitor/id.aspx"),
        ("safe_driver_program", "http://seattletimes.com/ante/vel/ipsum/praesent.json"),
        ("no_offer", "https://sciencedaily.com/ante.aspx"),
    ].enumerated().map { index, offer in
        A.object(("offer_id", .integer(index + 1)), ("offer_name", .string(offer.0)), ("offer_url", .string(offer.1)))
    })

    static let gamingGames = A.record("gaming_games", namespace: "gaming", [
        A.field("id", A.type("int", .range(1000, 5000))),
        A.field("room_name", A.type("string", .options(["Arcade", "Survival", "Classic"].flatMap { mode in
            ["Rookie", "Skilled", "Expert"].map { "\(mode) -- \($0)" }
        }))),
        A.field("created_date", A.type("long", .iteration(start: 1_609_459_200_000, step: 100_000),
                                       extra: [("logicalType", .string("timestamp-millis"))])),
    ])

    static let gamingPlayerActivity = A.record("gaming_player_activity", namespace: "gaming", [
        A.field("player_id", A.type("int", .range(1001, 1101))),
        A.field("game_room_id", A.type("int", .range(1000, 5000))),
        A.field("points", A.type("int", .range(10, 500))),
        A.field("coordinates", A.type("string", .regex("\\[[0-9][0-9],[0-9][0-9]\\]"))),
    ])

    static let payrollBonus = A.record("payroll_bonus", namespace: "payroll", [
        A.field("employee_id", A.type("int", .range(1000, 1100))),
        A.field("bonus", A.type("int", .range(10, 50))),
        A.field("ts", A.type("long", .range(1_609_459_200_000, 1_640_995_199_000), extra: [("logicalType", .string("timestamp-millis"))])),
    ])

    static let payrollEmployeeLocation = A.record("payroll_employee_location", namespace: "payroll", [
        A.field("employee_id", A.type("int", .range(1000, 1100))),
        A.field("lab", A.type("string", .regex("lab-\\d{1}"))),
        A.field("department_id", A.type("int", .range(1, 10))),
        A.field("arrival_date", dateField),
    ])
}

/// The hundred order lines the pizza_orders quickstart draws from: product id, category, quantity and unit price
/// (the net price is quantity × unit price).
enum PizzaOrderLines {
    private static let table = """
        66 c 4 18.78|71 s 4 4.9|79 p 3 19.61|38 c 2 13.05|26 c 1 17.37|66 c 3 24.63|62 d 3 21.14|68 s 3 21.13|72 s 2 8.46|\
        55 c 2 3.6|77 p 4 19.01|60 p 3 1.49|8 d 3 23.33|91 c 4 11.24|78 p 2 11.45|27 d 3 22.02|58 s 1 9.88|9 d 4 24.69|\
        77 s 1 12.62|27 w 3 2.21|4 c 1 19.04|48 c 1 16.38|26 d 5 9.24|75 p 5 16.09|33 s 3 10.88|45 c 5 22.64|65 d 5 2.63|\
        52 w 1 5.68|23 p 3 5.49|67 d 1 3.02|71 d 4 16.69|69 s 3 17.07|41 p 4 11.55|44 w 2 6.59|66 w 2 16.54|8 c 5 12.07|\
        43 s 5 13.9|13 c 5 20.3|65 s 5 16.61|48 d 1 4.18|59 c 3 5.74|42 c 1 15.65|22 c 5 2.79|47 p 2 15.35|72 s 5 24.97|\
        60 s 1 2.85|58 d 1 1.24|88 c 4 24.0|98 w 1 6.66|37 p 3 14.62|37 c 3 14.21|54 w 1 18.88|52 w 3 9.47|80 w 1 13.39|\
        6 p 3 13.64|95 w 1 24.9|60 p 5 7.63|81 w 4 20.31|42 d 1 6.61|6 s 4 7.66|36 c 4 3.23|27 c 1 8.64|97 s 5 6.33|\
        95 s 4 14.89|89 p 1 8.81|97 d 3 16.03|25 s 4 3.17|42 w 2 5.47|7 s 2 18.25|4 w 4 16.46|78 c 1 2.15|71 c 1 22.3|\
        80 d 5 12.69|83 s 1 1.66|44 d 4 18.18|43 c 4 2.01|91 c 3 13.06|55 w 2 22.1|88 w 1 5.33|10 d 2 8.68|76 s 2 1.39|\
        13 s 5 17.69|27 s 4 9.22|94 w 3 7.16|89 d 1 20.2|4 w 4 3.52|97 d 4 6.62|57 d 2 20.44|6 d 4 10.59|86 s 3 24.6|\
        85 s 3 11.83|95 w 3 15.27|18 c 3 11.25|85 w 3 13.53|13 w 4 16.58|12 s 5 9.19|21 p 1 13.65|14 d 2 18.32|\
        7 c 5 23.88|71 p 1 22.52
        """

    private static let categories: [String: String] = ["c": "calzone", "s": "salad", "p": "pizza", "d": "dessert", "w": "wings"]

    static let options: [JSONValue] = table.split(separator: "|").compactMap { line in
        let parts = line.split(separator: " ")
        guard parts.count == 4, let product = Int64(parts[0]), let category = categories[String(parts[1])],
              let quantity = Int64(parts[2]), let unitPrice = Double(parts[3]) else { return nil }
        let netPrice = (Double(quantity) * unitPrice * 100).rounded() / 100
        return AvroJSON.object(("product_id", .integer(product)), ("category", .string(category)), ("quantity", .integer(quantity)),
                               ("unit_price", AvroJSON.number(unitPrice)), ("net_price", AvroJSON.number(netPrice)))
    }
}
