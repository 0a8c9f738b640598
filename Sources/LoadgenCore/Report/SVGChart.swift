import Foundation

/// A line chart drawn as inline SVG: x axis, a left y axis and optionally a right one, series (lines and/or
/// markers, gaps where a value is missing), horizontal or vertical reference lines, shaded x ranges, a legend,
/// and `<title>` tooltips. Every text is escaped.
public struct SVGChart: Sendable, Equatable {
    /// Which y axis a series or reference line belongs to.
    public enum Side: Sendable, Equatable {
        /// The left axis (`y`).
        case left
        /// The right axis (`y2`).
        case right
    }

    /// One point of a series; `y == nil` breaks the line.
    public struct Point: Sendable, Equatable {
        /// The x value.
        public var x: Double
        /// The y value, or `nil` for a gap.
        public var y: Double?
        /// The tooltip (defaults to the series name and the values).
        public var note: String?

        /// Creates a point.
        public init(x: Double, y: Double?, note: String? = nil) {
            self.x = x
            self.y = y
            self.note = note
        }
    }

    /// One line (and/or set of markers).
    public struct Series: Sendable, Equatable {
        /// The legend name.
        public var name: String
        /// The stroke colour (CSS).
        public var color: String
        /// `stroke-dasharray`, or empty for a solid line.
        public var dash: String
        /// The points, in drawing order.
        public var points: [Point]
        /// The y axis the series is drawn against.
        public var side: Side
        /// Whether consecutive points are joined.
        public var line: Bool
        /// Whether each point gets a marker.
        public var markers: Bool

        /// Creates a series.
        public init(
            _ name: String, color: String, dash: String = "", points: [Point], side: Side = .left, line: Bool = true,
            markers: Bool = false
        ) {
            self.name = name
            self.color = color
            self.dash = dash
            self.points = points
            self.side = side
            self.line = line
            self.markers = markers
        }
    }

    /// A reference line: horizontal at a y value (`vertical == false`) or vertical at an x value.
    public struct Rule: Sendable, Equatable {
        /// The legend name and the label drawn beside the line.
        public var name: String
        /// Where the line is.
        public var value: Double
        /// The line colour.
        public var color: String
        /// Vertical (at x) instead of horizontal (at y).
        public var vertical: Bool
        /// The axis of a horizontal line.
        public var side: Side

        /// Creates a reference line.
        public init(_ name: String, value: Double, color: String, vertical: Bool = false, side: Side = .left) {
            self.name = name
            self.value = value
            self.color = color
            self.vertical = vertical
            self.side = side
        }
    }

    /// A shaded range of x values.
    public struct Band: Sendable, Equatable {
        /// The legend name and the label drawn at the top of the band.
        public var name: String
        /// The x range.
        public var from: Double
        /// The x range's end.
        public var to: Double
        /// The fill colour.
        public var color: String

        /// Creates a band.
        public init(_ name: String, from: Double, to: Double, color: String) {
            self.name = name
            self.from = from
            self.to = to
            self.color = color
        }
    }

    /// A unique id within the page (used for the clip path and as the `<svg>` id).
    public var id: String
    /// The chart title (also the SVG's accessible `<title>`).
    public var title: String
    /// The x axis.
    public var x: ChartAxis
    /// The left y axis.
    public var y: ChartAxis
    /// The right y axis, for series on `.right`.
    public var y2: ChartAxis?
    /// The series.
    public var series: [Series]
    /// Reference lines.
    public var rules: [Rule]
    /// Shaded x ranges.
    public var bands: [Band]
    /// Width of the drawing in SVG units.
    public var width: Double
    /// Height of the plot area in SVG units (the legend adds to it).
    public var plotHeight: Double

    /// Creates a chart.
    public init(
        id: String, title: String, x: ChartAxis, y: ChartAxis, y2: ChartAxis? = nil, series: [Series],
        rules: [Rule] = [], bands: [Band] = [], width: Double = 960, plotHeight: Double = 300
    ) {
        self.id = id
        self.title = title
        self.x = x
        self.y = y
        self.y2 = y2
        self.series = series
        self.rules = rules
        self.bands = bands
        self.width = width
        self.plotHeight = plotHeight
    }

