import ArgumentParser
import Glibc
import ITCH
import QuotecastClient
import QuotecastCore
import Synth

/// What a subscriber pays per update: decoding the packet views, and applying to the mirror.
struct BenchClientCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-client",
    abstract: "Subscriber cost per update on a generated day's output, held in memory: decode, and decode + apply.")

  @Option(help: "Messages in the generated day.")
  var messages = 2_000_000

  @Option(help: "Symbols in the generated day.")
  var symbols = 500

  @Option(help: "Seed of the generated day.")
  var seed: UInt64 = 1

  @Option(help: "Timed passes per stage; the median is reported.")
  var passes = 5

  @OptionGroup var core: CoreOptions

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard messages >= 1000 && messages <= 100_000_000 else { throw ValidationError("--messages must be 1000...1e8") }
    guard symbols >= 1 && symbols <= 60_000 else { throw ValidationError("--symbols must be 1...60000") }
    guard passes >= 1 && passes <= 100 else { throw ValidationError("--passes must be 1...100") }
  }

  /// Every packet the core published for the day, back to back, as a subscriber would receive it.
  struct Output: PacketSink {
    var bytes: [UInt8] = []
    var packets: [(offset: Int, count: Int)] = []
    mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
      packets.append((bytes.count, packet.count))
      bytes.append(contentsOf: packet)
    }
  }

  func run() throws {
    let config = try core.coreConfig()
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    var packetizer = MoldPacketizer(
      session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: core.messagesPerPacket)
    let gateway = QuotecastCore(config: config)
    var output = Output()
    var nowNs: UInt64 = 0
    day.forEachDatagram(&packetizer) { datagram in
      gateway.process(moldPacket: datagram, nowNs: nowNs, into: &output)
      nowNs += 1
    }

    var updates = 0
    var decodeSamples: [Double] = []
    var applySamples: [Double] = []
    var checksum: UInt64 = 0
    output.bytes.withUnsafeBytes { raw in
      for _ in 0..<passes {
        // Decode: every update's payload read through the views, as a callback would.
        var count = 0
        var startNs = monotonicNowNs()
        for packet in output.packets {
          guard
            let view = PacketView(UnsafeRawBufferPointer(rebasing: raw[packet.offset..<packet.offset + packet.count]))
          else { continue }
          for index in 0..<view.updateCount {
            guard let update = view.update(at: index) else { continue }
            count += 1
            if let level = update.level { checksum &+= level.shares } else { checksum &+= update.upstreamSequence }
          }
        }
        decodeSamples.append(Double(monotonicNowNs() - startNs))
        updates = count
        // Decode and apply: the mirror a subscriber keeps (fresh each pass, so it includes warm-up).
        let mirror = FeedMirror(depth: config.books.publishedDepth, channelCount: config.encoder.channels)
        startNs = monotonicNowNs()
        for packet in output.packets {
          _ = mirror.receive(UnsafeRawBufferPointer(rebasing: raw[packet.offset..<packet.offset + packet.count]))
        }
        applySamples.append(Double(monotonicNowNs() - startNs))
        checksum &+= mirror.updates
      }
    }
    if checksum == 42 { print("") }  // keeps the decode pass observable
    let median = { (samples: [Double]) in samples.sorted()[samples.count / 2] }
    let decodeNs = median(decodeSamples) / Double(updates)
    let applyNs = median(applySamples) / Double(updates)
    let perPacketNs = median(applySamples) / Double(output.packets.count)
    if json {
      print(
        "{\"messages\":\(messages),\"symbols\":\(symbols),\"packets\":\(output.packets.count),\"updates\":\(updates),"
          + "\"passes\":\(passes),\"decode_ns_per_update\":\(String.fixed(decodeNs, digits: 2)),"
          + "\"decode_apply_ns_per_update\":\(String.fixed(applyNs, digits: 2)),"
          + "\"decode_apply_ns_per_packet\":\(String.fixed(perPacketNs, digits: 1)),"
          + "\"updates_per_second\":\(Int(1e9 / applyNs))}")
    } else {
      print(
        "day        \(ReplayReport.grouped(UInt64(messages))) messages, \(symbols) symbols → "
          + "\(ReplayReport.grouped(UInt64(output.packets.count))) packets, \(ReplayReport.grouped(UInt64(updates))) updates"
      )
      print("stage                   ns/update   updates/s   (median of \(passes), in memory)")
      print(
        "decode (views)".padding(22) + String.fixed(decodeNs, digits: 2).leftPadded(11)
          + ReplayReport.grouped(UInt64(1e9 / decodeNs)).leftPadded(14))
      print(
        "decode + apply (mirror)".padding(22) + String.fixed(applyNs, digits: 2).leftPadded(11)
          + ReplayReport.grouped(UInt64(1e9 / applyNs)).leftPadded(14))
      print("per packet, decode + apply: \(String.fixed(perPacketNs, digits: 1)) ns")
    }
  }
}
