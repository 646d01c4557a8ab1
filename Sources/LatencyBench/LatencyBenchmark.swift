import Foundation
import Gateway
import Transport

/// A benchmark's option the library refused.
public struct BenchError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// `quotecast bench`: wire-to-wire latency of the gateway beside the null relay's floor, in the same run: rates,
/// sweeps and the find-max search, then the table, the JSON, the .hgrm files and the plot.

public struct LatencyBenchmark {

  /// The rates to measure, in messages per second, in turn (`parseRate` reads "10k", "1M", "2.5M"); with
  /// `findMax`, the first is where the search starts.
  public var rates: [Double] = [100_000]

  /// Measured seconds per run.
  public var seconds: Double = 10

  /// Seconds sent before measuring starts (warm-up, not recorded).
  public var warmup: Double = 1

  /// Rounds per rate; gateway and relay alternate within each, first one then the other.
  public var rounds = 3

  /// flat, or open-close (4× the rate for the first tenth, 3× for the last).
  public var profile = LoadProfile.flat

  /// ITCH messages per MoldUDP64 packet.
  public var messagesPerPacket = 4

  /// Instruments in the generated day.
  public var symbols = 500

  /// Output channels of the gateway.
  public var channels = 4

  /// The harness thread's CPU (it sends and receives).
  public var harnessCPU: Int?

  /// The gateway's (and the relay's) CPU.
  public var gatewayCPU: Int?

  /// The gateway's threading mode.
  public var threading = ThreadingSection.Mode.single

  /// The idle strategy of the gateway and the relay.
  public var idle = IdleStrategy.busy

  /// Measure only the gateway (no null relay).
  public var noRelay = false

  /// Measure a gateway already running here: its feed input (address:port); needs `externalGroups`. Each run
  /// continues its MoldUDP64 session, so its books are fresh (and the loss count exact) only in the first run.
  public var external: IPv4Endpoint?

  /// With `external`: its channel groups.
  public var externalGroups: [IPv4Endpoint] = []

  /// Find the highest rate with zero loss and p99 under `p99BoundUs`: the gateway's, then the null relay's.
  public var findMax = false

  /// With --find-max: the p99 bound in microseconds.
  public var p99BoundUs: Double = 50

  /// Folder for the JSON, .hgrm and SVG results.
  public var out = "bench/results"

  /// First of the UDP ports the runs use (each run takes four from here up).
  public var basePort: UInt16 = 36000

  /// A rate in messages per second: "10k", "1M", "2.5M", up to 20M.
  public static func parseRate(_ text: String) throws -> Double {
    var body = text.trimmingCharacters(in: .whitespaces).lowercased()
    var scale = 1.0
    if body.hasSuffix("k") {
      scale = 1e3
      body.removeLast()
    } else if body.hasSuffix("m") {
      scale = 1e6
      body.removeLast()
    }
    guard let value = Double(body), value > 0, value * scale <= 20e6 else {
      throw BenchError("a rate must be a positive number of messages per second (10k, 1M), up to 20M; got \(text)")
    }
    return value * scale
  }

  func gatewayConfig(port: UInt16) -> GatewayConfig {
    var config = GatewayConfig()
    config.feed.inputs = [IPv4Endpoint(address: IPv4Endpoint.loopback, port: port)]
    config.channels.count = channels
    config.channels.groupBase = IPv4Endpoint(address: 0xEFFF_5A01, port: port + 1)
    config.snapshot.group = IPv4Endpoint(address: 0xEFFF_5B01, port: port + 2)
    config.operations.http = nil
    config.operations.statsIntervalMs = 0
    config.threading.mode = threading
    config.threading.idle = idle
    config.feed.receiveBufferBytes = 32 << 20
    if config.threading.mode == .single {
      config.threading.cpu = gatewayCPU
    } else {
      config.threading.coreCPUs = gatewayCPU.map { [$0] } ?? []
    }
    return config
  }

