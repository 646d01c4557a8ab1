import Book
import Capture
import ITCH
import QuotecastCore
import Transport

/// A sink that is told each datagram's capture time.
protocol TimedSink: PacketSink {
  var timestampNs: UInt64 { get set }
  /// The first write that failed: the replay stops there.
  var error: Error? { get }
}

/// The pcap's datagrams come from here and go to the default groups (`ChannelGroups`).
enum PcapSource {
  static let address: UInt32 = 0x7F00_0001
  static let port: UInt16 = 31000
}

/// Writes every packet as the UDP/IPv4 datagram the gateway would multicast.
struct PcapSink: TimedSink {
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

/// Counts packets and keeps none (throughput runs).
public struct DiscardSink: TimedSink {
  public var packets: UInt64 = 0
  public var timestampNs: UInt64 = 0
  public var error: Error? { nil }
  public init() {}
  public mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets += 1 }
}

/// `quotecast replay FILE`: the whole core over a day file or capture, as fast as it goes, batched
/// as asked (one datagram a batch by default), into a pcap of what the gateway would send or into
/// nothing; then, if asked, a snapshot of every instrument. The same input and options give
/// byte-identical output.
public struct OfflineReplay {
  public let config: CoreConfig
  public var messagesPerPacket = 20
  /// Only capture datagrams sent to this UDP port.
  public var udpPort: UInt16?
  public var batching = BatchPlan(sizes: [1])
  /// After the input, publish a full-book snapshot of every instrument on the snapshot channel.
  public var snapshots = false

  public init(config: CoreConfig) { self.config = config }

  public struct Result {
    public let core: QuotecastCore
    public let summary: InputSummary
    /// Wall time of the whole run, file read and output included.
    public let elapsedNs: UInt64
    public let packetsWritten: UInt64
  }

  /// Runs the input through a new core; with `output`, every packet it sends goes into that pcap.
  public func run(input: String, output: String? = nil) throws -> Result {
    let core = QuotecastCore(config: config)
    let startNs = Clock.monotonicNs()
    if let output {
      let writer = try PcapWriter(path: output)
      var sink = PcapSink(writer: writer, snapshotChannel: core.encoder.snapshotChannel)
      let summary = try feed(input, into: core, &sink)
      if let error = sink.error { throw error }
      try writer.close()
      return Result(
        core: core, summary: summary, elapsedNs: Clock.monotonicNs() - startNs, packetsWritten: sink.packets)
    }
    var sink = DiscardSink()
    let summary = try feed(input, into: core, &sink)
    return Result(core: core, summary: summary, elapsedNs: Clock.monotonicNs() - startNs, packetsWritten: 0)
  }

  func feed<Sink: TimedSink>(_ input: String, into core: QuotecastCore, _ sink: inout Sink) throws -> InputSummary {
    var batching = self.batching
    var lastTimestampNs: UInt64 = 0
    let summary = try ReadAheadInput.forEachDatagram(
      path: input, messagesPerPacket: messagesPerPacket, udpPort: udpPort
    ) {
      datagram, timestampNs in
      sink.timestampNs = timestampNs
      lastTimestampNs = timestampNs
      batching.process(core, moldPacket: datagram, nowNs: timestampNs, into: &sink)
      if let error = sink.error { throw error }
    }
    batching.finish(core, into: &sink)
    if snapshots {
      core.publishSnapshots(
        channel: core.encoder.snapshotChannel, upstreamSequence: core.session.expectedSequence - 1,
        nowNs: lastTimestampNs, into: &sink)
    }
    return summary
  }
}

/// The summary `replay` prints: messages by type, every anomaly counter, books, throughput.
public struct ReplayReport {
  let input: String
  let summary: InputSummary
  let pipeline: QuotecastCore
  let elapsedNs: UInt64

  public init(input: String, summary: InputSummary, pipeline: QuotecastCore, elapsedNs: UInt64) {
    self.input = input
    self.summary = summary
    self.pipeline = pipeline
    self.elapsedNs = elapsedNs
  }

  public static func grouped(_ value: UInt64) -> String {
    let digits = String(value)
    var out = ""
    for (index, character) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
      out.append(character)
    }
    return out
  }

  public var text: String {
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
        + "\(Self.grouped(UInt64(books.liveLevels))) price levels; order store peak "
        + "\(books.peakReferencePages) of \(books.config.maxReferencePages) pages")
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
  public init(format1 value: Double) { self = Self.fixed(value, digits: 1) }
  public init(format3 value: Double) { self = Self.fixed(value, digits: 3) }

  public static func fixed(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (value * scale).rounded()
    let whole = Int(scaled / scale)
    var fraction = String(Int(abs(scaled).truncatingRemainder(dividingBy: scale)))
    while fraction.count < digits { fraction = "0" + fraction }
    return digits == 0 ? "\(whole)" : "\(whole).\(fraction)"
  }
}
