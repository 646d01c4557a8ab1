import CMallocCounter
import TestSupport
import XCTest

@testable import Gateway

final class StageHistogramTests: XCTestCase {
  /// Recording and publishing run on the core thread: quantiles right, and no allocation.
  func testQuantilesArePublishedWithoutAllocating() {
    assertMallocCounterIsLive()
    var stages = StageHistograms()
    let board = CounterBoard()
    for value in 1...10_000 { stages.record(.encode, UInt64(value)) }
    stages.publish(to: board, shard: 0)
    let before = qc_thread_allocations()
    for value in 1...10_000 { stages.record(.decodeAndBooks, UInt64(value)) }
    stages.publish(to: board, shard: 0)
    stages.publish(to: board, shard: 0)
    XCTAssertEqual(qc_thread_allocations() - before, 0)
    // Quantiles 0.5, 0.99, 0.999 and max of 1...10,000, within two significant digits.
    let encode = Stage.encode.rawValue
    XCTAssertEqual(Double(board.stageLatencyNs(encode, quantile: 0)), 5_000, accuracy: 100)
    XCTAssertEqual(Double(board.stageLatencyNs(encode, quantile: 1)), 9_900, accuracy: 100)
    XCTAssertEqual(Double(board.stageLatencyNs(encode, quantile: 2)), 9_990, accuracy: 100)
    XCTAssertEqual(Double(board.stageLatencyNs(encode, quantile: 3)), 10_000, accuracy: 100)
    XCTAssertEqual(board.stageLatencyNs(Stage.send.rawValue, quantile: 0), 0, "nothing recorded: 0")
    XCTAssertEqual(Stage.count, Stage.allCases.count)
  }

  /// With book shards, each thread stores into its own row; readers see sums and maxima.
  func testShardRowsAreSummedAndTheLongestCycleIsTheMaximum() {
    let board = CounterBoard(shards: 2)
    board.store(.messages, 10, shard: 0)
    board.store(.messages, 32, shard: 1)
    board.store(.longestCycleNs, 700, shard: 0)
    board.store(.longestCycleNs, 300, shard: 1)
    board.store(.threadAllocations, 2, shard: 0)
    board.store(.threadAllocations, 3, shard: 1)
    board.storeMessages(ofType: UInt8(ascii: "A"), 4, shard: 0)
    board.storeMessages(ofType: UInt8(ascii: "A"), 5, shard: 1)
    XCTAssertEqual(board.load(.messages), 42)
    XCTAssertEqual(board.load(.longestCycleNs), 700)
    XCTAssertEqual(board.load(.threadAllocations), 5)
    XCTAssertEqual(board.messages(ofType: UInt8(ascii: "A")), 9)
    board.store(.threadAllocations, .max, shard: 1)
    XCTAssertEqual(board.load(.threadAllocations), .max, "not measured on one thread: not measured")
  }
}
