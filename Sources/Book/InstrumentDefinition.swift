import ITCH

/// An instrument's definition, decoded once from its stock directory (R) message and kept by the
/// books: what a subscriber's definition update carries.
@frozen public struct InstrumentDefinition: Equatable, Sendable {
  /// The symbol's 8 ASCII bytes as in the message (space-padded), first byte highest.
  public var packedSymbol: UInt64
  /// The symbol's length with the padding trimmed.
  public var symbolLength: Int
  public var roundLotSize: UInt32
  public var etpLeverageFactor: UInt32
  public var issueSubType: UInt16
  public var marketCategory: UInt8
  public var financialStatus: UInt8
  public var issueClassification: UInt8
  public var roundLotsOnly: UInt8
  public var authenticity: UInt8
  public var shortSaleThreshold: UInt8
  public var ipoFlag: UInt8
  public var luldTier: UInt8
  public var etpFlag: UInt8
  public var inverse: UInt8

  @inlinable
  public init(_ directory: StockDirectory) {
    packedSymbol = directory.stock.packed
    var length = 8
    while length > 0 && UInt8(truncatingIfNeeded: packedSymbol >> (8 * UInt64(8 - length))) == 0x20 { length -= 1 }
    symbolLength = length
    roundLotSize = directory.roundLotSize
    etpLeverageFactor = directory.etpLeverageFactor
    issueSubType = directory.issueSubType
    marketCategory = directory.marketCategory
    financialStatus = directory.financialStatus
    issueClassification = directory.issueClassification
    roundLotsOnly = directory.roundLotsOnly
    authenticity = directory.authenticity
    shortSaleThreshold = directory.shortSaleThreshold
    ipoFlag = directory.ipoFlag
    luldTier = directory.luldReferencePriceTier
    etpFlag = directory.etpFlag
    inverse = directory.inverseIndicator
  }

  /// The symbol's bytes, padding trimmed, for the length of the call.
  @inlinable
  public func withSymbolBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    try withUnsafeBytes(of: packedSymbol.bigEndian) { try body(UnsafeRawBufferPointer(rebasing: $0[..<symbolLength])) }
  }
}
