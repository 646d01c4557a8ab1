import ArgumentParser
import Foundation
import Gateway
import LatencyBench
import Transport

/// Wire-to-wire latency of the gateway, beside the null relay's floor, measured in the same run.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Wire-to-wire latency under open-loop load: the gateway against the null relay, alternated.",
    discussion: """
      Generates a day, sends it as MoldUDP64 over loopback on a fixed schedule (flat, or shaped like the open \
      and the close), and matches every output update to the intended send time of the message that caused \
      it, by upstream sequence: HdrHistogram from the intended time, so a stall cannot hide. The null relay \
      (the same io_uring ingest and multicast send, nothing between) runs alternately with the gateway, so \
      their ratio holds on a noisy machine. Writes a JSON result, .hgrm files and an SVG plot.
      """)
  @Option(help: "Messages per second (10k, 100k, 1M, 2.5M).")
  var rate = "100k"
  @Option(help: "Several rates to sweep, comma-separated; overrides --rate.")
  var rates: String?
  @Option(help: "Measured seconds per run.")
  var seconds: Double = 10
  @Option(help: "Seconds sent before measuring starts (warm-up, not recorded).")
  var warmup: Double = 1
  @Option(help: "Rounds per rate; gateway and relay alternate within each, first one then the other.")
  var rounds = 3
  @Option(help: "flat, or open-close (4× the rate for the first tenth, 3× for the last).")
  var profile = "flat"
  @Option(help: "ITCH messages per MoldUDP64 packet.")
  var messagesPerPacket = 4
  @Option(help: "Instruments in the generated day.")
  var symbols = 500
  @Option(help: "Output channels of the gateway.")
  var channels = 4
  @Option(help: "The harness thread's CPU (it sends and receives).")
  var harnessCPU: Int?
  @Option(help: "The gateway's (and the relay's) CPU.")
  var gatewayCPU: Int?
  @Option(help: "The gateway's threading mode: single or dedicated.")
  var threading = "single"
  @Option(help: "The idle strategy of the gateway and the relay: busy, yield or block.")
  var idle = "busy"
  @Flag(help: "Measure only the gateway (no null relay).")
  var noRelay = false
  @Option(
    help: """
      Measure a gateway already running here: its feed input (address:port). Needs --external-groups. Each run \
      continues its MoldUDP64 session, so its books are fresh (and the loss count exact) only in the first run.
      """)
  var external: String?
  @Option(help: "With --external: its channel groups, comma-separated group:port.")
  var externalGroups: String?
  @Flag(
    help:
      "Find the highest rate with zero loss in every round and the median round's p99 under --p99-bound-us: the gateway's, then the null relay's (unless --no-relay)."
  )
  var findMax = false
  @Option(help: "With --find-max: the p99 bound in microseconds.")
  var p99BoundUs: Double = 50
  @Option(help: "Folder for the JSON, .hgrm and SVG results.")
  var out = "bench/results"
  @Option(help: "First of the UDP ports the runs use (each run takes four from here up).")
  var basePort: UInt16 = 36000

  /// --rates, or --rate, in messages per second.
  func rateList() throws -> [Double] {
    do {
      return try (rates ?? rate).split(separator: ",").map { try LatencyBenchmark.parseRate(String($0)) }
    } catch { throw ValidationError("\(error)") }
  }

  func validate() throws {
    _ = try rateList()
    guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    guard warmup >= 0 && warmup <= 60 else { throw ValidationError("--warmup must be 0...60") }
    guard rounds >= 1 && rounds <= 20 else { throw ValidationError("--rounds must be 1...20") }
    guard LoadProfile(rawValue: profile) != nil else { throw ValidationError("--profile must be flat or open-close") }
    guard messagesPerPacket >= 1 && messagesPerPacket <= 200 else {
      throw ValidationError("--messages-per-packet must be 1...200")
    }
    guard ThreadingSection.Mode(rawValue: threading) != nil else {
      throw ValidationError("--threading must be single or dedicated")
    }
    guard IdleStrategy(rawValue: idle) != nil else { throw ValidationError("--idle must be busy, yield or block") }
    for cpu in [harnessCPU, gatewayCPU].compactMap({ $0 }) where !CPUPinning.isAllowed(cpu) {
      throw ValidationError("cpu \(cpu) does not exist or is not allowed")
    }
    if external != nil {
      guard let external, let input = IPv4Endpoint(external), input.isLoopback else {
        throw ValidationError("--external must be a loopback address:port")
      }
      guard let groups = externalGroups?.split(separator: ",").map({ IPv4Endpoint(String($0)) }), !groups.isEmpty,
        groups.allSatisfy({ $0?.isMulticast == true })
      else { throw ValidationError("--external needs --external-groups: multicast group:port, comma-separated") }
    }
    guard basePort >= 1024 && basePort < 65000 else { throw ValidationError("--base-port must be 1024...64999") }
  }

  func run() throws {
    var job = LatencyBenchmark()
    job.rates = try rateList()
    job.seconds = seconds
    job.warmup = warmup
    job.rounds = rounds
    job.profile = LoadProfile(rawValue: profile)!
    job.messagesPerPacket = messagesPerPacket
    job.symbols = symbols
    job.channels = channels
    job.harnessCPU = harnessCPU
    job.gatewayCPU = gatewayCPU
    job.threading = ThreadingSection.Mode(rawValue: threading)!
    job.idle = IdleStrategy(rawValue: idle)!
    job.noRelay = noRelay
    job.external = external.flatMap(IPv4Endpoint.init)
    job.externalGroups = (externalGroups ?? "").split(separator: ",").compactMap { IPv4Endpoint(String($0)) }
    job.findMax = findMax
    job.p99BoundUs = p99BoundUs
    job.out = out
    job.basePort = basePort
    // A refusal is reported as a bad option is (exit code 64).
    do { try job.run() } catch let error as BenchError { throw ValidationError(error.description) }
  }
}
