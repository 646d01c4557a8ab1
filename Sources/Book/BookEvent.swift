/// What the books tell the encoder. Plain data, written into a preallocated array and read back
/// in order after each batch. Every field is decoded (the encoder never reads ITCH): a status
/// event carries its message's fields in the generic ones (named by the accessors below), and a
/// definition event points at the books' stored `InstrumentDefinition`.
@frozen public struct BookEvent {
  public enum Kind: UInt8, Sendable {
    case level = 0
    case trade = 1
    case tradeBreak = 2
    /// H, h, Y, J, I, S, W: `code` says which (`StatusKind`).
    case status = 3
    /// R: `definition` is the instrument's.
    case definition = 4
  }

  /// Matches the schema's LevelAction.
  public enum LevelAction: UInt8, Sendable {
    case new = 0
    case change = 1
    case delete = 2
  }

  /// Matches the schema's TradeKind.
  public enum TradeKind: UInt8, Sendable {
    case execution = 0
    case executionWithPrice = 1
    case nonCross = 2
    case cross = 3
  }

  public var kind: Kind
  /// BookSide raw value.
  public var side: UInt8
  /// LevelAction for levels, TradeKind for trades, StatusKind for status (the ITCH type byte).
  public var code: UInt8
  /// ASCII cross type for crosses, 0 otherwise.
  public var crossType: UInt8
  public var locate: UInt16
  public var levelIndex: UInt16
  public var price: UInt32
  public var orders: UInt32
  public var shares: UInt64
  public var matchNumber: UInt64
  public var upstreamSequence: UInt64
  public var timestampNs: UInt64
  /// One more status field (see the accessors).
  public var extra: UInt32
  /// The books' stored definition (valid while the books live), for definition events.
  public var definition: UnsafePointer<InstrumentDefinition>?

  @inlinable
  public init(kind: Kind, upstreamSequence: UInt64, timestampNs: UInt64, locate: UInt16) {
    self.kind = kind
    self.side = BookSide.none.rawValue
    self.code = 0
    self.crossType = 0
    self.locate = locate
    self.levelIndex = 0
    self.price = 0
    self.orders = 0
    self.shares = 0
    self.matchNumber = 0
    self.upstreamSequence = upstreamSequence
    self.timestampNs = timestampNs
    self.extra = 0
    self.definition = nil
  }
}

extension BookEvent {
  /// Which status message a status event carries: its ITCH type byte.
  public enum StatusKind: UInt8, Sendable {
    case tradingAction = 0x48  // H
    case operationalHalt = 0x68  // h
    case regSHO = 0x59  // Y
    case luldCollar = 0x4A  // J
    case imbalance = 0x49  // I
    case systemEvent = 0x53  // S
    case marketWideBreaker = 0x57  // W
  }

  @inlinable public var statusKind: StatusKind? { kind == .status ? StatusKind(rawValue: code) : nil }

  // The status fields, by message, over the generic ones (one decode, in the books; no room added
  // to every level event).

  /// H: the trading state (H, P, Q, T) and the 4-byte reason.
  @inlinable public var tradingState: UInt8 {
    get { side }
    set { side = newValue }
  }
  @inlinable public var tradingReason: UInt32 {
    get { price }
    set { price = newValue }
  }
  /// h: the market code and the halt action.
  @inlinable public var haltMarketCode: UInt8 {
    get { side }
    set { side = newValue }
  }
  @inlinable public var haltAction: UInt8 {
    get { crossType }
    set { crossType = newValue }
  }
  /// Y: the Reg SHO action.
  @inlinable public var regSHOAction: UInt8 {
    get { side }
    set { side = newValue }
  }
  /// J: the LULD auction collar's reference, upper and lower prices and its extension count.
  @inlinable public var collarReferencePrice: UInt32 {
    get { price }
    set { price = newValue }
  }
  @inlinable public var collarUpperPrice: UInt32 {
    get { orders }
    set { orders = newValue }
  }
  @inlinable public var collarLowerPrice: UInt32 {
    get { extra }
    set { extra = newValue }
  }
  @inlinable public var collarExtension: UInt32 {
    get { UInt32(truncatingIfNeeded: shares) }
    set { shares = UInt64(newValue) }
  }
  /// I: the net order imbalance indicator.
  @inlinable public var pairedShares: UInt64 {
    get { shares }
    set { shares = newValue }
  }
  @inlinable public var imbalanceShares: UInt64 {
    get { matchNumber }
    set { matchNumber = newValue }
  }
  @inlinable public var farPrice: UInt32 {
    get { price }
    set { price = newValue }
  }
  @inlinable public var nearPrice: UInt32 {
    get { orders }
    set { orders = newValue }
  }
  @inlinable public var currentReferencePrice: UInt32 {
    get { extra }
    set { extra = newValue }
  }
  @inlinable public var imbalanceDirection: UInt8 {
    get { side }
    set { side = newValue }
  }
  /// I: the cross type is `crossType` itself.
  @inlinable public var priceVariationIndicator: UInt8 {
    get { UInt8(truncatingIfNeeded: levelIndex) }
    set { levelIndex = UInt16(newValue) }
  }
  /// S: the system event code; W: the breached level.
  @inlinable public var systemEventCode: UInt8 {
    get { side }
    set { side = newValue }
  }
  @inlinable public var breachedLevel: UInt8 {
    get { side }
    set { side = newValue }
  }
}
