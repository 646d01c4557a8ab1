import Book
import CMallocCounter
import ITCH
import TestSupport
import XCTest

/// Random feeds full of odd input, applied to the fast books and to the naive reference.
struct RandomFeed {
  var random: SeededGenerator
  let locates: UInt16
  let maxReference: UInt64
  var nextReference: UInt64 = 1
  var live: [UInt64] = []

  init(seed: UInt64, locates: UInt16, maxReference: UInt64) {
    random = SeededGenerator(seed: seed)
    self.locates = locates
    self.maxReference = maxReference
  }

  mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

  /// A reference the reference book holds live, if any (pruning dead ones as it goes).
  mutating func liveReference(in naive: NaiveBooks) -> UInt64? {
    while !live.isEmpty {
      let index = int(0...live.count - 1)
      if naive.orders[live[index]] != nil { return live[index] }
      live.swapAt(index, live.count - 1)
      live.removeLast()
    }
    return nil
  }

  mutating func price() -> UInt32 { UInt32(10_000 + int(-25...25) * 100) }

  mutating func next(_ naive: NaiveBooks) -> [UInt8] {
    let locate = UInt16(int(0...Int(locates) - 1))
    let roll = int(0...999)
    // Known-order operations, when there is a live order.
    if roll >= 400, roll < 930, let reference = liveReference(in: naive) {
      let order = naive.orders[reference]!
      // Now and then the header names the wrong locate: the order's own locate must win.
      let headerLocate = int(0...19) == 0 ? UInt16(int(0...Int(locates) - 1)) : order.locate
      switch roll {
      case 400..<500: return Message.execute(headerLocate, reference, UInt32(int(1...Int(order.shares) + 50)))
      case 500..<530:
        return Message.executeWithPrice(
          headerLocate, reference, UInt32(int(1...Int(order.shares))), price: price(), printable: int(0...1) == 0)
      case 530..<620: return Message.cancel(headerLocate, reference, UInt32(int(1...Int(order.shares) + 20)))
      case 620..<780: return Message.delete(headerLocate, reference)
      case 780..<900:
        let samePrice = int(0...2) == 0
        let newReference: UInt64
        switch int(0...19) {
        case 0: newReference = reference
        case 1: newReference = liveReference(in: naive) ?? nextReference
        default:
          newReference = nextReference
          nextReference += 1
        }
        live.append(newReference)
        let shares = int(0...29) == 0 ? 0 : UInt32(int(1...500))
        return Message.replace(headerLocate, reference, newReference, shares, samePrice ? order.price : price())
      default:
        // Add onto a live reference.
        return Message.add(locate, reference, int(0...1) == 0 ? "B" : "S", UInt32(int(1...500)), price())
      }
    }
    switch roll {
    case 930..<950: return Message.execute(locate, nextReference + 1_000_000, 10)
    case 950..<960: return Message.delete(locate, UInt64(int(0...3)) + maxReference)
    case 960..<970: return Message.replace(locate, nextReference + 1_000_000, nextReference, 10, price())
    case 970..<980: return Message.add(locate, nextReference, "B", 0, price())
    case 980..<985: return Message.add(locate, nextReference, "S", 10, 0)
    case 985..<990: return Message.add(locate, maxReference + 1, "S", 10, price())
    case 990..<995: return Message.add(locate, nextReference, "X", 10, price())
    default:
      let reference = nextReference
      nextReference += 1
      live.append(reference)
      return Message.add(locate, reference, int(0...1) == 0 ? "B" : "S", UInt32(int(1...500)), price())
    }
  }
}

final class DifferentialTests: XCTestCase {
  func compare(_ books: OrderBooks, _ naive: NaiveBooks, _ mirror: MBPMirror, locates: UInt16, depth: Int, at step: Int)
    -> Bool
  {
    XCTAssertEqual(books.liveOrders, naive.orders.count, "live orders at message \(step)")
    for locate in 0..<locates {
      for side in [BookSide.bid, .ask] {
        let expected = naive.levels(locate: locate, side: side)
        let actual = books.levels(locate: locate, side: side)
        guard actual == expected else {
          XCTFail("locate \(locate) \(side) differs at message \(step):\n fast  \(actual)\n naive \(expected)")
          return false
        }
        let published = mirror.levels(locate: locate, side: side)
        guard published == Array(expected.prefix(depth)) else {
          XCTFail("subscriber view of locate \(locate) \(side) differs at message \(step):\n \(published)")
          return false
        }
      }
    }
    let violations = books.invariantViolations()
    XCTAssertEqual(violations, [], "at message \(step)")
    return violations.isEmpty
  }

  func run(seed: UInt64, messages: Int, depth: Int, locates: UInt16) {
    let config = smallConfig(depth: depth)
    let books = OrderBooks(config: config)
    let naive = NaiveBooks(maxReference: config.maxOrderReference)
    var mirror = MBPMirror(depth: depth)
    var feed = RandomFeed(seed: seed, locates: locates, maxReference: config.maxOrderReference)
    for step in 0..<messages {
      let message = feed.next(naive)
      naive.apply(message)
      for event in books.applyCollecting(message, sequence: UInt64(step + 1)) {
        XCTAssertEqual(event.upstreamSequence, UInt64(step + 1))
        if let problem = mirror.apply(event) {
          XCTFail("seed \(seed) message \(step): \(problem)")
          return
        }
      }
      if step % 500 == 499 || step == messages - 1 {
        guard compare(books, naive, mirror, locates: locates, depth: depth, at: step) else { return }
      }
    }
    let counters = books.counters
    // The feed must actually have exercised the odd-input rules.
    XCTAssertGreaterThan(counters.unknownReference, 0)
    XCTAssertGreaterThan(counters.clampedExecutions, 0)
    XCTAssertGreaterThan(counters.clampedCancels, 0)
    XCTAssertGreaterThan(counters.addsOnLiveReference, 0)
    XCTAssertGreaterThan(counters.unknownReplaceReference, 0)
    XCTAssertGreaterThan(counters.locateMismatches, 0)
  }

  func testShallowDepthSeeds() {
    for seed in UInt64(1)...4 { run(seed: seed, messages: 12_000, depth: 3, locates: 3) }
  }

  func testDefaultDepthSeeds() {
    for seed in UInt64(11)...13 { run(seed: seed, messages: 12_000, depth: 10, locates: 5) }
  }

  /// Once warmed up, applying messages allocates nothing on this thread.
  func testSteadyStateApplyAllocatesNothing() {
    assertMallocCounterIsLive()
    var config = smallConfig(depth: 10)
    config.maxLiveOrders = 100_000
    let books = OrderBooks(config: config)
    let naive = NaiveBooks(maxReference: config.maxOrderReference)
    var feed = RandomFeed(seed: 99, locates: 8, maxReference: config.maxOrderReference)
    var frames: [UInt8] = []
    for _ in 0..<40_000 {
      let message = feed.next(naive)
      naive.apply(message)
      frames += [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }
    frames.withUnsafeBytes { raw in
      var iterator = DayFrameIterator(raw)
      var applied = 0
      var before: UInt64 = 0
      while let message = iterator.next() {
        if applied == 20_000 { before = qc_thread_allocations() }
        books.apply(message, sequence: UInt64(applied))
        books.clearEvents()
        applied += 1
      }
      XCTAssertEqual(applied, 40_000)
      XCTAssertEqual(qc_thread_allocations() - before, 0, "allocations while applying 20,000 messages")
    }
  }
}
