import CMallocCounter
import XCTest

@testable import Gateway

final class StageHistogramTests: XCTestCase {
  /// Recording and publishing run on the core thread: quantiles right, and no allocation.
  func testQuantilesArePublishedWithoutAllocating() {
    var stages = StageHistograms()
    let board = CounterBoard()
    for value in 1...10_000 { stages.record(.encode, UInt64(value)) }
    stages.publish(to: board)
    let before = qc_thread_allocations()
    for value in 1...10_000 { stages.record(.decodeAndBooks, UInt64(value)) }
    stages.publish(to: board)
    stages.publish(to: board)
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
}
