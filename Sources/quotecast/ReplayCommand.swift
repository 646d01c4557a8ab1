import Book
import ITCH
import Replay
import ArgumentParser
import Capture
import Foundation
import Glibc
import QuotecastCore
import Transport

/// The pcap's datagrams come from here and go to the default groups (`ChannelGroups`).
enum PcapSource {
  static let address: UInt32 = 0x7F00_0001
  static let port: UInt16 = 31000
}

/// Writes every packet as the UDP/IPv4 datagram the gateway would multicast.
struct PcapSink: PacketSink {
  let writer: PcapWriter
  let snapshotChannel: UInt16
  var timestampNs: UInt64 = 0
  var error: Error?
  var packets: UInt64 = 0

  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    guard error == nil else { return }
    let destination =
      channel == snapshotChannel ? ChannelGroups.defaultSnapshot : ChannelGroups.group(Int(channel))
    do {
      try writer.write(
        timestampNs: timestampNs, sourceAddress: PcapSource.address, sourcePort: PcapSource.port,
        destinationAddress: destination.address, destinationPort: destination.port, payload: packet)
      packets += 1
    } catch {
      self.error = error
    }
  }
}

struct DiscardSink: PacketSink {
  var packets: UInt64 = 0
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets += 1 }
}

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
      if let rerequestPort {
        let server = try RerequestServer(port: rerequestPort, address: replay.interface)
        server.start()
        replay.rerequest = server
      }
      let sent = try replayOption { try replay.run(input: input, messagesPerPacket: core.messagesPerPacket) }
      if let server = replay.rerequest {
        usleep(UInt32(rerequestLinger * 1e6))
        server.stop()
        let served = server.counts
        replay.counts.rerequestsServed = served.requestsServed
        replay.counts.messagesRetransmitted = served.messagesRetransmitted
        replay.counts.datagramsRetransmitted = served.datagramsRetransmitted
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
    let config = try core.coreConfig()
    let pipeline = QuotecastCore(config: config)
    var batching = try offlineBatching() ?? BatchPlan(sizes: [1])
    var summary = InputSummary()
    let startNs = monotonicNowNs()
    var lastTimestampNs: UInt64 = 0
    if let output {
      let writer = try PcapWriter(path: output)
      var sink = PcapSink(writer: writer, snapshotChannel: pipeline.encoder.snapshotChannel)
      summary = try FeedInput.forEachDatagram(
        path: input, messagesPerPacket: core.messagesPerPacket, udpPort: port
      ) { datagram, timestampNs in
        sink.timestampNs = timestampNs
        lastTimestampNs = timestampNs
        batching.process(pipeline, moldPacket: datagram, nowNs: timestampNs, into: &sink)
        if let error = sink.error { throw error }
      }
      batching.finish(pipeline, into: &sink)
      if snapshots {
        pipeline.publishSnapshots(
          channel: pipeline.encoder.snapshotChannel, upstreamSequence: pipeline.session.expectedSequence - 1,
          nowNs: lastTimestampNs, into: &sink)
      }
      if let error = sink.error { throw error }
      try writer.close()
    } else {
      var sink = DiscardSink()
      summary = try FeedInput.forEachDatagram(
        path: input, messagesPerPacket: core.messagesPerPacket, udpPort: port
      ) { datagram, timestampNs in
        lastTimestampNs = timestampNs
        batching.process(pipeline, moldPacket: datagram, nowNs: timestampNs, into: &sink)
      }
      batching.finish(pipeline, into: &sink)
      if snapshots {
        pipeline.publishSnapshots(
          channel: pipeline.encoder.snapshotChannel, upstreamSequence: pipeline.session.expectedSequence - 1,
          nowNs: lastTimestampNs, into: &sink)
      }
    }
    let elapsedNs = monotonicNowNs() - startNs
    if let booksJSON {
      try writeBooksJSON(pipeline.books, depth: config.books.publishedDepth, path: booksJSON)
    }
    if !quiet {
      print(
        ReplayReport(
          input: input, summary: summary, pipeline: pipeline, elapsedNs: elapsedNs
        ).text)
    }
  }
}

func writeBooksJSON(_ books: OrderBooks, depth: Int, path: String) throws {
  try writeBooksJSON(books.activeLocates.map { (books, $0) }, depth: depth, path: path)
}

/// Every shard's books, in locate order (each locate lives in exactly one shard).
func writeBooksJSON(_ cores: [QuotecastCore], depth: Int, path: String) throws {
  let held = cores.flatMap { core in core.books.activeLocates.map { (core.books, $0) } }.sorted { $0.1 < $1.1 }
  try writeBooksJSON(held, depth: depth, path: path)
}

