import Feed
import ITCH
import XCTest

/// Records what the session asks for, in order.
struct RecordingReceiver: FeedReceiver {
  enum Event: Equatable {
    /// A packet's first sequence, the messages skipped, and the time it went.
    case deliver(sequence: UInt64, skip: Int, nowNs: UInt64)
    case stale(lostFrom: UInt64, totalLostMessages: UInt64)
    case flush
  }
  var events: [Event] = []

  mutating func deliver(_ packet: MoldPacket, skip: Int, nowNs: UInt64) -> DeliveredFraming {
    events.append(.deliver(sequence: packet.sequenceNumber, skip: skip, nowNs: nowNs))
    var blocks = packet.blocks
    var end = packet.sequenceNumber
    while blocks.next() != nil { end += 1 }
    return DeliveredFraming(anomaly: blocks.anomaly, endSequence: end)
  }

  mutating func feedWentStale(lostFrom: UInt64, totalLostMessages: UInt64, nowNs: UInt64) {
    events.append(.stale(lostFrom: lostFrom, totalLostMessages: totalLostMessages))
  }

  mutating func flushStaleMark() { events.append(.flush) }

  /// The events since the last call.
  mutating func take() -> [Event] {
    defer { events = [] }
    return events
  }
}

extension FeedSession {
  func receive(_ bytes: [UInt8], nowNs: UInt64 = 0, into receiver: inout RecordingReceiver) {
    bytes.withUnsafeBytes { receive($0, nowNs: nowNs, into: &receiver) }
  }
}

final class FeedSessionTests: XCTestCase {
  func holding(holdNs: UInt64 = 1000, attempts: Int = 0, maxHeld: Int = 16, catchUp: Bool = false) -> FeedSession {
    var config = GapFillConfig()
    config.holdNs = holdNs
    config.rerequestAttempts = attempts
    config.rerequestTimeoutNs = 5000
    config.maxHeldPackets = maxHeld
    config.catchUpFromStart = catchUp
    return FeedSession(config: config)
  }

