import Book
import CMallocCounter
import Encoding
import ITCH
import QuotecastClient
import QuotecastCore
import Synth
import TestSupport
import CoreTestSupport
import XCTest

/// A subscriber's view rebuilt only from decoded packets: depth-limited sides per locate.
struct Subscriber {
  let depth: Int
  var sides: [UInt16: [[FeedBookLevel]]] = [:]
  var nextSequence: [UInt16: UInt64] = [:]
  var symbols: [UInt16: String] = [:]
  var problems: [String] = []

  mutating func receive(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
      guard let packet = PacketView(raw) else {
        problems.append("undecodable packet")
        return
      }
      let expected = nextSequence[packet.channel, default: 1]
      if packet.sequence != expected {
        problems.append("channel \(packet.channel) sequence \(packet.sequence) != \(expected)")
      }
      nextSequence[packet.channel] = packet.sequence + 1
      for index in 0..<packet.updateCount {
        guard let update = packet.update(at: index) else {
          problems.append("bad update")
          continue
        }
        if let definition = update.definition { symbols[definition.locate] = definition.symbol }
        guard let level = update.level else { continue }
        var book = sides[level.locate] ?? [[], []]
        let side = Int(level.side)
        let index = Int(level.levelIndex)
        let value = FeedBookLevel(price: level.price, orders: level.orders, shares: level.shares)
        switch level.action {
        case 0:
          if index > book[side].count { problems.append("New beyond end") } else { book[side].insert(value, at: index) }
          if book[side].count > depth { book[side].removeLast() }
        case 1:
          if index < book[side].count { book[side][index] = value } else { problems.append("Change beyond end") }
        default:
          if index < book[side].count { book[side].remove(at: index) } else { problems.append("Delete beyond end") }
        }
        sides[level.locate] = book
      }
    }
  }
}

final class CoreTests: XCTestCase {
  func run(_ datagrams: [[UInt8]], config: CoreConfig) -> (QuotecastCore, CollectingSink) {
    let core = QuotecastCore(config: config)
    var sink = CollectingSink()
    for (index, datagram) in datagrams.enumerated() {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
    }
    return (core, sink)
  }

