import Encoding
import ITCH
import QuotecastCore

/// One core for the whole run, small pools so exhaustion paths are reached too.
nonisolated(unsafe) let core: QuotecastCore = {
  var config = CoreConfig()
  config.books.maxLocates = 64
  config.books.maxLiveOrders = 4096
  config.books.maxLevels = 2048
  config.books.levelArenaEntries = 1 << 14
  config.books.maxOrderReference = 1 << 20
  config.books.maxReferencePages = 32
  config.books.publishedDepth = 3
  config.encoder.channels = 2
  config.encoder.maxDatagramBytes = 512
  config.encoder.snapshotDepth = 3
  // Gap filling on, with a small hold: holding, draining, re-requests and giving up are reached.
  config.gapFill.holdNs = 3
  config.gapFill.rerequestAttempts = 1
  config.gapFill.rerequestTimeoutNs = 2
  config.gapFill.maxHeldPackets = 16
  config.gapFill.maxHeldPacketBytes = 512
  return QuotecastCore(config: config)
}()

struct VerifyingSink: PacketSink {
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    // Whatever the input, every packet out must be a valid quotecast packet within the datagram.
    guard packet.count <= 512, verifyPacket(packet) else { fatalError("bad packet out: \(packet.count) bytes") }
  }
}

/// The input is a sequence of datagrams: [length: UInt16 BE][bytes]. Each goes through the whole
/// core (MoldUDP64 framing, sequencing and gap filling, ITCH decode, books, encoding); now and then a
/// snapshot cycle.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  var frames = DayFrameIterator(UnsafeRawBufferPointer(start: data, count: size))
  var sink = VerifyingSink()
  var count = 0
  while let datagram = frames.next() {
    core.process(moldPacket: datagram, nowNs: UInt64(count), into: &sink)
    _ = core.tick(nowNs: UInt64(count), into: &sink)
    count += 1
  }
  if size % 7 == 0 {
    core.publishSnapshots(channel: core.encoder.snapshotChannel, upstreamSequence: 0, nowNs: 0, into: &sink)
  }
  if core.books.eventsDropped != 0 { fatalError("events dropped") }
  return 0
}