    private static let fontSize = 12.0
    private static let legendRowHeight = 18.0

    /// The `<svg>` element.
    public func render() -> String {
        let left = 72.0
        let right = y2 == nil ? 24.0 : 72.0
        let top = 16.0
        let plotWidth = width - left - right
        let legend = legendLayout(width: width - left - right)
        let axisBand = 44.0
        let height = top + plotHeight + axisBand + legend.height + 8

        let xFit = x.fitted(
            to: series.flatMap { $0.points.filter { $0.y != nil }.map(\.x) } + rules.filter(\.vertical).map(\.value)
                + bands.flatMap { [$0.from, $0.to] })
        let yFit = y.fitted(to: values(on: .left))
        let y2Fit = y2.map { $0.fitted(to: values(on: .right)) }

        func px(_ value: Double) -> Double? {
            x.fraction(of: value, in: xFit.domain).map { left + $0 * plotWidth }
        }
        func py(_ value: Double, _ side: Side) -> Double? {
            if side == .right, let y2, let y2Fit {
                return y2.fraction(of: value, in: y2Fit.domain).map { top + plotHeight - $0 * plotHeight }
            }
            return y.fraction(of: value, in: yFit.domain).map { top + plotHeight - $0 * plotHeight }
        }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(HTML.escape(id))\" class=\"chart\" "
        svg += "viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" "
        svg += "role=\"img\" aria-labelledby=\"\(HTML.escape(id))-title\" font-size=\"\(n(Self.fontSize))\">\n"
        svg += "<title id=\"\(HTML.escape(id))-title\">\(HTML.escape(title))</title>\n"
        svg += "<defs><clipPath id=\"\(HTML.escape(id))-clip\"><rect x=\"\(n(left))\" y=\"\(n(top))\" "
        svg += "width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\"/></clipPath></defs>\n"
        svg += "<rect class=\"plot\" x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" "
        svg += "height=\"\(n(plotHeight))\" fill=\"#fff\" stroke=\"#bbb\"/>\n"

        // Bands under everything else.
        for band in bands {
            guard let a = px(band.from), let b = px(band.to) else { continue }
            let x0 = max(left, min(a, b))
            let x1 = min(left + plotWidth, max(a, b))
            svg += "<g class=\"band\"><title>\(HTML.escape(band.name))</title>"
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(max(1, x1 - x0)))\" height=\"\(n(plotHeight))\" "
            svg += "fill=\"\(HTML.escape(band.color))\" fill-opacity=\"0.15\" stroke=\"\(HTML.escape(band.color))\" "
            svg += "stroke-opacity=\"0.5\"/></g>\n"
        }

        // Grid and ticks.
        svg += "<g class=\"axis x-axis\" fill=\"#333\">\n"
        for tick in xFit.ticks {
            guard let position = px(tick) else { continue }
            svg += "<line x1=\"\(n(position))\" x2=\"\(n(position))\" y1=\"\(n(top))\" y2=\"\(n(top + plotHeight))\" "
            svg += "stroke=\"#eee\"/>"
            svg += "<text x=\"\(n(position))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"middle\">"
            svg += "\(HTML.escape(x.label(for: tick)))</text>\n"
        }
        svg += "<text class=\"axis-label\" x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight + 36))\" "
        svg += "text-anchor=\"middle\">\(HTML.escape(x.label))</text>\n</g>\n"
        svg += yAxis(y, yFit, side: .left, at: left, top: top, plotWidth: plotWidth) { py($0, .left) }
        if let y2, let y2Fit {
            svg += yAxis(y2, y2Fit, side: .right, at: left + plotWidth, top: top, plotWidth: plotWidth) { py($0, .right) }
        }

