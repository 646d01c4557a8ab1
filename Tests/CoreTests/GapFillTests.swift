import Book
import Feed
import ITCH
import QuotecastClient
import QuotecastCore
import CoreTestSupport
import XCTest

/// A packet's content without its send timestamp (held packets go out later than clean ones).
func content(_ packet: (channel: UInt16, bytes: [UInt8])) -> String {
  packet.bytes.withUnsafeBytes { raw in
    guard let view = PacketView(raw) else { return "malformed" }
    var text = "\(view.channel)#\(view.sequence):"
    for index in 0..<view.updateCount {
      guard let update = view.update(at: index) else { return text + " bad update" }
      text +=
        " \(update.upstreamSequence)/\(update.timestampNs) \(String(describing: update.level))"
        + " \(String(describing: update.trade)) \(String(describing: update.tradingState))"
        + " \(String(describing: update.systemEvent)) \(String(describing: update.feedStatus))"
    }
    return text
  }
}

final class GapFillTests: XCTestCase {
  func config(holdNs: UInt64 = 1_000_000, attempts: Int = 0, maxHeld: Int = 4096) -> CoreConfig {
    var config = coreConfig(channels: 3)
    config.gapFill.holdNs = holdNs
    config.gapFill.rerequestAttempts = attempts
    config.gapFill.rerequestTimeoutNs = 5_000_000
    config.gapFill.maxHeldPackets = maxHeld
    return config
  }

