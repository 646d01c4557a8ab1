import Book
import CMallocCounter
import Foundation
import Gateway
import QuotecastClient
import QuotecastCore
import Transport
import XCTest

extension SubscriberConfig {
  /// A subscriber for a gateway configured as `gateway`.
  init(following gateway: GatewayConfig) {
    self.init()
    channels = gateway.channels.count
    groupBase = gateway.channels.groupBase
    snapshotGroup = gateway.snapshot.group
    depth = gateway.channels.depth
    bufferCount = 4096
  }
}

/// A subscriber receiving on a thread of its own for the length of a test.
final class RunningSubscriber {
  let subscriber: FeedSubscriber
  let finished = DispatchSemaphore(value: 0)
  /// Written by the receiving thread; read after `stop`.
  var delivered = 0
  var allocationsAtWarmUp: UInt64 = 0
  var allocationsLast: UInt64 = 0
  var symbolsSeen: Set<String> = []
  var runError: Error?

  init(_ config: SubscriberConfig, warmUpUpdates: Int = 0) throws {
    subscriber = try FeedSubscriber(config: config)
    let thread = Thread { [self] in
      do {
        try subscriber.run(onUpdate: { event in
          delivered += 1
          if delivered == warmUpUpdates { allocationsAtWarmUp = qc_thread_allocations() }
          allocationsLast = qc_thread_allocations()
        })
      } catch {
        runError = error
      }
      finished.signal()
    }
    thread.start()
  }

  /// Waits until `packets` incremental packets (plus whatever else) arrived, or `seconds` pass.
  func waitFor(packets: UInt64, seconds: Double) {
    let deadline = Date().addingTimeInterval(seconds)
    while subscriber.stats.packets < packets && Date() < deadline { usleep(10_000) }
  }

  func stop() {
    subscriber.stop()
    XCTAssertEqual(finished.wait(timeout: .now() + 5), .success, "the subscriber stops when asked")
    XCTAssertNil(runError)
  }
}

/// Every instrument the gateway's books hold, at the published depth, equals the subscriber's.
func assertSubscriberMatches(
  _ subscriber: FeedSubscriber, _ gateway: Gateway, depth: Int, file: StaticString = #filePath, line: UInt = #line
) {
  var compared = 0
  for core in gateway.cores {
    let books = core.books
    for locate in books.activeLocates {
      let wire = { (levels: [PriceLevel]) in
        levels.map { FeedBookLevel(price: $0.price, orders: $0.orders, shares: $0.shares) }
      }
      let mirrored = subscriber.book(locate: locate)
      XCTAssertEqual(mirrored?.synced, true, "locate \(locate) exact", file: file, line: line)
      XCTAssertEqual(mirrored?.symbol, books.symbol(locate: locate)?.description, file: file, line: line)
      XCTAssertEqual(
        mirrored?.bids, wire(books.levels(locate: locate, side: .bid, depth: depth)), file: file, line: line)
      XCTAssertEqual(
        mirrored?.asks, wire(books.levels(locate: locate, side: .ask, depth: depth)), file: file, line: line)
      compared += 1
    }
  }
  XCTAssertGreaterThan(compared, 10, file: file, line: line)
  XCTAssertEqual(subscriber.stats.staleInstruments, 0, file: file, line: line)
}

final class SubscriberTests: XCTestCase {
  /// A replayed day through a live gateway: the subscriber's books equal the gateway's for every
  /// instrument, and its receiving thread allocates nothing per packet after warm-up.
  func testTheSubscriberMirrorsEveryBookWithoutAllocating() throws {
    var config = testConfig(port: 34_700, channels: 2)
    config.channels.heartbeatIntervalMs = 60_000
    config.snapshot.cycleMs = 60_000
    config.snapshot.tickMs = 60_000
    let datagrams = dayDatagrams(messages: 40_000, symbols: 20, seed: 71)
    let running = try RunningGateway(config)
    let subscriber = try RunningSubscriber(SubscriberConfig(following: config), warmUpUpdates: 5_000)
    usleep(50_000)  // the subscriber's ring is armed
    try send(datagrams, to: running.gateway.inputPorts[0])
    let sent = { running.gateway.counters.load(.packetsOut) }
    let deadline = Date().addingTimeInterval(10)
    while running.gateway.counters.load(.datagramsIn) < UInt64(datagrams.count) && Date() < deadline {
      usleep(10_000)
    }
    usleep(100_000)
    subscriber.waitFor(packets: sent(), seconds: 5)
    subscriber.stop()
    running.stop()
    let stats = subscriber.subscriber.stats
    XCTAssertEqual(stats.gaps, 0)
    XCTAssertEqual(stats.recoveries, 0)
    XCTAssertEqual(stats.malformed, 0)
    XCTAssertGreaterThan(subscriber.delivered, 20_000)
    assertSubscriberMatches(subscriber.subscriber, running.gateway, depth: config.channels.depth)
    XCTAssertNotEqual(subscriber.allocationsAtWarmUp, 0, "the warm-up point was reached and counted")
    XCTAssertNotEqual(subscriber.allocationsAtWarmUp, UInt64.max, "the malloc counter is linked in")
    XCTAssertEqual(
      subscriber.allocationsLast - subscriber.allocationsAtWarmUp, 0,
      "allocations on the receiving thread over \(subscriber.delivered - 5_000) updates")
  }

