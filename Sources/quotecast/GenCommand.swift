import ArgumentParser
import Capture
import ITCH
import Synth

enum GenFormat: String, ExpressibleByArgument, CaseIterable {
  case raw
  case pcap
}

struct GenCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gen",
    abstract: "Write a realistic, internally consistent synthetic ITCH 5.0 day.",
    discussion: """
      raw: a NASDAQ day file ([length: UInt16 BE][message] frames; gzipped if FILE ends in .gz).
      pcap: MoldUDP64 packets over UDP/IPv4 to 127.0.0.1:\(GenCommand.feedPort), ending with an end-of-session packet.
      """)

  static let feedPort: UInt16 = 26400

  @Option(help: "Messages in the day.")
  var messages = 1_000_000

  @Option(help: "Instruments in the day.")
  var symbols = 100

  @Option(help: "Seed: the same seed gives the same bytes.")
  var seed: UInt64 = 1

  @Option(help: "Output file.")
  var out: String

  @Option(help: "raw or pcap (default: pcap if FILE ends in .pcap, else raw).")
  var format: GenFormat?

  @Option(help: "Messages per MoldUDP64 packet (pcap).")
  var messagesPerPacket = 20

  func validate() throws {
    guard messages >= 1 else { throw ValidationError("--messages must be at least 1") }
    guard symbols >= 1 && symbols <= 65535 else { throw ValidationError("--symbols must be 1...65535") }
    guard messagesPerPacket >= 1 && messagesPerPacket <= 4096 else {
      throw ValidationError("--messages-per-packet must be 1...4096")
    }
  }

  func run() throws {
    let startNs = monotonicNowNs()
    let format = self.format ?? (out.hasSuffix(".pcap") ? .pcap : .raw)
    try Self.generate(
      messages: messages, symbols: symbols, seed: seed, out: out, format: format, messagesPerPacket: messagesPerPacket)
    let seconds = Double(monotonicNowNs() - startNs) / 1e9
    print(
      "gen        \(ReplayReport.grouped(UInt64(messages))) messages, \(symbols) symbols, seed \(seed) → \(out) (\(format.rawValue), \(String(format3: seconds)) s)"
    )
  }

  static func generate(
    messages: Int, symbols: Int, seed: UInt64, out: String, format: GenFormat, messagesPerPacket: Int
  ) throws {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: ITCHWriter.maxMessageBytes, alignment: 8)
    defer { buffer.deallocate() }
    switch format {
    case .raw:
      let writer = try DayFileWriter(path: out)
      while let length = day.next(into: buffer) {
        try writer.write(message: UnsafeRawBufferPointer(start: buffer, count: length))
      }
      try writer.close()
    case .pcap:
      let writer = try PcapWriter(path: out)
      var packetizer = MoldPacketizer(
        session: MoldSessionID("QUOTECAST"), maxDatagramBytes: 1400, maxMessagesPerPacket: messagesPerPacket)
      var packetTimestampNs: UInt64 = 0
      func send(_ datagram: UnsafeRawBufferPointer) throws {
        try writer.write(
          timestampNs: packetTimestampNs, sourceAddress: 0x7F00_0001, sourcePort: feedPort + 1,
          destinationAddress: 0x7F00_0001, destinationPort: feedPort, payload: datagram)
      }
      while let length = day.next(into: buffer) {
        if packetizer.wouldOverflow(messageBytes: length) { try packetizer.flush(send) }
        if packetizer.pendingMessages == 0 { packetTimestampNs = loadBigEndianUInt48(buffer, 5) }
        packetizer.append(UnsafeRawBufferPointer(start: buffer, count: length))
      }
      try packetizer.flush(send)
      try packetizer.control(endOfSession: true, send)
      try writer.close()
    }
  }
}