  func testSubscriberRebuildsEveryBookFromThePackets() {
    let datagrams = syntheticDatagrams(messages: 150_000, symbols: 40, seed: 3)
    let config = coreConfig(channels: 3, depth: 5)
    let (core, sink) = run(datagrams, config: config)
    var subscriber = Subscriber(depth: 5)
    for packet in sink.packets {
      XCTAssertLessThanOrEqual(packet.bytes.count, config.encoder.maxDatagramBytes)
      packet.bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) }
      subscriber.receive(packet.bytes)
    }
    XCTAssertEqual(subscriber.problems, [])
    let books = core.books
    XCTAssertEqual(books.counters.messages, 150_000)
    XCTAssertEqual(books.eventsDropped, 0)
    XCTAssertGreaterThan(books.liveOrders, 1000)
    var compared = 0
    for locate in books.activeLocates {
      XCTAssertEqual(subscriber.symbols[locate], books.symbol(locate: locate)?.description)
      for side in [BookSide.bid, .ask] {
        let expected = books.levels(locate: locate, side: side, depth: 5).map {
          FeedBookLevel(price: $0.price, orders: $0.orders, shares: $0.shares)
        }
        XCTAssertEqual(subscriber.sides[locate]?[Int(side.rawValue)] ?? [], expected, "locate \(locate) \(side)")
        compared += expected.count
      }
    }
    XCTAssertGreaterThan(compared, 200)
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testSameInputGivesTheSameBytes() {
    let datagrams = syntheticDatagrams(messages: 40_000, symbols: 20, seed: 9)
    let first = run(datagrams, config: coreConfig()).1.packets
    let second = run(datagrams, config: coreConfig()).1.packets
    XCTAssertEqual(first.count, second.count)
    XCTAssertTrue(zip(first, second).allSatisfy { $0.channel == $1.channel && $0.bytes == $1.bytes })
    XCTAssertGreaterThan(first.count, 1000)
  }

  /// Books sharded across threads: each shard's channels carry exactly the bytes the single core
  /// puts on them, market-wide updates (system events, breakers, trade breaks) included, and every
  /// message is counted once.
  func testShardedCoresWriteExactlyTheSingleCoresChannels() {
    let datagrams = syntheticDatagrams(messages: 60_000, symbols: 30, seed: 12)
    let config = coreConfig(channels: 5)
    let whole = run(datagrams, config: config)
    let shards = (0..<2).map { run(datagrams, config: config.shard($0, of: 2)) }
    for channel in UInt16(0)..<5 {
      let owner = shards[Int(channel) % 2].1.packets.filter { $0.channel == channel }.map(\.bytes)
      let other = shards[1 - Int(channel) % 2].1.packets.filter { $0.channel == channel }
      XCTAssertEqual(owner, whole.1.packets.filter { $0.channel == channel }.map(\.bytes), "channel \(channel)")
      XCTAssertTrue(other.isEmpty, "channel \(channel) has one writer")
    }
    let marketWide = [SystemEvent.type, MWCBStatus.type, BrokenTrade.type].map { whole.0.books.messages(ofType: $0) }
    XCTAssertGreaterThan(marketWide[0], 0, "the day has system events")
    XCTAssertEqual(shards[0].0.books.counters.messages + shards[1].0.books.counters.messages, 60_000)
    for type in [SystemEvent.type, MWCBStatus.type, BrokenTrade.type, AddOrder.type] {
      XCTAssertEqual(
        shards[0].0.books.messages(ofType: type) + shards[1].0.books.messages(ofType: type),
        whole.0.books.messages(ofType: type))
    }
  }

  /// Two gateway instances owning disjoint halves of the channels, one of them also sharded:
  /// together they write exactly the bytes of one core with every channel, each channel has one
  /// writer, and each applies only its own instruments (plus the market-wide messages).
  func testInstancesOwningDisjointChannelsWriteExactlyTheWholeCoresChannels() {
    let datagrams = syntheticDatagrams(messages: 60_000, symbols: 40, seed: 21)
    let config = coreConfig(channels: 8)
    let whole = run(datagrams, config: config)
    var low = config
    low.encoder.ownedChannels = [0, 1, 2, 3]
    var high = config
    high.encoder.ownedChannels = [7, 5, 6, 4]
    let instances = [
      [run(datagrams, config: low)],
      (0..<2).map { run(datagrams, config: high.shard($0, of: 2)) },
    ]
    let writers = instances.flatMap { $0 }
    for channel in UInt16(0)...8 {
      let expected = whole.1.packets.filter { $0.channel == channel }.map(\.bytes)
      let written = writers.map { $0.1.packets.filter { $0.channel == channel }.map(\.bytes) }.filter { !$0.isEmpty }
      if channel == 8 {
        XCTAssertTrue(written.isEmpty, "no snapshots were asked for")
        continue
      }
      XCTAssertGreaterThan(expected.count, 10, "channel \(channel)")
      XCTAssertEqual(written.count, 1, "channel \(channel) has one writer")
      XCTAssertEqual(written.first ?? [], expected, "channel \(channel)")
    }
    // The high instance's shards: 4 and 6, then 5 and 7 (every other owned channel).
    XCTAssertEqual(Array(writers[1].0.encoder.writtenChannels), [4, 6])
    XCTAssertEqual(Array(writers[2].0.encoder.writtenChannels), [5, 7])
    for (core, _) in writers {
      for locate in core.books.activeLocates {
        XCTAssertTrue(
          core.encoder.plan.writes(channel: Int(core.encoder.plan.channel(for: locate))), "locate \(locate)")
      }
    }
    let lowCore = writers[0].0
    XCTAssertEqual(
      lowCore.books.activeCount + writers[1].0.books.activeCount + writers[2].0.books.activeCount,
      whole.0.books.activeCount)
    for type in [SystemEvent.type, MWCBStatus.type, BrokenTrade.type] {
      XCTAssertEqual(lowCore.books.messages(ofType: type), whole.0.books.messages(ofType: type), "every instance")
    }
    // Each instance's snapshot cycle covers its own instruments only.
    var snapshots = CollectingSink()
    _ = lowCore.publishSnapshotSlice(channel: 8, start: 0, count: 1000, nowNs: 1, into: &snapshots)
    var locates = Set<UInt16>()
    for packet in snapshots.packets {
      packet.bytes.withUnsafeBytes { raw in
        guard let view = PacketView(raw) else { return XCTFail("snapshot packet does not verify") }
        for index in 0..<view.updateCount {
          if let snapshot = view.update(at: index)?.snapshot { locates.insert(snapshot.locate) }
        }
      }
    }
    XCTAssertEqual(locates, Set(lowCore.books.activeLocates))
    XCTAssertTrue(locates.allSatisfy { $0 % 8 < 4 }, "only channels 0-3's instruments")
  }

  func testAChannelPlanNamesWhatIsWrongWithIt() {
    XCTAssertEqual(ChannelPlan.problems(channels: 8, owned: [0, 1], shardCount: 2), [])
    XCTAssertEqual(
      ChannelPlan.problems(channels: 8, owned: [1, 8, 1], shardCount: 1),
      ["channels.owned: channel 8 does not exist (0...7)", "channels.owned: names a channel twice"])
    XCTAssertEqual(
      ChannelPlan.problems(channels: 8, owned: [], shardCount: 1).first, "channels.owned: names no channel")
    XCTAssertEqual(
      ChannelPlan.problems(channels: 8, owned: [2, 3], shardCount: 3),
      ["threading.book_shards: must be 1...2 (the channels owned), got 3"])
    let plan = ChannelPlan(channels: 8, owned: [6, 2, 4], shardIndex: 1, shardCount: 2)
    XCTAssertEqual(plan.owned, [2, 4, 6])
    XCTAssertEqual(plan.written, [4])
    XCTAssertTrue(plan.isPartial)
    XCTAssertFalse(ChannelPlan(channels: 8).isPartial)
  }

  func testDuplicatedAndReorderedDatagramsAreHarmless() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 10, seed: 4)
    var noisy: [[UInt8]] = []
    for (index, datagram) in datagrams.enumerated() {
      noisy.append(datagram)
      if index % 7 == 0 { noisy.append(datagram) }
      if index % 11 == 0, index > 0 { noisy.append(datagrams[index - 1]) }
    }
    let (clean, _) = run(datagrams, config: coreConfig())
    let (duplicated, _) = run(noisy, config: coreConfig())
    XCTAssertGreaterThan(duplicated.session.counters.duplicatePackets, 100)
    for locate in clean.books.activeLocates {
      XCTAssertEqual(
        clean.books.levels(locate: locate, side: .bid), duplicated.books.levels(locate: locate, side: .bid))
      XCTAssertEqual(
        clean.books.levels(locate: locate, side: .ask), duplicated.books.levels(locate: locate, side: .ask))
    }
  }

  /// The whole core, decode through encode and hand-off, allocates nothing per packet once warm.
  func testSteadyStateProcessAllocatesNothing() {
    assertMallocCounterIsLive()
    let datagrams = syntheticDatagrams(messages: 120_000, symbols: 30, seed: 12)
    let core = QuotecastCore(config: coreConfig())
    var sink = CountingSink()
    var before: UInt64 = 0
    // An index loop: in debug builds `enumerated()` itself allocates per element.
    for index in datagrams.indices {
      if index == datagrams.count / 2 { before = qc_thread_allocations() }
      datagrams[index].withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
    }
    let allocations = qc_thread_allocations() - before
    XCTAssertEqual(allocations, 0, "allocations over \(datagrams.count / 2) packets")
    XCTAssertGreaterThan(sink.packets, 1000)
  }
}
