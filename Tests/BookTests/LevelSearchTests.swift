import XCTest

@testable import Book

/// The branch-free level search against a plain linear one, on every array size up to past the
/// top-of-book scan and every key around the stored ones; and the record layout the order store
/// relies on.
final class LevelSearchTests: XCTestCase {
  func testRecordsAndLevelsAreSixteenBytes() {
    // Four to a cache line and none across two: the order store and the level arrays count on it.
    XCTAssertEqual(MemoryLayout<OrderRecord>.stride, 16)
    XCTAssertEqual(MemoryLayout<LevelEntry>.stride, 16)
  }

  func testLowerBoundMatchesALinearSearch() {
    let capacity = 80
    let entries = UnsafeMutablePointer<LevelEntry>.allocate(capacity: capacity)
    defer { entries.deallocate() }
    var state: UInt64 = 0x5EED
    func random(_ bound: UInt32) -> UInt32 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return UInt32(truncatingIfNeeded: state >> 33) % bound
    }
    for count in 0...capacity {
      for _ in 0..<20 {
        // Strictly ascending keys with random gaps of 1-3.
        var key = random(5)
        for position in 0..<count {
          key &+= 1 &+ random(3)
          entries[position] = LevelEntry(key: key, orders: 1, shares: 1)
        }
        let top = count > 0 ? entries[count - 1].key : 0
        for probe in 0...(top &+ 2) {
          var expected = 0
          while expected < count && entries[expected].key < probe { expected += 1 }
          XCTAssertEqual(
            OrderBooks.lowerBound(entries, count: count, key: probe), expected, "count \(count), key \(probe)")
        }
      }
    }
  }
}