        // Reference lines.
        for rule in rules {
            let start: (Double, Double)
            let end: (Double, Double)
            let labelAt: (Double, Double)
            let anchor: String
            if rule.vertical {
                guard let position = px(rule.value) else { continue }
                start = (position, top)
                end = (position, top + plotHeight)
                labelAt = (position + 3, top + 12)
                anchor = "start"
            } else {
                guard let position = py(rule.value, rule.side) else { continue }
                start = (left, position)
                end = (left + plotWidth, position)
                labelAt = (left + plotWidth - 4, position - 4)
                anchor = "end"
            }
            svg += "<g class=\"rule\"><title>\(HTML.escape(rule.name))</title>"
            svg += "<line x1=\"\(n(start.0))\" y1=\"\(n(start.1))\" x2=\"\(n(end.0))\" y2=\"\(n(end.1))\" "
            svg += "stroke=\"\(HTML.escape(rule.color))\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>"
            svg += "<text x=\"\(n(labelAt.0))\" y=\"\(n(labelAt.1))\" text-anchor=\"\(anchor)\" "
            svg += "fill=\"\(HTML.escape(rule.color))\">\(HTML.escape(rule.name))</text></g>\n"
        }

        // Series.
        svg += "<g class=\"series-group\" clip-path=\"url(#\(HTML.escape(id))-clip)\">\n"
        for item in series {
            let positioned: [(x: Double, y: Double, point: Point)?] = item.points.map { point in
                guard let value = point.y, let sx = px(point.x), let sy = py(value, item.side) else { return nil }
                return (sx, sy, point)
            }
            svg += "<g class=\"series\" data-name=\"\(HTML.escape(item.name))\">"
            svg += "<title>\(HTML.escape(item.name))</title>"
            if item.line {
                var path = ""
                var penDown = false
                for entry in positioned {
                    guard let entry else {
                        penDown = false
                        continue
                    }
                    path += (penDown ? "L" : "M") + "\(n(entry.x)) \(n(entry.y))"
                    penDown = true
                }
                if !path.isEmpty {
                    svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(HTML.escape(item.color))\" stroke-width=\"1.8\" "
                    svg += "stroke-linejoin=\"round\"" + (item.dash.isEmpty ? "" : " stroke-dasharray=\"\(item.dash)\"")
                    svg += "/>"
                }
            }
            // Markers where asked; otherwise invisible hover targets on short series (tooltips).
            let present = positioned.compactMap { $0 }
            if item.markers || present.count <= 300 {
                for entry in present {
                    let note = entry.point.note ?? "\(item.name): \(Self.describe(entry.point, x: x, y: item.side == .left ? y : y2 ?? y))"
                    if item.markers {
                        svg += "<circle cx=\"\(n(entry.x))\" cy=\"\(n(entry.y))\" r=\"3.5\" fill=\"\(HTML.escape(item.color))\">"
                    } else {
                        svg += "<circle cx=\"\(n(entry.x))\" cy=\"\(n(entry.y))\" r=\"4\" fill=\"transparent\">"
                    }
                    svg += "<title>\(HTML.escape(note))</title></circle>"
                }
            }
            // A lone point between gaps would not show as a line.
            if item.line, !item.markers {
                for (index, entry) in positioned.enumerated() {
                    guard let entry else { continue }
                    let before = index > 0 ? positioned[index - 1] : nil
                    let after = index + 1 < positioned.count ? positioned[index + 1] : nil
                    if before == nil, after == nil {
                        svg += "<circle cx=\"\(n(entry.x))\" cy=\"\(n(entry.y))\" r=\"2\" fill=\"\(HTML.escape(item.color))\"/>"
                    }
                }
            }
            svg += "</g>\n"
        }
        svg += "</g>\n"
        svg += legend.render(top: top + plotHeight + axisBand, left: left)
        svg += "</svg>\n"
        return svg
    }

    private func values(on side: Side) -> [Double] {
        series.filter { $0.side == side }.flatMap { $0.points.compactMap(\.y) }
            + rules.filter { !$0.vertical && $0.side == side }.map(\.value)
    }

    private func yAxis(
        _ axis: ChartAxis, _ fit: (domain: ClosedRange<Double>, ticks: [Double]), side: Side, at position: Double,
        top: Double, plotWidth: Double, py: (Double) -> Double?
    ) -> String {
        var svg = "<g class=\"axis y-axis\" fill=\"#333\">\n"
        for tick in fit.ticks {
            guard let y = py(tick) else { continue }
            if side == .left {
                svg += "<line x1=\"\(n(position))\" x2=\"\(n(position + plotWidth))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"#eee\"/>"
            }
            let labelX = side == .left ? position - 6 : position + 6
            svg += "<text x=\"\(n(labelX))\" y=\"\(n(y + 4))\" text-anchor=\"\(side == .left ? "end" : "start")\">"
            svg += "\(HTML.escape(axis.label(for: tick)))</text>\n"
        }
        let labelX = side == .left ? position - 58 : position + 58
        let middle = top + plotHeight / 2
        svg += "<text class=\"axis-label\" transform=\"translate(\(n(labelX)) \(n(middle))) rotate(-90)\" "
        svg += "text-anchor=\"middle\">\(HTML.escape(axis.label))</text>\n</g>\n"
        return svg
    }

    private static func describe(_ point: Point, x: ChartAxis, y: ChartAxis) -> String {
        let xText = x.format == .inversePercentile ? x.label(for: point.x) : ChartAxis.compact(point.x)
        let yText = point.y.map { y.format == .milliseconds ? formatMilliseconds($0) : ChartAxis.compact($0) } ?? "–"
        return "\(x.label) \(xText): \(yText)"
    }

    private struct Legend {
        var entries: [(kind: Int, name: String, color: String, dash: String, x: Double, row: Int)]
        var height: Double

        func render(top: Double, left: Double) -> String {
            var svg = "<g class=\"legend\">\n"
            for entry in entries {
                let y = top + Double(entry.row) * SVGChart.legendRowHeight + 10
                let x = left + entry.x
                svg += "<g class=\"legend-entry\">"
                switch entry.kind {
                case 2:
                    svg += "<rect x=\"\(n(x))\" y=\"\(n(y - 6))\" width=\"22\" height=\"12\" fill=\"\(HTML.escape(entry.color))\" "
                    svg += "fill-opacity=\"0.15\" stroke=\"\(HTML.escape(entry.color))\"/>"
                default:
                    svg += "<line x1=\"\(n(x))\" x2=\"\(n(x + 22))\" y1=\"\(n(y))\" y2=\"\(n(y))\" stroke=\"\(HTML.escape(entry.color))\" "
                    svg += "stroke-width=\"\(entry.kind == 1 ? "1.5" : "2.5")\""
                    svg += entry.dash.isEmpty ? "" : " stroke-dasharray=\"\(entry.dash)\""
                    svg += "/>"
                }
                svg += "<text x=\"\(n(x + 28))\" y=\"\(n(y + 4))\">\(HTML.escape(entry.name))</text></g>\n"
            }
            return svg + "</g>\n"
        }
    }

    /// Legend entries laid out left to right, wrapping to new rows (text width estimated at 0.6 em a character).
    private func legendLayout(width: Double) -> Legend {
        var raw: [(kind: Int, name: String, color: String, dash: String)] = []
        for item in series { raw.append((0, item.name, item.color, item.dash)) }
        for rule in rules { raw.append((1, rule.name, rule.color, "6 4")) }
        for band in bands { raw.append((2, band.name, band.color, "")) }
        var entries: [(kind: Int, name: String, color: String, dash: String, x: Double, row: Int)] = []
        var x = 0.0
        var row = 0
        for entry in raw {
            let entryWidth = 28 + Double(entry.name.count) * Self.fontSize * 0.6 + 18
            if x > 0, x + entryWidth > width {
                row += 1
                x = 0
            }
            entries.append((entry.kind, entry.name, entry.color, entry.dash, x, row))
            x += entryWidth
        }
        return Legend(entries: entries, height: raw.isEmpty ? 0 : Double(row + 1) * Self.legendRowHeight)
    }
}

/// A coordinate with at most one decimal.
private func n(_ value: Double) -> String { formatNumber(value, digits: 1) }
