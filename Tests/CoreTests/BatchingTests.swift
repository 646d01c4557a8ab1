import Book
import CMallocCounter
import Encoding
import QuotecastClient
import QuotecastCore
import Synth
import TestSupport
import CoreTestSupport
import XCTest

/// Smart batching changes packet boundaries only: each channel's updates, in order, stay those of unbatched
/// processing, and a packet never exceeds the datagram size.
final class BatchingTests: XCTestCase {
  /// Every update of every channel, in order, as text (upstream sequence, time and content).
  func updateStreams(_ packets: [(channel: UInt16, bytes: [UInt8])], channels: Int) -> [[String]] {
    var streams = [[String]](repeating: [], count: channels)
    for packet in packets {
      packet.bytes.withUnsafeBytes { raw in
        guard let view = PacketView(raw) else { return XCTFail("undecodable packet") }
        XCTAssertEqual(view.channel, packet.channel)
        for index in 0..<view.updateCount {
          guard let u = view.update(at: index) else { return XCTFail("bad update") }
          streams[Int(packet.channel)].append(
            "\(u.upstreamSequence) \(u.timestampNs) \(String(describing: u.level)) \(String(describing: u.trade)) "
              + "\(String(describing: u.tradingState)) \(String(describing: u.imbalance)) "
              + "\(String(describing: u.systemEvent)) \(u.definition?.symbol ?? "-")")
        }
      }
    }
    return streams
  }

  func run(_ datagrams: [[UInt8]], config: CoreConfig, plan: BatchPlan?) -> (QuotecastCore, CollectingSink) {
    let core = QuotecastCore(config: config)
    var sink = CollectingSink()
    var plan = plan
    for index in datagrams.indices {
      datagrams[index].withUnsafeBytes { raw in
        if plan != nil {
          plan!.process(core, moldPacket: raw, nowNs: UInt64(index), into: &sink)
        } else {
          core.process(moldPacket: raw, nowNs: UInt64(index), into: &sink)
        }
      }
    }
    plan?.finish(core, into: &sink)
    return (core, sink)
  }

  func testBatchingKeepsEveryChannelsUpdateStream() {
    // Datagrams of one or two messages, as a real feed sends outside bursts: batching matters most there.
    let datagrams = syntheticDatagrams(messages: 40_000, symbols: 30, seed: 21, perPacket: 2)
    let config = coreConfig(channels: 4)
    let (reference, unbatched) = run(datagrams, config: config, plan: nil)
    let expected = updateStreams(unbatched.packets, channels: 4)
    XCTAssertGreaterThan(expected.map(\.count).min() ?? 0, 1000)
    var random = SplitMix64(state: 5)
    let randomPlan = (0..<97).map { _ in 1 + Int(random.next() % 40) }
    for sizes in [[2], [16], [3, 1, 7, 1, 64], [4096], randomPlan] {
      let (core, batched) = run(datagrams, config: config, plan: BatchPlan(sizes: sizes))
      let label = "plan \(sizes.prefix(6))"
      XCTAssertEqual(updateStreams(batched.packets, channels: 4), expected, label)
      XCTAssertLessThan(batched.packets.count, unbatched.packets.count, "\(label): fewer, fuller packets")
      if sizes.min()! >= 16 { XCTAssertLessThan(batched.packets.count, unbatched.packets.count / 3, label) }
      var nextSequence = [UInt64](repeating: 1, count: 4)
      for packet in batched.packets {
        XCTAssertLessThanOrEqual(packet.bytes.count, config.encoder.maxDatagramBytes, label)
        packet.bytes.withUnsafeBytes { raw in
          XCTAssertTrue(verifyPacket(raw), label)
          let sequence = PacketView(raw)?.sequence ?? 0
          XCTAssertEqual(sequence, nextSequence[Int(packet.channel)], "\(label): channel sequences have no holes")
          nextSequence[Int(packet.channel)] = sequence + 1
        }
      }
      let counters = core.batchCounters
      XCTAssertEqual(counters.datagrams, UInt64(datagrams.count), label)
      XCTAssertGreaterThan(counters.multiDatagramBatches, 0, label)
      XCTAssertLessThanOrEqual(counters.largestBatch, UInt64(sizes.max()!), label)
      for locate in reference.books.activeLocates {
        for side in [BookSide.bid, .ask] {
          XCTAssertEqual(
            core.books.levels(locate: locate, side: side), reference.books.levels(locate: locate, side: side))
        }
      }
    }
  }

