import Encoding
import Feed
import Gateway
import ITCH
import QuotecastClient
import QuotecastCore
import XCTest

/// A sink that notes when each channel last sent, as the gateway's does, on the test's clock.
struct ClockedSink: PacketSink {
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nowNs: UInt64 = 0
  var packets: [(channel: UInt16, bytes: [UInt8])] = []

  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    packets.append((channel, Array(packet)))
    lastSendNs[Int(channel)] = nowNs
  }
}

/// Heartbeats, the snapshot cycle and gap ticks on an injected clock: no sockets, no real time.
final class CoreDutiesTests: XCTestCase {
  let ms: UInt64 = 1_000_000

  func core(channels: Int = 2, holdNs: UInt64 = 0) -> QuotecastCore {
    var config = CoreConfig()
    config.encoder.channels = channels
    var layout = FeedLayoutInfo()
    layout.channelCount = channels
    layout.ownedChannels = Array(0..<channels)
    layout.instance = "duties"
    config.encoder.layout = layout
    config.gapFill.holdNs = holdNs
    config.gapFill.rerequestAttempts = holdNs > 0 ? 1 : 0
    return QuotecastCore(config: config)
  }

  /// Each packet as (channel, sequence, updates, layouts, snapshot locates).
  func read(_ packets: [(channel: UInt16, bytes: [UInt8])]) -> [(UInt16, UInt64, Int, Int, [UInt16])] {
    packets.map { packet in
      packet.bytes.withUnsafeBytes { raw in
        guard let view = PacketView(raw) else {
          XCTFail("a packet that does not verify")
          return (packet.channel, 0, 0, 0, [])
        }
        var layouts = 0
        var snapshots: [UInt16] = []
        for index in 0..<view.updateCount {
          let update = view.update(at: index)
          if update?.layout != nil { layouts += 1 }
          if let snapshot = update?.snapshot { snapshots.append(snapshot.locate) }
        }
        return (view.channel, view.sequence, view.updateCount, layouts, snapshots)
      }
    }
  }

  func testAnIdleChannelHeartbeatsOncePerIntervalCarryingItsLastSequence() {
    let core = core()
    let lastSendNs = UnsafeMutablePointer<UInt64>.allocate(capacity: 3)
    defer { lastSendNs.deallocate() }
    lastSendNs.initialize(repeating: 0, count: 3)
    var duties = CoreDuties(
      heartbeatIntervalMs: 100, snapshotCycleMs: 60_000, snapshotTickMs: 60_000, startNs: 0, lastSendNs: lastSendNs)
    var sink = ClockedSink(lastSendNs: lastSendNs)
    for nowNs in [50 * ms, 99 * ms] {
      sink.nowNs = nowNs
      XCTAssertNil(duties.run(core: core, nowNs: nowNs, wallNs: nowNs, into: &sink))
    }
    XCTAssertTrue(sink.packets.isEmpty, "nothing is due before the interval")
    sink.nowNs = 100 * ms
    _ = duties.run(core: core, nowNs: 100 * ms, wallNs: 100 * ms, into: &sink)
    let first = read(sink.packets)
    XCTAssertEqual(first.map(\.0), [0, 1], "each written channel")
    XCTAssertEqual(first.map(\.1), [0, 0], "the last sequence: none sent yet")
    XCTAssertEqual(first.map(\.2), [0, 0], "no updates")
    sink.packets.removeAll()
    sink.nowNs = 199 * ms
    _ = duties.run(core: core, nowNs: 199 * ms, wallNs: 199 * ms, into: &sink)
    XCTAssertTrue(sink.packets.isEmpty, "the interval counts from the last send")
    sink.nowNs = 200 * ms
    _ = duties.run(core: core, nowNs: 200 * ms, wallNs: 200 * ms, into: &sink)
    XCTAssertEqual(read(sink.packets).map(\.0), [0, 1])
  }

  func testEveryInstrumentIsSnapshottedOncePerCycleAfterTheLayout() {
    let core = core()
    var ignored = ClockedSink(lastSendNs: .allocate(capacity: 3))
    defer { ignored.lastSendNs.deallocate() }
    ignored.lastSendNs.initialize(repeating: 0, count: 3)
    for datagram in dayDatagrams(messages: 20_000, symbols: 30, seed: 3) {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &ignored) }
    }
    let active = Set(core.books.activeLocates)
    XCTAssertEqual(active.count, 30)
    let lastSendNs = UnsafeMutablePointer<UInt64>.allocate(capacity: 3)
    defer { lastSendNs.deallocate() }
    lastSendNs.initialize(repeating: 0, count: 3)
    var duties = CoreDuties(
      heartbeatIntervalMs: 1_000_000, snapshotCycleMs: 1000, snapshotTickMs: 100, startNs: 0, lastSendNs: lastSendNs)
    XCTAssertEqual(duties.ticksPerCycle, 10)
    var sink = ClockedSink(lastSendNs: lastSendNs)
    var cycles: [[(UInt16, UInt64, Int, Int, [UInt16])]] = []
    for cycle in 0..<2 {
      for tick in 1...10 {
        let nowNs = UInt64(cycle * 10 + tick) * 100 * ms
        sink.nowNs = nowNs
        _ = duties.run(core: core, nowNs: nowNs, wallNs: nowNs, into: &sink)
      }
      cycles.append(read(sink.packets))
      sink.packets.removeAll()
    }
    for (index, packets) in cycles.enumerated() {
      XCTAssertTrue(packets.allSatisfy { $0.0 == 2 }, "cycle \(index): all on the snapshot channel")
      XCTAssertEqual(packets.first?.3, 1, "cycle \(index) opens with the layout, in a packet of its own")
      XCTAssertEqual(packets.reduce(0) { $0 + $1.3 }, 1, "one layout a cycle")
      let locates = packets.flatMap(\.4)
      XCTAssertEqual(locates.count, active.count, "cycle \(index): each instrument once")
      XCTAssertEqual(Set(locates), active)
    }
  }

  func testAGapTickAsksForTheMissingMessagesAfterTheHold() throws {
    let core = core(holdNs: 2 * ms)
    let datagrams = dayDatagrams(messages: 200, symbols: 5, seed: 9)
    var sink = ClockedSink(lastSendNs: .allocate(capacity: 3))
    defer { sink.lastSendNs.deallocate() }
    sink.lastSendNs.initialize(repeating: 0, count: 3)
    for (index, datagram) in datagrams.enumerated() where index != 3 {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    let missing = try XCTUnwrap(datagrams[3].withUnsafeBytes { MoldPacket($0) })
    var duties = CoreDuties(
      heartbeatIntervalMs: 60_000, snapshotCycleMs: 60_000, snapshotTickMs: 60_000, startNs: 0,
      lastSendNs: sink.lastSendNs)
    XCTAssertNil(duties.run(core: core, nowNs: ms, wallNs: ms, into: &sink), "still holding")
    let request = try XCTUnwrap(duties.run(core: core, nowNs: 2 * ms, wallNs: 2 * ms, into: &sink))
    XCTAssertEqual(request.sequence, missing.sequenceNumber)
    XCTAssertEqual(request.count, UInt16(missing.messageCount))
    XCTAssertEqual(core.health.rerequests, 1)
    XCTAssertFalse(core.health.stale)
  }
}
