/// A line chart drawn as SVG in Swift (no JavaScript library): series of (time, value) points against a shared time
/// axis, the value axis from zero to a rounded maximum, labels escaped. Styled by the page's CSS classes (`chart`,
/// `axis`, `label`, `series-N`), so it follows the theme.
struct SVGChart {
    struct Series {
        var name: String
        /// (seconds since the epoch, value), in time order.
        var points: [(time: Double, value: Double)]
    }

    var width = 900.0
    var height = 240.0
    var unit = ""
    /// Shown when no series has two points.
    var emptyText = "Collecting data: the chart fills in as samples arrive."

    private let left = 64.0, right = 16.0, top = 12.0, bottom = 28.0

    func render(_ series: [Series]) -> String {
        var svg = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\""
        svg += " aria-label=\"\(Self.escape(series.map(\.name).joined(separator: ", ")))\">"
        let drawn = series.filter { $0.points.count >= 2 }
        let times = drawn.flatMap { $0.points.map(\.time) }
        guard let start = times.min(), let end = times.max(), end > start else {
            svg += "<text class=\"label\" x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\">\(Self.escape(emptyText))</text></svg>"
            return svg
        }
        let peak = Self.niceCeiling(drawn.flatMap { $0.points.map(\.value) }.max() ?? 0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func x(_ time: Double) -> Double { left + (time - start) / (end - start) * plotWidth }
        func y(_ value: Double) -> Double { top + plotHeight - (peak > 0 ? value / peak : 0) * plotHeight }
        // Axes and three value gridlines.
        for step in 0...2 {
            let value = peak * Double(step) / 2
            let position = Self.format(y(value))
            svg += "<line class=\"axis\" x1=\"\(Int(left))\" x2=\"\(Int(width - right))\" y1=\"\(position)\" y2=\"\(position)\"/>"
            svg += "<text class=\"label\" x=\"\(Int(left - 6))\" y=\"\(position)\" text-anchor=\"end\" dominant-baseline=\"middle\">"
            svg += "\(Self.escape(Self.compact(value) + unit))</text>"
        }
        svg += "<text class=\"label\" x=\"\(Int(left))\" y=\"\(Int(height - 8))\">\(Self.escape(Self.clock(start)))</text>"
        svg += "<text class=\"label\" x=\"\(Int(width - right))\" y=\"\(Int(height - 8))\" text-anchor=\"end\">\(Self.escape(Self.clock(end)))</text>"
        for (index, line) in drawn.prefix(4).enumerated() {
            let points = line.points.map { "\(Self.format(x($0.time))),\(Self.format(y($0.value)))" }.joined(separator: " ")
            svg += "<polyline class=\"series-\(index)\" points=\"\(points)\"><title>\(Self.escape(line.name))</title></polyline>"
        }
        if drawn.count > 1 {
            for (index, line) in drawn.prefix(4).enumerated() {
                let legendX = Int(left) + 8 + index * 180
                svg += "<text class=\"label series-label\" x=\"\(legendX)\" y=\"\(Int(top + 10))\">■ \(Self.escape(line.name))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `value` (1 for zero).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where magnitude * factor >= value { return magnitude * factor }
        return magnitude * 10
    }

    /// 1.5k, 2M: a value axis label.
    static func compact(_ value: Double) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (size, suffix) in units where abs(value) >= size { return format(value / size, digits: 1) + suffix }
        return format(value, digits: value == value.rounded() ? 0 : 1)
    }

    /// HH:MM:SS in UTC.
    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds) % 86_400
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(total / 3600)):\(two(total / 60 % 60)):\(two(total % 60)) UTC"
    }

    static func format(_ value: Double, digits: Int = 1) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if digits == 0 || rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }

    /// Labels are escaped as the templates escape what they show.
    static func escape(_ text: String) -> String { FastHTMLContentType.escape(text) }
}
