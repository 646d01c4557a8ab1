// Zero-copy views over ITCH 5.0 messages (generated from the layouts in ITCH50.md; offsets
// include the 11-byte header). A view is only made after the frame length has been checked
// against `ITCHMessageType.length`, so every accessor reads inside the message.

public enum ITCHMessageType {
  /// The exact length of a message of this type, or 0 for a type ITCH 5.0 does not define.
  @inlinable @inline(__always)
  public static func length(of type: UInt8) -> Int {
    switch type {
    case UInt8(ascii: "S"): return 12
    case UInt8(ascii: "R"): return 39
    case UInt8(ascii: "H"): return 25
    case UInt8(ascii: "Y"): return 20
    case UInt8(ascii: "L"): return 26
    case UInt8(ascii: "V"): return 35
    case UInt8(ascii: "W"): return 12
    case UInt8(ascii: "K"): return 28
    case UInt8(ascii: "J"): return 35
    case UInt8(ascii: "h"): return 21
    case UInt8(ascii: "A"): return 36
    case UInt8(ascii: "F"): return 40
    case UInt8(ascii: "E"): return 31
    case UInt8(ascii: "C"): return 36
    case UInt8(ascii: "X"): return 23
    case UInt8(ascii: "D"): return 19
    case UInt8(ascii: "U"): return 35
    case UInt8(ascii: "P"): return 44
    case UInt8(ascii: "Q"): return 40
    case UInt8(ascii: "B"): return 19
    case UInt8(ascii: "I"): return 50
    case UInt8(ascii: "N"): return 20
    case UInt8(ascii: "O"): return 48
    default: return 0
    }
  }
  /// Every type ITCH 5.0 defines, in spec order.
  public static let all: [UInt8] = [
    UInt8(ascii: "S"), UInt8(ascii: "R"), UInt8(ascii: "H"), UInt8(ascii: "Y"), UInt8(ascii: "L"), UInt8(ascii: "V"),
    UInt8(ascii: "W"), UInt8(ascii: "K"), UInt8(ascii: "J"), UInt8(ascii: "h"), UInt8(ascii: "A"), UInt8(ascii: "F"),
    UInt8(ascii: "E"), UInt8(ascii: "C"), UInt8(ascii: "X"), UInt8(ascii: "D"), UInt8(ascii: "U"), UInt8(ascii: "P"),
    UInt8(ascii: "Q"), UInt8(ascii: "B"), UInt8(ascii: "I"), UInt8(ascii: "N"), UInt8(ascii: "O"),
  ]
}

/// The 11-byte header common to every message.
public protocol ITCHMessageView {
  static var type: UInt8 { get }
  static var length: Int { get }
  var base: UnsafeRawPointer { get }
  init(_ base: UnsafeRawPointer)
}

extension ITCHMessageView {
  @inlinable public var stockLocate: UInt16 { loadBigEndianUInt16(base, 1) }
  @inlinable public var trackingNumber: UInt16 { loadBigEndianUInt16(base, 3) }
  /// Nanoseconds since midnight.
  @inlinable public var timestampNs: UInt64 { loadBigEndianUInt48(base, 5) }
}

/// `S` (12 bytes): System event (market-wide).
@frozen public struct SystemEvent: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "S") }
  @inlinable public static var length: Int { 12 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var eventCode: UInt8 { loadByte(base, 11) }
}

/// `R` (39 bytes): Stock directory: assigns the day's stock locate.
@frozen public struct StockDirectory: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "R") }
  @inlinable public static var length: Int { 39 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var marketCategory: UInt8 { loadByte(base, 19) }
  @inlinable public var financialStatus: UInt8 { loadByte(base, 20) }
  @inlinable public var roundLotSize: UInt32 { loadBigEndianUInt32(base, 21) }
  @inlinable public var roundLotsOnly: UInt8 { loadByte(base, 25) }
  @inlinable public var issueClassification: UInt8 { loadByte(base, 26) }
  @inlinable public var issueSubType: UInt16 { loadBigEndianUInt16(base, 27) }
  @inlinable public var authenticity: UInt8 { loadByte(base, 29) }
  @inlinable public var shortSaleThreshold: UInt8 { loadByte(base, 30) }
  @inlinable public var ipoFlag: UInt8 { loadByte(base, 31) }
  @inlinable public var luldReferencePriceTier: UInt8 { loadByte(base, 32) }
  @inlinable public var etpFlag: UInt8 { loadByte(base, 33) }
  @inlinable public var etpLeverageFactor: UInt32 { loadBigEndianUInt32(base, 34) }
  @inlinable public var inverseIndicator: UInt8 { loadByte(base, 38) }
}

