import ITCH
import XCTest

/// Bytes from a hex string; spaces are for reading only.
func hex(_ text: String) -> [UInt8] {
  let digits = Array(text.filter { !$0.isWhitespace })
  precondition(digits.count % 2 == 0, "odd hex length")
  return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// The common header every message below uses: locate 0x0102, tracking 0x0304, timestamp 0x050607080910.
let header = "0102 0304 050607080910"
let aapl = "4141504C20202020"  // "AAPL    "

func view<V: ITCHMessageView>(_ type: V.Type, _ bytes: [UInt8], _ body: (V) -> Void) {
  XCTAssertEqual(bytes.count, V.length, "\(V.self) length")
  XCTAssertEqual(ITCHMessageType.length(of: bytes[0]), V.length)
  XCTAssertEqual(bytes[0], V.type)
  bytes.withUnsafeBytes { body(V($0.baseAddress!)) }
}

final class WireTests: XCTestCase {
  func testBigEndianLoadsAtOddOffsets() {
    let bytes = hex("FF 0102 03040506 0708090A0B0C 0D0E0F1011121314")
    bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress!
      XCTAssertEqual(loadBigEndianUInt16(base, 1), 0x0102)
      XCTAssertEqual(loadBigEndianUInt32(base, 3), 0x0304_0506)
      XCTAssertEqual(loadBigEndianUInt48(base, 7), 0x0708_090A_0B0C)
      XCTAssertEqual(loadBigEndianUInt64(base, 13), 0x0D0E_0F10_1112_1314)
      XCTAssertEqual(loadByte(base, 0), 0xFF)
    }
  }

  func testTimestampReadsExactlySixBytes() {
    // A buffer holding only the 6 timestamp bytes: the load must not need a seventh.
    let bytes = hex("FFFFFFFFFFFF")
    bytes.withUnsafeBytes { XCTAssertEqual(loadBigEndianUInt48($0.baseAddress!, 0), 0xFFFF_FFFF_FFFF) }
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: 6, alignment: 1)
    defer { pointer.deallocate() }
    // 16:00:00 = 57,600,000,000,000 ns = 0x3463_0B8A_0000.
    pointer.copyMemory(from: hex("34630B8A0000"), byteCount: 6)
    XCTAssertEqual(loadBigEndianUInt48(UnsafeRawPointer(pointer), 0), 57_600_000_000_000)
  }

  func testSymbolPacking() {
    XCTAssertEqual(Symbol("AAPL").packed, 0x4141_504C_2020_2020)
    XCTAssertEqual(Symbol("AAPL").description, "AAPL")
    XCTAssertEqual(Symbol("ABCDEFGHIJ").description, "ABCDEFGH")
    XCTAssertEqual(Symbol(packed: 0x4141_504C_2020_2020), Symbol("AAPL"))
  }
}

final class MessageTests: XCTestCase {
  func testEveryTypeHasItsSpecLength() {
    let expected: [Character: Int] = [
      "S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21, "A": 36, "F": 40,
      "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19, "I": 50, "N": 20, "O": 48,
    ]
    for (type, length) in expected {
      XCTAssertEqual(ITCHMessageType.length(of: type.asciiValue!), length, "type \(type)")
    }
    XCTAssertEqual(ITCHMessageType.all.count, expected.count)
    for byte in UInt8.min...UInt8.max where !expected.keys.contains(Character(Unicode.Scalar(byte))) {
      XCTAssertEqual(ITCHMessageType.length(of: byte), 0, "byte \(byte) is not an ITCH 5.0 type")
    }
  }

  func testHeader() {
    view(OrderDelete.self, hex("44 \(header) 1112131415161718")) { message in
      XCTAssertEqual(message.stockLocate, 0x0102)
      XCTAssertEqual(message.trackingNumber, 0x0304)
      XCTAssertEqual(message.timestampNs, 0x0506_0708_0910)
      XCTAssertEqual(message.orderReference, 0x1112_1314_1516_1718)
    }
  }

