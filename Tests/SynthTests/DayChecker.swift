import Synth

/// A whole generated day kept as one byte array plus message offsets.
struct RecordedDay {
  var bytes: [UInt8] = []
  var offsets: [Int] = []
  var symbolNames: [String] = []
  var generatorCounts: [UInt8: Int] = [:]

  init(messages: Int, symbols: Int, seed: UInt64) {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    symbolNames = day.symbolNames
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: ITCHWriter.maxMessageBytes, alignment: 8)
    defer { scratch.deallocate() }
    bytes.reserveCapacity(messages * 32)
    offsets.reserveCapacity(messages + 1)
    while let length = day.next(into: scratch) {
      offsets.append(bytes.count)
      bytes.append(contentsOf: UnsafeRawBufferPointer(start: scratch, count: length))
    }
    offsets.append(bytes.count)
    generatorCounts = day.counts
  }

  var count: Int { offsets.count - 1 }

  func message(_ i: Int) -> Msg { Msg(bytes: bytes, start: offsets[i], length: offsets[i + 1] - offsets[i]) }
}

/// A read-only view of one message with big-endian field readers (independent of the generator).
struct Msg {
  let bytes: [UInt8]
  let start: Int
  let length: Int

  var type: UInt8 { bytes[start] }
  var typeChar: Character { Character(Unicode.Scalar(type)) }
  var locate: Int { Int(u(1, 2)) }
  var timestamp: UInt64 { u(5, 6) }

  func u(_ offset: Int, _ width: Int) -> UInt64 {
    var value: UInt64 = 0
    for k in 0..<width { value = value << 8 | UInt64(bytes[start + offset + k]) }
    return value
  }

  func byte(_ offset: Int) -> UInt8 { bytes[start + offset] }

  func text(_ offset: Int, _ width: Int) -> String {
    var chars = Array(bytes[(start + offset)..<(start + offset + width)])
    while chars.last == 0x20 { chars.removeLast() }
    return String(decoding: chars, as: UTF8.self)
  }
}

/// ITCH 5.0 lengths, straight from ITCH50.md.
let specLengths: [UInt8: Int] = [
  UInt8(ascii: "S"): 12, UInt8(ascii: "R"): 39, UInt8(ascii: "H"): 25, UInt8(ascii: "Y"): 20,
  UInt8(ascii: "L"): 26, UInt8(ascii: "V"): 35, UInt8(ascii: "W"): 12, UInt8(ascii: "K"): 28,
  UInt8(ascii: "J"): 35, UInt8(ascii: "h"): 21, UInt8(ascii: "A"): 36, UInt8(ascii: "F"): 40,
  UInt8(ascii: "E"): 31, UInt8(ascii: "C"): 36, UInt8(ascii: "X"): 23, UInt8(ascii: "D"): 19,
  UInt8(ascii: "U"): 35, UInt8(ascii: "P"): 44, UInt8(ascii: "Q"): 40, UInt8(ascii: "B"): 19,
  UInt8(ascii: "I"): 50, UInt8(ascii: "N"): 20, UInt8(ascii: "O"): 48,
]

/// Replays a day against its own books (price -> shares per side per locate) and records every rule it
/// sees broken. It shares no code with the generator's model.
struct DayChecker {
  struct LiveOrder {
    var locate: Int
    var isBid: Bool
    var price: UInt32
    var shares: UInt32
  }

  var violations: [String] = []
  var orders: [UInt64: LiveOrder] = [:]
  var bids: [[UInt32: UInt32]]
  var asks: [[UInt32: UInt32]]
  var maxBidLevels: [Int]
  var maxAskLevels: [Int]
  var orderMessagesPerLocate: [Int]
  var typeCounts: [UInt8: Int] = [:]
  var directory: [Int: UInt64] = [:]
  var tradingState: [UInt8]
  var haltedLiveAtStart: [Int: Int] = [:]
  var highestReference: UInt64 = 0
  var highestMatch: UInt64 = 0
  var matches = Set<UInt64>()
  var brokenMatches = Set<UInt64>()
  var lastTimestamp: UInt64 = 0
  var executionsWhileHalted = 0
  var emptiedByHalt = 0
  var halts = 0

  init(symbols: Int) {
    bids = Array(repeating: [:], count: symbols + 1)
    asks = Array(repeating: [:], count: symbols + 1)
    maxBidLevels = Array(repeating: 0, count: symbols + 1)
    maxAskLevels = Array(repeating: 0, count: symbols + 1)
    orderMessagesPerLocate = Array(repeating: 0, count: symbols + 1)
    tradingState = Array(repeating: UInt8(ascii: "T"), count: symbols + 1)
  }