  /// The gateway withholds 40 packets of channel 0 (a sender-side fault): the subscriber sees the
  /// gap, marks channel 0's instruments stale, and recovers them exactly from the snapshot channel.
  func testInducedLossIsRecoveredFromTheSnapshotChannel() throws {
    var config = testConfig(port: 34_800, channels: 2)
    config.channels.heartbeatIntervalMs = 50
    config.snapshot.cycleMs = 200
    config.snapshot.tickMs = 20
    config.faults.dropOutput = MulticastPublisher.DropRange(destination: 0, first: 200, last: 239)
    let datagrams = dayDatagrams(messages: 40_000, symbols: 20, seed: 72)
    let running = try RunningGateway(config)
    let subscriber = try RunningSubscriber(SubscriberConfig(following: config))
    usleep(50_000)
    try send(datagrams, to: running.gateway.inputPorts[0])
    // Two snapshot cycles after the feed ends.
    usleep(500_000)
    subscriber.stop()
    running.stop()
    XCTAssertEqual(running.gateway.counters.load(.faultDrops), 40)
    let stats = subscriber.subscriber.stats
    XCTAssertGreaterThanOrEqual(stats.gaps, 1)
    XCTAssertGreaterThan(stats.recoveries, 0)
    assertSubscriberMatches(subscriber.subscriber, running.gateway, depth: config.channels.depth)
  }

  /// A subscriber that starts in the middle of the day knows nothing, then everything.
  func testALateJoinerInTheMiddleOfTheDayRecoversEveryBook() throws {
    var config = testConfig(port: 34_900, channels: 3)
    config.channels.heartbeatIntervalMs = 50
    config.snapshot.cycleMs = 200
    config.snapshot.tickMs = 20
    let datagrams = dayDatagrams(messages: 40_000, symbols: 20, seed: 73)
    let running = try RunningGateway(config)
    let half = datagrams.count / 2
    try send(Array(datagrams[..<half]), to: running.gateway.inputPorts[0])
    let subscriber = try RunningSubscriber(SubscriberConfig(following: config))
    usleep(50_000)
    try send(Array(datagrams[half...]), to: running.gateway.inputPorts[0])
    usleep(500_000)
    subscriber.stop()
    running.stop()
    let stats = subscriber.subscriber.stats
    XCTAssertGreaterThanOrEqual(stats.recoveries, 10, "every instrument came from a snapshot")
    assertSubscriberMatches(subscriber.subscriber, running.gateway, depth: config.channels.depth)
  }

  /// The AsyncSequence with a symbol filter: only the chosen symbols' updates (and market-wide
  /// ones) arrive, and every level update of theirs does.
  func testTheAsyncSequenceDeliversOnlyTheChosenSymbols() async throws {
    var config = testConfig(port: 35_000, channels: 2)
    config.channels.heartbeatIntervalMs = 60_000
    config.snapshot.cycleMs = 60_000
    config.snapshot.tickMs = 60_000
    let datagrams = dayDatagrams(messages: 30_000, symbols: 12, seed: 74)
    // The reference: which level updates the chosen symbols get.
    let (offline, offlinePackets) = offlineRun(config, datagrams)
    let chosen = offline.books.activeLocates.prefix(2).map { offline.books.symbol(locate: $0)!.description }
    let chosenLocates = Set(offline.books.activeLocates.prefix(2))
    var expectedLevels = 0
    for packet in offlinePackets {
      packet.withUnsafeBytes { raw in
        guard let view = PacketView(raw) else { return }
        for index in 0..<view.updateCount {
          if let level = view.update(at: index)?.level, chosenLocates.contains(level.locate) { expectedLevels += 1 }
        }
      }
    }
    var subscriberConfig = SubscriberConfig(following: config)
    subscriberConfig.symbols = chosen
    let subscriber = try FeedSubscriber(config: subscriberConfig)
    let running = try RunningGateway(config)
    let consumer = Task {
      var received: [FeedUpdate] = []
      for await update in subscriber.updates() { received.append(update) }
      return received
    }
    usleep(50_000)
    try send(datagrams, to: running.gateway.inputPorts[0])
    usleep(300_000)
    subscriber.stop()
    let received = await consumer.value
    running.stop()
    XCTAssertGreaterThan(received.count, 100)
    for update in received where update.locate != nil {
      XCTAssertTrue(chosen.contains(update.symbol), "\(update.symbol) was not asked for")
    }
    let levels = received.filter { if case .level = $0.payload { true } else { false } }
    XCTAssertEqual(levels.count, expectedLevels, "every level update of \(chosen)")
    XCTAssertTrue(received.contains { $0.locate == nil }, "market-wide updates pass the filter")
    XCTAssertEqual(subscriber.book(symbol: chosen[0])?.synced, true)
  }

