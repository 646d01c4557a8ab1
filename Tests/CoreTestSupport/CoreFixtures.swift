import ITCH
import QuotecastCore
import Synth

// Fixtures for suites that drive the offline core: days as datagrams, sinks, a roomy config.

/// A synthetic day framed into MoldUDP64 datagrams, all in memory.
public func syntheticDatagrams(messages: Int, symbols: Int, seed: UInt64, perPacket: Int = 20) -> [[UInt8]] {
  var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
  var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: perPacket)
  var datagrams: [[UInt8]] = []
  day.forEachDatagram(&packetizer) { datagrams.append(Array($0)) }
  return datagrams
}

public struct CollectingSink: PacketSink {
  public var packets: [(channel: UInt16, bytes: [UInt8])] = []
  public init() {}
  public mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    packets.append((channel, Array(packet)))
  }
}

public struct CountingSink: PacketSink {
  public var packets = 0
  public var bytes = 0
  public init() {}
  public mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    packets += 1
    bytes += packet.count
  }
}

public func coreConfig(channels: Int = 3, depth: Int = 10) -> CoreConfig {
  var config = CoreConfig()
  config.books.maxLiveOrders = 1 << 18
  config.books.maxLevels = 1 << 17
  config.books.levelArenaEntries = 1 << 20
  config.books.maxReferencePages = 1024
  config.books.publishedDepth = depth
  config.encoder.channels = channels
  return config
}