  func testAddOrders() {
    view(AddOrder.self, hex("41 \(header) 1112131415161718 42 191A1B1C \(aapl) 1D1E1F20")) { add in
      XCTAssertEqual(add.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(add.side, UInt8(ascii: "B"))
      XCTAssertEqual(add.shares, 0x191A_1B1C)
      XCTAssertEqual(add.stock, Symbol("AAPL"))
      XCTAssertEqual(add.price, 0x1D1E_1F20)
    }
    view(AddOrderMPID.self, hex("46 \(header) 1112131415161718 53 191A1B1C \(aapl) 1D1E1F20 4E534454")) { add in
      XCTAssertEqual(add.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(add.side, UInt8(ascii: "S"))
      XCTAssertEqual(add.shares, 0x191A_1B1C)
      XCTAssertEqual(add.stock, Symbol("AAPL"))
      XCTAssertEqual(add.price, 0x1D1E_1F20)
      XCTAssertEqual(add.attribution, 0x4E53_4454)  // "NSDT"
    }
  }

  func testExecutionsCancelsReplaces() {
    view(OrderExecuted.self, hex("45 \(header) 1112131415161718 191A1B1C 2122232425262728")) { execution in
      XCTAssertEqual(execution.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(execution.executedShares, 0x191A_1B1C)
      XCTAssertEqual(execution.matchNumber, 0x2122_2324_2526_2728)
    }
    view(OrderExecutedWithPrice.self, hex("43 \(header) 1112131415161718 191A1B1C 2122232425262728 59 1D1E1F20")) {
      execution in
      XCTAssertEqual(execution.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(execution.executedShares, 0x191A_1B1C)
      XCTAssertEqual(execution.matchNumber, 0x2122_2324_2526_2728)
      XCTAssertEqual(execution.printable, UInt8(ascii: "Y"))
      XCTAssertEqual(execution.executionPrice, 0x1D1E_1F20)
    }
    view(OrderCancel.self, hex("58 \(header) 1112131415161718 191A1B1C")) { cancel in
      XCTAssertEqual(cancel.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(cancel.cancelledShares, 0x191A_1B1C)
    }
    view(OrderReplace.self, hex("55 \(header) 1112131415161718 2122232425262728 191A1B1C 1D1E1F20")) { replace in
      XCTAssertEqual(replace.originalOrderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(replace.newOrderReference, 0x2122_2324_2526_2728)
      XCTAssertEqual(replace.shares, 0x191A_1B1C)
      XCTAssertEqual(replace.price, 0x1D1E_1F20)
    }
  }

  func testTrades() {
    view(NonCrossTrade.self, hex("50 \(header) 1112131415161718 42 191A1B1C \(aapl) 1D1E1F20 2122232425262728")) {
      trade in
      XCTAssertEqual(trade.orderReference, 0x1112_1314_1516_1718)
      XCTAssertEqual(trade.side, UInt8(ascii: "B"))
      XCTAssertEqual(trade.shares, 0x191A_1B1C)
      XCTAssertEqual(trade.stock, Symbol("AAPL"))
      XCTAssertEqual(trade.price, 0x1D1E_1F20)
      XCTAssertEqual(trade.matchNumber, 0x2122_2324_2526_2728)
    }
    view(CrossTrade.self, hex("51 \(header) 3132333435363738 \(aapl) 1D1E1F20 2122232425262728 4F")) { cross in
      XCTAssertEqual(cross.shares, 0x3132_3334_3536_3738)
      XCTAssertEqual(cross.stock, Symbol("AAPL"))
      XCTAssertEqual(cross.crossPrice, 0x1D1E_1F20)
      XCTAssertEqual(cross.matchNumber, 0x2122_2324_2526_2728)
      XCTAssertEqual(cross.crossType, UInt8(ascii: "O"))
    }
    view(BrokenTrade.self, hex("42 \(header) 2122232425262728")) { broken in
      XCTAssertEqual(broken.matchNumber, 0x2122_2324_2526_2728)
    }
  }

  func testStockDirectory() {
    view(StockDirectory.self, hex("52 \(header) \(aapl) 51 4E 00000064 4E 43 5A20 50 4E 20 31 4E 00000002 31")) { r in
      XCTAssertEqual(r.stock, Symbol("AAPL"))
      XCTAssertEqual(r.marketCategory, UInt8(ascii: "Q"))
      XCTAssertEqual(r.financialStatus, UInt8(ascii: "N"))
      XCTAssertEqual(r.roundLotSize, 100)
      XCTAssertEqual(r.roundLotsOnly, UInt8(ascii: "N"))
      XCTAssertEqual(r.issueClassification, UInt8(ascii: "C"))
      XCTAssertEqual(r.issueSubType, 0x5A20)
      XCTAssertEqual(r.authenticity, UInt8(ascii: "P"))
      XCTAssertEqual(r.shortSaleThreshold, UInt8(ascii: "N"))
      XCTAssertEqual(r.ipoFlag, UInt8(ascii: " "))
      XCTAssertEqual(r.luldReferencePriceTier, UInt8(ascii: "1"))
      XCTAssertEqual(r.etpFlag, UInt8(ascii: "N"))
      XCTAssertEqual(r.etpLeverageFactor, 2)
      XCTAssertEqual(r.inverseIndicator, UInt8(ascii: "1"))
    }
  }

  func testStatusMessages() {
    view(SystemEvent.self, hex("53 \(header) 4F")) { XCTAssertEqual($0.eventCode, UInt8(ascii: "O")) }
    view(StockTradingAction.self, hex("48 \(header) \(aapl) 48 20 4C554431")) { h in
      XCTAssertEqual(h.stock, Symbol("AAPL"))
      XCTAssertEqual(h.tradingState, UInt8(ascii: "H"))
      XCTAssertEqual(h.reason, 0x4C55_4431)  // "LUD1"
    }
    view(RegSHORestriction.self, hex("59 \(header) \(aapl) 31")) { y in
      XCTAssertEqual(y.stock, Symbol("AAPL"))
      XCTAssertEqual(y.action, UInt8(ascii: "1"))
    }
    view(MarketParticipantPosition.self, hex("4C \(header) 4E534454 \(aapl) 59 4E 41")) { l in
      XCTAssertEqual(l.mpid, 0x4E53_4454)
      XCTAssertEqual(l.stock, Symbol("AAPL"))
      XCTAssertEqual(l.primaryMarketMaker, UInt8(ascii: "Y"))
      XCTAssertEqual(l.marketMakerMode, UInt8(ascii: "N"))
      XCTAssertEqual(l.participantState, UInt8(ascii: "A"))
    }
    view(MWCBDeclineLevel.self, hex("56 \(header) 1112131415161718 2122232425262728 3132333435363738")) { v in
      XCTAssertEqual(v.level1, 0x1112_1314_1516_1718)
      XCTAssertEqual(v.level2, 0x2122_2324_2526_2728)
      XCTAssertEqual(v.level3, 0x3132_3334_3536_3738)
    }
    view(MWCBStatus.self, hex("57 \(header) 32")) { XCTAssertEqual($0.breachedLevel, UInt8(ascii: "2")) }
    view(IPOQuotingPeriodUpdate.self, hex("4B \(header) \(aapl) 191A1B1C 41 1D1E1F20")) { k in
      XCTAssertEqual(k.stock, Symbol("AAPL"))
      XCTAssertEqual(k.releaseTime, 0x191A_1B1C)
      XCTAssertEqual(k.releaseQualifier, UInt8(ascii: "A"))
      XCTAssertEqual(k.ipoPrice, 0x1D1E_1F20)
    }
    view(LULDAuctionCollar.self, hex("4A \(header) \(aapl) 11121314 21222324 31323334 41424344")) { j in
      XCTAssertEqual(j.stock, Symbol("AAPL"))
      XCTAssertEqual(j.referencePrice, 0x1112_1314)
      XCTAssertEqual(j.upperPrice, 0x2122_2324)
      XCTAssertEqual(j.lowerPrice, 0x3132_3334)
      XCTAssertEqual(j.collarExtension, 0x4142_4344)
    }
    view(OperationalHalt.self, hex("68 \(header) \(aapl) 51 48")) { h in
      XCTAssertEqual(h.stock, Symbol("AAPL"))
      XCTAssertEqual(h.marketCode, UInt8(ascii: "Q"))
      XCTAssertEqual(h.haltAction, UInt8(ascii: "H"))
    }
    view(
      NOII.self,
      hex("49 \(header) 1112131415161718 2122232425262728 42 \(aapl) 31323334 41424344 51525354 43 4C")
    ) { i in
      XCTAssertEqual(i.pairedShares, 0x1112_1314_1516_1718)
      XCTAssertEqual(i.imbalanceShares, 0x2122_2324_2526_2728)
      XCTAssertEqual(i.imbalanceDirection, UInt8(ascii: "B"))
      XCTAssertEqual(i.stock, Symbol("AAPL"))
      XCTAssertEqual(i.farPrice, 0x3132_3334)
      XCTAssertEqual(i.nearPrice, 0x4142_4344)
      XCTAssertEqual(i.currentReferencePrice, 0x5152_5354)
      XCTAssertEqual(i.crossType, UInt8(ascii: "C"))
      XCTAssertEqual(i.priceVariationIndicator, UInt8(ascii: "L"))
    }
    view(RetailPriceImprovement.self, hex("4E \(header) \(aapl) 41")) { n in
      XCTAssertEqual(n.stock, Symbol("AAPL"))
      XCTAssertEqual(n.interestFlag, UInt8(ascii: "A"))
    }
    view(
      DirectListingPriceDiscovery.self,
      hex("4F \(header) \(aapl) 59 11121314 21222324 31323334 4142434445464748 51525354 61626364")
    ) { o in
      XCTAssertEqual(o.stock, Symbol("AAPL"))
      XCTAssertEqual(o.openEligibilityStatus, UInt8(ascii: "Y"))
      XCTAssertEqual(o.minimumAllowablePrice, 0x1112_1314)
      XCTAssertEqual(o.maximumAllowablePrice, 0x2122_2324)
      XCTAssertEqual(o.nearExecutionPrice, 0x3132_3334)
      XCTAssertEqual(o.nearExecutionTimeNs, 0x4142_4344_4546_4748)
      XCTAssertEqual(o.lowerPriceRangeCollar, 0x5152_5354)
      XCTAssertEqual(o.upperPriceRangeCollar, 0x6162_6364)
    }
  }
}