  /// Two gateways on one host, owning channels 0-1 and 2 of three: a subscriber that knows only
  /// the snapshot group learns the layout from both, joins only the channel of the symbol it asks
  /// for, or every channel, and ends with both gateways' books.
  func testASubscriberThatKnowsOnlyTheSnapshotGroupFindsTheChannels() throws {
    var low = testConfig(port: 35_100, channels: 3)
    low.snapshot.cycleMs = 200
    low.snapshot.tickMs = 20
    low.channels.heartbeatIntervalMs = 50
    low.channels.owned = [0, 1]
    low.operations.instance = "low"
    var high = low
    high.channels.owned = [2]
    high.operations.instance = "high"
    let datagrams = dayDatagrams(messages: 30_000, symbols: 36, seed: 74)
    let gateways = try [RunningGateway(low), RunningGateway(high)]
    for gateway in gateways { try send(datagrams, to: gateway.gateway.inputPorts[0]) }
    let found = try FeedSubscriber.discover(snapshotGroup: low.snapshot.group)
    XCTAssertEqual(found.layouts.map(\.instance).sorted(), ["high", "low"])
    XCTAssertEqual(found.unownedChannels, [])
    let lowLayout = try XCTUnwrap(found.layouts.first { $0.instance == "low" })
    XCTAssertEqual(lowLayout.channelCount, 3)
    XCTAssertEqual(lowLayout.groupBase, low.channels.groupBase)
    XCTAssertEqual(lowLayout.snapshotGroup, low.snapshot.group)
    XCTAssertEqual(lowLayout.ownedChannels, [0, 1])
    XCTAssertEqual(lowLayout.session, gateways[0].gateway.session)
    XCTAssertEqual(lowLayout.depth, low.channels.depth)
    XCTAssertEqual(lowLayout.datagramBytes, low.channels.datagramBytes)
    XCTAssertEqual(lowLayout.schemaVersion, feedSchemaVersion)
    XCTAssertTrue(found.description.contains("published by"), found.description)

    // A symbol on channel 2: only that channel is joined.
    let books = gateways[1].gateway.core.books
    let locate = try XCTUnwrap(books.activeLocates.first)
    let symbol = try XCTUnwrap(books.symbol(locate: locate)?.description)
    var base = SubscriberConfig()
    base.snapshotGroup = low.snapshot.group
    base.symbols = [symbol]
    let narrow = try FeedSubscriber.discover(snapshotGroup: low.snapshot.group, symbols: [symbol]).config(base: base)
    XCTAssertEqual(narrow.joinChannels, [Int(locate) % 3])
    XCTAssertEqual(
      narrow.channelGroups,
      [IPv4Endpoint(address: low.channels.groupBase.address + 2, port: low.channels.groupBase.port)])

    // Every channel, from the layout alone: late joiners recover every book from both gateways.
    var everything = found.config(base: SubscriberConfig())
    everything.bufferCount = 4096
    XCTAssertEqual(everything.channels, 3)
    XCTAssertTrue(everything.followsLayout)
    let subscriber = try RunningSubscriber(everything)
    usleep(600_000)  // three snapshot cycles
    subscriber.stop()
    for gateway in gateways { gateway.stop() }
    for gateway in gateways {
      assertSubscriberMatches(subscriber.subscriber, gateway.gateway, depth: low.channels.depth)
    }
  }

  /// A subscriber built from the layout notices when the gateway comes back with other channels,
  /// and says so (`quotecast subscribe` then discovers again).
  func testAChangeOfLayoutStopsTheSubscriberThatFollowsIt() throws {
    var before = testConfig(port: 35_200, channels: 2)
    before.snapshot.cycleMs = 100
    before.snapshot.tickMs = 10
    var config = SubscriberConfig()
    do {
      let first = try RunningGateway(before)
      config = try FeedSubscriber.discover(snapshotGroup: before.snapshot.group).config(base: SubscriberConfig())
      first.stop()
    }
    config.bufferCount = 1024
    let subscriber = try FeedSubscriber(config: config)
    var after = before
    after.channels.count = 4
    let second = try RunningGateway(after)
    defer { second.stop() }
    XCTAssertThrowsError(try subscriber.run(durationNs: 3_000_000_000, onUpdate: { _ in })) { error in
      guard let change = error as? FeedSubscriber.LayoutChanged else { return XCTFail("\(error)") }
      XCTAssertEqual(change.layout.channelCount, 4)
      XCTAssertTrue(change.description.contains("now publishes 4 channel(s)"), change.description)
    }
  }

  func testABadSubscriberConfigIsRefusedByName() {
    var config = SubscriberConfig()
    config.channels = 0
    config.groupBase = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 1)
    config.symbols = ["TOOLONGSYMBOL"]
    XCTAssertThrowsError(try FeedSubscriber(config: config)) { error in
      let text = String(describing: error)
      XCTAssertTrue(text.contains("channels: must be 1...1024, got 0"), text)
      XCTAssertTrue(text.contains("is not a multicast group"), text)
      XCTAssertTrue(text.contains("symbol \"TOOLONGSYMBOL\": must be 1...8 characters"), text)
    }
  }
}