  mutating func fail(_ index: Int, _ m: Msg, _ what: String) {
    if violations.count < 50 { violations.append("#\(index) \(m.typeChar) locate \(m.locate): \(what)") }
  }

  mutating func run(_ day: RecordedDay) {
    for i in 0..<day.count { step(i, day.message(i)) }
  }

  mutating func step(_ i: Int, _ m: Msg) {
    typeCounts[m.type, default: 0] += 1
    guard let length = specLengths[m.type] else { return fail(i, m, "unknown type") }
    if length != m.length { fail(i, m, "length \(m.length) != \(length)") }
    if m.timestamp < lastTimestamp { fail(i, m, "timestamp went back") }
    if m.timestamp >= 24 * 3600 * 1_000_000_000 { fail(i, m, "timestamp past midnight") }
    lastTimestamp = m.timestamp
    let loc = m.locate
    let stockSpecific = !"SVW".contains(m.typeChar)
    if stockSpecific && (loc < 1 || loc >= bids.count) { return fail(i, m, "locate out of range") }
    if !stockSpecific && loc != 0 { fail(i, m, "system message with a locate") }

    switch m.typeChar {
    case "R":
      directory[loc] = m.u(11, 8)
    case "A", "F":
      orderMessagesPerLocate[loc] += 1
      checkStock(i, m, offset: 24)
      add(i, m, reference: m.u(11, 8), side: m.byte(19), shares: UInt32(m.u(20, 4)), price: UInt32(m.u(32, 4)))
    case "E", "C":
      orderMessagesPerLocate[loc] += 1
      let reference = m.u(11, 8)
      let executed = UInt32(m.u(19, 4))
      newMatch(i, m, m.u(23, 8))
      if tradingState[loc] != UInt8(ascii: "T") { executionsWhileHalted += 1 }
      if m.typeChar == "C" {
        if m.u(32, 4) == 0 { fail(i, m, "zero execution price") }
        if m.byte(31) != UInt8(ascii: "Y") && m.byte(31) != UInt8(ascii: "N") { fail(i, m, "printable flag") }
      }
      guard let order = orders[reference] else { return fail(i, m, "unknown reference \(reference)") }
      if order.locate != loc { fail(i, m, "order belongs to locate \(order.locate)") }
      let best = order.isBid ? bids[loc].keys.max() : asks[loc].keys.min()
      if best != order.price { fail(i, m, "execution away from the best level") }
      reduce(i, m, reference, by: executed, removeAtZero: true)
    case "X":
      orderMessagesPerLocate[loc] += 1
      let reference = m.u(11, 8)
      let cancelled = UInt32(m.u(19, 4))
      guard let order = orders[reference] else { return fail(i, m, "unknown reference \(reference)") }
      if order.locate != loc { fail(i, m, "order belongs to locate \(order.locate)") }
      if cancelled >= order.shares { fail(i, m, "cancel of \(cancelled) leaves nothing of \(order.shares)") }
      reduce(i, m, reference, by: cancelled, removeAtZero: true)
    case "D":
      orderMessagesPerLocate[loc] += 1
      let reference = m.u(11, 8)
      guard let order = orders[reference] else { return fail(i, m, "unknown reference \(reference)") }
      if order.locate != loc { fail(i, m, "order belongs to locate \(order.locate)") }
      reduce(i, m, reference, by: order.shares, removeAtZero: true)
    case "U":
      orderMessagesPerLocate[loc] += 1
      let old = m.u(11, 8)
      guard let order = orders[old] else { return fail(i, m, "unknown reference \(old)") }
      if order.locate != loc { fail(i, m, "order belongs to locate \(order.locate)") }
      reduce(i, m, old, by: order.shares, removeAtZero: true)
      add(
        i, m, reference: m.u(19, 8), side: UInt8(ascii: order.isBid ? "B" : "S"), shares: UInt32(m.u(27, 4)),
        price: UInt32(m.u(31, 4)))
    case "P":
      checkStock(i, m, offset: 24)
      newMatch(i, m, m.u(36, 8))
      if tradingState[loc] != UInt8(ascii: "T") { executionsWhileHalted += 1 }
      if m.u(20, 4) == 0 || m.u(32, 4) == 0 { fail(i, m, "zero shares or price") }
    case "Q":
      checkStock(i, m, offset: 19)
      newMatch(i, m, m.u(31, 8))
      if m.u(11, 8) == 0 || m.u(27, 4) == 0 { fail(i, m, "zero shares or price") }
      if !"OCHI".contains(Character(Unicode.Scalar(m.byte(39)))) { fail(i, m, "cross type") }
    case "B":
      let match = m.u(11, 8)
      if !matches.contains(match) { fail(i, m, "breaks unknown match \(match)") }
      if !brokenMatches.insert(match).inserted { fail(i, m, "match broken twice") }
    case "H":
      checkStock(i, m, offset: 11)
      setState(loc, m.byte(19))
    case "h":
      checkStock(i, m, offset: 11)
      setState(loc, m.byte(20) == UInt8(ascii: "H") ? UInt8(ascii: "h") : UInt8(ascii: "T"))
    case "I":
      checkStock(i, m, offset: 28)
      if m.u(36, 4) == 0 || m.u(40, 4) == 0 || m.u(44, 4) == 0 { fail(i, m, "zero NOII price") }
    case "Y", "N", "J", "K", "O":
      checkStock(i, m, offset: 11)
    case "L":
      checkStock(i, m, offset: 15)
    default:
      break
    }
  }

