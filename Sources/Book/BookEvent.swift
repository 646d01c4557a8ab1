/// What the books tell the encoder. Plain data, written into a preallocated array and read back
/// in order after each batch; status and definition events point at the ITCH message itself,
/// which stays valid until the batch is drained.
@frozen public struct BookEvent {
  public enum Kind: UInt8, Sendable {
    case level = 0
    case trade = 1
    case tradeBreak = 2
    /// H, h, Y, J, I, S, W: decode `message` by `messageType`.
    case status = 3
    /// R: decode `message` as a stock directory.
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
  /// LevelAction for levels, TradeKind for trades, the ITCH type byte for status/definition.
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
  public var message: UnsafeRawPointer?

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
    self.message = nil
  }
}
