import ITCH
import QuotecastClient
import QuotecastCore
import Synth
import XCTest

@testable import Edge

/// Packets from the offline core: what the gateway's sending thread copies into the edge's tap.
struct CollectingSink: PacketSink {
  var packets: [(channel: UInt16, bytes: [UInt8])] = []
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets.append((channel, Array(packet))) }
}

final class EdgeHubTests: XCTestCase {
  let channels = 2

  /// A hub whose mirror holds a whole synthetic day's books.
  func hubAfterADay() -> EdgeHub {
    var edge = EdgeConfig()
    edge.channels = channels
    let hub = EdgeHub(config: edge) { _ in }
    var config = CoreConfig()
    config.encoder.channels = channels
    let core = QuotecastCore(config: config)
    var sink = CollectingSink()
    var day = SyntheticDay(config: SyntheticDayConfig(messages: 4_000, symbols: 6, seed: 5))
    var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: 10)
    day.forEachDatagram(&packetizer) { core.process(moldPacket: $0, nowNs: 1, into: &sink) }
    for packet in sink.packets { packet.bytes.withUnsafeBytes { hub.deliver(channel: packet.channel, $0, to: []) } }
    return hub
  }

  /// The symbols whose definitions the frames carry.
  func definedSymbols(_ frames: [[UInt8]]) -> [String] {
    var symbols: [String] = []
    for frame in frames {
      frame.withUnsafeBytes { bytes in
        guard let packet = PacketView(bytes) else { return XCTFail("a frame that does not verify") }
        for index in 0..<packet.updateCount {
          if let definition = packet.update(at: index)?.definition { symbols.append(definition.symbol) }
        }
      }
    }
    return symbols
  }

  func testASnapshotBuiltForAnEarlierSubscriptionIsNotQueued() throws {
    let hub = hubAfterADay()
    let symbols = hub.definitions.values.map(\.symbolText).sorted()
    XCTAssertEqual(symbols.count, 6)
    let connection = try XCTUnwrap(hub.open(remote: "test", closeChannel: {}))
    connection.subscribe(all: false, symbols: [symbols[0]])
    hub.sendSnapshotIfDue(connection) { connection.subscribe(all: false, symbols: [symbols[1], symbols[2]]) }
    XCTAssertEqual(connection.take(), [], "the first set's snapshot is thrown away")
    XCTAssertTrue(connection.state.withLock { $0.needsSnapshot }, "the new set's snapshot is still due")
    hub.sendSnapshotIfDue(connection)
    XCTAssertEqual(Set(definedSymbols(connection.take())), [symbols[1], symbols[2]])
    XCTAssertFalse(connection.state.withLock { $0.needsSnapshot })
  }

  func testASubscriptionGetsTheSnapshotOfExactlyItsInstruments() throws {
    let hub = hubAfterADay()
    let connection = try XCTUnwrap(hub.open(remote: "test", closeChannel: {}))
    connection.subscribe(all: true, symbols: [])
    hub.sendSnapshotIfDue(connection)
    XCTAssertEqual(Set(definedSymbols(connection.take())), Set(hub.definitions.values.map(\.symbolText)))
    hub.sendSnapshotIfDue(connection)
    XCTAssertEqual(connection.take(), [], "one snapshot per subscription")
  }
}