/// `H` (25 bytes): Trading state: H halted, P paused, Q quotation only, T trading.
@frozen public struct StockTradingAction: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "H") }
  @inlinable public static var length: Int { 25 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var tradingState: UInt8 { loadByte(base, 19) }
  @inlinable public var reserved: UInt8 { loadByte(base, 20) }
  @inlinable public var reason: UInt32 { loadBigEndianUInt32(base, 21) }
}

/// `Y` (20 bytes): Reg SHO short sale price test.
@frozen public struct RegSHORestriction: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "Y") }
  @inlinable public static var length: Int { 20 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var action: UInt8 { loadByte(base, 19) }
}

/// `L` (26 bytes): Market participant position.
@frozen public struct MarketParticipantPosition: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "L") }
  @inlinable public static var length: Int { 26 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var mpid: UInt32 { loadBigEndianUInt32(base, 11) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 15)) }
  @inlinable public var primaryMarketMaker: UInt8 { loadByte(base, 23) }
  @inlinable public var marketMakerMode: UInt8 { loadByte(base, 24) }
  @inlinable public var participantState: UInt8 { loadByte(base, 25) }
}

/// `V` (35 bytes): Market-wide circuit breaker decline levels, Price(8).
@frozen public struct MWCBDeclineLevel: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "V") }
  @inlinable public static var length: Int { 35 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var level1: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var level2: UInt64 { loadBigEndianUInt64(base, 19) }
  @inlinable public var level3: UInt64 { loadBigEndianUInt64(base, 27) }
}

/// `W` (12 bytes): Market-wide circuit breaker breached.
@frozen public struct MWCBStatus: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "W") }
  @inlinable public static var length: Int { 12 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var breachedLevel: UInt8 { loadByte(base, 11) }
}

/// `K` (28 bytes): IPO quoting period update.
@frozen public struct IPOQuotingPeriodUpdate: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "K") }
  @inlinable public static var length: Int { 28 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var releaseTime: UInt32 { loadBigEndianUInt32(base, 19) }
  @inlinable public var releaseQualifier: UInt8 { loadByte(base, 23) }
  @inlinable public var ipoPrice: UInt32 { loadBigEndianUInt32(base, 24) }
}

/// `J` (35 bytes): LULD auction collar.
@frozen public struct LULDAuctionCollar: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "J") }
  @inlinable public static var length: Int { 35 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var referencePrice: UInt32 { loadBigEndianUInt32(base, 19) }
  @inlinable public var upperPrice: UInt32 { loadBigEndianUInt32(base, 23) }
  @inlinable public var lowerPrice: UInt32 { loadBigEndianUInt32(base, 27) }
  @inlinable public var collarExtension: UInt32 { loadBigEndianUInt32(base, 31) }
}

/// `h` (21 bytes): Operational halt.
@frozen public struct OperationalHalt: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "h") }
  @inlinable public static var length: Int { 21 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var marketCode: UInt8 { loadByte(base, 19) }
  @inlinable public var haltAction: UInt8 { loadByte(base, 20) }
}

/// `A` (36 bytes): Add order, no attribution.
@frozen public struct AddOrder: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "A") }
  @inlinable public static var length: Int { 36 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var side: UInt8 { loadByte(base, 19) }
  @inlinable public var shares: UInt32 { loadBigEndianUInt32(base, 20) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 24)) }
  @inlinable public var price: UInt32 { loadBigEndianUInt32(base, 32) }
}

/// `F` (40 bytes): Add order with MPID attribution.
@frozen public struct AddOrderMPID: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "F") }
  @inlinable public static var length: Int { 40 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var side: UInt8 { loadByte(base, 19) }
  @inlinable public var shares: UInt32 { loadBigEndianUInt32(base, 20) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 24)) }
  @inlinable public var price: UInt32 { loadBigEndianUInt32(base, 32) }
  @inlinable public var attribution: UInt32 { loadBigEndianUInt32(base, 36) }
}

/// `E` (31 bytes): Order executed at the resting order's price.
@frozen public struct OrderExecuted: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "E") }
  @inlinable public static var length: Int { 31 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var executedShares: UInt32 { loadBigEndianUInt32(base, 19) }
  @inlinable public var matchNumber: UInt64 { loadBigEndianUInt64(base, 23) }
}

/// `C` (36 bytes): Order executed at its own price; a print only if printable is Y.
@frozen public struct OrderExecutedWithPrice: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "C") }
  @inlinable public static var length: Int { 36 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var executedShares: UInt32 { loadBigEndianUInt32(base, 19) }
  @inlinable public var matchNumber: UInt64 { loadBigEndianUInt64(base, 23) }
  @inlinable public var printable: UInt8 { loadByte(base, 31) }
  @inlinable public var executionPrice: UInt32 { loadBigEndianUInt32(base, 32) }
}

