import ITCH
import QuotecastCore
import Transport
import XCTest

@testable import Gateway

/// The test's clock for the runner: each monotonic read advances it by a microsecond; the wall
/// clock stands still.
nonisolated(unsafe) var testClockNs: UInt64 = 0
let testWallNs: UInt64 = 1_700_000_000_000_000_000
let testClock = AgentClock(
  monotonicNs: {
    testClockNs += 1000
    return testClockNs
  }, wallNs: { testWallNs })

/// An agent that has work for a number of cycles, then finishes; it records what the runner did.
struct ScriptedAgent: GatewayAgent {
  var work: [Int]
  var finishedAfter: Int
  var cycle = 0
  var waits = 0
  var closes = 0
  var notedCycles: [UInt64] = []
  var calls: [String] = []

  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int {
    calls.append("work")
    defer { cycle += 1 }
    return cycle < work.count ? work[cycle] : 0
  }
  var isFinished: Bool { cycle >= finishedAfter }
  mutating func awaitWork(timeoutNs: Int64) {
    calls.append("wait")
    waits += 1
  }
  mutating func onClose(nowNs: UInt64, wallNs: UInt64) {
    calls.append("close")
    closes += 1
  }
  mutating func noteCycle(_ cycleNs: UInt64) { notedCycles.append(cycleNs) }
}

/// A gateway sink that keeps every packet (the drain test's).
struct KeepingSink: GatewaySink {
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nowNs: UInt64 = 0
  var packets: [[UInt8]] = []
  var flushes = 0

  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    packets.append(Array(packet))
    lastSendNs[Int(channel)] = nowNs
  }
  mutating func flush() { flushes += 1 }
  func publishCounters(to board: CounterBoard, row: Int) {}
}

/// The agents and their runner on an injected clock, without sockets or real time.
final class AgentTests: XCTestCase {
  func testTheRunnerIdlesOnlyWhenNothingWasDoneAndEndsAfterAFinishedCycleFindsNothing() {
    var agent = ScriptedAgent(work: [3, 0, 2, 0, 5], finishedAfter: 4)
    AgentRunner(idle: .block, clock: testClock).run(&agent)
    // The second and fourth cycles find nothing before the agent has finished: they wait. The fifth
    // begins finished but works: it goes on. The sixth begins finished and finds nothing: the end.
    XCTAssertEqual(
      agent.calls, ["work", "work", "wait", "work", "work", "wait", "work", "work", "close"])
    XCTAssertEqual(agent.closes, 1)
    XCTAssertEqual(agent.notedCycles, [1000, 1000, 1000], "one duty-cycle note per working cycle, on the test clock")
  }

  func testBusyAndYieldNeverWait() {
    for idle in [IdleStrategy.busy, .yield] {
      var agent = ScriptedAgent(work: [0, 0, 1], finishedAfter: 3)
      AgentRunner(idle: idle, clock: testClock).run(&agent)
      XCTAssertEqual(agent.waits, 0, "\(idle)")
      XCTAssertEqual(agent.calls.filter { $0 == "work" }.count, 4, "\(idle)")
    }
  }

  func testACompositeWorksBothInOrderAndFinishesWhenBothHave() {
    var agent = CompositeAgent(
      first: ScriptedAgent(work: [1, 0, 0], finishedAfter: 1), second: ScriptedAgent(work: [0, 0, 4], finishedAfter: 3))
    AgentRunner(idle: .block, clock: testClock).run(&agent)
    XCTAssertEqual(agent.first.calls.filter { $0 == "wait" }.count, 1, "the composite idles as its first agent does")
    XCTAssertEqual(agent.second.waits, 0)
    XCTAssertEqual(agent.second.notedCycles.count, 2, "its duty cycle is the second's")
    XCTAssertEqual(agent.first.closes, 1)
    XCTAssertEqual(agent.second.closes, 1)
  }

