import Book
import ITCH
import TestSupport

/// A deliberately naive book (dictionaries, recomputed levels) with the same documented rules.
final class NaiveBooks {
  struct Order {
    var locate: UInt16
    var side: UInt8
    var price: UInt32
    var shares: UInt32
  }

  var orders: [UInt64: Order] = [:]
  let maxReference: UInt64

  init(maxReference: UInt64) { self.maxReference = maxReference }

  func field(_ m: [UInt8], _ offset: Int, _ width: Int) -> UInt64 {
    m[offset..<offset + width].reduce(0) { $0 << 8 | UInt64($1) }
  }

  func apply(_ m: [UInt8]) {
    guard let type = m.first, ITCHMessageType.length(of: type) == m.count else { return }
    let locate = UInt16(field(m, 1, 2))
    switch Character(Unicode.Scalar(type)) {
    case "A", "F":
      add(locate, field(m, 11, 8), m[19], UInt32(field(m, 20, 4)), UInt32(field(m, 32, 4)))
    case "E", "C":
      reduce(field(m, 11, 8), UInt32(field(m, 19, 4)))
    case "X":
      reduce(field(m, 11, 8), UInt32(field(m, 19, 4)))
    case "D":
      orders[field(m, 11, 8)] = nil
    case "U":
      let original = field(m, 11, 8)
      guard let order = orders.removeValue(forKey: original) else { return }
      add(
        order.locate, field(m, 19, 8), order.side == 0 ? UInt8(ascii: "B") : UInt8(ascii: "S"),
        UInt32(field(m, 27, 4)), UInt32(field(m, 31, 4)))
    default:
      break
    }
  }

  func add(_ locate: UInt16, _ reference: UInt64, _ sideByte: UInt8, _ shares: UInt32, _ price: UInt32) {
    let side: UInt8? = sideByte == UInt8(ascii: "B") ? 0 : sideByte == UInt8(ascii: "S") ? 1 : nil
    guard let side, shares > 0, price > 0, reference <= maxReference else { return }
    orders[reference] = Order(locate: locate, side: side, price: price, shares: shares)
  }

  func reduce(_ reference: UInt64, _ shares: UInt32) {
    guard var order = orders[reference] else { return }
    if shares >= order.shares {
      orders[reference] = nil
    } else {
      order.shares -= shares
      orders[reference] = order
    }
  }

  func levels(locate: UInt16, side: BookSide) -> [PriceLevel] {
    var byPrice: [UInt32: PriceLevel] = [:]
    for order in orders.values where order.locate == locate && order.side == side.rawValue {
      byPrice[order.price, default: PriceLevel(price: order.price, shares: 0, orders: 0)].shares += UInt64(order.shares)
      byPrice[order.price]!.orders += 1
    }
    let levels = Array(byPrice.values)
    return side == .bid ? levels.sorted { $0.price > $1.price } : levels.sorted { $0.price < $1.price }
  }

  var locates: Set<UInt16> { Set(orders.values.map(\.locate)) }
}

/// What a subscriber keeps: each side's top `depth` levels, rebuilt only from level events.
struct MBPMirror {
  let depth: Int
  var sides: [UInt16: [[PriceLevel]]] = [:]

  init(depth: Int) { self.depth = depth }

  mutating func apply(_ event: BookEvent) -> String? {
    guard event.kind == .level else { return nil }
    var book = sides[event.locate] ?? [[], []]
    let side = Int(event.side)
    let index = Int(event.levelIndex)
    let level = PriceLevel(price: event.price, shares: event.shares, orders: event.orders)
    switch BookEvent.LevelAction(rawValue: event.code)! {
    case .new:
      guard index <= book[side].count else { return "New at \(index) beyond \(book[side].count) levels" }
      book[side].insert(level, at: index)
      if book[side].count > depth { book[side].removeLast() }
    case .change:
      guard index < book[side].count else { return "Change at \(index) of \(book[side].count) levels" }
      guard book[side][index].price == level.price else { return "Change at \(index) moved the price" }
      book[side][index] = level
    case .delete:
      guard index < book[side].count else { return "Delete at \(index) of \(book[side].count) levels" }
      book[side].remove(at: index)
    }
    guard index < depth else { return "level index \(index) outside depth \(depth)" }
    sides[event.locate] = book
    return nil
  }

  func levels(locate: UInt16, side: BookSide) -> [PriceLevel] { sides[locate]?[Int(side.rawValue)] ?? [] }
}

extension OrderBooks {
  /// Applies one message and returns its events (allocates: tests only).
  func applyCollecting(_ message: [UInt8], sequence: UInt64 = 1) -> [BookEvent] {
    message.withUnsafeBytes { apply($0, sequence: sequence) }
    let events = Array(self.events)
    clearEvents()
    return events
  }
}
