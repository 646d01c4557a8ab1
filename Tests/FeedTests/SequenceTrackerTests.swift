import Feed
import ITCH
import XCTest

/// A MoldUDP64 packet with `count` one-byte blocks.
func packet(session: String = "QUOTECAST", sequence: UInt64, count: UInt16) -> [UInt8] {
  var bytes = Array(session.utf8.prefix(10))
  while bytes.count < 10 { bytes.append(0x20) }
  for shift in stride(from: 56, through: 0, by: -8) {
    bytes.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift)))
  }
  bytes += [UInt8(count >> 8), UInt8(count & 0xFF)]
  if count != 0xFFFF { for _ in 0..<count { bytes += [0, 1, 0x5A] } }
  return bytes
}

extension SequenceTracker {
  mutating func admit(_ bytes: [UInt8]) -> Admission { bytes.withUnsafeBytes { admit(MoldPacket($0)) } }
}

final class SequenceTrackerTests: XCTestCase {
  func testInOrderDelivery() {
    var tracker = SequenceTracker()
    XCTAssertEqual(tracker.admit(packet(sequence: 1, count: 3)), .deliver(skip: 0))
    XCTAssertEqual(tracker.admit(packet(sequence: 4, count: 2)), .deliver(skip: 0))
    XCTAssertEqual(tracker.expectedSequence, 6)
    XCTAssertEqual(tracker.session, MoldSessionID("QUOTECAST"))
    XCTAssertEqual(tracker.counters.packets, 2)
    XCTAssertEqual(tracker.counters.gaps, 0)
  }

  func testGapIsCountedAndDelivered() {
    var tracker = SequenceTracker()
    _ = tracker.admit(packet(sequence: 1, count: 3))
    XCTAssertEqual(tracker.admit(packet(sequence: 10, count: 1)), .deliver(skip: 0))
    XCTAssertEqual(tracker.counters.gaps, 1)
    XCTAssertEqual(tracker.counters.gapMessages, 6)
    XCTAssertEqual(tracker.expectedSequence, 11)
  }

  func testDuplicatesAndOverlaps() {
    var tracker = SequenceTracker()
    _ = tracker.admit(packet(sequence: 1, count: 5))
    XCTAssertEqual(tracker.admit(packet(sequence: 1, count: 5)), .drop)
    XCTAssertEqual(tracker.admit(packet(sequence: 3, count: 2)), .drop)
    XCTAssertEqual(tracker.counters.duplicatePackets, 2)
    XCTAssertEqual(tracker.admit(packet(sequence: 4, count: 4)), .deliver(skip: 2))
    XCTAssertEqual(tracker.counters.duplicateMessages, 9)
    XCTAssertEqual(tracker.expectedSequence, 8)
  }

  func testHeartbeatRevealsGapAndEndOfSession() {
    var tracker = SequenceTracker()
    _ = tracker.admit(packet(sequence: 1, count: 2))
    XCTAssertEqual(tracker.admit(packet(sequence: 3, count: 0)), .drop)
    XCTAssertEqual(tracker.counters.gaps, 0)
    XCTAssertEqual(tracker.admit(packet(sequence: 5, count: 0)), .drop)
    XCTAssertEqual(tracker.counters.gaps, 1)
    XCTAssertEqual(tracker.counters.heartbeats, 2)
    XCTAssertEqual(tracker.admit(packet(sequence: 5, count: 0xFFFF)), .drop)
    XCTAssertTrue(tracker.ended)
    XCTAssertEqual(tracker.counters.endOfSession, 1)
  }

  func testForeignSessionAndShortPackets() {
    var tracker = SequenceTracker()
    _ = tracker.admit(packet(sequence: 1, count: 1))
    XCTAssertEqual(tracker.admit(packet(session: "OTHER", sequence: 2, count: 1)), .drop)
    XCTAssertEqual(tracker.counters.unknownSession, 1)
    XCTAssertEqual(tracker.admit([1, 2, 3]), .drop)
    XCTAssertEqual(tracker.counters.shortPackets, 1)
    XCTAssertEqual(tracker.expectedSequence, 2)
  }

  func testConfiguredSessionRejectsOthersFromTheStart() {
    var tracker = SequenceTracker(session: MoldSessionID("EXPECTED"))
    XCTAssertEqual(tracker.admit(packet(sequence: 1, count: 1)), .drop)
    XCTAssertEqual(tracker.admit(packet(session: "EXPECTED", sequence: 1, count: 1)), .deliver(skip: 0))
  }

