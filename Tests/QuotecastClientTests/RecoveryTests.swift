import Book
import CMallocCounter
import Encoding
import QuotecastClient
import QuotecastCore
import TestSupport
import CoreTestSupport
import Transport
import XCTest

/// What a subscriber would receive: every packet of the incremental channels and of the snapshot
/// channel, in send order, with a snapshot slice every few input packets (as the gateway cycles).
func liveStream(messages: Int, symbols: Int, seed: UInt64, channels: Int) -> (
  packets: [(UInt16, [UInt8])], core: QuotecastCore
) {
  let datagrams = syntheticDatagrams(messages: messages, symbols: symbols, seed: seed)
  var config = coreConfig(channels: channels, depth: 5)
  config.encoder.snapshotDepth = 5
  let core = QuotecastCore(config: config)
  var sink = CollectingSink()
  var position = 0
  for (index, datagram) in datagrams.enumerated() {
    datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
    if index % 8 == 0 {
      position = core.publishSnapshotSlice(
        channel: core.encoder.snapshotChannel, start: position, count: 4, nowNs: UInt64(index), into: &sink)
    }
  }
  return (sink.packets.map { ($0.channel, $0.bytes) }, core)
}

final class RecoveryTests: XCTestCase {
  func assertMirrorEqualsBooks(
    _ mirror: FeedMirror, _ core: QuotecastCore, file: StaticString = #filePath, line: UInt = #line
  ) {
    var compared = 0
    for locate in core.books.activeLocates {
      let book = mirror.book(locate: locate)
      XCTAssertEqual(book?.synced, true, "locate \(locate) synced", file: file, line: line)
      XCTAssertEqual(
        book?.symbol, core.books.symbol(locate: locate)?.description, "locate \(locate) symbol", file: file, line: line)
      let wire = { (levels: [PriceLevel]) in
        levels.map { FeedBookLevel(price: $0.price, orders: $0.orders, shares: $0.shares) }
      }
      XCTAssertEqual(
        book?.bids, wire(core.books.levels(locate: locate, side: .bid, depth: 5)), "locate \(locate) bids", file: file,
        line: line)
      XCTAssertEqual(
        book?.asks, wire(core.books.levels(locate: locate, side: .ask, depth: 5)), "locate \(locate) asks", file: file,
        line: line)
      compared += 1
    }
    XCTAssertGreaterThan(compared, 10, file: file, line: line)
    XCTAssertEqual(mirror.staleCount, 0, file: file, line: line)
  }

