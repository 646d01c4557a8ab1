import ArgumentParser
import Replay
import Transport

extension DayFileFormat: ExpressibleByArgument {}

struct GenCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gen",
    abstract: "Write a realistic, internally consistent synthetic ITCH 5.0 day.",
    discussion: """
      raw: a NASDAQ day file ([length: UInt16 BE][message] frames; gzipped if FILE ends in .gz).
      pcap: MoldUDP64 packets over UDP/IPv4 to 127.0.0.1:\(SyntheticDayFile.feedPort), ending with an end-of-session packet.
      """)

  @Option(help: "Messages in the day.")
  var messages = 1_000_000

  @Option(help: "Instruments in the day.")
  var symbols = 100

  @Option(help: "Seed: the same seed gives the same bytes.")
  var seed: UInt64 = 1

  @Option(help: "Output file.")
  var out: String

  @Option(help: "raw or pcap (default: pcap if FILE ends in .pcap, else raw).")
  var format: DayFileFormat?

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
    let startNs = Clock.monotonicNs()
    let format = self.format ?? (out.hasSuffix(".pcap") ? .pcap : .raw)
    try SyntheticDayFile.write(
      messages: messages, symbols: symbols, seed: seed, out: out, format: format, messagesPerPacket: messagesPerPacket)
    let seconds = Double(Clock.monotonicNs() - startNs) / 1e9
    print(
      "gen        \(ReplayReport.grouped(UInt64(messages))) messages, \(symbols) symbols, seed \(seed) → \(out) (\(format.rawValue), \(String(format3: seconds)) s)"
    )
  }
}
