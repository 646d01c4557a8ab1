import XCTest

import Synth

/// Expected bytes are written out by hand from ITCH50.md. Every field gets a distinct value, so a field
/// written at the wrong offset, in the wrong order or little-endian shows up as a mismatch.
/// Common header in every case: locate 0x0102, tracking 0x0304, timestamp 0x0506_0708_090A.
final class WriterBytesTests: XCTestCase {
  let locate: UInt16 = 0x0102
  let tracking: UInt16 = 0x0304
  let ts: UInt64 = 0x0506_0708_090A
  /// "ABCDEFGH"
  let stock: UInt64 = 0x4142_4344_4546_4748

  func check(
    _ written: [UInt8], _ expected: [UInt8], specLength: Int, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(expected.count, specLength, "expected bytes disagree with the spec length", file: file, line: line)
    XCTAssertEqual(written.count, specLength, "written length", file: file, line: line)
    XCTAssertEqual(written, expected, file: file, line: line)
    if let type = written.first {
      XCTAssertEqual(ITCHWriter.length(ofType: type), specLength, file: file, line: line)
    }
  }

  func testSystemEvent() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.systemEvent($0, locate: locate, tracking: tracking, timestampNs: ts, eventCode: UInt8(ascii: "Q"))
    }
    check(
      bytes,
      [
        0x53,  // S
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x51,  // event code Q
      ], specLength: 12)
  }

  func testStockDirectory() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.stockDirectory(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, marketCategory: UInt8(ascii: "Q"),
        financialStatus: UInt8(ascii: "D"), roundLotSize: 0x2122_2324, roundLotsOnly: UInt8(ascii: "N"),
        issueClassification: UInt8(ascii: "C"), issueSubType: 0x5A41, authenticity: UInt8(ascii: "P"),
        shortSaleThreshold: UInt8(ascii: "Y"), ipoFlag: UInt8(ascii: " "), luldReferencePriceTier: UInt8(ascii: "1"),
        etpFlag: UInt8(ascii: "J"), etpLeverageFactor: 0x6162_6364, inverseIndicator: UInt8(ascii: "K"))
    }
    check(
      bytes,
      [
        0x52,  // R
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x51,  // market category
        0x44,  // financial status
        0x21, 0x22, 0x23, 0x24,  // round lot size
        0x4E,  // round lots only
        0x43,  // issue classification
        0x5A, 0x41,  // issue sub-type
        0x50,  // authenticity
        0x59,  // short sale threshold
        0x20,  // IPO flag
        0x31,  // LULD reference price tier
        0x4A,  // ETP flag
        0x61, 0x62, 0x63, 0x64,  // ETP leverage factor
        0x4B,  // inverse indicator
      ], specLength: 39)
  }

  func testStockTradingAction() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.stockTradingAction(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, tradingState: UInt8(ascii: "P"),
        reserved: 0x7A, reason: ITCHWriter.alpha4("LUDP"))
    }
    check(
      bytes,
      [
        0x48,  // H
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x50,  // trading state P
        0x7A,  // reserved
        0x4C, 0x55, 0x44, 0x50,  // reason LUDP
      ], specLength: 25)
    // The reserved byte defaults to a space.
    let defaulted = ITCHWriter.bytes {
      ITCHWriter.stockTradingAction(
        $0, locate: 1, timestampNs: 0, stock: stock, tradingState: UInt8(ascii: "T"), reason: ITCHWriter.alpha4(""))
    }
    XCTAssertEqual(Array(defaulted[19...]), [0x54, 0x20, 0x20, 0x20, 0x20, 0x20])
  }

  func testRegSHO() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.regSHORestriction(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, action: UInt8(ascii: "1"))
    }
    check(
      bytes,
      [
        0x59,  // Y
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x31,  // action
      ], specLength: 20)
  }

  func testMarketParticipantPosition() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.marketParticipantPosition(
        $0, locate: locate, tracking: tracking, timestampNs: ts, mpid: ITCHWriter.alpha4("GSCO"), stock: stock,
        primaryMarketMaker: UInt8(ascii: "Y"), marketMakerMode: UInt8(ascii: "N"), participantState: UInt8(ascii: "E"))
    }
    check(
      bytes,
      [
        0x4C,  // L
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x47, 0x53, 0x43, 0x4F,  // MPID GSCO
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x59,  // primary market maker
        0x4E,  // market maker mode
        0x45,  // participant state
      ], specLength: 26)
  }

  func testMWCBDeclineLevel() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.mwcbDeclineLevel(
        $0, locate: locate, tracking: tracking, timestampNs: ts, level1: 0x1112_1314_1516_1718,
        level2: 0x2122_2324_2526_2728, level3: 0x3132_3334_3536_3738)
    }
    check(
      bytes,
      [
        0x56,  // V
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // level 1
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,  // level 2
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,  // level 3
      ], specLength: 35)
  }

  func testMWCBStatus() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.mwcbStatus($0, locate: locate, tracking: tracking, timestampNs: ts, breachedLevel: UInt8(ascii: "2"))
    }
    check(
      bytes,
      [
        0x57,  // W
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x32,  // breached level
      ], specLength: 12)
  }

  func testIPOQuotingPeriodUpdate() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.ipoQuotingPeriodUpdate(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, releaseTime: 0x2122_2324,
        releaseQualifier: UInt8(ascii: "C"), ipoPrice: 0x3132_3334)
    }
    check(
      bytes,
      [
        0x4B,  // K
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x21, 0x22, 0x23, 0x24,  // release time
        0x43,  // release qualifier
        0x31, 0x32, 0x33, 0x34,  // IPO price
      ], specLength: 28)
  }

  func testLULDAuctionCollar() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.luldAuctionCollar(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, referencePrice: 0x2122_2324,
        upperCollar: 0x3132_3334, lowerCollar: 0x5152_5354, auctionCollarExtension: 0x6162_6364)
    }
    check(
      bytes,
      [
        0x4A,  // J
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x21, 0x22, 0x23, 0x24,  // reference price
        0x31, 0x32, 0x33, 0x34,  // upper collar
        0x51, 0x52, 0x53, 0x54,  // lower collar
        0x61, 0x62, 0x63, 0x64,  // extension
      ], specLength: 35)
  }

  func testOperationalHalt() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.operationalHalt(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, marketCode: UInt8(ascii: "Q"),
        haltAction: UInt8(ascii: "H"))
    }
    check(
      bytes,
      [
        0x68,  // h
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x51,  // market code
        0x48,  // halt action
      ], specLength: 21)
  }

  func testAddOrder() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.addOrder(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        side: UInt8(ascii: "S"), shares: 0x2122_2324, stock: stock, price: 0x3132_3334)
    }
    check(
      bytes,
      [
        0x41,  // A
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x53,  // side S
        0x21, 0x22, 0x23, 0x24,  // shares
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x31, 0x32, 0x33, 0x34,  // price
      ], specLength: 36)
  }

  func testAddOrderWithMPID() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.addOrderWithMPID(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        side: UInt8(ascii: "B"), shares: 0x2122_2324, stock: stock, price: 0x3132_3334,
        attribution: ITCHWriter.alpha4("VIRT"))
    }
    check(
      bytes,
      [
        0x46,  // F
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x42,  // side B
        0x21, 0x22, 0x23, 0x24,  // shares
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x31, 0x32, 0x33, 0x34,  // price
        0x56, 0x49, 0x52, 0x54,  // attribution VIRT
      ], specLength: 40)
  }

  func testOrderExecuted() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderExecuted(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        executedShares: 0x2122_2324, matchNumber: 0x5152_5354_5556_5758)
    }
    check(
      bytes,
      [
        0x45,  // E
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x21, 0x22, 0x23, 0x24,  // executed shares
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,  // match number
      ], specLength: 31)
  }

  func testOrderExecutedWithPrice() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderExecutedWithPrice(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        executedShares: 0x2122_2324, matchNumber: 0x5152_5354_5556_5758, printable: UInt8(ascii: "Y"),
        executionPrice: 0x3132_3334)
    }
    check(
      bytes,
      [
        0x43,  // C
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x21, 0x22, 0x23, 0x24,  // executed shares
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,  // match number
        0x59,  // printable
        0x31, 0x32, 0x33, 0x34,  // execution price
      ], specLength: 36)
  }

  func testOrderCancel() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderCancel(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        cancelledShares: 0x2122_2324)
    }
    check(
      bytes,
      [
        0x58,  // X
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x21, 0x22, 0x23, 0x24,  // cancelled shares
      ], specLength: 23)
  }

  func testOrderDelete() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderDelete(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718)
    }
    check(
      bytes,
      [
        0x44,  // D
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
      ], specLength: 19)
  }

  func testOrderReplace() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderReplace(
        $0, locate: locate, tracking: tracking, timestampNs: ts, originalReference: 0x1112_1314_1516_1718,
        newReference: 0x7172_7374_7576_7778, shares: 0x2122_2324, price: 0x3132_3334)
    }
    check(
      bytes,
      [
        0x55,  // U
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // original reference
        0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,  // new reference
        0x21, 0x22, 0x23, 0x24,  // shares
        0x31, 0x32, 0x33, 0x34,  // price
      ], specLength: 35)
  }

  func testTrade() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.trade(
        $0, locate: locate, tracking: tracking, timestampNs: ts, orderReference: 0x1112_1314_1516_1718,
        side: UInt8(ascii: "B"), shares: 0x2122_2324, stock: stock, price: 0x3132_3334,
        matchNumber: 0x5152_5354_5556_5758)
    }
    check(
      bytes,
      [
        0x50,  // P
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // order reference
        0x42,  // side
        0x21, 0x22, 0x23, 0x24,  // shares
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x31, 0x32, 0x33, 0x34,  // price
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,  // match number
      ], specLength: 44)
  }

  func testCrossTrade() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.crossTrade(
        $0, locate: locate, tracking: tracking, timestampNs: ts, shares: 0x6162_6364_6566_6768, stock: stock,
        crossPrice: 0x3132_3334, matchNumber: 0x5152_5354_5556_5758, crossType: UInt8(ascii: "O"))
    }
    check(
      bytes,
      [
        0x51,  // Q
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,  // shares (8 bytes)
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x31, 0x32, 0x33, 0x34,  // cross price
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,  // match number
        0x4F,  // cross type
      ], specLength: 40)
  }

  func testBrokenTrade() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.brokenTrade(
        $0, locate: locate, tracking: tracking, timestampNs: ts, matchNumber: 0x5152_5354_5556_5758)
    }
    check(
      bytes,
      [
        0x42,  // B
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,  // match number
      ], specLength: 19)
  }

  func testNOII() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.noii(
        $0, locate: locate, tracking: tracking, timestampNs: ts, pairedShares: 0x6162_6364_6566_6768,
        imbalanceShares: 0x7172_7374_7576_7778, imbalanceDirection: UInt8(ascii: "S"), stock: stock,
        farPrice: 0x2122_2324, nearPrice: 0x3132_3334, currentReferencePrice: 0x5152_5354,
        crossType: UInt8(ascii: "C"), priceVariationIndicator: UInt8(ascii: "L"))
    }
    check(
      bytes,
      [
        0x49,  // I
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,  // paired shares
        0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,  // imbalance shares
        0x53,  // imbalance direction
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x21, 0x22, 0x23, 0x24,  // far price
        0x31, 0x32, 0x33, 0x34,  // near price
        0x51, 0x52, 0x53, 0x54,  // current reference price
        0x43,  // cross type
        0x4C,  // price variation indicator
      ], specLength: 50)
  }

  func testRetailPriceImprovement() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.retailPriceImprovement(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, interestFlag: UInt8(ascii: "A"))
    }
    check(
      bytes,
      [
        0x4E,  // N
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x41,  // interest flag
      ], specLength: 20)
  }

  func testDirectListingPriceDiscovery() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.directListingPriceDiscovery(
        $0, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, openEligibility: UInt8(ascii: "Y"),
        minAllowablePrice: 0x2122_2324, maxAllowablePrice: 0x3132_3334, nearExecutionPrice: 0x5152_5354,
        nearExecutionTime: 0x6162_6364_6566_6768, lowerPriceRangeCollar: 0x7172_7374,
        upperPriceRangeCollar: 0x0A0B_0C0D)
    }
    check(
      bytes,
      [
        0x4F,  // O
        0x01, 0x02,  // locate
        0x03, 0x04,  // tracking
        0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,  // timestamp
        0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // stock
        0x59,  // open eligibility
        0x21, 0x22, 0x23, 0x24,  // min allowable price
        0x31, 0x32, 0x33, 0x34,  // max allowable price
        0x51, 0x52, 0x53, 0x54,  // near execution price
        0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,  // near execution time
        0x71, 0x72, 0x73, 0x74,  // lower price range collar
        0x0A, 0x0B, 0x0C, 0x0D,  // upper price range collar
      ], specLength: 48)
  }

  /// The spec's length table, typed in again here independently of `ITCHWriter.length(ofType:)`.
  func testLengthTableMatchesSpec() {
    let spec: [Character: Int] = [
      "S": 12, "R": 39, "H": 25, "Y": 20, "L": 26, "V": 35, "W": 12, "K": 28, "J": 35, "h": 21, "A": 36, "F": 40,
      "E": 31, "C": 36, "X": 23, "D": 19, "U": 35, "P": 44, "Q": 40, "B": 19, "I": 50, "N": 20, "O": 48,
    ]
    XCTAssertEqual(spec.count, 23)
    for (type, length) in spec {
      XCTAssertEqual(ITCHWriter.length(ofType: type.asciiValue!), length, "type \(type)")
      XCTAssertLessThanOrEqual(length, ITCHWriter.maxMessageBytes)
    }
    XCTAssertNil(ITCHWriter.length(ofType: UInt8(ascii: "Z")))
    XCTAssertNil(ITCHWriter.length(ofType: UInt8(ascii: "a")))
  }

  /// The timestamp is 6 bytes: the top 16 bits of a UInt64 are dropped, nothing else.
  func testTimestampUsesLow48Bits() {
    let bytes = ITCHWriter.bytes {
      ITCHWriter.orderDelete($0, locate: 0, timestampNs: 0xFFEE_0000_0000_0001, orderReference: 0)
    }
    XCTAssertEqual(Array(bytes[5..<11]), [0x00, 0x00, 0x00, 0x00, 0x00, 0x01])
    let noon = UInt64(12 * 3600) * 1_000_000_000
    let noonBytes = ITCHWriter.bytes {
      ITCHWriter.orderDelete($0, locate: 0, timestampNs: noon, orderReference: 0)
    }
    // 43,200,000,000,000 ns = 0x0000_274A_48A7_8000.
    XCTAssertEqual(Array(noonBytes[5..<11]), [0x27, 0x4A, 0x48, 0xA7, 0x80, 0x00])
  }

  func testAlphaPacking() {
    XCTAssertEqual(ITCHWriter.stock("AAPL"), 0x4141_504C_2020_2020)
    XCTAssertEqual(ITCHWriter.stock("GOOGL"), 0x474F_4F47_4C20_2020)
    XCTAssertEqual(ITCHWriter.stock("A"), 0x4120_2020_2020_2020)
    XCTAssertEqual(ITCHWriter.stock(""), 0x2020_2020_2020_2020)
    XCTAssertEqual(ITCHWriter.stock("ABCDEFGHIJ"), 0x4142_4344_4546_4748)
    XCTAssertEqual(ITCHWriter.alpha4("T1"), 0x5431_2020)
    XCTAssertEqual(ITCHWriter.alpha4("MWCQ"), 0x4D57_4351)
    XCTAssertEqual(ITCHWriter.alpha2("Z"), 0x5A20)
    XCTAssertEqual(ITCHWriter.symbol(0x474F_4F47_4C20_2020), "GOOGL")
    XCTAssertEqual(ITCHWriter.symbol(ITCHWriter.stock("QQQ")), "QQQ")
    // A packed stock lands on the wire in the same byte order as the text.
    let bytes = ITCHWriter.bytes {
      ITCHWriter.regSHORestriction(
        $0, locate: 7, timestampNs: 0, stock: ITCHWriter.stock("MSFT"), action: UInt8(ascii: "0"))
    }
    XCTAssertEqual(Array(bytes[11..<19]), Array("MSFT    ".utf8))
  }

  func testBytesHelperReturnsExactlyTheWrittenPrefix() {
    let bytes = ITCHWriter.bytes { p in
      p.storeBytes(of: 0xAB, toByteOffset: 0, as: UInt8.self)
      p.storeBytes(of: 0xCD, toByteOffset: 1, as: UInt8.self)
      return 2
    }
    XCTAssertEqual(bytes, [0xAB, 0xCD])
    XCTAssertEqual(ITCHWriter.maxMessageBytes, 64)
  }
}
