import Transport
import XCTest

final class SharedFlagTests: XCTestCase {
  func testClaimSetsOnceAndClearAllowsAnother() {
    let flag = SharedFlag()
    XCTAssertFalse(flag.isSet)
    XCTAssertTrue(flag.claim())
    XCTAssertFalse(flag.claim(), "already set")
    XCTAssertTrue(flag.isSet)
    flag.clear()
    XCTAssertFalse(flag.isSet)
    XCTAssertTrue(SharedFlag(true).isSet)
  }

  /// What a thread wrote before setting the flag is what another sees once it reads the flag set.
  func testWritesBeforeSetAreSeenAfterIsSet() {
    final class Box: @unchecked Sendable { var values = [Int](repeating: 0, count: 64) }
    for round in 1...200 {
      let box = Box()
      let ready = SharedFlag()
      let writer = WorkerThread {
        for index in box.values.indices { box.values[index] = round * 1000 + index }
        ready.set()
      }
      while !ready.isSet {}
      XCTAssertEqual(box.values.last, round * 1000 + 63)
      XCTAssertEqual(box.values.first, round * 1000)
      writer.join()
    }
  }
}
