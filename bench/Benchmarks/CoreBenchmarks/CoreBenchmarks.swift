import Benchmark
import ITCH
import QuotecastClient
import QuotecastCore
import Synth

/// A generated day framed into MoldUDP64 datagrams, held back to back in memory.
struct Day {
  var bytes: [UInt8] = []
  var datagrams: [(offset: Int, count: Int)] = []
  var messages = 0

  init(messages: Int, symbols: Int, seed: UInt64 = 7) {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    var packetizer = MoldPacketizer(session: MoldSessionID("BENCH"), maxMessagesPerPacket: 20)
    var bytes: [UInt8] = []
    var datagrams: [(offset: Int, count: Int)] = []
    func take(_ datagram: UnsafeRawBufferPointer) {
      datagrams.append((bytes.count, datagram.count))
      bytes.append(contentsOf: datagram)
    }
    day.forEachDatagram(&packetizer, take)
    self.bytes = bytes
    self.datagrams = datagrams
    self.messages = messages
  }

  func forEach(_ body: (UnsafeRawBufferPointer) -> Void) {
    bytes.withUnsafeBytes { raw in
      for datagram in datagrams {
        body(UnsafeRawBufferPointer(rebasing: raw[datagram.offset..<datagram.offset + datagram.count]))
      }
    }
  }
}

struct Discard: PacketSink {
  var packets = 0
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets += 1 }
}

struct Keep: PacketSink {
  var bytes: [UInt8] = []
  var packets: [(offset: Int, count: Int)] = []
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    packets.append((bytes.count, packet.count))
    bytes.append(contentsOf: packet)
  }
}

func coreConfig() -> CoreConfig {
  var config = CoreConfig()
  config.encoder.channels = 4
  return config
}

let messagesPerDay = 200_000

// Names without spaces: the threshold files are named after them.
//   ITCHDecode:  MoldUDP64 framing and a field read per message (the decode floor)
//   BooksApply:  session, decode and books
//   WholeCore:   session, decode, books and encode (the gateway's core, no I/O)
//   ClientApply: a subscriber decoding the day's output and applying it to its FeedMirror
//   BooksApplyDeep, WholeCoreDeep: the same on a deep, busy day (1M messages over 50 symbols,
//     seed 13: the messages per symbol of bench/core_throughput.py's "10M/500 deep" day; it ends
//     with 40 levels a book against that day's 28)
//   BooksApplyFew, WholeCoreFew: the same on a few-symbols day (1M messages over 5 symbols,
//     seed 50: the 200,000 messages per symbol of core_throughput.py's "10M/50 few" day)
let benchmarks: @Sendable () -> Void = {
  // Time in µs per whole day (200k messages), mallocs counted; throughput is days a second.
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal],
    timeUnits: .microseconds,
    warmupIterations: 1,
    scalingFactor: .one,
    maxDuration: .seconds(3),
    maxIterations: 30,
    thresholds: [
      .wallClock: .init(relative: [.p90: 60]),
      .mallocCountTotal: .init(absolute: [.p90: 0]),
    ]
  )
  let day = Day(messages: messagesPerDay, symbols: 200)

  Benchmark("ITCHDecode") { benchmark in
    var checksum: UInt64 = 0
    for _ in benchmark.scaledIterations {
      day.forEach { checksum &+= MoldPacket.decodeFloorChecksum($0) }
    }
    blackHole(checksum)
  }

  // Each iteration gets fresh books, built before the measurement starts: a core fed the same day
  // twice would drop the second as duplicates. So the pools' first touch is measured, and their
  // allocation is not. The deep day's iteration is the whole day (5× the others), so fewer fit in
  // maxDuration.
  let deepDay = Day(messages: 1_000_000, symbols: 50, seed: 13)
  let fewDay = Day(messages: 1_000_000, symbols: 5, seed: 50)
  for (suffix, measured) in [("", day), ("Deep", deepDay), ("Few", fewDay)] {
    Benchmark("BooksApply" + suffix) { benchmark in
      let core = QuotecastCore(config: coreConfig())
      benchmark.startMeasurement()
      measured.forEach { core.applyToBooks(moldPacket: $0) }
      benchmark.stopMeasurement()
      blackHole(core.books.liveOrders)
    }

    Benchmark("WholeCore" + suffix) { benchmark in
      let core = QuotecastCore(config: coreConfig())
      var sink = Discard()
      benchmark.startMeasurement()
      measured.forEach { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
      benchmark.stopMeasurement()
      blackHole(sink.packets)
    }
  }

  let output: Keep = {
    let core = QuotecastCore(config: coreConfig())
    var output = Keep()
    day.forEach { core.process(moldPacket: $0, nowNs: 0, into: &output) }
    return output
  }()

  Benchmark("ClientApply") { benchmark in
    let mirror = FeedMirror(depth: 10, channelCount: 4)
    benchmark.startMeasurement()
    output.bytes.withUnsafeBytes { raw in
      for packet in output.packets {
        _ = mirror.receive(UnsafeRawBufferPointer(rebasing: raw[packet.offset..<packet.offset + packet.count]))
      }
    }
    benchmark.stopMeasurement()
    blackHole(mirror.updates)
  }
}
