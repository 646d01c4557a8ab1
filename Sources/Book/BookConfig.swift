/// Sizes every pool the books preallocate at start-up. Nothing grows after `init`: when a pool
/// is full the message that needed it is rejected and counted.
public struct BookConfig: Sendable, Equatable {
  /// Stock locates are UInt16; locates at or above this are rejected.
  public var maxLocates: Int = 65536
  /// Live orders across all books.
  public var maxLiveOrders: Int = 1 << 21
  /// Live price levels across all books.
  public var maxLevels: Int = 1 << 19
  /// Entries in the arena that holds every side's sorted level array.
  public var levelArenaEntries: Int = 1 << 22
  /// References above this are rejected: a corrupt feed cannot grow the order store's directory.
  public var maxOrderReference: UInt64 = (1 << 32) - 1
  /// References per page of the order store (as a power of two). Small pages keep memory low
  /// where long-lived orders pin a page each; see `OrderStore`.
  public var referencePageShift: Int = 8
  /// Pages of the order store that may be live at once (16 bytes per reference in each).
  public var maxReferencePages: Int = 1 << 16
  /// Levels per side that level updates are published for.
  public var publishedDepth: Int = 10
  /// Events one apply call may leave pending; the caller drains them before this fills.
  public var eventCapacity: Int = 4096

  public init() {}

  /// Every problem with the configuration, as `key: problem` lines; empty when valid.
  public func problems() -> [String] {
    var problems: [String] = []
    if maxLocates < 1 || maxLocates > 65536 { problems.append("maxLocates: must be 1...65536, got \(maxLocates)") }
    if maxLiveOrders < 1 || maxLiveOrders >= Int(UInt32.max) {
      problems.append("maxLiveOrders: must be 1..<2^32, got \(maxLiveOrders)")
    }
    if maxLevels < 1 || maxLevels >= Int(UInt32.max) {
      problems.append("maxLevels: must be 1..<2^32, got \(maxLevels)")
    }
    if levelArenaEntries < 64 || levelArenaEntries >= Int(UInt32.max) {
      problems.append("levelArenaEntries: must be 64..<2^32, got \(levelArenaEntries)")
    }
    if referencePageShift < 6 || referencePageShift > 20 {
      problems.append("referencePageShift: must be 6...20, got \(referencePageShift)")
    }
    if maxOrderReference < 1 || maxOrderReference > (1 << 40) {
      problems.append("maxOrderReference: must be 1...2^40, got \(maxOrderReference)")
    }
    if maxReferencePages < 1 || maxReferencePages >= 1 << 24 {
      problems.append("maxReferencePages: must be 1..<2^24, got \(maxReferencePages)")
    }
    if publishedDepth < 1 || publishedDepth > 1000 {
      problems.append("publishedDepth: must be 1...1000, got \(publishedDepth)")
    }
    if eventCapacity < 64 { problems.append("eventCapacity: must be at least 64, got \(eventCapacity)") }
    return problems
  }
}

/// Anomalies and volumes. Every rejected or adjusted message lands in exactly one anomaly counter.
public struct BookCounters: Equatable, Sendable {
  public var messages: UInt64 = 0
  public var unknownMessageType: UInt64 = 0
  public var badMessageLength: UInt64 = 0
  /// E, C, X, D naming a reference that is not live.
  public var unknownReference: UInt64 = 0
  /// U naming an original reference that is not live: nothing is added.
  public var unknownReplaceReference: UInt64 = 0
  /// E or C for more than the remaining shares: clamped, and the order removed.
  public var clampedExecutions: UInt64 = 0
  /// X for more than the remaining shares: clamped, and the order removed.
  public var clampedCancels: UInt64 = 0
  public var zeroShareAdds: UInt64 = 0
  public var zeroPriceAdds: UInt64 = 0
  /// A (or U's new reference) onto a live reference: the old order is evicted first.
  public var addsOnLiveReference: UInt64 = 0
  public var badSide: UInt64 = 0
  public var referenceBeyondCap: UInt64 = 0
  public var locateBeyondCap: UInt64 = 0
  /// E, C, X, D, U whose header locate differs from the locate the order was added under.
  public var locateMismatches: UInt64 = 0
  public var orderCapacityExhausted: UInt64 = 0
  public var levelCapacityExhausted: UInt64 = 0
  public var referencePagesExhausted: UInt64 = 0

  public init() {}

  /// Every anomaly counter added up, without allocating (for periodic publishing).
  public var anomalyTotal: UInt64 {
    unknownMessageType &+ badMessageLength &+ unknownReference &+ unknownReplaceReference &+ clampedExecutions
      &+ clampedCancels &+ zeroShareAdds &+ zeroPriceAdds &+ addsOnLiveReference &+ badSide &+ referenceBeyondCap
      &+ locateBeyondCap &+ locateMismatches &+ orderCapacityExhausted &+ levelCapacityExhausted
      &+ referencePagesExhausted
  }

  /// Name and value of every anomaly counter, in a stable order.
  public var anomalies: [(name: String, value: UInt64)] {
    [
      ("unknown_message_type", unknownMessageType), ("bad_message_length", badMessageLength),
      ("unknown_reference", unknownReference), ("unknown_replace_reference", unknownReplaceReference),
      ("clamped_executions", clampedExecutions), ("clamped_cancels", clampedCancels),
      ("zero_share_adds", zeroShareAdds), ("zero_price_adds", zeroPriceAdds),
      ("adds_on_live_reference", addsOnLiveReference), ("bad_side", badSide),
      ("reference_beyond_cap", referenceBeyondCap), ("locate_beyond_cap", locateBeyondCap),
      ("locate_mismatches", locateMismatches), ("order_capacity_exhausted", orderCapacityExhausted),
      ("level_capacity_exhausted", levelCapacityExhausted), ("reference_pages_exhausted", referencePagesExhausted),
    ]
  }
}

public enum BookSide: UInt8, Sendable {
  case bid = 0
  case ask = 1
  case none = 2
}

public struct PriceLevel: Equatable, Sendable {
  public var price: UInt32
  public var shares: UInt64
  public var orders: UInt32

  public init(price: UInt32, shares: UInt64, orders: UInt32) {
    self.price = price
    self.shares = shares
    self.orders = orders
  }
}

public struct LULDCollarState: Equatable, Sendable {
  public var referencePrice: UInt32
  public var upperPrice: UInt32
  public var lowerPrice: UInt32
  public var collarExtension: UInt32

  public init(referencePrice: UInt32, upperPrice: UInt32, lowerPrice: UInt32, collarExtension: UInt32) {
    self.referencePrice = referencePrice
    self.upperPrice = upperPrice
    self.lowerPrice = lowerPrice
    self.collarExtension = collarExtension
  }
}

public struct ImbalanceState: Equatable, Sendable {
  public var pairedShares: UInt64
  public var imbalanceShares: UInt64
  public var direction: UInt8
  public var farPrice: UInt32
  public var nearPrice: UInt32
  public var referencePrice: UInt32
  public var crossType: UInt8

  public init(
    pairedShares: UInt64, imbalanceShares: UInt64, direction: UInt8, farPrice: UInt32, nearPrice: UInt32,
    referencePrice: UInt32, crossType: UInt8
  ) {
    self.pairedShares = pairedShares
    self.imbalanceShares = imbalanceShares
    self.direction = direction
    self.farPrice = farPrice
    self.nearPrice = nearPrice
    self.referencePrice = referencePrice
    self.crossType = crossType
  }
}