  func testLateJoinIsAGapNotAnImplausibleJump() {
    var tracker = SequenceTracker(maxForwardJump: 100)
    XCTAssertEqual(tracker.admit(packet(sequence: 5_000_000, count: 2)), .deliver(skip: 0))
    XCTAssertEqual(tracker.expectedSequence, 5_000_002)
    XCTAssertEqual(tracker.counters.implausibleJumps, 0)
  }

  func testCorruptedSequenceDoesNotPoisonTheStream() {
    var tracker = SequenceTracker(maxForwardJump: 100)
    _ = tracker.admit(packet(sequence: 1, count: 2))
    // A bit flip in the sequence field: far ahead, and nothing continues from it.
    XCTAssertEqual(tracker.admit(packet(sequence: 3 | 1 << 56, count: 2)), .drop)
    XCTAssertEqual(tracker.admit(packet(sequence: 3, count: 2)), .deliver(skip: 0))
    XCTAssertEqual(tracker.admit(packet(sequence: 5, count: 2)), .deliver(skip: 0))
    XCTAssertEqual(tracker.counters.implausibleJumps, 1)
    XCTAssertEqual(tracker.counters.duplicatePackets, 0)
    XCTAssertEqual(tracker.counters.gaps, 0)
    // A corrupted heartbeat cannot move the expected sequence either.
    XCTAssertEqual(tracker.admit(packet(sequence: 1 << 40, count: 0)), .drop)
    XCTAssertEqual(tracker.expectedSequence, 7)
    XCTAssertEqual(tracker.counters.gaps, 0)
  }

  func testARealJumpIsBelievedOnceTheNextPacketContinuesIt() {
    var tracker = SequenceTracker(maxForwardJump: 100)
    _ = tracker.admit(packet(sequence: 1, count: 2))
    XCTAssertEqual(tracker.admit(packet(sequence: 10_000, count: 3)), .drop)
    XCTAssertEqual(tracker.admit(packet(sequence: 10_003, count: 1)), .deliver(skip: 0))
    XCTAssertEqual(tracker.expectedSequence, 10_004)
    XCTAssertEqual(tracker.counters.gaps, 1)
    XCTAssertEqual(tracker.counters.gapMessages, 10_003 - 3)
    XCTAssertEqual(tracker.counters.implausibleJumps, 1)
  }

  func testAForgedCountDoesNotSwallowTheFollowingPackets() {
    var tracker = SequenceTracker()
    _ = tracker.admit(packet(sequence: 1, count: 2))
    // The header claims 40,000 messages; the datagram holds 2.
    var forged = packet(sequence: 3, count: 2)
    forged[18] = 0x9C
    forged[19] = 0x40
    XCTAssertEqual(tracker.admit(forged), .deliver(skip: 0))
    tracker.noteFraming(.fewerBlocksThanCounted, endSequence: 5)
    XCTAssertEqual(tracker.expectedSequence, 5)
    XCTAssertEqual(tracker.admit(packet(sequence: 5, count: 2)), .deliver(skip: 0))
    XCTAssertEqual(tracker.counters.countMismatches, 1)
    XCTAssertEqual(tracker.counters.duplicatePackets, 0)
  }

  /// A cut-short packet never takes the stream back past what was already delivered: not below
  /// 1 at the start (a hostile sequence 0), and not into an overlap's already-delivered prefix.
  func testFramingFaultsNeverRewindPastDeliveredMessages() {
    var tracker = SequenceTracker()
    XCTAssertEqual(tracker.admit(packet(sequence: 0, count: 3)), .deliver(skip: 1))
    tracker.noteFraming(.fewerBlocksThanCounted, endSequence: 0)
    XCTAssertEqual(tracker.expectedSequence, 1, "never below the first sequence")

    var overlap = SequenceTracker()
    _ = overlap.admit(packet(sequence: 1, count: 10))  // 1...10 delivered
    XCTAssertEqual(overlap.admit(packet(sequence: 5, count: 10)), .deliver(skip: 6))  // 11...14 new
    overlap.noteFraming(.truncatedLength, endSequence: 7)  // it held only 5...6
    XCTAssertEqual(overlap.expectedSequence, 11, "1...10 stay delivered; 11 is next")
  }
}