  /// Drain: everything ingest published before it finished is applied, an open gap is given up at
  /// the end (what was held goes out, the rest is counted lost), and the update stream equals the
  /// offline core's on the same datagrams.
  func testABookAgentDrainsTheRingAndGivesUpOpenGapsWhenIngestHasFinished() throws {
    var config = testConfig(port: 34_700, channels: 2)
    config.feed.gapHoldUs = 10_000_000  // not given up by the clock: only by the drain
    config.ingest.maxBatchDatagrams = 8
    let datagrams = dayDatagrams(messages: 3_000, symbols: 12, seed: 21)
    let missing = 40
    let delivered = datagrams.enumerated().filter { $0.offset != missing }.map(\.element)
    let lostMessages = try XCTUnwrap(datagrams[missing].withUnsafeBytes { MoldPacket($0) }).messageCount

    // The offline core on the same datagrams, then the same end.
    var offlineSink = KeepingSink(lastSendNs: .allocate(capacity: 3))
    defer { offlineSink.lastSendNs.deallocate() }
    let offline = QuotecastCore(config: config.coreConfig)
    for datagram in delivered {
      datagram.withUnsafeBytes { offline.process(moldPacket: $0, nowNs: 1, into: &offlineSink) }
    }
    offline.finishGaps(nowNs: testWallNs, into: &offlineSink)

    // The descriptors point into one block that outlives the agent, as io_uring's buffers do.
    let storage = UnsafeMutableRawPointer.allocate(byteCount: delivered.reduce(0) { $0 + $1.count }, alignment: 8)
    defer { storage.deallocate() }
    let ring = BroadcastRing<DatagramDescriptor>(capacity: 1024, consumers: 1)
    var offset = 0
    for (index, datagram) in delivered.enumerated() {
      datagram.withUnsafeBytes { (storage + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
      XCTAssertTrue(
        ring.write(
          DatagramDescriptor(
            payload: storage + offset, length: Int32(datagram.count), bufferID: UInt16(index), reapedNs: 0)))
      offset += datagram.count
    }
    ring.publish()

    let shard = BookShard(index: 0, of: 1, config: config, session: 1)
    let board = CounterBoard()
    let ingestDone = SharedFlag()
    ingestDone.set()
    var agent = BookAgent(
      shard: shard, reader: .init(ring: ring, consumer: 0), sink: KeepingSink(lastSendNs: shard.lastSendNs),
      timers: ShardTimers(shard: shard, config: config, board: board, rerequests: nil, startNs: 0, log: { _ in }),
      upstreamDone: ingestDone, closed: nil, maxBatch: config.ingest.maxBatchDatagrams,
      duty: DutyCycle(stallThresholdUs: config.operations.stallThresholdUs, counters: .bookShard(0)))
    AgentRunner(idle: .busy, clock: testClock).run(&agent)

    XCTAssertEqual(ring.reclaim { _ in }, delivered.count, "every descriptor was read")
    XCTAssertEqual(shard.core.health.gapsAbandoned, 1)
    XCTAssertEqual(board.load(.lostMessages), UInt64(lostMessages))
    XCTAssertEqual(board.load(.messages), offline.books.counters.messages, "the final counters were published")
    XCTAssertGreaterThan(board.load(.multiDatagramBatches), 0, "the ring's datagrams were batched")
    XCTAssertEqual(updateStreams(agent.sink.packets), updateStreams(offlineSink.packets))
    XCTAssertGreaterThan(updateStreams(agent.sink.packets).values.reduce(0) { $0 + $1.count }, 2_000)
  }

  /// Each channel's updates in order, without packet boundaries or timestamps.
  func updateStreams(_ packets: [[UInt8]]) -> [UInt16: [String]] {
    var streams: [UInt16: [String]] = [:]
    for packet in packets {
      guard let described = describe(packet) else {
        XCTFail("a packet that does not verify")
        continue
      }
      streams[described.channel, default: []] += described.updates
    }
    return streams
  }
}