  func testFollowingFromTheStartNeedsNoRecovery() {
    let (packets, core) = liveStream(messages: 40_000, symbols: 16, seed: 1, channels: 2)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    for (_, bytes) in packets { bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    assertMirrorEqualsBooks(mirror, core)
    XCTAssertEqual(mirror.gaps, 0)
    XCTAssertEqual(mirror.recoveries, 0)
  }

  func testLostPacketsAreRecoveredFromSnapshots() {
    let (packets, core) = liveStream(messages: 40_000, symbols: 16, seed: 2, channels: 2)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    var channelZero = 0
    var sawStale = false
    for (channel, bytes) in packets {
      if channel == 0 {
        channelZero += 1
        if channelZero >= 500 && channelZero < 540 { continue }  // 40 packets lost on channel 0
      }
      bytes.withUnsafeBytes { _ = mirror.apply($0) }
      if mirror.staleCount > 0 { sawStale = true }
    }
    XCTAssertTrue(sawStale, "the gap marked instruments stale")
    XCTAssertEqual(mirror.gaps, 1)
    XCTAssertGreaterThan(mirror.recoveries, 0)
    assertMirrorEqualsBooks(mirror, core)
  }

  /// Snapshots that arrive after newer incrementals (the snapshot channel lags): the buffered
  /// packets after each snapshot's sequence bridge it to the present. Checked at every step, not
  /// only at the end of the day (level updates carry whole levels, so a wrong book can heal later).
  func testLateSnapshotsAreBridgedByBufferedPackets() {
    let (packets, core) = liveStream(messages: 40_000, symbols: 16, seed: 5, channels: 2)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    let reference = FeedMirror(depth: 5, channelCount: 2)  // every incremental, no loss
    var delayed: [(due: Int, bytes: [UInt8])] = []
    var incrementals = 0
    var channelZero = 0
    var mismatches = 0
    func compareSyncedBooks() {
      for locate in mirror.locates where mirror.isSynced(locate: locate) {
        if mirror.book(locate: locate)?.bids != reference.book(locate: locate)?.bids
          || mirror.book(locate: locate)?.asks != reference.book(locate: locate)?.asks
        {
          mismatches += 1
        }
      }
    }
    for (channel, bytes) in packets {
      if channel == 2 {
        delayed.append((incrementals + 40, bytes))  // forty incrementals later
        continue
      }
      incrementals += 1
      bytes.withUnsafeBytes { _ = reference.apply($0) }
      if channel == 0 {
        channelZero += 1
        if channelZero >= 300 && channelZero < 320 { continue }  // lost
      }
      bytes.withUnsafeBytes { _ = mirror.apply($0) }
      while let first = delayed.first, first.due <= incrementals {
        first.bytes.withUnsafeBytes { _ = mirror.apply($0) }
        delayed.removeFirst()
        // (While packets are still missing, and no later one has shown the gap, nobody could know.)
        if channelZero < 300 || channelZero >= 320 { compareSyncedBooks() }
      }
    }
    for (_, bytes) in delayed { bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    XCTAssertEqual(mismatches, 0, "a synced book differed from the lossless reference")
    XCTAssertGreaterThan(mirror.bridgedPackets, 0, "some snapshot needed the buffered packets")
    XCTAssertEqual(mirror.gaps, 1)
    XCTAssertGreaterThan(mirror.recoveries, 0)
    assertMirrorEqualsBooks(mirror, core)
  }

  func testALateJoinerRecoversEveryInstrument() {
    let (packets, core) = liveStream(messages: 40_000, symbols: 16, seed: 3, channels: 3)
    let mirror = FeedMirror(depth: 5, channelCount: 3)
    for (_, bytes) in packets[(packets.count / 2)...] { bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    XCTAssertGreaterThanOrEqual(mirror.recoveries, 10)
    assertMirrorEqualsBooks(mirror, core)
  }

  /// The mirror at depth 10 against the core's books at 10, and the in-place reader agrees with copies.
  /// A gateway restarted mid-day (caught up, a new session, other packet boundaries): the mirror
  /// sees each channel's new session, drops what it held of the old one, and recovers every book
  /// from the new session's snapshots. Without the session, the new sequences would be taken for
  /// duplicates and gaps of the old ones.
  func testARestartedPublishersNewSessionIsFollowedFromItsSnapshots() {
    let datagrams = syntheticDatagrams(messages: 40_000, symbols: 16, seed: 8)
    var config = coreConfig(channels: 2, depth: 5)
    config.encoder.snapshotDepth = 5
    config.encoder.session = 111
    let first = QuotecastCore(config: config)
    config.encoder.session = 222
    let restarted = QuotecastCore(config: config)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    let restartIndex = datagrams.count / 2
    var sink = CollectingSink()
    for datagram in datagrams.prefix(restartIndex) {
      datagram.withUnsafeBytes { first.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    for packet in sink.packets { packet.bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    // The restarted gateway catches up from message 1, in batches of five datagrams (so its packets
    // are cut elsewhere and its channel sequences are not the first session's), then goes on live.
    var position = 0
    for (index, datagram) in datagrams.enumerated() {
      sink.packets.removeAll()
      if index % 5 == 0 { restarted.openBatch() }
      datagram.withUnsafeBytes { restarted.process(moldPacket: $0, nowNs: 0, into: &sink) }
      if index % 5 == 4 || index == datagrams.count - 1 { restarted.closeBatch(into: &sink) }
      if index >= restartIndex && index % 8 == 0 {
        position = restarted.publishSnapshotSlice(
          channel: restarted.encoder.snapshotChannel, start: position, count: 4, nowNs: 0, into: &sink)
      }
      for packet in sink.packets { packet.bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    }
    XCTAssertEqual(mirror.publisherRestarts, 2, "both channels")
    XCTAssertGreaterThan(mirror.recoveries, 10)
    XCTAssertEqual(mirror.duplicates, 0, "no new-session packet was taken for an old one")
    assertMirrorEqualsBooks(mirror, restarted)
  }

  /// A layout packet, through either encoder: every field reads back; the mirror keeps one per
  /// instance, and flags a schema newer than it reads.
  func testTheLayoutReadsBackAndANewerSchemaIsFlagged() {
    for backend in EncoderBackend.allCases {
      var layout = FeedLayoutInfo()
      layout.channelCount = 12
      layout.groupBaseAddress = 0xEFFF_0A01
      layout.groupBasePort = 31_001
      layout.snapshotAddress = 0xEFFF_0B01
      layout.snapshotPort = 31_002
      layout.ownedChannels = [1, 9, 11]
      layout.session = 1_234_567
      layout.depth = 7
      layout.snapshotDepth = 6
      layout.datagramBytes = 1300
      layout.instance = "gw-east-1"
      var config = coreConfig(channels: 12, depth: 7)
      config.encoder.backend = backend
      config.encoder.layout = layout
      config.encoder.session = 1_234_567
      let core = QuotecastCore(config: config)
      var sink = CollectingSink()
      core.publishLayout(nowNs: 5, into: &sink)
      XCTAssertEqual(sink.packets.map(\.channel), [12], "one packet, on the snapshot channel")
      let mirror = FeedMirror(depth: 7, channelCount: 12)
      sink.packets[0].bytes.withUnsafeBytes { raw in
        XCTAssertTrue(verifyPacket(raw))
        guard let view = PacketView(raw)?.update(at: 0)?.layout else { return XCTFail("no layout") }
        XCTAssertEqual(view.ownedChannels, [1, 9, 11])
        XCTAssertFalse(view.owns(channel: 12))
        XCTAssertEqual(view.instance, "gw-east-1")
        _ = mirror.apply(raw)
        _ = mirror.apply(raw)
      }
      XCTAssertEqual(mirror.layoutChanges, 1, "the same session again is nothing new")
      let read = mirror.layouts.first
      XCTAssertEqual(read?.channelCount, 12)
      XCTAssertEqual(read?.groupBase, IPv4Endpoint("239.255.10.1:31001"))
      XCTAssertEqual(read?.snapshotGroup, IPv4Endpoint("239.255.11.1:31002"))
      XCTAssertEqual(read?.session, 1_234_567)
      XCTAssertEqual(read?.depth, 7)
      XCTAssertEqual(read?.snapshotDepth, 6)
      XCTAssertEqual(read?.datagramBytes, 1300)
      XCTAssertEqual(read?.schemaVersion, feedSchemaVersion)
      XCTAssertNil(mirror.newerSchemaVersion)

      layout.schemaVersion = feedSchemaVersion + 1
      layout.session = 2
      config.encoder.layout = layout
      let newer = QuotecastCore(config: config)
      sink.packets.removeAll()
      newer.publishLayout(nowNs: 6, into: &sink)
      sink.packets[0].bytes.withUnsafeBytes { _ = mirror.apply($0) }
      XCTAssertEqual(mirror.newerSchemaVersion, feedSchemaVersion + 1)
      XCTAssertEqual(mirror.layouts.count, 1, "a layout it cannot read is not taken")
    }
  }

  /// Publishing the layout every snapshot cycle allocates nothing once warm.
  func testPublishingTheLayoutAllocatesNothing() {
    assertMallocCounterIsLive()
    var config = coreConfig(channels: 4)
    var layout = FeedLayoutInfo()
    layout.channelCount = 4
    layout.ownedChannels = [0, 1, 2, 3]
    layout.instance = "steady"
    config.encoder.layout = layout
    let core = QuotecastCore(config: config)
    var sink = CountingSink()
    for round in 0..<3 { core.publishLayout(nowNs: UInt64(round), into: &sink) }
    let before = qc_thread_allocations()
    for round in 0..<100 { core.publishLayout(nowNs: UInt64(round), into: &sink) }
    XCTAssertEqual(qc_thread_allocations() - before, 0)
    XCTAssertEqual(sink.packets, 103)
  }

  func testReadingInPlaceMatchesTheCopies() {
    let (packets, core) = liveStream(messages: 20_000, symbols: 12, seed: 6, channels: 2)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    for (_, bytes) in packets { bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    for locate in core.books.activeLocates {
      let copy = mirror.book(locate: locate)
      mirror.withBook(locate: locate) { view in
        XCTAssertEqual(Array(view.bids), copy?.bids)
        XCTAssertEqual(Array(view.asks), copy?.asks)
        XCTAssertEqual(FeedMirror.unpackSymbol(view.packedSymbol), copy?.symbol)
      }
      let symbol = core.books.symbol(locate: locate)!.description
      XCTAssertEqual(mirror.locate(ofSymbol: symbol), locate)
      XCTAssertEqual(mirror.packedSymbol(locate: locate), FeedMirror.packSymbol(symbol))
    }
    XCTAssertNil(mirror.withBook(locate: 65_000) { _ in 1 })
  }

  /// Once every instrument has been seen, applying packets allocates nothing.
  func testApplyingPacketsAllocatesNothingInSteadyState() {
    assertMallocCounterIsLive()
    let (packets, core) = liveStream(messages: 60_000, symbols: 20, seed: 7, channels: 2)
    let mirror = FeedMirror(depth: 5, channelCount: 2)
    let buffers = packets.map { packet in
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: packet.1.count, alignment: 8)
      buffer.copyBytes(from: packet.1)
      return UnsafeRawBufferPointer(buffer)
    }
    defer { buffers.forEach { $0.deallocate() } }
    var before: UInt64 = 0
    var index = 0
    while index < buffers.count {
      if index == buffers.count / 2 { before = qc_thread_allocations() }
      mirror.apply(buffers[index])
      index += 1
    }
    XCTAssertEqual(qc_thread_allocations() - before, 0, "allocations over \(buffers.count / 2) packets")
    assertMirrorEqualsBooks(mirror, core)
  }

  func testDuplicatesAreHarmless() {
    let (packets, core) = liveStream(messages: 20_000, symbols: 16, seed: 4, channels: 1)
    let mirror = FeedMirror(depth: 5, channelCount: 1)
    for (index, (_, bytes)) in packets.enumerated() {
      bytes.withUnsafeBytes { _ = mirror.apply($0) }
      if index % 5 == 0 { bytes.withUnsafeBytes { _ = mirror.apply($0) } }
    }
    XCTAssertGreaterThan(mirror.duplicates, 100)
    XCTAssertEqual(mirror.gaps, 0)
    assertMirrorEqualsBooks(mirror, core)
  }

  /// The channel's last data packet is lost and the channel goes quiet: its heartbeat shows the
  /// loss, and the next snapshot (stamped with that same sequence) makes the books exact again.
  /// A subscriber that joins an idle channel recovers from its snapshots the same way.
  func testAHeartbeatShowsATrailingLossAndSnapshotsRecoverIt() {
    let datagrams = syntheticDatagrams(messages: 8_000, symbols: 16, seed: 9)
    var config = coreConfig(channels: 1, depth: 5)
    config.encoder.snapshotDepth = 5
    let core = QuotecastCore(config: config)
    var sink = CollectingSink()
    for (index, datagram) in datagrams.enumerated() {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
    }
    let data = sink.packets.map(\.bytes)
    var quiet = CollectingSink()
    core.heartbeat(channel: 0, nowNs: 1, into: &quiet)
    _ = core.publishSnapshotSlice(channel: 1, start: 0, count: 100, nowNs: 2, into: &quiet)
    let heartbeat = quiet.packets[0].bytes
    let snapshots = quiet.packets.dropFirst().map(\.bytes)

    let follower = FeedMirror(depth: 5, channelCount: 1)
    for bytes in data.dropLast() { bytes.withUnsafeBytes { _ = follower.apply($0) } }
    heartbeat.withUnsafeBytes { _ = follower.apply($0) }
    XCTAssertEqual(follower.gaps, 1)
    XCTAssertGreaterThan(follower.staleCount, 0)
    heartbeat.withUnsafeBytes { _ = follower.apply($0) }
    XCTAssertEqual(follower.gaps, 1, "the same loss is not counted again")
    for bytes in snapshots { bytes.withUnsafeBytes { _ = follower.apply($0) } }
    assertMirrorEqualsBooks(follower, core)

    let joiner = FeedMirror(depth: 5, channelCount: 1)
    heartbeat.withUnsafeBytes { _ = joiner.apply($0) }
    for bytes in snapshots { bytes.withUnsafeBytes { _ = joiner.apply($0) } }
    assertMirrorEqualsBooks(joiner, core)
  }

  /// Two gateway instances on disjoint channels, one of them fed with a hole it cannot recover: only
  /// its channels' books are said to be stale, whether the subscriber follows from the start or
  /// joins late from the snapshot channel; a restart of that instance clears it.
  func testOneInstancesStaleFeedMarksOnlyItsChannels() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 16, seed: 31)
    func instance(owning owned: [Int], session: UInt64, name: String) -> CoreConfig {
      var config = coreConfig(channels: 4)
      config.encoder.ownedChannels = owned
      config.encoder.session = session
      var layout = FeedLayoutInfo()
      layout.channelCount = 4
      layout.ownedChannels = owned
      layout.session = session
      layout.instance = name
      config.encoder.layout = layout
      return config
    }
    func run(_ config: CoreConfig, dropping dropped: Int?) -> (QuotecastCore, CollectingSink, [[UInt8]]) {
      let core = QuotecastCore(config: config)
      var sink = CollectingSink()
      for (index, datagram) in datagrams.enumerated() where index != dropped {
        datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
      }
      var snapshots = CollectingSink()
      core.publishLayout(nowNs: 1, into: &snapshots)
      _ = core.publishSnapshotSlice(channel: 4, start: 0, count: 1000, nowNs: 1, into: &snapshots)
      return (core, sink, snapshots.packets.map(\.bytes))
    }
    let (low, lowPackets, lowSnapshots) = run(instance(owning: [0, 1], session: 100, name: "low"), dropping: nil)
    let (high, highPackets, highSnapshots) = run(
      instance(owning: [2, 3], session: 200, name: "high"), dropping: datagrams.count / 2)
    XCTAssertFalse(low.health.stale)
    XCTAssertTrue(high.health.stale)

    func check(_ mirror: FeedMirror, _ context: String) {
      XCTAssertTrue(mirror.feedStale, context)
      XCTAssertEqual((0..<4).map { mirror.isUpstreamStale(channel: UInt16($0)) }, [false, false, true, true], context)
      for locate in low.books.activeLocates { XCTAssertFalse(mirror.isUpstreamStale(locate: locate), context) }
      for locate in high.books.activeLocates { XCTAssertTrue(mirror.isUpstreamStale(locate: locate), context) }
    }
    let follower = FeedMirror(depth: 10, channelCount: 4)
    for packet in lowPackets.packets + highPackets.packets { packet.bytes.withUnsafeBytes { _ = follower.apply($0) } }
    check(follower, "following from the start")
    let lateJoiner = FeedMirror(depth: 10, channelCount: 4)
    for bytes in lowSnapshots + highSnapshots { bytes.withUnsafeBytes { _ = lateJoiner.apply($0) } }
    check(lateJoiner, "joining late, from the snapshot channel")
    XCTAssertEqual(lateJoiner.layouts.map(\.instance), ["low", "high"])
    // Without the layout, a snapshot channel's stale status cannot be placed: every channel is suspect.
    let withoutLayout = FeedMirror(depth: 10, channelCount: 4)
    for bytes in highSnapshots.dropFirst() { bytes.withUnsafeBytes { _ = withoutLayout.apply($0) } }
    XCTAssertEqual((0..<4).map { withoutLayout.isUpstreamStale(channel: UInt16($0)) }, [true, true, true, true])
    // The high instance restarts (a new session) on a clean feed: its channels are no longer stale.
    let (_, restartedPackets, _) = run(instance(owning: [2, 3], session: 300, name: "high"), dropping: nil)
    for packet in restartedPackets.packets { packet.bytes.withUnsafeBytes { _ = follower.apply($0) } }
    XCTAssertFalse(follower.feedStale)
    XCTAssertGreaterThanOrEqual(follower.publisherRestarts, 2)
  }
}
