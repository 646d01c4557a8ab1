import Glibc
import ITCH

/// Writes single NASDAQ TotalView-ITCH 5.0 messages (without the 2-byte length prefix) into raw memory.
///
/// Every writer stores the 11-byte common header (type, stock locate, tracking number, 6-byte timestamp)
/// followed by the message's fields, all integers big-endian, and returns the message length. The
/// destination must have room for `maxMessageBytes` bytes; no alignment is needed.
///
/// Alpha fields are passed pre-packed as big-endian integers holding the ASCII bytes in wire order:
/// an 8-byte stock symbol is a `UInt64` (see `stock(_:)`), a 4-byte MPID or reason code a `UInt32`
/// (see `alpha4(_:)`), the 2-byte issue sub-type a `UInt16` (see `alpha2(_:)`). Single-character fields
/// are `UInt8` ASCII codes, e.g. `UInt8(ascii: "B")`.
public enum ITCHWriter {
  /// No ITCH 5.0 message is longer than this (the longest, NOII, is 50 bytes).
  public static let maxMessageBytes = 64

  // MARK: Alpha field packing

  /// Packs a symbol into the 8-byte, left-justified, space-padded wire form (first byte most significant).
  /// Longer symbols are cut to 8 bytes.
  public static func stock(_ symbol: String) -> UInt64 {
    UInt64(truncatingIfNeeded: packAlpha(symbol, width: 8))
  }

  /// Packs a 4-character alpha field (MPID, attribution, trading-action reason), space-padded.
  public static func alpha4(_ text: String) -> UInt32 {
    UInt32(truncatingIfNeeded: packAlpha(text, width: 4))
  }

  /// Packs a 2-character alpha field (issue sub-type), space-padded.
  public static func alpha2(_ text: String) -> UInt16 {
    UInt16(truncatingIfNeeded: packAlpha(text, width: 2))
  }

