import Feed
import XCTest

extension HeldPackets {
  func insert(sequence: UInt64, _ bytes: [UInt8]) -> Insertion {
    bytes.withUnsafeBytes { insert(sequence: sequence, $0) }
  }

  /// Takes every held packet, lowest sequence first: (sequence, first byte, length).
  func takeAll() -> [(UInt64, UInt8, Int)] {
    var taken: [(UInt64, UInt8, Int)] = []
    while let sequence = firstSequence, let bytes = firstBytes {
      taken.append((sequence, bytes.first ?? 0, bytes.count))
      removeFirst()
    }
    return taken
  }
}

final class HeldPacketsTests: XCTestCase {
  func testOutOfOrderInsertsComeOutInSequenceOrder() {
    let held = HeldPackets(capacity: 4, slotBytes: 64)
    XCTAssertEqual(held.insert(sequence: 30, [3, 3, 3]), .held)
    XCTAssertEqual(held.insert(sequence: 10, [1]), .held)
    XCTAssertEqual(held.insert(sequence: 20, [2, 2]), .held)
    XCTAssertEqual(held.count, 3)
    XCTAssertEqual(held.firstSequence, 10)
    let taken = held.takeAll()
    XCTAssertEqual(taken.map(\.0), [10, 20, 30])
    XCTAssertEqual(taken.map(\.1), [1, 2, 3])
    XCTAssertEqual(taken.map(\.2), [1, 2, 3])
    XCTAssertTrue(held.isEmpty)
    XCTAssertNil(held.firstBytes)
  }

  func testACopyIsADuplicateUnlessItIsLongerThanTheHeldOne() {
    let held = HeldPackets(capacity: 4, slotBytes: 64)
    XCTAssertEqual(held.insert(sequence: 5, [7, 7]), .held)
    XCTAssertEqual(held.insert(sequence: 5, [9, 9]), .duplicate, "same length: the first copy stays")
    XCTAssertEqual(held.insert(sequence: 5, [8]), .duplicate, "shorter")
    XCTAssertEqual(held.insert(sequence: 5, [6, 6, 6, 6]), .replacedShorter)
    XCTAssertEqual(held.count, 1)
    XCTAssertEqual(held.firstBytes.map { Array($0) }, [6, 6, 6, 6])
  }

  func testFullAndTooLargeAreRefusedWithoutDisturbingWhatIsHeld() {
    let held = HeldPackets(capacity: 2, slotBytes: 8)
    XCTAssertEqual(held.insert(sequence: 1, [1]), .held)
    XCTAssertEqual(held.insert(sequence: 2, Array(repeating: 2, count: 9)), .tooLarge)
    XCTAssertEqual(held.insert(sequence: 2, Array(repeating: 2, count: 8)), .held, "exactly a slot fits")
    XCTAssertEqual(held.insert(sequence: 3, [3]), .full)
    XCTAssertEqual(held.insert(sequence: 1, [1, 1]), .replacedShorter, "a longer copy still replaces when full")
    XCTAssertEqual(held.takeAll().map(\.2), [2, 8])
  }

  func testSlotsAreReusedAndTheWindowSlidesBackAfterManyRounds() {
    let capacity = 3
    let held = HeldPackets(capacity: capacity, slotBytes: 16)
    var next: UInt64 = 1
    // Keep two held while taking one and adding one, many times past the entry array's end.
    XCTAssertEqual(held.insert(sequence: next, [UInt8(next)]), .held)
    XCTAssertEqual(held.insert(sequence: next + 1, [UInt8(next + 1)]), .held)
    for _ in 0..<50 {
      XCTAssertEqual(held.firstSequence, next)
      XCTAssertEqual(held.firstBytes?.first, UInt8(truncatingIfNeeded: next))
      held.removeFirst()
      XCTAssertEqual(held.insert(sequence: next + 2, [UInt8(truncatingIfNeeded: next + 2)]), .held)
      next += 1
    }
    XCTAssertEqual(held.count, 2)
    XCTAssertEqual(held.insert(sequence: 1000, [0]), .held)
    XCTAssertEqual(held.insert(sequence: 1001, [0]), .full)
    XCTAssertEqual(held.takeAll().map(\.0), [next, next + 1, 1000])
  }
}