  public func run() throws {
    let machine = MachineInfo.current()
    var port = basePort
    /// An external gateway keeps its session between runs: each run continues its sequences.
    var externalOffset: UInt64 = 0
    var runs: [(rate: Double, results: [RunResult])] = []
    var mix: [UInt8: Int] = [:]
    func nextPort() -> UInt16 {
      defer { port += 4 }
      return port
    }
    func measureRate(_ rate: Double, withRelay: Bool, withGateway: Bool = true) throws -> [RunResult] {
      let plan = LoadPlan(
        rate: rate, seconds: seconds + warmup, profile: profile, messagesPerPacket: messagesPerPacket, symbols: symbols)
      let withOutput = plan.sequencesWithOutput(config: gatewayConfig(port: 0).coreConfig)
      if mix.isEmpty { mix = plan.mix }
      let warmupNs = UInt64(warmup * 1e9)
      var results: [RunResult] = []
      for round in 0..<rounds {
        var targets: [BenchTarget] = []
        if let external {
          targets.append(.external(input: external, groups: externalGroups))
        } else if withGateway {
          targets.append(.gateway(gatewayConfig(port: nextPort())))
        }
        if withRelay {
          let relayPort = nextPort()
          let relay = BenchTarget.nullRelay(
            input: IPv4Endpoint(address: IPv4Endpoint.loopback, port: relayPort),
            output: IPv4Endpoint(address: 0xEFFF_5C01, port: relayPort + 1), cpu: gatewayCPU,
            idle: idle)
          // Alternate which goes first, so drift over the run hits both alike.
          targets = round % 2 == 0 ? targets + [relay] : [relay] + targets
        }
        for target in targets {
          let offset: UInt64
          if case .external = target {
            offset = externalOffset
            externalOffset += UInt64(plan.messages)
          } else {
            offset = 0
          }
          let result = try measureLatency(
            plan: plan, target: target, placement: Placement(harnessCPU: harnessCPU, targetCPU: gatewayCPU),
            warmupNs: warmupNs, withOutput: withOutput, sequenceOffset: offset,
            log: { line in
              if !line.hasPrefix("quotecast serving") && !line.hasPrefix("quotecast stopped") { print("  \(line)") }
            })
          print(
            "  round \(round + 1) \(result.target.padding(toLength: 10, withPad: " ", startingAt: 0)) "
              + "\(Int(rate)) msg/s: p50 \(micros(result.quantileNs(50))) µs, p99 \(micros(result.quantileNs(99))) µs, "
              + "max \(micros(result.histogram.totalCount == 0 ? 0 : result.histogram.max)) µs, lost \(result.lost)")
          results.append(result)
        }
      }
      return results
    }

    print(
      "machine: \(machine.cpuModel), \(machine.cores) cores, Linux \(machine.kernel); harness on cpu "
        + "\(harnessCPU.map(String.init) ?? "any"), gateway and relay on cpu \(gatewayCPU.map(String.init) ?? "any"); "
        + "\(threading.rawValue) threading, idle \(idle.rawValue); \(profile.rawValue) load, \(messagesPerPacket) messages a packet"
    )
    if findMax {
      // The gateway's search, then the null relay's: the relay's ceiling is the harness's and the machine's.
      let searches = external != nil || noRelay ? ["gateway"] : ["gateway", "null-relay"]
      var found: [String] = []
      for target in searches {
        var low = 0.0
        var high: Double? = nil
        var probe = rates.first ?? 50_000
        var steps = 0
        while steps < 12 {
          steps += 1
          let results = try measureRate(probe, withRelay: target == "null-relay", withGateway: target == "gateway")
          let summary = Summary(results)
          // Nothing lost in any round, and the median round's p99 within the bound.
          let p99Us = Double(summary.medianRoundP99Ns) / 1000
          let passed = summary.lost == 0 && p99Us <= p99BoundUs
          print(
            "find-max: \(target) \(Int(probe)) msg/s \(passed ? "passes" : "fails") (lost \(summary.lost), p99 "
              + "\(fixed(p99Us, 2)) µs"
              + (summary.rounds > 1
                ? " (median of \(summary.rounds) rounds; all rounds merged \(fixed(Double(summary.ns(99)) / 1000, 2)) µs))"
                : ")"))
          runs.append((probe, results))
          if passed { low = max(low, probe) } else { high = min(high ?? probe, probe) }
          guard let ceiling = high else {
            probe *= 2
            continue
          }
          if ceiling - low <= max(low, 1) * 0.1 { break }
          probe = low == 0 ? ceiling / 2 : (low + ceiling) / 2
        }
        found.append("\(target) \(Int(low)) msg/s")
      }
      print(
        "find-max: the highest rate with zero loss and p99 ≤ \(fixed(p99BoundUs, 1)) µs: "
          + found.joined(separator: ", "))
    } else {
      for rate in rates {
        runs.append((rate, try measureRate(rate, withRelay: !noRelay && external == nil)))
      }
    }
    try report(runs: runs, machine: machine, profile: profile, mix: mix)
  }