  mutating func setState(_ loc: Int, _ state: UInt8) {
    let wasTrading = tradingState[loc] == UInt8(ascii: "T")
    tradingState[loc] = state
    if wasTrading && state != UInt8(ascii: "T") {
      halts += 1
      haltedLiveAtStart[loc] = bids[loc].count + asks[loc].count
    } else if !wasTrading && state == UInt8(ascii: "T"), let before = haltedLiveAtStart.removeValue(forKey: loc) {
      if before > 0 && bids[loc].isEmpty && asks[loc].isEmpty { emptiedByHalt += 1 }
    }
  }

  mutating func checkStock(_ i: Int, _ m: Msg, offset: Int) {
    if directory[m.locate] != m.u(offset, 8) { fail(i, m, "stock field does not match the directory") }
  }

  mutating func newMatch(_ i: Int, _ m: Msg, _ match: UInt64) {
    if match <= highestMatch { fail(i, m, "match number \(match) not increasing") }
    highestMatch = max(highestMatch, match)
    matches.insert(match)
  }

  mutating func add(_ i: Int, _ m: Msg, reference: UInt64, side: UInt8, shares: UInt32, price: UInt32) {
    let loc = m.locate
    if reference <= highestReference { fail(i, m, "reference \(reference) not increasing/unique") }
    highestReference = max(highestReference, reference)
    if orders[reference] != nil { fail(i, m, "duplicate live reference") }
    if shares == 0 { fail(i, m, "zero shares") }
    if price == 0 { fail(i, m, "zero price") }
    if price % 100 != 0 { fail(i, m, "price off the one-cent grid") }
    guard side == UInt8(ascii: "B") || side == UInt8(ascii: "S") else { return fail(i, m, "side byte \(side)") }
    let isBid = side == UInt8(ascii: "B")
    if isBid {
      if let ask = asks[loc].keys.min(), price >= ask { fail(i, m, "bid \(price) crosses ask \(ask)") }
      bids[loc][price, default: 0] += shares
      maxBidLevels[loc] = max(maxBidLevels[loc], bids[loc].count)
    } else {
      if let bid = bids[loc].keys.max(), price <= bid { fail(i, m, "ask \(price) crosses bid \(bid)") }
      asks[loc][price, default: 0] += shares
      maxAskLevels[loc] = max(maxAskLevels[loc], asks[loc].count)
    }
    orders[reference] = LiveOrder(locate: loc, isBid: isBid, price: price, shares: shares)
  }

  mutating func reduce(_ i: Int, _ m: Msg, _ reference: UInt64, by amount: UInt32, removeAtZero: Bool) {
    guard var order = orders[reference] else { return }
    if amount == 0 { fail(i, m, "zero shares") }
    if amount > order.shares { fail(i, m, "takes \(amount) of \(order.shares) remaining") }
    let taken = min(amount, order.shares)
    order.shares -= taken
    if order.isBid {
      let left = bids[order.locate][order.price, default: 0] - taken
      bids[order.locate][order.price] = left == 0 ? nil : left
    } else {
      let left = asks[order.locate][order.price, default: 0] - taken
      asks[order.locate][order.price] = left == 0 ? nil : left
    }
    orders[reference] = order.shares == 0 ? nil : order
  }

  /// Crossed or locked books anywhere at the end (adds are checked as they happen).
  func crossedLocates() -> [Int] {
    (1..<bids.count).filter { loc in
      guard let bid = bids[loc].keys.max(), let ask = asks[loc].keys.min() else { return false }
      return bid >= ask
    }
  }
}
