import Book
import ITCH
import Replay
import ArgumentParser
import Capture
import Foundation
import Glibc
import QuotecastCore
import Transport

struct ReplayCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replay",
    abstract: "Run the whole core on a day file or capture as fast as it can, writing what the gateway would send.")

  @Argument(help: "A NASDAQ day file (plain or .gz) or a pcap/pcapng capture of MoldUDP64.")
  var input: String

  @Option(name: .shortAndLong, help: "Write every output packet, as UDP/IPv4 to the channel groups, into this pcap.")
  var output: String?

  @Option(
    help: "Send the input's MoldUDP64 packets to a gateway at this loopback address:port instead of running the core.")
  var to: String?

  @Option(help: "With --to: pacing as a multiple of the original timestamps (1, 10, ...) or max.")
  var speed = "max"

  @Option(help: "With --to: a fixed rate in messages per second (open loop); overrides --speed.")
  var rate: Double?

  @Flag(name: .customLong("loop"), help: "With --to: start over at the end of the input (needs --duration).")
  var loopInput = false

  @Option(help: "With --to: stop after this many seconds.")
  var duration: Double?

  @Option(help: "With --to: also send every packet to this second line (A/B), right after line A.")
  var lineB: String?

  @Option(
    help: """
      With --to: inject faults, as kind=rate per datagram: drop_a, drop_b, drop_both, duplicate, reorder,       truncate (line A), unknown_reference, foreign (a copy from 127.0.0.2). Example: drop_a=0.01,reorder=0.005
      """)
  var faults: String?

  @Option(help: "With --faults: the seed of the fault draw.")
  var faultSeed: UInt64 = 1

  @Option(help: "With --to: write what the faults injected (exact counts) as JSON to this file.")
  var faultReport: String?

  @Option(help: "With --to: serve MoldUDP64 re-requests on 127.0.0.1:PORT from everything sent.")
  var rerequestPort: UInt16?

  @Option(
    help: "With --to: the interface multicast leaves by, and the re-request server's address (127.0.0.1 by default).")
  var interface = "127.0.0.1"

  @Option(help: "With --rerequest-port: keep serving this many seconds after the last packet.")
  var rerequestLinger: Double = 2

  @OptionGroup var core: CoreOptions

  @Option(help: "Only read capture datagrams sent to this UDP port.")
  var port: UInt16?

  @Flag(help: "After the input, publish a full-book snapshot of every instrument on the snapshot channel.")
  var snapshots = false

  @Option(help: "Write every book, to the published depth, as JSON to this file.")
  var booksJSON: String?

  @Option(
    help: """
      Batch the output as the live gateway does under backlog: this many input datagrams share their channels' \
      packets (default 1: a packet closes after every datagram).
      """)
  var batchDatagrams: Int?

  @Option(help: "Batch sizes to use in turn (\"3,1,1,5\", or a file of them), to reproduce a given batching.")
  var batchPlan: String?

  @Flag(help: "Print nothing but errors.")
  var quiet = false

  /// The offline batching asked for, if any.
  func offlineBatching() throws -> BatchPlan? {
    if let batchDatagrams {
      guard let plan = BatchPlan("\(batchDatagrams)") else {
        throw ValidationError("--batch-datagrams must be 1...4096, got \(batchDatagrams)")
      }
      return plan
    }
    guard let batchPlan else { return nil }
    var text = batchPlan
    if FileManager.default.fileExists(atPath: batchPlan) {
      text = try String(contentsOfFile: batchPlan, encoding: .utf8)
    }
    guard let plan = BatchPlan(text) else {
      throw ValidationError("--batch-plan must be batch sizes of 1...4096 (\"3,1,1,5\" or a file of them)")
    }
    return plan
  }

  func validate() throws {
    if to == nil
      && (loopInput || duration != nil || rate != nil || speed != "max" || lineB != nil || faults != nil
        || rerequestPort != nil || faultReport != nil)
    {
      throw ValidationError("--speed, --rate, --loop, --duration, --line-b, --faults and --rerequest-port go with --to")
    }
    if let faults { _ = try replayOption { try FaultPlan(faults, seed: faultSeed) } }
    _ = try replayOption { try NetworkReplay.parseSpeed(speed) }
    if let lineB, IPv4Endpoint(lineB) == nil { throw ValidationError("--line-b must be address:port, got \(lineB)") }
    if IPv4Endpoint.parseAddress(interface) == nil {
      throw ValidationError("--interface must be an IPv4 address, got \(interface)")
    }
    if !(rerequestLinger >= 0 && rerequestLinger <= 600) { throw ValidationError("--rerequest-linger must be 0...600") }
    if to != nil && output != nil { throw ValidationError("--to and --output are exclusive") }
    if loopInput && duration == nil { throw ValidationError("--loop needs --duration, so the replay stops by itself") }
    if let rate, !(rate > 0) { throw ValidationError("--rate must be positive") }
    if batchDatagrams != nil && batchPlan != nil {
      throw ValidationError("--batch-datagrams and --batch-plan are exclusive")
    }
    if to != nil && (batchDatagrams != nil || batchPlan != nil) {
      throw ValidationError("--batch-datagrams and --batch-plan shape the core's output: they do not go with --to")
    }
    _ = try offlineBatching()
    if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
  }

  func run() throws {
    if let to {
      guard let destination = IPv4Endpoint(to) else { throw ValidationError("--to must be address:port, got \(to)") }
      var replay = NetworkReplay(
        destination: destination, speed: try replayOption { try NetworkReplay.parseSpeed(speed) }, rate: rate,
        loopInput: loopInput,
        durationNs: duration.map { UInt64($0 * 1e9) })
      replay.lineB = lineB.flatMap(IPv4Endpoint.init)
      replay.interface = IPv4Endpoint.parseAddress(interface)!
      if let faults { replay.faults = try replayOption { try FaultPlan(faults, seed: faultSeed) } }
      let sent = try replayOption {
        if let rerequestPort {
          return try replay.run(
            input: input, messagesPerPacket: core.messagesPerPacket, servingRerequestsOn: rerequestPort,
            lingerNs: UInt64(rerequestLinger * 1e9))
        }
        return try replay.run(input: input, messagesPerPacket: core.messagesPerPacket)
      }
      if let faultReport {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(replay.counts).write(to: URL(fileURLWithPath: faultReport))
      }
      if !quiet {
        let seconds = Double(sent.elapsedNs) / 1e9
        print(
          "sent       \(ReplayReport.grouped(sent.datagrams)) MoldUDP64 packets, "
            + "\(ReplayReport.grouped(sent.messages)) messages to \(destination) in \(String(format3: seconds)) s "
            + "(\(ReplayReport.grouped(UInt64(Double(sent.messages) / max(seconds, 1e-9)))) msg/s)")
      }
      return
    }
    var replay = OfflineReplay(config: try core.coreConfig())
    replay.messagesPerPacket = core.messagesPerPacket
    replay.udpPort = port
    replay.batching = try offlineBatching() ?? BatchPlan(sizes: [1])
    replay.snapshots = snapshots
    let result = try replay.run(input: input, output: output)
    if let booksJSON {
      try replayOption {
        try writeBooksJSON(result.core.books, depth: replay.config.books.publishedDepth, path: booksJSON)
      }
    }
    if !quiet {
      print(
        ReplayReport(input: input, summary: result.summary, pipeline: result.core, elapsedNs: result.elapsedNs).text)
    }
  }
}

/// A replay option the library refused, as the CLI reports bad options (exit code 64).
func replayOption<Result>(_ body: () throws -> Result) throws -> Result {
  do { return try body() } catch let error as ReplayError { throw ValidationError(error.description) }
}