  /// The reference: one clean line, no gap filling.
  func clean(_ datagrams: [[UInt8]]) -> (QuotecastCore, [String]) {
    let core = QuotecastCore(config: coreConfig(channels: 3))
    var sink = CollectingSink()
    for datagram in datagrams { datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) } }
    return (core, sink.packets.map(content))
  }

  func assertSameBooks(
    _ core: QuotecastCore, _ reference: QuotecastCore, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(core.books.activeLocates, reference.books.activeLocates, file: file, line: line)
    for locate in reference.books.activeLocates {
      for side in [BookSide.bid, .ask] {
        XCTAssertEqual(
          core.books.levels(locate: locate, side: side), reference.books.levels(locate: locate, side: side),
          "locate \(locate) \(side)", file: file, line: line)
      }
    }
  }

  /// Two lines carry the same feed, each losing different packets, sometimes B first: the first
  /// arrival wins, duplicates are dropped, each line fills the other's gaps, and the output is
  /// exactly the clean line's.
  func testTwoLinesFillEachOthersGapsAndMatchACleanLine() {
    let datagrams = syntheticDatagrams(messages: 30_000, symbols: 20, seed: 41)
    let (reference, expected) = clean(datagrams)
    // Arrival times: A at 10 per packet; B a unit early on every third packet, else 25 late.
    var arrivals: [(timeNs: Int, index: Int)] = []
    for index in datagrams.indices {
      let lostOnA = index % 37 == 5 || (index % 101 >= 50 && index % 101 < 54)
      let lostOnB = !lostOnA && index % 41 == 7
      if !lostOnA { arrivals.append((index * 10, index)) }
      if !lostOnB { arrivals.append((index * 10 + (index % 3 == 0 ? -1 : 25), index)) }
    }
    arrivals.sort { $0.timeNs < $1.timeNs }
    let core = QuotecastCore(config: config(holdNs: 1_000))
    var sink = CollectingSink()
    for arrival in arrivals {
      let nowNs = UInt64(arrival.timeNs + 10)
      datagrams[arrival.index].withUnsafeBytes { core.process(moldPacket: $0, nowNs: nowNs, into: &sink) }
      XCTAssertNil(core.tick(nowNs: nowNs, into: &sink))
    }
    XCTAssertEqual(sink.packets.map(content), expected)
    assertSameBooks(core, reference)
    let health = core.health
    XCTAssertFalse(health.stale)
    XCTAssertGreaterThan(health.gapsFilled, 30)
    XCTAssertEqual(health.gapsAbandoned, 0)
    XCTAssertEqual(core.session.counters.gaps, 0)
    XCTAssertGreaterThan(core.session.counters.duplicatePackets, UInt64(datagrams.count / 2))
  }

  /// Packets swapped on a single line are put back in order.
  func testReorderingOnOneLineIsUndone() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 12, seed: 42)
    let (reference, expected) = clean(datagrams)
    var shuffled = datagrams
    for index in stride(from: 10, to: shuffled.count - 3, by: 17) {
      shuffled.swapAt(index, index + 2)
    }
    let core = QuotecastCore(config: config())
    var sink = CollectingSink()
    for datagram in shuffled { datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 1, into: &sink) } }
    XCTAssertEqual(sink.packets.map(content), expected)
    assertSameBooks(core, reference)
    XCTAssertFalse(core.health.stale)
    XCTAssertGreaterThan(core.health.gapsFilled, 10)
  }

  /// A packet lost on every line: after the hold time the gap is given up, the feed is stale, every
  /// channel says so before the updates that follow, and the snapshot channel repeats it.
  func testAnUnrecoverableGapMakesTheFeedStaleOnEveryChannel() {
    let datagrams = syntheticDatagrams(messages: 10_000, symbols: 12, seed: 43)
    let core = QuotecastCore(config: config(holdNs: 1_000))
    var sink = CollectingSink()
    let lost = 200
    var lostMessages: UInt64 = 0
    for (index, datagram) in datagrams.enumerated() {
      if index == lost {
        lostMessages = UInt64(datagram.withUnsafeBytes { MoldPacket($0)!.messageCount })
        continue
      }
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 10 * UInt64(index), into: &sink) }
      _ = core.tick(nowNs: 10 * UInt64(index), into: &sink)
    }
    XCTAssertTrue(core.health.stale)
    XCTAssertEqual(core.health.gapsAbandoned, 1)
    XCTAssertEqual(core.health.lostMessages, lostMessages)
    XCTAssertEqual(core.session.counters.gapMessages, lostMessages)
    var statusChannels: Set<UInt16> = []
    for packet in sink.packets {
      packet.bytes.withUnsafeBytes { raw in
        let view = PacketView(raw)!
        for index in 0..<view.updateCount {
          if let status = view.update(at: index)?.feedStatus {
            XCTAssertTrue(status.stale)
            XCTAssertEqual(status.lostMessages, lostMessages)
            statusChannels.insert(view.channel)
          }
        }
      }
    }
    XCTAssertEqual(statusChannels, [0, 1, 2])
    var snapshots = CollectingSink()
    _ = core.publishSnapshotSlice(channel: core.encoder.snapshotChannel, start: 0, count: 2, nowNs: 0, into: &snapshots)
    XCTAssertTrue(content(snapshots.packets[0]).contains("stale: true"), "snapshots repeat the status")
    // A subscriber following the channels learns it; so does a late joiner from the snapshots.
    let follower = FeedMirror(depth: 10, channelCount: 3)
    for packet in sink.packets { packet.bytes.withUnsafeBytes { _ = follower.apply($0) } }
    XCTAssertTrue(follower.feedStale)
    XCTAssertEqual(follower.upstreamLostMessages, lostMessages)
    let lateJoiner = FeedMirror(depth: 10, channelCount: 3)
    XCTAssertFalse(lateJoiner.feedStale)
    for packet in snapshots.packets { packet.bytes.withUnsafeBytes { _ = lateJoiner.apply($0) } }
    XCTAssertTrue(lateJoiner.feedStale)
  }

  /// Lost on every line, then re-requested: the core asks for exactly the missing messages, and
  /// the retransmission closes the gap with nothing lost.
  func testARerequestAsksForTheMissingRangeAndTheAnswerFillsIt() {
    let datagrams = syntheticDatagrams(messages: 10_000, symbols: 12, seed: 44)
    let (reference, expected) = clean(datagrams)
    let core = QuotecastCore(config: config(holdNs: 100, attempts: 2))
    var sink = CollectingSink()
    let lost = 150
    let (lostSequence, lostCount) = datagrams[lost].withUnsafeBytes {
      (MoldPacket($0)!.sequenceNumber, MoldPacket($0)!.messageCount)
    }
    var requests: [RerequestAction] = []
    for (index, datagram) in datagrams.enumerated() where index != lost {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 1000 * UInt64(index), into: &sink) }
      if let request = core.tick(nowNs: 1000 * UInt64(index), into: &sink) {
        requests.append(request)
        // The server answers at once.
        datagrams[lost].withUnsafeBytes { core.process(moldPacket: $0, nowNs: 1000 * UInt64(index), into: &sink) }
      }
    }
    XCTAssertEqual(requests.count, 1)
    XCTAssertEqual(requests.first?.sequence, lostSequence)
    XCTAssertEqual(requests.first.map { Int($0.count) }, Int(lostCount))
    requests.first?.withRequestBytes { bytes in
      XCTAssertEqual(bytes.count, 20)
      XCTAssertEqual(Array(bytes[0..<10]), Array("QUOTECAST ".utf8))
      XCTAssertEqual(bytes.loadUnaligned(fromByteOffset: 10, as: UInt64.self).bigEndian, lostSequence)
      XCTAssertEqual(bytes.loadUnaligned(fromByteOffset: 18, as: UInt16.self).bigEndian, lostCount)
    }
    XCTAssertEqual(sink.packets.map(content), expected)
    assertSameBooks(core, reference)
    XCTAssertFalse(core.health.stale)
    XCTAssertEqual(core.health.rerequests, 1)
  }

  /// A gateway started mid-session with a re-request server: it holds the live packets, asks for
  /// everything from message 1 in as many requests as the 65,535-message limit needs (an answer
  /// that is still arriving is waited for, not asked again), and ends with exactly the output and
  /// books of a gateway that saw the whole session, never stale.
  func testAGatewayStartedMidSessionCatchesUpFromMessageOne() {
    let datagrams = syntheticDatagrams(messages: 120_000, symbols: 20, seed: 45)
    let (reference, expected) = clean(datagrams)
    let sequences = datagrams.map { datagram in datagram.withUnsafeBytes { MoldPacket($0)!.sequenceNumber } }
    let joinIndex = sequences.firstIndex { $0 > 90_000 }!
    // One attempt: answers that arrive make the next request a first attempt again.
    var catchUp = config(holdNs: 1_000, attempts: 1, maxHeld: 1 << 16)
    catchUp.gapFill.catchUpFromStart = true
    let core = QuotecastCore(config: catchUp)
    var sink = CollectingSink()
    var requests: [RerequestAction] = []
    var answer: [Int] = []  // datagram indices the server is still sending, a few per live packet
    var nowNs: UInt64 = 0
    for index in joinIndex..<datagrams.count {
      nowNs += 500
      datagrams[index].withUnsafeBytes { core.process(moldPacket: $0, nowNs: nowNs, into: &sink) }
      for answered in answer.prefix(40) {
        datagrams[answered].withUnsafeBytes { core.process(moldPacket: $0, nowNs: nowNs, into: &sink) }
      }
      answer.removeFirst(min(40, answer.count))
      if let request = core.tick(nowNs: nowNs, into: &sink) {
        requests.append(request)
        let end = request.sequence + UInt64(request.count)
        answer += datagrams.indices.filter { sequences[$0] >= request.sequence && sequences[$0] < end }
      }
    }
    XCTAssertTrue(answer.isEmpty, "the catch-up finished before the day did")
    XCTAssertEqual(core.health.catchUps, 1)
    XCTAssertEqual(requests.map(\.sequence).first, 1)
    XCTAssertEqual(requests.count, 2, "90,000 messages need two requests: \(requests)")
    XCTAssertEqual(core.health.rerequests, 2)
    XCTAssertFalse(core.health.stale)
    XCTAssertEqual(core.health.gapsAbandoned, 0)
    XCTAssertEqual(core.health.gapsFilled, 1, "one gap, from message 1, filled by every answer")
    XCTAssertEqual(core.session.counters.gapMessages, 0)
    XCTAssertEqual(core.session.counters.implausibleJumps, 0)
    XCTAssertEqual(sink.packets.count, expected.count)
    XCTAssertTrue(sink.packets.map(content) == expected, "the output is the whole session's")
    assertSameBooks(core, reference)
  }

  /// Without catch-up (or with it, but no answer), a mid-session start is a gap: stale, said once.
  func testAMidSessionStartWithoutAnAnswerIsStale() {
    let datagrams = syntheticDatagrams(messages: 20_000, symbols: 10, seed: 46)
    var catchUp = config(holdNs: 1_000, attempts: 1)
    catchUp.gapFill.catchUpFromStart = true
    for settings in [config(holdNs: 1_000, attempts: 1), catchUp] {
      let core = QuotecastCore(config: settings)
      var sink = CollectingSink()
      var nowNs: UInt64 = 0
      for datagram in datagrams.suffix(from: datagrams.count / 2) {
        nowNs += 1_000_000
        datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: nowNs, into: &sink) }
        _ = core.tick(nowNs: nowNs, into: &sink)
      }
      XCTAssertTrue(core.health.stale)
      XCTAssertEqual(core.health.catchUps, settings.gapFill.catchUpFromStart ? 1 : 0)
      XCTAssertGreaterThan(core.books.counters.messages, 5_000, "the rest of the day still went through")
    }
  }

  /// When the hold store fills, the gap is given up at once rather than holding forever.
  func testAFullHoldStoreGivesUpTheGapImmediately() {
    let datagrams = syntheticDatagrams(messages: 5_000, symbols: 8, seed: 45)
    let core = QuotecastCore(config: config(holdNs: .max / 2, maxHeld: 8))
    var sink = CollectingSink()
    for (index, datagram) in datagrams.enumerated() where index != 20 {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    XCTAssertTrue(core.health.stale)
    XCTAssertEqual(core.health.gapsAbandoned, 1)
    XCTAssertEqual(core.health.heldPackets, 8)
    let total = datagrams.reduce(0) { $0 + $1.withUnsafeBytes { Int(MoldPacket($0)!.messageCount) } }
    let lost = datagrams[20].withUnsafeBytes { Int(MoldPacket($0)!.messageCount) }
    XCTAssertEqual(Int(core.books.counters.messages), total - lost, "everything after the gap went through")
  }

  /// A heartbeat that shows messages missing opens a gap without skipping it; the missing packet
  /// then closes it.
  func testAHeartbeatAheadWaitsForTheMissingPacket() {
    let datagrams = syntheticDatagrams(messages: 2_000, symbols: 4, seed: 46)
    let (reference, _) = clean(datagrams)
    let core = QuotecastCore(config: config())
    var sink = CollectingSink()
    for datagram in datagrams.dropLast() {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    // A heartbeat saying the last packet's messages exist.
    let last = datagrams.last!
    var heartbeat = Array(last[0..<20])
    let end = last.withUnsafeBytes { MoldPacket($0)!.sequenceNumber + UInt64(MoldPacket($0)!.messageCount) }
    withUnsafeBytes(of: end.bigEndian) { heartbeat.replaceSubrange(10..<18, with: $0) }
    heartbeat[18] = 0
    heartbeat[19] = 0
    heartbeat.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    XCTAssertEqual(core.session.counters.gaps, 0, "not skipped yet")
    last.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    XCTAssertEqual(core.health.gapsFilled, 1)
    XCTAssertFalse(core.health.stale)
    assertSameBooks(core, reference)
  }

  func messages(_ datagram: [UInt8]) -> UInt64 { datagram.withUnsafeBytes { UInt64(MoldPacket($0)!.messageCount) } }

  /// With the hold full, a late packet that arrives is not lost: the holes before it are given up,
  /// it goes through, then the rest. Only what never came is lost.
  func testAFullHoldStillDeliversTheLatePacketItReceives() {
    let datagrams = syntheticDatagrams(messages: 5_000, symbols: 8, seed: 47)
    let core = QuotecastCore(config: config(holdNs: .max / 2, maxHeld: 8))
    var sink = CollectingSink()
    // 20 never comes; 25 comes last, when 21...24 and 26...29 fill the hold.
    for index in 0..<30 where index != 20 && index != 25 {
      datagrams[index].withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    XCTAssertEqual(core.health.heldPackets, 8)
    datagrams[25].withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    XCTAssertEqual(core.health.lostMessages, messages(datagrams[20]), "only packet 20 is lost")
    XCTAssertEqual(core.health.gapsAbandoned, 1)
    XCTAssertEqual(core.health.gapsFilled, 1, "25's hole closed when it arrived")
    for datagram in datagrams[30...] {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    let total = datagrams.reduce(0) { $0 + messages($1) }
    XCTAssertEqual(core.books.counters.messages, total - messages(datagrams[20]))
  }

  /// Two holes are two gaps, each with its own wait: filling the first starts the second's clock,
  /// and giving up the second loses only its own messages.
  func testEachHoleIsAGapOfItsOwn() {
    let datagrams = syntheticDatagrams(messages: 5_000, symbols: 8, seed: 48)
    let core = QuotecastCore(config: config(holdNs: 100))
    var sink = CollectingSink()
    for index in 0..<40 where index != 10 && index != 12 {
      datagrams[index].withUnsafeBytes { core.process(moldPacket: $0, nowNs: 1_000, into: &sink) }
    }
    // The first hole is filled just before its hold runs out.
    _ = core.tick(nowNs: 1_090, into: &sink)
    datagrams[10].withUnsafeBytes { core.process(moldPacket: $0, nowNs: 1_090, into: &sink) }
    XCTAssertEqual(core.health.gapsFilled, 1)
    XCTAssertFalse(core.health.stale)
    // The second hole's wait started when the first closed: not given up at 1,100.
    _ = core.tick(nowNs: 1_100, into: &sink)
    XCTAssertFalse(core.health.stale)
    _ = core.tick(nowNs: 1_200, into: &sink)
    XCTAssertTrue(core.health.stale)
    XCTAssertEqual(core.health.gapsAbandoned, 1)
    XCTAssertEqual(core.health.lostMessages, messages(datagrams[12]))
  }

  /// Stopping with a gap open: what is held goes out, and what never came is counted lost.
  func testFinishingGivesUpOpenGaps() {
    let datagrams = syntheticDatagrams(messages: 3_000, symbols: 8, seed: 49)
    let core = QuotecastCore(config: config(holdNs: .max / 2))
    var sink = CollectingSink()
    for (index, datagram) in datagrams.enumerated() where index != 30 {
      datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    let total = datagrams.reduce(0) { $0 + messages($1) }
    XCTAssertLessThan(core.books.counters.messages, total - messages(datagrams[30]), "held")
    core.finishGaps(nowNs: 0, into: &sink)
    XCTAssertEqual(core.books.counters.messages, total - messages(datagrams[30]))
    XCTAssertEqual(core.health.lostMessages, messages(datagrams[30]))
    XCTAssertTrue(core.health.stale)
  }
}
