import Glibc
import Histogram

/// The machine a report was measured on.
public struct MachineInfo: Sendable {
  public let cpuModel: String
  public let cores: Int
  public let kernel: String

  public static func current() -> MachineInfo {
    var model = "unknown"
    if let file = fopen("/proc/cpuinfo", "r") {
      defer { fclose(file) }
      var line: UnsafeMutablePointer<CChar>?
      var capacity = 0
      while getline(&line, &capacity, file) > 0 {
        let text = String(cString: line!)
        if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
          model = String(text[text.index(after: colon)...]).trimmingCharacters(in: " \n\t")
          break
        }
      }
      free(line)
    }
    var names = utsname()
    uname(&names)
    let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    return MachineInfo(cpuModel: model, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), kernel: release)
  }
}

extension String {
  func trimmingCharacters(in set: String) -> String {
    var text = Substring(self)
    while let first = text.first, set.contains(first) { text.removeFirst() }
    while let last = text.last, set.contains(last) { text.removeLast() }
    return String(text)
  }
}

/// The percentiles every report gives.
public let reportedPercentiles: [(label: String, percentile: Double)] = [
  ("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99),
]

/// Formats nanoseconds as microseconds with two decimals.
public func micros(_ nanoseconds: UInt64) -> String { fixed(Double(nanoseconds) / 1000, 2) }

public func fixed(_ value: Double, _ digits: Int) -> String {
  guard value.isFinite else { return "null" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let rounded = (value * scale).rounded() / scale
  var text = "\(rounded)"
  if let dot = text.firstIndex(of: ".") {
    let decimals = text.distance(from: dot, to: text.endIndex) - 1
    if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
  } else if digits > 0 {
    text += "." + String(repeating: "0", count: digits)
  }
  return text
}

/// One line of the table: a target at a rate, every round merged.
public struct Summary {
  public let target: String
  public let rate: Double
  public let histogram: Histogram<UInt64>
  public let expected: Int
  public let received: Int
  public let achievedRate: Double
  public let maxSendLagNs: UInt64
  public let rounds: Int
  /// The median round's p99: one stall of a noisy machine moves it less than the merged histogram's.
  public let medianRoundP99Ns: UInt64
  public let stages: [(name: String, p50Ns: UInt64, p99Ns: UInt64)]

  public init(_ runs: [RunResult]) {
    precondition(!runs.isEmpty)
    var merged = runs[0].histogram
    for run in runs.dropFirst() { merged.add(run.histogram) }
    target = runs[0].target
    rate = runs[0].rate
    histogram = merged
    expected = runs.reduce(0) { $0 + $1.expected }
    received = runs.reduce(0) { $0 + $1.received }
    achievedRate = runs.map(\.achievedRate).reduce(0, +) / Double(runs.count)
    maxSendLagNs = runs.map(\.maxSendLagNs).max() ?? 0
    rounds = runs.count
    medianRoundP99Ns = runs.map { $0.quantileNs(99) }.sorted()[runs.count / 2]
    // Stage quantiles: the median round's (quantiles do not merge).
    stages = runs[runs.count / 2].stages
  }

  public var lost: Int { max(0, expected - received) }

  public func ns(_ percentile: Double) -> UInt64 {
    histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(percentile)
  }

  public var json: String {
    let quantiles = reportedPercentiles.map { "\"\($0.label)_us\":\(micros(ns($0.percentile)))" }.joined(separator: ",")
    let stageText = stages.map { "\"\($0.name)\":{\"p50_us\":\(micros($0.p50Ns)),\"p99_us\":\(micros($0.p99Ns))}" }
      .joined(separator: ",")
    return "{\"target\":\"\(target)\",\"rate\":\(Int(rate)),\"rounds\":\(rounds),\(quantiles),"
      + "\"max_us\":\(micros(histogram.totalCount == 0 ? 0 : histogram.max)),"
      + "\"mean_us\":\(fixed(histogram.totalCount == 0 ? 0 : histogram.mean / 1000, 2)),"
      + "\"samples\":\(histogram.totalCount),\"expected\":\(expected),\"received\":\(received),\"lost\":\(lost),"
      + "\"achieved_rate\":\(Int(achievedRate)),\"max_send_lag_us\":\(micros(maxSendLagNs)),"
      + "\"stages\":{\(stageText)}}"
  }

  /// The HdrHistogram percentile distribution (.hgrm), in microseconds.
  public var hgrm: String {
    var text = ""
    histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1000)
    return text
  }
}

/// An SVG of latency by percentile, every series overlaid: x is the percentile on the usual
/// HdrHistogram scale (1/(1-p), logarithmic), y the latency in microseconds, logarithmic so the
/// median and the tail both read.
public func percentilePlot(_ series: [(label: String, summary: Summary)], title: String) -> String {
  let width = 900.0
  let height = 520.0
  let left = 70.0
  let right = 220.0
  let top = 40.0
  let bottom = 60.0
  let plotWidth = width - left - right
  let plotHeight = height - top - bottom
  let maxNines = 5.0  // up to 99.999%
  let points = stride(from: 0.0, through: maxNines, by: 0.05).map { nines in 100 * (1 - pow(10, -nines)) }
  var ceilingUs = 10.0
  var floorUs = 1.0
  for (_, summary) in series {
    ceilingUs = max(ceilingUs, Double(summary.ns(99.999)) / 1000 * 1.2)
    floorUs = min(floorUs, max(0.1, Double(summary.ns(0)) / 1000 * 0.8))
  }
  let lowDecade = floor(log10(floorUs))
  let highDecade = ceil(log10(ceilingUs))
  func x(_ nines: Double) -> Double { left + nines / maxNines * plotWidth }
  func y(_ us: Double) -> Double {
    let position = (log10(max(us, pow(10, lowDecade))) - lowDecade) / (highDecade - lowDecade)
    return top + plotHeight - min(1, position) * plotHeight
  }
  let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(left)" y="24" font-size="15">\(title)</text>

    """
  let tickLabels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]
  for tick in 0...5 {
    let label = tickLabels[tick]
    svg +=
      "<line x1=\"\(x(Double(tick)))\" y1=\"\(top)\" x2=\"\(x(Double(tick)))\" y2=\"\(top + plotHeight)\" stroke=\"#ddd\"/>\n"
    svg += "<text x=\"\(x(Double(tick)))\" y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">\(label)</text>\n"
  }
  var decade = lowDecade
  while decade <= highDecade {
    for multiple in [1.0, 2.0, 5.0] {
      let us = multiple * pow(10, decade)
      guard us <= pow(10, highDecade) else { continue }
      let label = us >= 1 ? "\(Int(us))" : fixed(us, 1)
      svg += "<line x1=\"\(left)\" y1=\"\(y(us))\" x2=\"\(left + plotWidth)\" y2=\"\(y(us))\" stroke=\"#ddd\"/>\n"
      svg += "<text x=\"\(left - 6)\" y=\"\(y(us) + 4)\" text-anchor=\"end\">\(label)</text>\n"
    }
    decade += 1
  }
  svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 18)\" text-anchor=\"middle\">percentile</text>\n"
  svg +=
    "<text x=\"18\" y=\"\(top + plotHeight / 2)\" transform=\"rotate(-90 18 \(top + plotHeight / 2))\" "
    + "text-anchor=\"middle\">wire-to-wire latency (µs)</text>\n"
  for (index, (label, summary)) in series.enumerated() {
    let color = colors[index % colors.count]
    let path = points.enumerated().map { offset, percentile in
      let nines = Double(offset) * 0.05
      return "\(fixed(x(nines), 1)),\(fixed(y(Double(summary.ns(percentile)) / 1000), 1))"
    }.joined(separator: " ")
    svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
    let legendY = top + 20 + Double(index) * 20
    svg +=
      "<line x1=\"\(width - right + 15)\" y1=\"\(legendY - 4)\" x2=\"\(width - right + 40)\" y2=\"\(legendY - 4)\" "
    svg += "stroke=\"\(color)\" stroke-width=\"3\"/>\n"
    svg += "<text x=\"\(width - right + 46)\" y=\"\(legendY)\">\(label)</text>\n"
  }
  svg += "</svg>\n"
  return svg
}
