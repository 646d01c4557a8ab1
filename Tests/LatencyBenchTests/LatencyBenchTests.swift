import Gateway
import Histogram
@testable import LatencyBench
import Transport
import XCTest

final class LatencyBenchTests: XCTestCase {
  /// The open-loop schedule: a flat load keeps the rate throughout; open-close packs the first
  /// tenth at 4× and the last at 3×; every message maps to the datagram that carries it.
  func testRatesAreReadWithTheirSuffixes() throws {
    XCTAssertEqual(try LatencyBenchmark.parseRate("10k"), 10_000)
    XCTAssertEqual(try LatencyBenchmark.parseRate(" 2.5M "), 2_500_000)
    XCTAssertEqual(try LatencyBenchmark.parseRate("137500"), 137_500)
    for bad in ["0", "-5k", "fast", "25M", ""] {
      XCTAssertThrowsError(try LatencyBenchmark.parseRate(bad), bad)
    }
  }

  func testTheScheduleFollowsTheRateAndTheProfile() {
    let flat = LoadPlan(rate: 10_000, seconds: 2, profile: .flat, messagesPerPacket: 4, symbols: 20)
    XCTAssertEqual(Double(flat.messages), 20_000, accuracy: 30)
    let lastNs = Double(flat.intendedNs.last!)
    XCTAssertEqual(lastNs / 1e9, 2, accuracy: 0.01, "the last datagram leaves at the end of the run")
    XCTAssertEqual(flat.intendedNs, flat.intendedNs.sorted())
    XCTAssertEqual(flat.datagramOfMessage.count, flat.messages)
    XCTAssertEqual(Int(flat.datagramOfMessage.last!), flat.datagrams.count - 1)

    let shaped = LoadPlan(rate: 10_000, seconds: 2, profile: .openClose, messagesPerPacket: 4, symbols: 20)
    // 0.2 s at 40k + 1.6 s at 10k + 0.2 s at 30k.
    XCTAssertEqual(Double(shaped.messages), 8_000 + 16_000 + 6_000, accuracy: 100)
    let firstTenth = shaped.datagramOfMessage.indices.filter {
      shaped.intendedNs[Int(shaped.datagramOfMessage[$0])] < 200_000_000
    }
    XCTAssertEqual(Double(firstTenth.count), 8_000, accuracy: 100, "the open runs at 4×")
  }

  /// A short live run against the gateway and the null relay in this process: every message that
  /// should produce output is matched, none lost, and the reports are well formed.
  func testALiveRunMatchesEveryOutputAndReports() throws {
    let plan = LoadPlan(rate: 5_000, seconds: 0.6, messagesPerPacket: 4, symbols: 20)
    var config = GatewayConfig()
    config.feed.inputs = [IPv4Endpoint(address: IPv4Endpoint.loopback, port: 36_900)]
    config.channels.count = 2
    config.channels.groupBase = IPv4Endpoint(address: 0xEFFF_5A21, port: 36_901)
    config.snapshot.group = IPv4Endpoint(address: 0xEFFF_5B21, port: 36_902)
    config.operations.http = nil
    config.operations.statsIntervalMs = 0
    config.books.maxLiveOrders = 1 << 16
    config.books.maxLevels = 1 << 14
    let withOutput = plan.sequencesWithOutput(config: config.coreConfig)
    let placement = Placement(harnessCPU: nil, targetCPU: nil)
    let gateway = try measureLatency(
      plan: plan, target: .gateway(config), placement: placement, warmupNs: 100_000_000, withOutput: withOutput)
    XCTAssertEqual(gateway.lost, 0)
    XCTAssertEqual(gateway.received, withOutput.filter { $0 }.count)
    XCTAssertGreaterThan(gateway.received, plan.messages / 2)
    XCTAssertGreaterThan(gateway.histogram.totalCount, 0)
    XCTAssertLessThan(gateway.histogram.totalCount, UInt64(gateway.received), "the warm-up is not recorded")
    XCTAssertEqual(gateway.stages.map(\.name), ["ingest", "decode_books", "encode", "send"])
    let relay = try measureLatency(
      plan: plan,
      target: .nullRelay(
        input: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 36_910),
        output: IPv4Endpoint(address: 0xEFFF_5C21, port: 36_911), cpu: nil, idle: .busy),
      placement: placement, warmupNs: 0, withOutput: withOutput)
    XCTAssertEqual(relay.lost, 0)
    XCTAssertEqual(relay.received, plan.messages, "the relay forwards every message")

    let summaries = [Summary([gateway]), Summary([relay])]
    XCTAssertTrue(summaries[0].json.contains(#""target":"gateway""#))
    XCTAssertTrue(summaries[0].json.contains(#""lost":0"#))
    XCTAssertTrue(summaries[1].hgrm.contains("Value"))
    XCTAssertTrue(summaries[1].hgrm.contains("#[Max"))
    let svg = percentilePlot([("gateway", summaries[0]), ("relay", summaries[1])], title: "test")
    XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
    XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
  }

  /// find-max judges a rate by its median round: one stalled round of three does not decide.
  func testFindMaxJudgesTheMedianRoundsP99() {
    func round(fastSamples: Int, slowSamples: Int, slowUs: UInt64) -> RunResult {
      var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
      for _ in 0..<fastSamples { _ = histogram.record(10_000) }
      for _ in 0..<slowSamples { _ = histogram.record(slowUs * 1000) }
      return RunResult(
        target: "gateway", rate: 1000, histogram: histogram, messagesSent: 1000, datagramsSent: 250, expected: 1000,
        received: 1000, achievedRate: 1000, maxSendLagNs: 0, stages: [], notes: [:])
    }
    let rounds = [
      round(fastSamples: 980, slowSamples: 20, slowUs: 100), round(fastSamples: 950, slowSamples: 50, slowUs: 5000),
      round(fastSamples: 980, slowSamples: 20, slowUs: 200),
    ]
    // Microseconds, to the histogram's three significant digits.
    func micros(_ ns: UInt64) -> Double { Double(ns) / 1000 }
    for (run, p99Us) in zip(rounds, [100.0, 5000, 200]) {
      XCTAssertEqual(micros(run.quantileNs(99)), p99Us, accuracy: p99Us / 100)
    }
    let summary = Summary(rounds)
    XCTAssertEqual(micros(summary.medianRoundP99Ns), 200, accuracy: 2)
    XCTAssertEqual(micros(summary.ns(99)), 5000, accuracy: 50, "merged, the stalled round's tail is the p99")
    XCTAssertEqual(micros(Summary([rounds[1]]).medianRoundP99Ns), 5000, accuracy: 50)
  }
}
