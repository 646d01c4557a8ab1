/// One instrument as a subscriber sees it: the published depth of each side, and its status.
public struct MirroredBook: Equatable, Sendable {
  public var symbol = ""
  public var bids: [FeedBookLevel] = []
  public var asks: [FeedBookLevel] = []
  public var tradingState: UInt8 = 0
  public var lastTrade: TradeUpdate?

  public init() {}
}

/// Rebuilds books from packets: applies level updates to depth-limited sides, follows each
/// channel's sequence, and counts gaps and heartbeats.
public final class FeedMirror {
  public let depth: Int
  public private(set) var books: [UInt16: MirroredBook] = [:]
  public private(set) var packets: UInt64 = 0
  public private(set) var heartbeats: UInt64 = 0
  public private(set) var updates: UInt64 = 0
  public private(set) var gaps: UInt64 = 0
  public private(set) var malformed: UInt64 = 0
  var nextSequence: [UInt16: UInt64] = [:]

  public init(depth: Int) { self.depth = depth }

  /// Applies one packet; false if it could not be decoded.
  @discardableResult
  public func apply(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let packet = PacketView(bytes) else {
      malformed += 1
      return false
    }
    packets += 1
    let channel = packet.channel
    let expected = nextSequence[channel, default: 1]
    if packet.updateCount == 0 {
      heartbeats += 1
      if packet.sequence >= expected { gaps += packet.sequence - expected + 1 }
      return true
    }
    if packet.sequence > expected { gaps += packet.sequence - expected }
    nextSequence[channel] = packet.sequence + 1
    for index in 0..<packet.updateCount {
      guard let update = packet.update(at: index) else {
        malformed += 1
        continue
      }
      updates += 1
      if let level = update.level {
        apply(level)
      } else if let trade = update.trade {
        books[trade.locate, default: MirroredBook()].lastTrade = trade
      } else if let state = update.tradingState {
        books[state.locate, default: MirroredBook()].tradingState = state.state
      } else if let definition = update.definition {
        books[definition.locate, default: MirroredBook()].symbol = definition.symbol
      }
    }
    return true
  }

  func apply(_ level: LevelUpdate) {
    var book = books[level.locate] ?? MirroredBook()
    let value = FeedBookLevel(price: level.price, orders: level.orders, shares: level.shares)
    let index = Int(level.levelIndex)
    func update(_ side: inout [FeedBookLevel]) {
      switch level.action {
      case FeedLevelAction.new.rawValue:
        guard index <= side.count else { return malformed += 1 }
        side.insert(value, at: index)
        if side.count > depth { side.removeLast() }
      case FeedLevelAction.change.rawValue:
        guard index < side.count else { return malformed += 1 }
        side[index] = value
      default:
        guard index < side.count else { return malformed += 1 }
        side.remove(at: index)
      }
    }
    if level.side == FeedSide.bid.rawValue { update(&book.bids) } else { update(&book.asks) }
    books[level.locate] = book
  }
}
