import ITCH
import QuotecastClient
import QuotecastCore
import Replay
import Synth
import Transport

/// `quotecast bench-client`: a subscriber's cost per update, decoding through the views and applying to the
/// mirror, on a generated day's output held in memory.
public struct ClientCost: MeasuredCoreRun {

  /// Messages in the generated day.
  public var messages = 2_000_000

  /// Symbols in the generated day.
  public var symbols = 500

  /// Seed of the generated day.
  public var seed: UInt64 = 1

  /// Timed passes per stage; the median is reported.
  public var passes = 5
  /// The core the input runs through.
  public var config = CoreConfig()
  /// MoldUDP64 framing of a day file.
  public var messagesPerPacket = 20

  /// Print one JSON object instead of a table.
  public var json = false

  /// Every packet the core published for the day, back to back, as a subscriber would receive it.
  struct Output: PacketSink {
    var bytes: [UInt8] = []
    var packets: [(offset: Int, count: Int)] = []
    mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
      packets.append((bytes.count, packet.count))
      bytes.append(contentsOf: packet)
    }
  }

  public func run() throws {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    var packetizer = MoldPacketizer(
      session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: messagesPerPacket)
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
        var startNs = Clock.monotonicNs()
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
        decodeSamples.append(Double(Clock.monotonicNs() - startNs))
        updates = count
        // Decode and apply: the mirror a subscriber keeps (fresh each pass, so it includes warm-up).
        let mirror = FeedMirror(depth: config.books.publishedDepth, channelCount: config.encoder.channels)
        startNs = Clock.monotonicNs()
        for packet in output.packets {
          _ = mirror.receive(UnsafeRawBufferPointer(rebasing: raw[packet.offset..<packet.offset + packet.count]))
        }
        applySamples.append(Double(Clock.monotonicNs() - startNs))
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

  public init() {}
}