  /// The symbol held in a packed 8-byte stock field, trailing spaces removed.
  public static func symbol(_ stock: UInt64) -> String {
    var bytes: [UInt8] = []
    for shift in stride(from: 56, through: 0, by: -8) {
      bytes.append(UInt8(truncatingIfNeeded: stock >> UInt64(shift)))
    }
    while let last = bytes.last, last == 0x20 || last == 0 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func packAlpha(_ text: String, width: Int) -> UInt64 {
    var value: UInt64 = 0
    var used = 0
    for byte in text.utf8 where used < width {
      value = (value << 8) | UInt64(byte)
      used += 1
    }
    while used < width {
      value = (value << 8) | 0x20
      used += 1
    }
    return value
  }

  /// Runs one writer on a scratch buffer and returns exactly the bytes it wrote (for tests and tools).
  public static func bytes(_ write: (UnsafeMutableRawPointer) -> Int) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: maxMessageBytes)
    let length = buffer.withUnsafeMutableBytes { write($0.baseAddress!) }
    precondition(length >= 0 && length <= maxMessageBytes, "ITCH writer returned an impossible length")
    return Array(buffer[0..<length])
  }

  /// The ITCH 5.0 length of a message type, or nil for a type that ITCH 5.0 does not define
  /// (the decoder's table, so writer and decoder cannot disagree).
  public static func length(ofType type: UInt8) -> Int? {
    let length = ITCHMessageType.length(of: type)
    return length == 0 ? nil : length
  }

  // MARK: Big-endian stores

  @inlinable @inline(__always)
  static func put8(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt8) {
    p.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
  }

  @inlinable @inline(__always)
  static func put16(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt16) {
    p.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
  }

  @inlinable @inline(__always)
  static func put32(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
    p.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
  }

  @inlinable @inline(__always)
  static func put64(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt64) {
    p.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
  }

  /// Type, locate, tracking and the low 48 bits of the timestamp: the 11-byte common header.
  @inlinable @inline(__always)
  static func header(
    _ p: UnsafeMutableRawPointer, _ type: UInt8, _ locate: UInt16, _ tracking: UInt16, _ timestampNs: UInt64
  ) {
    put8(p, 0, type)
    put16(p, 1, locate)
    put16(p, 3, tracking)
    put16(p, 5, UInt16(truncatingIfNeeded: timestampNs >> 32))
    put32(p, 7, UInt32(truncatingIfNeeded: timestampNs))
  }

  // MARK: System and administrative messages

  /// `S` System Event (12 bytes). Event codes: O S Q M E C.
  @inlinable @discardableResult
  public static func systemEvent(
    _ p: UnsafeMutableRawPointer, locate: UInt16 = 0, tracking: UInt16 = 0, timestampNs: UInt64, eventCode: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "S"), locate, tracking, timestampNs)
    put8(p, 11, eventCode)
    return 12
  }

  /// `R` Stock Directory (39 bytes).
  @inlinable @discardableResult
  public static func stockDirectory(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    marketCategory: UInt8, financialStatus: UInt8, roundLotSize: UInt32, roundLotsOnly: UInt8,
    issueClassification: UInt8, issueSubType: UInt16, authenticity: UInt8, shortSaleThreshold: UInt8,
    ipoFlag: UInt8, luldReferencePriceTier: UInt8, etpFlag: UInt8, etpLeverageFactor: UInt32, inverseIndicator: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "R"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, marketCategory)
    put8(p, 20, financialStatus)
    put32(p, 21, roundLotSize)
    put8(p, 25, roundLotsOnly)
    put8(p, 26, issueClassification)
    put16(p, 27, issueSubType)
    put8(p, 29, authenticity)
    put8(p, 30, shortSaleThreshold)
    put8(p, 31, ipoFlag)
    put8(p, 32, luldReferencePriceTier)
    put8(p, 33, etpFlag)
    put32(p, 34, etpLeverageFactor)
    put8(p, 38, inverseIndicator)
    return 39
  }

  /// `H` Stock Trading Action (25 bytes). States: H P Q T; reason is a packed 4-character code.
  @inlinable @discardableResult
  public static func stockTradingAction(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    tradingState: UInt8, reserved: UInt8 = 0x20, reason: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "H"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, tradingState)
    put8(p, 20, reserved)
    put32(p, 21, reason)
    return 25
  }

  /// `Y` Reg SHO Short Sale Price Test Restricted Indicator (20 bytes). Actions: 0 1 2.
  @inlinable @discardableResult
  public static func regSHORestriction(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    action: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "Y"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, action)
    return 20
  }

  /// `L` Market Participant Position (26 bytes).
  @inlinable @discardableResult
  public static func marketParticipantPosition(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, mpid: UInt32,
    stock: UInt64, primaryMarketMaker: UInt8, marketMakerMode: UInt8, participantState: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "L"), locate, tracking, timestampNs)
    put32(p, 11, mpid)
    put64(p, 15, stock)
    put8(p, 23, primaryMarketMaker)
    put8(p, 24, marketMakerMode)
    put8(p, 25, participantState)
    return 26
  }

  /// `V` MWCB Decline Level (35 bytes). Levels are `Price(8)` (8 implied decimals).
  @inlinable @discardableResult
  public static func mwcbDeclineLevel(
    _ p: UnsafeMutableRawPointer, locate: UInt16 = 0, tracking: UInt16 = 0, timestampNs: UInt64, level1: UInt64,
    level2: UInt64, level3: UInt64
  ) -> Int {
    header(p, UInt8(ascii: "V"), locate, tracking, timestampNs)
    put64(p, 11, level1)
    put64(p, 19, level2)
    put64(p, 27, level3)
    return 35
  }

  /// `W` MWCB Status (12 bytes). Breached level: 1 2 3.
  @inlinable @discardableResult
  public static func mwcbStatus(
    _ p: UnsafeMutableRawPointer, locate: UInt16 = 0, tracking: UInt16 = 0, timestampNs: UInt64,
    breachedLevel: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "W"), locate, tracking, timestampNs)
    put8(p, 11, breachedLevel)
    return 12
  }

  /// `K` IPO Quoting Period Update (28 bytes). Release time is seconds since midnight.
  @inlinable @discardableResult
  public static func ipoQuotingPeriodUpdate(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    releaseTime: UInt32, releaseQualifier: UInt8, ipoPrice: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "K"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put32(p, 19, releaseTime)
    put8(p, 23, releaseQualifier)
    put32(p, 24, ipoPrice)
    return 28
  }

  /// `J` LULD Auction Collar (35 bytes).
  @inlinable @discardableResult
  public static func luldAuctionCollar(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    referencePrice: UInt32, upperCollar: UInt32, lowerCollar: UInt32, auctionCollarExtension: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "J"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put32(p, 19, referencePrice)
    put32(p, 23, upperCollar)
    put32(p, 27, lowerCollar)
    put32(p, 31, auctionCollarExtension)
    return 35
  }

  /// `h` Operational Halt (21 bytes). Market codes Q B X; actions H T.
  @inlinable @discardableResult
  public static func operationalHalt(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    marketCode: UInt8, haltAction: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "h"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, marketCode)
    put8(p, 20, haltAction)
    return 21
  }

  // MARK: Order messages

  /// `A` Add Order, no MPID attribution (36 bytes). Side B or S.
  @inlinable @discardableResult
  public static func addOrder(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, side: UInt8, shares: UInt32, stock: UInt64, price: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "A"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put8(p, 19, side)
    put32(p, 20, shares)
    put64(p, 24, stock)
    put32(p, 32, price)
    return 36
  }

  /// `F` Add Order with MPID attribution (40 bytes).
  @inlinable @discardableResult
  public static func addOrderWithMPID(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, side: UInt8, shares: UInt32, stock: UInt64, price: UInt32, attribution: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "F"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put8(p, 19, side)
    put32(p, 20, shares)
    put64(p, 24, stock)
    put32(p, 32, price)
    put32(p, 36, attribution)
    return 40
  }

  /// `E` Order Executed (31 bytes): at the resting order's price.
  @inlinable @discardableResult
  public static func orderExecuted(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, executedShares: UInt32, matchNumber: UInt64
  ) -> Int {
    header(p, UInt8(ascii: "E"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put32(p, 19, executedShares)
    put64(p, 23, matchNumber)
    return 31
  }

  /// `C` Order Executed with Price (36 bytes). Printable Y or N.
  @inlinable @discardableResult
  public static func orderExecutedWithPrice(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, executedShares: UInt32, matchNumber: UInt64, printable: UInt8, executionPrice: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "C"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put32(p, 19, executedShares)
    put64(p, 23, matchNumber)
    put8(p, 31, printable)
    put32(p, 32, executionPrice)
    return 36
  }

  /// `X` Order Cancel, partial (23 bytes).
  @inlinable @discardableResult
  public static func orderCancel(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, cancelledShares: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "X"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put32(p, 19, cancelledShares)
    return 23
  }

  /// `D` Order Delete (19 bytes).
  @inlinable @discardableResult
  public static func orderDelete(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64
  ) -> Int {
    header(p, UInt8(ascii: "D"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    return 19
  }

  /// `U` Order Replace (35 bytes): the new reference takes the old one's place and keeps its side.
  @inlinable @discardableResult
  public static func orderReplace(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    originalReference: UInt64, newReference: UInt64, shares: UInt32, price: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "U"), locate, tracking, timestampNs)
    put64(p, 11, originalReference)
    put64(p, 19, newReference)
    put32(p, 27, shares)
    put32(p, 31, price)
    return 35
  }

  // MARK: Trade messages

  /// `P` Trade, non-cross (44 bytes): an execution against a non-displayed order.
  @inlinable @discardableResult
  public static func trade(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64,
    orderReference: UInt64, side: UInt8, shares: UInt32, stock: UInt64, price: UInt32, matchNumber: UInt64
  ) -> Int {
    header(p, UInt8(ascii: "P"), locate, tracking, timestampNs)
    put64(p, 11, orderReference)
    put8(p, 19, side)
    put32(p, 20, shares)
    put64(p, 24, stock)
    put32(p, 32, price)
    put64(p, 36, matchNumber)
    return 44
  }

  /// `Q` Cross Trade (40 bytes). Shares are 8 bytes; cross types O C H I.
  @inlinable @discardableResult
  public static func crossTrade(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, shares: UInt64,
    stock: UInt64, crossPrice: UInt32, matchNumber: UInt64, crossType: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "Q"), locate, tracking, timestampNs)
    put64(p, 11, shares)
    put64(p, 19, stock)
    put32(p, 27, crossPrice)
    put64(p, 31, matchNumber)
    put8(p, 39, crossType)
    return 40
  }

  /// `B` Broken Trade (19 bytes).
  @inlinable @discardableResult
  public static func brokenTrade(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, matchNumber: UInt64
  ) -> Int {
    header(p, UInt8(ascii: "B"), locate, tracking, timestampNs)
    put64(p, 11, matchNumber)
    return 19
  }

  // MARK: Auction and retail messages

  /// `I` Net Order Imbalance Indicator (50 bytes).
  @inlinable @discardableResult
  public static func noii(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, pairedShares: UInt64,
    imbalanceShares: UInt64, imbalanceDirection: UInt8, stock: UInt64, farPrice: UInt32, nearPrice: UInt32,
    currentReferencePrice: UInt32, crossType: UInt8, priceVariationIndicator: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "I"), locate, tracking, timestampNs)
    put64(p, 11, pairedShares)
    put64(p, 19, imbalanceShares)
    put8(p, 27, imbalanceDirection)
    put64(p, 28, stock)
    put32(p, 36, farPrice)
    put32(p, 40, nearPrice)
    put32(p, 44, currentReferencePrice)
    put8(p, 48, crossType)
    put8(p, 49, priceVariationIndicator)
    return 50
  }

  /// `N` Retail Price Improvement Indicator (20 bytes). Interest flags B S A N.
  @inlinable @discardableResult
  public static func retailPriceImprovement(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    interestFlag: UInt8
  ) -> Int {
    header(p, UInt8(ascii: "N"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, interestFlag)
    return 20
  }

  /// `O` Direct Listing with Capital Raise Price Discovery (48 bytes). Near execution time is 8 bytes.
  @inlinable @discardableResult
  public static func directListingPriceDiscovery(
    _ p: UnsafeMutableRawPointer, locate: UInt16, tracking: UInt16 = 0, timestampNs: UInt64, stock: UInt64,
    openEligibility: UInt8, minAllowablePrice: UInt32, maxAllowablePrice: UInt32, nearExecutionPrice: UInt32,
    nearExecutionTime: UInt64, lowerPriceRangeCollar: UInt32, upperPriceRangeCollar: UInt32
  ) -> Int {
    header(p, UInt8(ascii: "O"), locate, tracking, timestampNs)
    put64(p, 11, stock)
    put8(p, 19, openEligibility)
    put32(p, 20, minAllowablePrice)
    put32(p, 24, maxAllowablePrice)
    put32(p, 28, nearExecutionPrice)
    put64(p, 32, nearExecutionTime)
    put32(p, 40, lowerPriceRangeCollar)
    put32(p, 44, upperPriceRangeCollar)
    return 48
  }
}