  func testBatchesOfOneAreByteIdenticalToUnbatched() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 20, seed: 22, perPacket: 3)
    let unbatched = run(datagrams, config: coreConfig(), plan: nil).1.packets
    let (core, single) = run(datagrams, config: coreConfig(), plan: BatchPlan(sizes: [1]))
    XCTAssertEqual(single.packets.count, unbatched.count)
    XCTAssertTrue(zip(single.packets, unbatched).allSatisfy { $0.channel == $1.channel && $0.bytes == $1.bytes })
    XCTAssertEqual(core.batchCounters.multiDatagramBatches, 0)
    XCTAssertEqual(core.batchCounters.largestBatch, 1)
  }

  func testTheSamePlanGivesTheSameBytes() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 20, seed: 23, perPacket: 1)
    let plan = BatchPlan("5, 1,9\n2")!
    XCTAssertEqual(plan.sizes, [5, 1, 9, 2])
    let first = run(datagrams, config: coreConfig(), plan: plan).1.packets
    let second = run(datagrams, config: coreConfig(), plan: plan).1.packets
    XCTAssertEqual(first.count, second.count)
    XCTAssertTrue(zip(first, second).allSatisfy { $0.channel == $1.channel && $0.bytes == $1.bytes })
  }

  func testPlanTextIsValidated() {
    for bad in ["", "0", "3,x", "-1", "4097", "2,,3 0"] { XCTAssertNil(BatchPlan(bad), "'\(bad)'") }
    XCTAssertEqual(BatchPlan("4096")?.sizes, [4096])
  }

  /// A wide layout: closing a batch flushes one packet per channel at once, and the arena always has room for it.
  func testManyChannelsWithLargeDatagramsFlushWithoutOverflow() {
    var config = coreConfig(channels: 512)
    config.encoder.maxDatagramBytes = 8_000
    let datagrams = syntheticDatagrams(messages: 30_000, symbols: 600, seed: 24, perPacket: 1)
    let (_, unbatched) = run(datagrams, config: config, plan: nil)
    let (_, batched) = run(datagrams, config: config, plan: BatchPlan(sizes: [4096]))
    XCTAssertEqual(updateStreams(batched.packets, channels: 512), updateStreams(unbatched.packets, channels: 512))
  }

  func testSteadyStateBatchedProcessAllocatesNothing() {
    assertMallocCounterIsLive()
    let datagrams = syntheticDatagrams(messages: 120_000, symbols: 30, seed: 25, perPacket: 2)
    let core = QuotecastCore(config: coreConfig())
    var sink = CountingSink()
    var plan = BatchPlan(sizes: [16, 3, 1, 40])
    var before: UInt64 = 0
    for index in datagrams.indices {
      if index == datagrams.count / 2 { before = qc_thread_allocations() }
      datagrams[index].withUnsafeBytes { plan.process(core, moldPacket: $0, nowNs: UInt64(index), into: &sink) }
    }
    plan.finish(core, into: &sink)
    XCTAssertNotEqual(before, UInt64.max, "the test's malloc counter is linked in")
    XCTAssertEqual(qc_thread_allocations() - before, 0, "allocations over \(datagrams.count / 2) batched packets")
    XCTAssertGreaterThan(core.batchCounters.multiDatagramBatches, 1000)
  }
}
