import Book
import ITCH
import TestSupport
import XCTest

func smallConfig(depth: Int = 10) -> BookConfig {
  var config = BookConfig()
  config.maxLocates = 16
  config.maxLiveOrders = 10_000
  config.maxLevels = 10_000
  config.levelArenaEntries = 1 << 16
  config.maxOrderReference = 1 << 20
  config.maxReferencePages = 64
  config.publishedDepth = depth
  return config
}

func level(_ price: UInt32, _ shares: UInt64, _ orders: UInt32) -> PriceLevel {
  PriceLevel(price: price, shares: shares, orders: orders)
}

final class BookRuleTests: XCTestCase {
  func testAddsBuildSortedLevelsBothSides() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))
    _ = books.applyCollecting(Message.add(1, 2, "B", 200, 10_100))
    _ = books.applyCollecting(Message.add(1, 3, "B", 50, 10_000))
    _ = books.applyCollecting(Message.add(1, 4, "S", 300, 10_300))
    _ = books.applyCollecting(Message.add(1, 5, "S", 10, 10_200))
    XCTAssertEqual(books.levels(locate: 1, side: .bid), [level(10_100, 200, 1), level(10_000, 150, 2)])
    XCTAssertEqual(books.levels(locate: 1, side: .ask), [level(10_200, 10, 1), level(10_300, 300, 1)])
    XCTAssertEqual(books.liveOrders, 5)
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testLevelEventsCarryIndexAggregateAndSequence() {
    let books = OrderBooks(config: smallConfig())
    var events = books.applyCollecting(Message.add(3, 1, "B", 100, 10_000), sequence: 41)
    XCTAssertEqual(events.count, 1)
    XCTAssertEqual(events[0].kind, .level)
    XCTAssertEqual(events[0].code, BookEvent.LevelAction.new.rawValue)
    XCTAssertEqual(events[0].locate, 3)
    XCTAssertEqual(events[0].levelIndex, 0)
    XCTAssertEqual(events[0].upstreamSequence, 41)
    XCTAssertEqual(events[0].timestampNs, 34_200_000_000_000)
    events = books.applyCollecting(Message.add(3, 2, "B", 100, 10_100))
    XCTAssertEqual(events.map(\.levelIndex), [0])
    XCTAssertEqual(events[0].code, BookEvent.LevelAction.new.rawValue)
    events = books.applyCollecting(Message.add(3, 3, "B", 5, 10_000))
    XCTAssertEqual(events[0].code, BookEvent.LevelAction.change.rawValue)
    XCTAssertEqual(events[0].levelIndex, 1)
    XCTAssertEqual(events[0].shares, 105)
    XCTAssertEqual(events[0].orders, 2)
  }

  func testExecuteTradesAtRestingPriceThenChangesLevel() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 7, "S", 100, 10_500))
    let events = books.applyCollecting(Message.execute(1, 7, 40, match: 99))
    XCTAssertEqual(events.map(\.kind), [.trade, .level])
    XCTAssertEqual(events[0].price, 10_500)
    XCTAssertEqual(events[0].shares, 40)
    XCTAssertEqual(events[0].matchNumber, 99)
    XCTAssertEqual(events[0].side, BookSide.ask.rawValue)
    XCTAssertEqual(events[0].code, BookEvent.TradeKind.execution.rawValue)
    XCTAssertEqual(events[1].shares, 60)
    XCTAssertEqual(books.levels(locate: 1, side: .ask), [level(10_500, 60, 1)])
  }

  func testExecuteWithPricePrintsOnlyWhenPrintable() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 7, "B", 100, 10_500))
    var events = books.applyCollecting(Message.executeWithPrice(1, 7, 10, price: 10_400, printable: true))
    XCTAssertEqual(events.map(\.kind), [.trade, .level])
    XCTAssertEqual(events[0].price, 10_400)
    XCTAssertEqual(events[0].code, BookEvent.TradeKind.executionWithPrice.rawValue)
    events = books.applyCollecting(Message.executeWithPrice(1, 7, 10, price: 10_400, printable: false))
    XCTAssertEqual(events.map(\.kind), [.level])
    XCTAssertEqual(books.levels(locate: 1, side: .bid), [level(10_500, 80, 1)])
  }

  func testUnknownReferencesChangeNothing() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))
    for message in [Message.execute(1, 9, 1), Message.cancel(1, 9, 1), Message.delete(1, 9)] {
      XCTAssertEqual(books.applyCollecting(message).count, 0)
    }
    XCTAssertEqual(books.counters.unknownReference, 3)
    XCTAssertEqual(books.applyCollecting(Message.replace(1, 9, 10, 100, 10_000)).count, 0)
    XCTAssertEqual(books.counters.unknownReplaceReference, 1)
    XCTAssertEqual(books.liveOrders, 1)
    XCTAssertEqual(books.levels(locate: 1, side: .bid), [level(10_000, 100, 1)])
  }

  func testOverExecutionAndOverCancelClampAndRemove() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))
    _ = books.applyCollecting(Message.add(1, 2, "B", 100, 10_000))
    let events = books.applyCollecting(Message.execute(1, 1, 500))
    XCTAssertEqual(events[0].shares, 100, "the trade reports the shares that existed")
    XCTAssertEqual(books.counters.clampedExecutions, 1)
    _ = books.applyCollecting(Message.cancel(1, 2, 101))
    XCTAssertEqual(books.counters.clampedCancels, 1)
    XCTAssertEqual(books.liveOrders, 0)
    XCTAssertEqual(books.levels(locate: 1, side: .bid), [])
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testRejectedAdds() {
    let books = OrderBooks(config: smallConfig())
    XCTAssertEqual(books.applyCollecting(Message.add(1, 1, "B", 0, 10_000)).count, 0)
    XCTAssertEqual(books.applyCollecting(Message.add(1, 2, "B", 10, 0)).count, 0)
    XCTAssertEqual(books.applyCollecting(Message.add(1, 3, "Z", 10, 10)).count, 0)
    XCTAssertEqual(books.applyCollecting(Message.add(1, (1 << 20) + 1, "B", 10, 10)).count, 0)
    XCTAssertEqual(books.applyCollecting(Message.add(16, 4, "B", 10, 10)).count, 0)
    let counters = books.counters
    XCTAssertEqual(counters.zeroShareAdds, 1)
    XCTAssertEqual(counters.zeroPriceAdds, 1)
    XCTAssertEqual(counters.badSide, 1)
    XCTAssertEqual(counters.referenceBeyondCap, 1)
    XCTAssertEqual(counters.locateBeyondCap, 1)
    XCTAssertEqual(counters.anomalyTotal, 5)
    XCTAssertEqual(counters.anomalyTotal, counters.anomalies.reduce(0) { $0 + $1.value })
    XCTAssertEqual(books.liveOrders, 0)
  }

  func testAddOntoLiveReferenceEvictsFirst() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 5, "B", 100, 10_000))
    let events = books.applyCollecting(Message.add(1, 5, "S", 30, 10_100))
    XCTAssertEqual(events.map(\.code), [BookEvent.LevelAction.delete.rawValue, BookEvent.LevelAction.new.rawValue])
    XCTAssertEqual(books.counters.addsOnLiveReference, 1)
    XCTAssertEqual(books.levels(locate: 1, side: .bid), [])
    XCTAssertEqual(books.levels(locate: 1, side: .ask), [level(10_100, 30, 1)])
  }

  func testReplaceKeepsSideAndLocateAndMovesPrice() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(2, 1, "S", 100, 10_000))
    // The header names locate 3, but the order lives on locate 2.
    _ = books.applyCollecting(Message.replace(3, 1, 2, 70, 10_200))
    XCTAssertEqual(books.counters.locateMismatches, 1)
    XCTAssertEqual(books.levels(locate: 2, side: .ask), [level(10_200, 70, 1)])
    XCTAssertEqual(books.levels(locate: 3, side: .ask), [])
    // The old reference is gone, the new one is live.
    _ = books.applyCollecting(Message.delete(2, 1))
    XCTAssertEqual(books.counters.unknownReference, 1)
    _ = books.applyCollecting(Message.delete(2, 2))
    XCTAssertEqual(books.liveOrders, 0)
  }

  func testSamePriceReplaceIsOneChange() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))
    _ = books.applyCollecting(Message.add(1, 2, "B", 50, 10_000))
    let events = books.applyCollecting(Message.replace(1, 1, 3, 20, 10_000))
    XCTAssertEqual(events.count, 1)
    XCTAssertEqual(events[0].code, BookEvent.LevelAction.change.rawValue)
    XCTAssertEqual(events[0].shares, 70)
    XCTAssertEqual(events[0].orders, 2)
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testReplaceWithInvalidNewOrderRemovesTheOriginal() {
    let books = OrderBooks(config: smallConfig())
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))
    _ = books.applyCollecting(Message.replace(1, 1, 2, 0, 10_100))
    XCTAssertEqual(books.counters.zeroShareAdds, 1)
    XCTAssertEqual(books.liveOrders, 0)
  }

  func testDeletingInsideDepthPullsTheNextLevelIntoView() {
    let books = OrderBooks(config: smallConfig(depth: 2))
    for (reference, price) in [(1, 10_000), (2, 9_900), (3, 9_800)] {
      _ = books.applyCollecting(Message.add(1, UInt64(reference), "B", 100, UInt32(price)))
    }
    let events = books.applyCollecting(Message.delete(1, 1))
    XCTAssertEqual(events.count, 2)
    XCTAssertEqual(events[0].code, BookEvent.LevelAction.delete.rawValue)
    XCTAssertEqual(events[0].levelIndex, 0)
    XCTAssertEqual(events[1].code, BookEvent.LevelAction.new.rawValue)
    XCTAssertEqual(events[1].levelIndex, 1)
    XCTAssertEqual(events[1].price, 9_800)
    // Below the published depth nothing is said.
    XCTAssertEqual(books.applyCollecting(Message.add(1, 4, "B", 1, 9_700)).count, 0)
  }

  func testStatusIsTrackedAndBooksKeepUpdatingDuringHalts() {
    let books = OrderBooks(config: smallConfig())
    let defined = books.applyCollecting(Message.directory(4, "MSFT"))
    XCTAssertEqual(defined.map(\.kind), [.definition])
    XCTAssertEqual(defined[0].definition?.pointee.withSymbolBytes { Array($0) }, Array("MSFT".utf8))
    XCTAssertEqual(books.definition(locate: 4)?.pointee.symbolLength, 4)
    XCTAssertEqual(books.symbol(locate: 4), Symbol("MSFT"))
    XCTAssertEqual(books.locate(of: Symbol("MSFT")), 4)
    let events = books.applyCollecting(Message.tradingAction(4, "H"))
    XCTAssertEqual(events.map(\.kind), [.status])
    XCTAssertEqual(events[0].code, UInt8(ascii: "H"))
    XCTAssertEqual(events[0].statusKind, .tradingAction, "decoded in the books")
    XCTAssertEqual(events[0].tradingState, UInt8(ascii: "H"))
    XCTAssertEqual(books.tradingState(locate: 4), UInt8(ascii: "H"))
    XCTAssertEqual(books.applyCollecting(Message.add(4, 1, "B", 100, 10_000)).count, 1)
    XCTAssertEqual(books.levels(locate: 4, side: .bid), [level(10_000, 100, 1)])
  }

  func testLULDAndImbalanceAreTrackedPerInstrument() {
    let books = OrderBooks(config: smallConfig())
    XCTAssertNil(books.luldCollar(locate: 2))
    _ = books.applyCollecting(Message.luldCollar(2, reference: 100, upper: 110, lower: 90, extensions: 1))
    _ = books.applyCollecting(
      Message.imbalance(
        2, paired: 5, imbalance: 6, direction: "S", far: 7, near: 8, reference: 9, crossType: "O", variation: "A"))
    XCTAssertEqual(
      books.luldCollar(locate: 2),
      LULDCollarState(referencePrice: 100, upperPrice: 110, lowerPrice: 90, collarExtension: 1))
    XCTAssertEqual(
      books.imbalance(locate: 2),
      ImbalanceState(
        pairedShares: 5, imbalanceShares: 6, direction: UInt8(ascii: "S"), farPrice: 7, nearPrice: 8, referencePrice: 9,
        crossType: UInt8(ascii: "O")))
    XCTAssertNil(books.imbalance(locate: 3))
  }

  func testUnknownTypesAndWrongLengthsAreCountedNotParsed() {
    let books = OrderBooks(config: smallConfig())
    XCTAssertEqual(books.applyCollecting([UInt8(ascii: "Z"), 0, 1]).count, 0)
    XCTAssertEqual(books.applyCollecting(Array(Message.add(1, 1, "B", 100, 10_000).dropLast())).count, 0)
    XCTAssertEqual(books.applyCollecting(Message.add(1, 1, "B", 100, 10_000) + [0]).count, 0)
    XCTAssertEqual(books.applyCollecting([]).count, 0)
    XCTAssertEqual(books.counters.unknownMessageType, 1)
    XCTAssertEqual(books.counters.badMessageLength, 3)
    XCTAssertEqual(books.liveOrders, 0)
  }

  func testPoolsAreBoundedAndRecover() {
    var config = smallConfig()
    config.maxLiveOrders = 4
    let books = OrderBooks(config: config)
    for reference in 1...6 { _ = books.applyCollecting(Message.add(1, UInt64(reference), "B", 10, 100)) }
    XCTAssertEqual(books.liveOrders, 4)
    XCTAssertEqual(books.counters.orderCapacityExhausted, 2)
    _ = books.applyCollecting(Message.delete(1, 1))
    _ = books.applyCollecting(Message.add(1, 7, "B", 10, 100))
    XCTAssertEqual(books.liveOrders, 4)
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testOrdersFindTheirLevelAfterOtherLevelsMoveIt() {
    // Each order remembers where its level sat; levels added and removed below and above it
    // move it, and every change must still land on the order's own price.
    let books = OrderBooks(config: smallConfig(depth: 3))
    _ = books.applyCollecting(Message.add(1, 1, "B", 100, 10_000))  // bids: 10000
    _ = books.applyCollecting(Message.add(1, 2, "B", 100, 9_900))  // a worse level under it
    _ = books.applyCollecting(Message.add(1, 3, "B", 100, 9_800))
    _ = books.applyCollecting(Message.add(1, 4, "B", 100, 10_100))  // a better one above
    _ = books.applyCollecting(Message.delete(1, 3))  // the worst goes: everything above moves down
    var events = books.applyCollecting(Message.cancel(1, 1, 30))
    XCTAssertEqual(events.map(\.levelIndex), [1])
    XCTAssertEqual(events.map(\.shares), [70])
    _ = books.applyCollecting(Message.add(1, 5, "B", 100, 9_700))  // a new worst: everything moves up
    _ = books.applyCollecting(Message.add(1, 6, "B", 100, 9_600))
    events = books.applyCollecting(Message.replace(1, 1, 7, 50, 10_000))  // same price, in place
    XCTAssertEqual(events.map(\.levelIndex), [1])
    XCTAssertEqual(events.map(\.shares), [50])
    _ = books.applyCollecting(Message.delete(1, 5))
    events = books.applyCollecting(Message.execute(1, 7, 50))
    // The level goes, and 9600 enters the published depth of 3 from below.
    XCTAssertEqual(events.map(\.kind), [.trade, .level, .level])
    XCTAssertEqual(events[1].code, BookEvent.LevelAction.delete.rawValue)
    XCTAssertEqual(events[1].levelIndex, 1)
    XCTAssertEqual(events[2].code, BookEvent.LevelAction.new.rawValue)
    XCTAssertEqual(events[2].levelIndex, 2)
    XCTAssertEqual(events[2].price, 9_600)
    XCTAssertEqual(
      books.levels(locate: 1, side: .bid), [level(10_100, 100, 1), level(9_900, 100, 1), level(9_600, 100, 1)])
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testStaleAndClampedLevelHintsStillFindTheLevel() {
    // An order's hint is its level's index from the best when last looked up. Levels added and
    // removed above it make the hint wrong, and past 255 it is clamped. Either way a change must
    // land on the order's own level and report its true index.
    let books = OrderBooks(config: smallConfig(depth: 3))
    // Asks at 20_000 + 10 * k, k = 0...299: reference 1 + k, best (k = 0) first.
    for k in 0..<300 {
      _ = books.applyCollecting(Message.add(2, UInt64(1 + k), "S", 100, UInt32(20_000 + 10 * k)))
    }
    // Reference 300 sits at index 299 (hint clamped to 255); outside the depth: no level event.
    var events = books.applyCollecting(Message.cancel(2, 300, 40))
    XCTAssertEqual(events.count, 0)
    XCTAssertEqual(books.levels(locate: 2, side: .ask).last, level(22_990, 60, 1))
    // Reference 3 sits at index 2. Two better asks arrive: it is now at index 4, outside the depth.
    _ = books.applyCollecting(Message.add(2, 1_001, "S", 100, 19_990))
    _ = books.applyCollecting(Message.add(2, 1_002, "S", 100, 19_980))
    events = books.applyCollecting(Message.cancel(2, 3, 10))
    XCTAssertEqual(events.count, 0)
    // Three better levels go: reference 3 is at index 1 again, with 90 shares left.
    _ = books.applyCollecting(Message.delete(2, 1_001))
    _ = books.applyCollecting(Message.delete(2, 1_002))
    _ = books.applyCollecting(Message.delete(2, 1))
    events = books.applyCollecting(Message.execute(2, 3, 90))
    XCTAssertEqual(events.map(\.kind), [.trade, .level, .level])
    XCTAssertEqual(events[1].code, BookEvent.LevelAction.delete.rawValue)
    XCTAssertEqual(events[1].levelIndex, 1)
    XCTAssertEqual(events[2].levelIndex, 2)
    XCTAssertEqual(events[2].price, 20_040)
    // Most levels go. Left: 20_010 (reference 2), then references 297...300 at 22_960...22_990,
    // so reference 300 is at index 4; two more go and it is at index 2.
    for k in 3..<296 { _ = books.applyCollecting(Message.delete(2, UInt64(1 + k))) }
    XCTAssertEqual(books.levelCount(locate: 2, side: .ask), 5)
    _ = books.applyCollecting(Message.delete(2, 297))
    _ = books.applyCollecting(Message.delete(2, 298))
    events = books.applyCollecting(Message.replace(2, 300, 2_000, 75, 22_990))
    XCTAssertEqual(events.map(\.levelIndex), [2])
    XCTAssertEqual(events.map(\.shares), [75])
    XCTAssertEqual(
      books.levels(locate: 2, side: .ask), [level(20_010, 100, 1), level(22_980, 100, 1), level(22_990, 75, 1)])
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testReferencePagesAreRecycled() {
    var config = smallConfig()
    config.maxReferencePages = 2
    config.referencePageShift = 6
    let books = OrderBooks(config: config)
    // Walk references across many 64-entry pages, never holding more than a few orders.
    for reference in stride(from: UInt64(1), to: 5_000, by: 1) {
      _ = books.applyCollecting(Message.add(1, reference, "S", 10, 100 + UInt32(reference % 7)))
      if reference > 3 { _ = books.applyCollecting(Message.delete(1, reference - 3)) }
    }
    XCTAssertEqual(books.counters.referencePagesExhausted, 0)
    XCTAssertLessThanOrEqual(books.liveReferencePages, 2)
    XCTAssertEqual(books.liveOrders, 3)
    XCTAssertEqual(books.invariantViolations(), [])
  }

  func testConfigProblemsNameTheKey() {
    var config = BookConfig()
    config.publishedDepth = 0
    config.maxLocates = 70_000
    let problems = config.problems()
    XCTAssertTrue(problems.contains { $0.hasPrefix("publishedDepth:") })
    XCTAssertTrue(problems.contains { $0.hasPrefix("maxLocates:") })
    XCTAssertEqual(BookConfig().problems(), [])
  }
}