func writeBooksJSON(_ held: [(OrderBooks, UInt16)], depth: Int, path: String) throws {
  let body = held.map { bookJSON($0.0, locate: $0.1, depth: depth) }.joined(separator: ",\n  ")
  let text = "{\"depth\":\(depth),\"books\":[\n  \(body)\n]}\n"
  guard let file = fopen(path, "w") else {
    throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
  }
  defer { fclose(file) }
  guard fputs(text, file) >= 0 else { throw ValidationError("cannot write \(path)") }
}

/// The summary `replay` prints: messages by type, every anomaly counter, books, throughput.
struct ReplayReport {
  let input: String
  let summary: InputSummary
  let pipeline: QuotecastCore
  let elapsedNs: UInt64

  static func grouped(_ value: UInt64) -> String {
    let digits = String(value)
    var out = ""
    for (index, character) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(character)
    }
    return out
  }

  var text: String {
    let books = pipeline.books
    let session = pipeline.session.counters
    var lines: [String] = []
    lines.append(
      "input      \(input) (\(summary.formatDescription)): \(Self.grouped(summary.datagrams)) MoldUDP64 packets")
    if let offset = summary.truncatedAtOffset {
      lines.append("           truncated: the file ends inside the frame at byte \(Self.grouped(offset))")
    }
    let byType = ITCHMessageType.all.compactMap { type -> String? in
      let count = books.messages(ofType: type)
      return count > 0 ? "\(Character(Unicode.Scalar(type))) \(Self.grouped(count))" : nil
    }
    lines.append("messages   \(Self.grouped(books.counters.messages)) decoded: " + byType.joined(separator: "  "))
    // Every anomaly counter, zero or not, so a clean run says so explicitly.
    func block(_ title: String, _ counters: [(name: String, value: UInt64)]) {
      let total = counters.reduce(0) { $0 + $1.value }
      var rows: [String] = []
      var row = ""
      for (name, value) in counters {
        let cell = "\(name) \(Self.grouped(value))"
        if !row.isEmpty && row.count + cell.count + 2 > 96 {
          rows.append(row)
          row = ""
        }
        row += (row.isEmpty ? "" : ", ") + cell
      }
      rows.append(row)
      lines.append("\(title)\(total == 0 ? "(all zero) " : "")" + rows.joined(separator: "\n           "))
    }
    block("anomalies  book: ", books.counters.anomalies + [("events_dropped", books.eventsDropped)])
    block("           session: ", session.anomalies)
    block("           file: ", summary.anomalies)
    lines.append(
      "session    packets \(Self.grouped(session.packets)), heartbeats \(session.heartbeats), "
        + "end of session \(session.endOfSession > 0 || summary.endOfSession ? "seen" : "not seen")")
    let active = books.activeLocates.count
    lines.append(
      "books      \(active) instruments, \(Self.grouped(UInt64(books.liveOrders))) live orders, "
        + "\(Self.grouped(UInt64(books.liveLevels))) price levels")
    let encoded = pipeline.encoder.counters
    lines.append(
      "output     \(Self.grouped(encoded.packets)) packets, \(Self.grouped(encoded.updates)) updates, "
        + "\(Self.grouped(encoded.bytes)) bytes on \(pipeline.encoder.plan.channels) channel(s)")
    let seconds = Double(elapsedNs) / 1e9
    let messages = Double(books.counters.messages)
    let rate = seconds > 0 ? messages / seconds : 0
    let nsPerMessage = messages > 0 ? Double(elapsedNs) / messages : 0
    lines.append(
      "throughput \(Self.grouped(UInt64(rate))) msg/s, \(String(format1: nsPerMessage)) ns/msg "
        + "(\(String(format3: seconds)) s wall, file read and output included)")
    return lines.joined(separator: "\n")
  }
}

extension String {
  init(format1 value: Double) { self = Self.fixed(value, digits: 1) }
  init(format3 value: Double) { self = Self.fixed(value, digits: 3) }

  static func fixed(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    var fraction = String(Int(abs(scaled).truncatingRemainder(dividingBy: scale)))
    while fraction.count < digits { fraction = "0" + fraction }
    return digits == 0 ? "\(whole)" : "\(whole).\(fraction)"
  }
}

/// A replay option the library refused, as the CLI reports bad options (exit code 64).
func replayOption<Result>(_ body: () throws -> Result) throws -> Result {
  do { return try body() } catch let error as ReplayError { throw ValidationError(error.description) }
}