  func testWithoutGapFillingAHoleIsAStaleMarkBeforeThePacketAfterIt() {
    let feed = FeedSession()
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 3), nowNs: 5, into: &receiver)
    feed.receive(packet(sequence: 10, count: 1), nowNs: 6, into: &receiver)
    feed.receive(packet(sequence: 10, count: 1), nowNs: 7, into: &receiver)
    XCTAssertEqual(
      receiver.take(),
      [
        .deliver(sequence: 1, skip: 0, nowNs: 5), .stale(lostFrom: 4, totalLostMessages: 6),
        .deliver(sequence: 10, skip: 0, nowNs: 6),
      ])
    XCTAssertEqual(feed.health.stale, true)
    XCTAssertEqual(feed.health.lostFromSequence, 4)
    XCTAssertEqual(feed.tracker.counters.duplicatePackets, 1)
    XCTAssertEqual(feed.expectedSequence, 11)
  }

  func testAHoleSkippedByAHeartbeatIsMarkedAndFlushedAtOnce() {
    let feed = FeedSession()
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 2), into: &receiver)
    feed.receive(packet(sequence: 8, count: 0), into: &receiver)
    XCTAssertEqual(
      receiver.take(), [.deliver(sequence: 1, skip: 0, nowNs: 0), .stale(lostFrom: 3, totalLostMessages: 5), .flush])
  }

  func testAPacketAfterAHoleWaitsUntilTheHoleIsFilled() {
    let feed = holding()
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 3), into: &receiver)
    feed.receive(packet(sequence: 7, count: 2), into: &receiver)
    feed.receive(packet(sequence: 9, count: 1), into: &receiver)
    feed.receive(packet(sequence: 7, count: 2), into: &receiver)
    XCTAssertEqual(receiver.take(), [.deliver(sequence: 1, skip: 0, nowNs: 0)])
    XCTAssertTrue(feed.isGapOpen)
    XCTAssertEqual(feed.heldCount, 2)
    XCTAssertEqual(feed.health.heldPackets, 2)
    XCTAssertEqual(feed.health.heldDuplicates, 1)
    feed.receive(packet(sequence: 4, count: 3), nowNs: 9, into: &receiver)
    XCTAssertEqual(
      receiver.take(),
      [
        .deliver(sequence: 4, skip: 0, nowNs: 9), .deliver(sequence: 7, skip: 0, nowNs: 9),
        .deliver(sequence: 9, skip: 0, nowNs: 9),
      ])
    XCTAssertFalse(feed.isGapOpen)
    XCTAssertEqual(feed.health.gapsFilled, 1)
    XCTAssertFalse(feed.health.stale)
    XCTAssertEqual(feed.tracker.counters.gaps, 0)
    XCTAssertEqual(feed.expectedSequence, 10)
  }

  func testTickReRequestsAfterTheHoldAndGivesUpAfterTheLastAttempt() {
    let feed = holding(holdNs: 1000, attempts: 1)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 3), nowNs: 0, into: &receiver)
    feed.receive(packet(sequence: 7, count: 1), nowNs: 100, into: &receiver)
    _ = receiver.take()
    XCTAssertNil(feed.tick(nowNs: 1099, into: &receiver), "the hold is not over")
    let request = feed.tick(nowNs: 1100, into: &receiver)
    XCTAssertEqual(request, RerequestAction(session: MoldSessionID("QUOTECAST"), sequence: 4, count: 3))
    XCTAssertEqual(feed.health.rerequests, 1)
    XCTAssertNil(feed.tick(nowNs: 6099, into: &receiver), "the answer has 5000 ns")
    XCTAssertEqual(receiver.take(), [])
    XCTAssertNil(feed.tick(nowNs: 6100, into: &receiver))
    XCTAssertEqual(
      receiver.take(), [.stale(lostFrom: 4, totalLostMessages: 3), .deliver(sequence: 7, skip: 0, nowNs: 6100)])
    XCTAssertEqual(feed.health.gapsAbandoned, 1)
    XCTAssertFalse(feed.isGapOpen)
    XCTAssertEqual(feed.tracker.counters.gapMessages, 3)
  }

  func testPartOfTheHoleArrivingRestartsTheWaitAndTheAttempts() {
    let feed = holding(holdNs: 1000, attempts: 1)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 1), nowNs: 0, into: &receiver)
    feed.receive(packet(sequence: 9, count: 1), nowNs: 0, into: &receiver)
    XCTAssertNotNil(feed.tick(nowNs: 1000, into: &receiver))
    feed.receive(packet(sequence: 2, count: 3), nowNs: 1500, into: &receiver)
    XCTAssertNil(feed.tick(nowNs: 1600, into: &receiver), "progress: the wait starts again")
    let request = feed.tick(nowNs: 2600, into: &receiver)
    XCTAssertEqual(request?.sequence, 5)
    XCTAssertEqual(request?.count, 4)
    XCTAssertEqual(feed.health.rerequests, 2)
    XCTAssertEqual(feed.health.gapsAbandoned, 0)
  }

  func testAHeartbeatAheadOfTheHoleExtendsItAndGivingUpSkipsToIt() {
    let feed = holding(holdNs: 1000)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 3), nowNs: 0, into: &receiver)
    feed.receive(packet(sequence: 10, count: 0), nowNs: 0, into: &receiver)
    XCTAssertTrue(feed.isGapOpen)
    XCTAssertEqual(feed.tracker.counters.heartbeats, 1)
    _ = receiver.take()
    XCTAssertNil(feed.tick(nowNs: 1000, into: &receiver))
    XCTAssertEqual(receiver.take(), [.stale(lostFrom: 4, totalLostMessages: 6), .flush])
    XCTAssertEqual(feed.expectedSequence, 10)
    XCTAssertFalse(feed.isGapOpen)
  }

  func testAFullHoldStoreGivesUpTheHolesBeforeThePacketAndLosesNothingReceived() {
    let feed = holding(maxHeld: 2)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 1), into: &receiver)
    feed.receive(packet(sequence: 3, count: 1), into: &receiver)
    feed.receive(packet(sequence: 5, count: 1), into: &receiver)
    feed.receive(packet(sequence: 7, count: 1), into: &receiver)
    XCTAssertEqual(
      receiver.take(),
      [
        .deliver(sequence: 1, skip: 0, nowNs: 0),
        .stale(lostFrom: 2, totalLostMessages: 1), .deliver(sequence: 3, skip: 0, nowNs: 0),
        .stale(lostFrom: 4, totalLostMessages: 2), .deliver(sequence: 5, skip: 0, nowNs: 0),
        .stale(lostFrom: 6, totalLostMessages: 3), .deliver(sequence: 7, skip: 0, nowNs: 0),
      ])
    XCTAssertEqual(feed.health.gapsAbandoned, 2)
    XCTAssertEqual(feed.heldCount, 0)
  }

  func testALateJoinCatchesUpFromMessageOneAsOneGap() {
    let feed = holding(holdNs: 1000, attempts: 1, catchUp: true)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 100, count: 2), nowNs: 0, into: &receiver)
    XCTAssertEqual(feed.health.catchUps, 1)
    XCTAssertEqual(receiver.take(), [])
    let request = feed.tick(nowNs: 1000, into: &receiver)
    XCTAssertEqual(request?.sequence, 1)
    XCTAssertEqual(request?.count, 99)
    feed.receive(packet(sequence: 1, count: 50), nowNs: 1100, into: &receiver)
    XCTAssertTrue(feed.isGapOpen, "still catching up")
    feed.receive(packet(sequence: 51, count: 49), nowNs: 1200, into: &receiver)
    XCTAssertEqual(
      receiver.take(),
      [
        .deliver(sequence: 1, skip: 0, nowNs: 1100), .deliver(sequence: 51, skip: 0, nowNs: 1200),
        .deliver(sequence: 100, skip: 0, nowNs: 1200),
      ])
    XCTAssertFalse(feed.isGapOpen)
    XCTAssertEqual(feed.health.gapsFilled, 1)
    XCTAssertFalse(feed.health.stale)
    XCTAssertEqual(feed.expectedSequence, 102)
  }

  func testFinishingGivesUpEveryHoleAndDeliversWhatWasHeld() {
    let feed = holding(holdNs: 1_000_000)
    var receiver = RecordingReceiver()
    feed.receive(packet(sequence: 1, count: 1), into: &receiver)
    feed.receive(packet(sequence: 3, count: 1), into: &receiver)
    feed.receive(packet(sequence: 6, count: 1), into: &receiver)
    _ = receiver.take()
    feed.finishGaps(nowNs: 7, into: &receiver)
    XCTAssertEqual(
      receiver.take(),
      [
        .stale(lostFrom: 2, totalLostMessages: 1), .deliver(sequence: 3, skip: 0, nowNs: 7),
        .stale(lostFrom: 4, totalLostMessages: 3), .deliver(sequence: 6, skip: 0, nowNs: 7),
      ])
    XCTAssertEqual(feed.health.gapsAbandoned, 2)
    XCTAssertEqual(feed.health.lostMessages, 3)
  }
}
