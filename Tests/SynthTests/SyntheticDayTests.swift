import XCTest

import Synth

/// One 200k-message, 50-symbol day, generated and replayed once for the whole test case.
enum SynthFixture {
  static let symbols = 50
  static let seed: UInt64 = 20_240_607
  static let day = RecordedDay(messages: 200_000, symbols: symbols, seed: seed)
  static let checker: DayChecker = {
    var checker = DayChecker(symbols: symbols)
    checker.run(day)
    return checker
  }()
}

private func ns(_ h: Int, _ m: Int) -> UInt64 { UInt64(h * 3600 + m * 60) * 1_000_000_000 }

private func isSystemEvent(_ m: Msg, _ code: Character) -> Bool {
  m.typeChar == "S" && Character(Unicode.Scalar(m.byte(11))) == code
}

final class SyntheticDayTests: XCTestCase {
  func testExactCountForManySizes() {
    for symbols in [1, 3, 10, 50] {
      for messages in [0, 1, 2, 7, 60, 105, 106, 107, 108, 500, 1_000, 4_000, 20_000] {
        var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: 9))
        var produced = 0
        var buffer = [UInt8](repeating: 0, count: ITCHWriter.maxMessageBytes)
        while let length = buffer.withUnsafeMutableBytes({ day.next(into: $0.baseAddress!) }) {
          XCTAssertEqual(ITCHWriter.length(ofType: buffer[0]), length)
          produced += 1
          if produced > messages { break }
        }
        XCTAssertEqual(produced, messages, "messages \(messages) symbols \(symbols)")
        XCTAssertEqual(day.emitted, messages)
        XCTAssertEqual(day.counts.values.reduce(0, +), messages)
        XCTAssertNil(day.nextMessage(), "stays finished")
      }
    }
  }

  func testSmallDaysFollowTheRules() {
    for (messages, symbols) in [(1, 5), (30, 10), (150, 10), (2_000, 10), (9_000, 7), (30_000, 4), (60_000, 200)] {
      let day = RecordedDay(messages: messages, symbols: symbols, seed: UInt64(messages))
      XCTAssertEqual(day.count, messages)
      var checker = DayChecker(symbols: symbols)
      checker.run(day)
      XCTAssertEqual(checker.violations, [], "messages \(messages) symbols \(symbols)")
      XCTAssertEqual(checker.crossedLocates(), [])
      // Whatever fits of the skeleton comes first: S O, then the directory in locate order.
      XCTAssertTrue(isSystemEvent(day.message(0), "O"))
      for i in 1..<min(messages, symbols + 1) {
        XCTAssertEqual(day.message(i).typeChar, "R")
        XCTAssertEqual(day.message(i).locate, i)
      }
      if messages >= 2 * symbols + 6 {
        XCTAssertTrue(isSystemEvent(day.message(messages - 3), "M"))
        XCTAssertTrue(isSystemEvent(day.message(messages - 2), "E"))
        XCTAssertTrue(isSystemEvent(day.message(messages - 1), "C"))
      }
    }
  }

  func testSameSeedSameBytesOtherSeedOtherBytes() {
    let again = RecordedDay(messages: 200_000, symbols: SynthFixture.symbols, seed: SynthFixture.seed)
    XCTAssertEqual(again.offsets, SynthFixture.day.offsets)
    XCTAssertTrue(again.bytes == SynthFixture.day.bytes, "same seed must give the same bytes")
    XCTAssertEqual(again.symbolNames, SynthFixture.day.symbolNames)
    let other = RecordedDay(messages: 200_000, symbols: SynthFixture.symbols, seed: SynthFixture.seed + 1)
    XCTAssertEqual(other.count, 200_000)
    XCTAssertFalse(other.bytes == SynthFixture.day.bytes, "another seed must give another day")
    XCTAssertNotEqual(other.symbolNames, SynthFixture.day.symbolNames)
  }

  func testBooksAndReferencesStayConsistent() {
    let checker = SynthFixture.checker
    XCTAssertEqual(SynthFixture.day.count, 200_000)
    XCTAssertEqual(checker.violations, [])
    XCTAssertEqual(checker.crossedLocates(), [])
    XCTAssertGreaterThan(checker.orders.count, 0, "books are not empty at the end")
  }

  func testCountsMatchTheStream() {
    XCTAssertEqual(SynthFixture.day.generatorCounts, SynthFixture.checker.typeCounts)
    XCTAssertEqual(SynthFixture.day.generatorCounts.values.reduce(0, +), 200_000)
  }

  func testEveryMessageTypeAppears() {
    let counts = SynthFixture.checker.typeCounts
    for type in "SRHYLVWKJhAFECXDUPQBINO" {
      XCTAssertGreaterThan(counts[type.asciiValue!, default: 0], 0, "no \(type) in a 200k day")
    }
    XCTAssertEqual(Set(counts.keys), Set(specLengths.keys))
  }

  func testMessageMixLooksLikeNasdaq() {
    let counts = SynthFixture.checker.typeCounts
    func share(_ t: Character) -> Double { Double(counts[t.asciiValue!, default: 0]) / 200_000 }
    XCTAssertEqual(share("A") + share("F"), 0.43, accuracy: 0.04)
    XCTAssertEqual(share("D"), 0.38, accuracy: 0.04)
    XCTAssertEqual(share("U"), 0.08, accuracy: 0.02)
    XCTAssertEqual(share("X"), 0.04, accuracy: 0.015)
    XCTAssertEqual(share("E"), 0.04, accuracy: 0.015)
    XCTAssertEqual(share("C"), 0.005, accuracy: 0.003)
    XCTAssertEqual(share("P"), 0.01, accuracy: 0.004)
    XCTAssertGreaterThan(share("F"), 0)
    XCTAssertLessThan(share("F"), 0.02)
    XCTAssertLessThan(share("B"), 0.001)
    // Both kinds of C prints.
    var printable = Set<UInt8>()
    for i in 0..<SynthFixture.day.count where SynthFixture.day.message(i).typeChar == "C" {
      printable.insert(SynthFixture.day.message(i).byte(31))
    }
    XCTAssertEqual(printable, [UInt8(ascii: "Y"), UInt8(ascii: "N")])
  }

  func testActivityIsSkewed() {
    let perLocate = SynthFixture.checker.orderMessagesPerLocate.dropFirst().sorted(by: >)
    let total = perLocate.reduce(0, +)
    let top = perLocate.prefix(SynthFixture.symbols / 10).reduce(0, +)
    XCTAssertGreaterThan(Double(top) / Double(total), 0.40, "top 10% of symbols carry > 40% of order messages")
    XCTAssertGreaterThan(perLocate.last!, 0, "every symbol trades")
  }

  func testBooksAreDeep() {
    let checker = SynthFixture.checker
    var depth: [Int] = []
    for loc in 1...SynthFixture.symbols where checker.orderMessagesPerLocate[loc] >= 200 {
      depth.append(min(checker.maxBidLevels[loc], checker.maxAskLevels[loc]))
    }
    XCTAssertGreaterThan(depth.count, SynthFixture.symbols / 2)
    depth.sort()
    XCTAssertGreaterThanOrEqual(depth[depth.count / 2], 10, "median max live levels per side")
    XCTAssertGreaterThanOrEqual(depth.last!, 30, "the busiest books are very deep")
  }

  func testHaltsKeepBooksAndStopExecutions() {
    let checker = SynthFixture.checker
    XCTAssertGreaterThan(checker.halts, SynthFixture.symbols, "stock halts, including the market-wide one")
    XCTAssertEqual(checker.executionsWhileHalted, 0)
    XCTAssertEqual(checker.emptiedByHalt, 0)
    XCTAssertEqual(checker.haltedLiveAtStart.count, 0, "every halted symbol resumed before the close")
    XCTAssertTrue(checker.tradingState.dropFirst().allSatisfy { $0 == UInt8(ascii: "T") })
  }

  func testTimestampsCoverTheTradingDay() {
    let day = SynthFixture.day
    var inSession = 0
    for i in 0..<day.count {
      let t = day.message(i).timestamp
      if t >= ns(9, 30) && t < ns(16, 0) { inSession += 1 }
    }
    XCTAssertGreaterThan(Double(inSession) / Double(day.count), 0.8)
    XCTAssertLessThan(day.message(0).timestamp, ns(4, 0))
    XCTAssertGreaterThanOrEqual(day.message(0).timestamp, ns(3, 0))
    let last = day.message(day.count - 1).timestamp
    XCTAssertGreaterThanOrEqual(last, ns(16, 0))
    XCTAssertLessThanOrEqual(last, ns(20, 30))
    // Intraday U-shape: the first and last half hours are busier than a midday half hour.
    func messages(_ from: UInt64, _ to: UInt64) -> Int {
      (0..<day.count).reduce(0) { n, i in
        let t = day.message(i).timestamp
        return n + (t >= from && t < to ? 1 : 0)
      }
    }
    let midday = messages(ns(12, 30), ns(13, 0))
    XCTAssertGreaterThan(messages(ns(9, 30), ns(10, 0)), midday)
    XCTAssertGreaterThan(messages(ns(15, 30), ns(16, 0)), midday)
  }

  func testDaySkeleton() {
    let day = SynthFixture.day
    let k = SynthFixture.symbols
    XCTAssertTrue(isSystemEvent(day.message(0), "O"))
    var names = Set<String>()
    for i in 1...k {
      let m = day.message(i)
      XCTAssertEqual(m.typeChar, "R")
      XCTAssertEqual(m.locate, i)
      XCTAssertEqual(m.text(11, 8), day.symbolNames[i - 1])
      XCTAssertEqual(m.u(21, 4), 100, "round lot")
      XCTAssertTrue("QGSNAPZV".contains(Character(Unicode.Scalar(m.byte(19)))), "market category")
      names.insert(m.text(11, 8))
    }
    XCTAssertEqual(names.count, k, "unique symbols")
    for name in names {
      XCTAssertTrue((1...5).contains(name.count) && name.allSatisfy { $0.isUppercase && $0.isASCII }, name)
    }
    XCTAssertTrue(names.contains("AAPL"), "a few real-looking names")
    for i in (k + 1)...(2 * k) {
      let m = day.message(i)
      XCTAssertEqual(m.typeChar, "H")
      XCTAssertEqual(m.locate, i - k)
      XCTAssertEqual(m.byte(19), UInt8(ascii: "T"))
    }
    let start = day.message(2 * k + 1)
    XCTAssertTrue(isSystemEvent(start, "S"))
    XCTAssertEqual(start.timestamp, ns(4, 0))

    let indices = 0..<day.count
    let open = indices.filter { isSystemEvent(day.message($0), "Q") }
    XCTAssertEqual(open.count, 1)
    XCTAssertEqual(day.message(open[0]).timestamp, ns(9, 30))
    XCTAssertEqual(indices.filter { day.message($0).typeChar == "S" }.count, 6)
    XCTAssertTrue(isSystemEvent(day.message(day.count - 3), "M"))
    XCTAssertTrue(isSystemEvent(day.message(day.count - 2), "E"))
    XCTAssertTrue(isSystemEvent(day.message(day.count - 1), "C"))

    // Opening imbalances before the open, an opening cross per trading symbol right after it.
    let openingNOII = indices.filter {
      day.message($0).typeChar == "I" && day.message($0).byte(48) == UInt8(ascii: "O")
    }
    XCTAssertFalse(openingNOII.isEmpty)
    XCTAssertTrue(openingNOII.allSatisfy { $0 < open[0] })
    XCTAssertGreaterThanOrEqual(Set(openingNOII.map { day.message($0).locate }).count, k - 2)
    var i = open[0] + 1
    var opened = Set<Int>()
    while day.message(i).typeChar == "Q" {
      XCTAssertEqual(day.message(i).byte(39), UInt8(ascii: "O"))
      opened.insert(day.message(i).locate)
      i += 1
    }
    XCTAssertGreaterThanOrEqual(opened.count, k - 2)
    // Closing imbalances, then the closing cross for every symbol just before S M.
    let closingNOII = indices.filter {
      day.message($0).typeChar == "I" && day.message($0).byte(48) == UInt8(ascii: "C")
    }
    XCTAssertFalse(closingNOII.isEmpty)
    XCTAssertTrue(closingNOII.allSatisfy { day.message($0).timestamp >= ns(15, 50) })
    var closed = Set<Int>()
    var j = day.count - 4
    while day.message(j).typeChar == "Q" {
      XCTAssertEqual(day.message(j).byte(39), UInt8(ascii: "C"))
      closed.insert(day.message(j).locate)
      j -= 1
    }
    XCTAssertEqual(closed.count, k)
  }

  func testSymbolNamesAreExposedByLocate() {
    let day = SyntheticDay(config: SyntheticDayConfig(messages: 10, symbols: 300, seed: 5))
    XCTAssertEqual(day.symbolNames.count, 300)
    XCTAssertEqual(Set(day.symbolNames).count, 300)
    XCTAssertEqual(day.symbolNames, day.symbolNames.sorted { ITCHWriter.stock($0) < ITCHWriter.stock($1) })
    XCTAssertEqual(SyntheticDay(config: SyntheticDayConfig(messages: 10, symbols: 0, seed: 5)).symbolNames.count, 1)
  }
}