/// `X` (23 bytes): Partial cancel.
@frozen public struct OrderCancel: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "X") }
  @inlinable public static var length: Int { 23 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var cancelledShares: UInt32 { loadBigEndianUInt32(base, 19) }
}

/// `D` (19 bytes): Order delete.
@frozen public struct OrderDelete: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "D") }
  @inlinable public static var length: Int { 19 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
}

/// `U` (35 bytes): Order replace: the new reference takes the original's side.
@frozen public struct OrderReplace: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "U") }
  @inlinable public static var length: Int { 35 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var originalOrderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var newOrderReference: UInt64 { loadBigEndianUInt64(base, 19) }
  @inlinable public var shares: UInt32 { loadBigEndianUInt32(base, 27) }
  @inlinable public var price: UInt32 { loadBigEndianUInt32(base, 31) }
}

/// `P` (44 bytes): Trade against a non-displayed order.
@frozen public struct NonCrossTrade: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "P") }
  @inlinable public static var length: Int { 44 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var orderReference: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var side: UInt8 { loadByte(base, 19) }
  @inlinable public var shares: UInt32 { loadBigEndianUInt32(base, 20) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 24)) }
  @inlinable public var price: UInt32 { loadBigEndianUInt32(base, 32) }
  @inlinable public var matchNumber: UInt64 { loadBigEndianUInt64(base, 36) }
}

/// `Q` (40 bytes): Cross trade; shares is 8 bytes.
@frozen public struct CrossTrade: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "Q") }
  @inlinable public static var length: Int { 40 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var shares: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 19)) }
  @inlinable public var crossPrice: UInt32 { loadBigEndianUInt32(base, 27) }
  @inlinable public var matchNumber: UInt64 { loadBigEndianUInt64(base, 31) }
  @inlinable public var crossType: UInt8 { loadByte(base, 39) }
}

/// `B` (19 bytes): Broken trade.
@frozen public struct BrokenTrade: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "B") }
  @inlinable public static var length: Int { 19 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var matchNumber: UInt64 { loadBigEndianUInt64(base, 11) }
}

/// `I` (50 bytes): Net order imbalance indicator.
@frozen public struct NOII: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "I") }
  @inlinable public static var length: Int { 50 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var pairedShares: UInt64 { loadBigEndianUInt64(base, 11) }
  @inlinable public var imbalanceShares: UInt64 { loadBigEndianUInt64(base, 19) }
  @inlinable public var imbalanceDirection: UInt8 { loadByte(base, 27) }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 28)) }
  @inlinable public var farPrice: UInt32 { loadBigEndianUInt32(base, 36) }
  @inlinable public var nearPrice: UInt32 { loadBigEndianUInt32(base, 40) }
  @inlinable public var currentReferencePrice: UInt32 { loadBigEndianUInt32(base, 44) }
  @inlinable public var crossType: UInt8 { loadByte(base, 48) }
  @inlinable public var priceVariationIndicator: UInt8 { loadByte(base, 49) }
}

/// `N` (20 bytes): Retail price improvement indicator.
@frozen public struct RetailPriceImprovement: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "N") }
  @inlinable public static var length: Int { 20 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var interestFlag: UInt8 { loadByte(base, 19) }
}

/// `O` (48 bytes): Direct listing with capital raise price discovery.
@frozen public struct DirectListingPriceDiscovery: ITCHMessageView {
  @inlinable public static var type: UInt8 { UInt8(ascii: "O") }
  @inlinable public static var length: Int { 48 }
  public let base: UnsafeRawPointer
  @inlinable @inline(__always) public init(_ base: UnsafeRawPointer) { self.base = base }
  @inlinable public var stock: Symbol { Symbol(packed: loadBigEndianUInt64(base, 11)) }
  @inlinable public var openEligibilityStatus: UInt8 { loadByte(base, 19) }
  @inlinable public var minimumAllowablePrice: UInt32 { loadBigEndianUInt32(base, 20) }
  @inlinable public var maximumAllowablePrice: UInt32 { loadBigEndianUInt32(base, 24) }
  @inlinable public var nearExecutionPrice: UInt32 { loadBigEndianUInt32(base, 28) }
  @inlinable public var nearExecutionTimeNs: UInt64 { loadBigEndianUInt64(base, 32) }
  @inlinable public var lowerPriceRangeCollar: UInt32 { loadBigEndianUInt32(base, 40) }
  @inlinable public var upperPriceRangeCollar: UInt32 { loadBigEndianUInt32(base, 44) }
}