  func report(
    runs: [(rate: Double, results: [RunResult])], machine: MachineInfo, profile: LoadProfile, mix: [UInt8: Int]
  ) throws {
    var summaries: [Summary] = []
    for (rate, results) in runs {
      for target in ["gateway", "external", "null-relay"] {
        let matching = results.filter { $0.target == target && $0.rate == rate }
        if !matching.isEmpty { summaries.append(Summary(matching)) }
      }
    }
    print("")
    print(
      "target       rate msg/s     p50 µs     p90 µs     p99 µs   p99.9 µs  p99.99 µs     max µs    mean µs"
        + "      lost   achieved")
    for summary in summaries {
      let columns = reportedPercentiles.map { " " + micros(summary.ns($0.percentile)).leftPadded(10) }.joined()
      print(
        summary.target.padding(toLength: 10, withPad: " ", startingAt: 0) + "\(Int(summary.rate))".leftPadded(13)
          + columns + " " + micros(summary.histogram.totalCount == 0 ? 0 : summary.histogram.max).leftPadded(10)
          + " " + fixed(summary.histogram.totalCount == 0 ? 0 : summary.histogram.mean / 1000, 2).leftPadded(10)
          + " " + "\(summary.lost)".leftPadded(9) + " " + "\(Int(summary.achievedRate))".leftPadded(10))
    }
    var ratios: [String] = []
    for (rate, _) in runs {
      guard let gateway = summaries.first(where: { $0.target == "gateway" && $0.rate == rate }),
        let relay = summaries.first(where: { $0.target == "null-relay" && $0.rate == rate }),
        relay.ns(50) > 0, relay.ns(99) > 0
      else { continue }
      let p50 = Double(gateway.ns(50)) / Double(relay.ns(50))
      let p99 = Double(gateway.ns(99)) / Double(relay.ns(99))
      print(
        "ratio at \(Int(rate)) msg/s: gateway / null relay p50 \(fixed(p50, 2)) (target ≤ 1.25), "
          + "p99 \(fixed(p99, 2)) (target ≤ 1.5)")
      ratios.append("{\"rate\":\(Int(rate)),\"p50\":\(fixed(p50, 3)),\"p99\":\(fixed(p99, 3))}")
      if !gateway.stages.isEmpty {
        print(
          "  gateway stages (p50/p99 µs, its own clock): "
            + gateway.stages.map { "\($0.name) \(micros($0.p50Ns))/\(micros($0.p99Ns))" }.joined(separator: ", "))
      }
    }
    // Files: JSON, one .hgrm per line of the table, and the plot.
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    formatter.timeZone = TimeZone(identifier: "UTC")
    let stamp = "latency-" + formatter.string(from: Date())
    for summary in summaries {
      try summary.hgrm.write(
        toFile: "\(out)/\(stamp)-\(summary.target)-\(Int(summary.rate)).hgrm", atomically: true, encoding: .utf8)
    }
    let placement =
      "{\"harness_cpu\":\(harnessCPU.map(String.init) ?? "null"),\"gateway_cpu\":\(gatewayCPU.map(String.init) ?? "null")}"
    let total = max(1, mix.values.reduce(0, +))
    let mixText =
      "{"
      + mix.sorted { $0.key < $1.key }.map {
        "\"\(Character(Unicode.Scalar($0.key)))\":\(fixed(Double($0.value) / Double(total), 4))"
      }.joined(separator: ",") + "}"
    let json = """
      {"machine":{"cpu":"\(machine.cpuModel)","cores":\(machine.cores),"kernel":"\(machine.kernel)"},\
      "placement":\(placement),"threading":"\(threading.rawValue)","idle":"\(idle.rawValue)","profile":"\(profile.rawValue)",\
      "messages_per_packet":\(messagesPerPacket),"symbols":\(symbols),"channels":\(channels),\
      "seconds":\(seconds),"warmup_seconds":\(warmup),"rounds":\(rounds),"message_mix":\(mixText),\
      "results":[\(summaries.map(\.json).joined(separator: ","))],"ratios":[\(ratios.joined(separator: ","))]}

      """
    try json.write(toFile: "\(out)/\(stamp).json", atomically: true, encoding: .utf8)
    let series = summaries.map { ("\($0.target) \(Int($0.rate)) msg/s", $0) }
    let title =
      "quotecast wire-to-wire latency, \(machine.cores) cores, \(threading.rawValue) threading, \(profile.rawValue) load"
    try percentilePlot(series, title: title).write(toFile: "\(out)/\(stamp).svg", atomically: true, encoding: .utf8)
    print("wrote \(out)/\(stamp).json, .svg and \(summaries.count) .hgrm file(s)")
  }

  public init() {}
}
