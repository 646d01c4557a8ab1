import ITCH
import XCTest

/// Records which methods `dispatch` called, and what an add said.
struct RecordingHandler: ITCHHandler {
  var seen: [UInt8] = []
  var headers: [UInt8] = []
  var add: (reference: UInt64, side: UInt8, shares: UInt32, price: UInt32)?

  mutating func willHandle(type: UInt8, _ base: UnsafeRawPointer) { headers.append(type) }
  mutating func addOrder(_ message: AddOrder) {
    seen.append(AddOrder.type)
    add = (message.orderReference, message.side, message.shares, message.price)
  }
  mutating func orderDelete(_ message: OrderDelete) { seen.append(OrderDelete.type) }
  mutating func systemEvent(_ message: SystemEvent) { seen.append(SystemEvent.type) }
  mutating func mwcbDeclineLevel(_ message: MWCBDeclineLevel) { seen.append(MWCBDeclineLevel.type) }
}

final class DispatchTests: XCTestCase {
  func dispatched(_ bytes: [UInt8], _ handler: inout RecordingHandler) -> ITCHDispatch {
    bytes.withUnsafeBytes { dispatch($0, to: &handler) }
  }

  func testAnAddIsHandedOverAsItsViewWithItsFields() {
    // A (36 bytes): type, locate 7, tracking 0, timestamp 1 ns, reference 0x0102, side B, shares 300,
    // stock "AAPL    ", price 1,234,500 (123.45).
    var add: [UInt8] = [UInt8(ascii: "A"), 0, 7, 0, 0, 0, 0, 0, 0, 0, 1]
    add += [0, 0, 0, 0, 0, 0, 0x01, 0x02, UInt8(ascii: "B"), 0, 0, 0x01, 0x2C]
    add += Array("AAPL    ".utf8) + [0x00, 0x12, 0xD6, 0x44]
    XCTAssertEqual(add.count, 36)
    var handler = RecordingHandler()
    XCTAssertEqual(dispatched(add, &handler), .dispatched(type: UInt8(ascii: "A")))
    XCTAssertEqual(handler.seen, [UInt8(ascii: "A")])
    XCTAssertEqual(handler.add?.reference, 0x0102)
    XCTAssertEqual(handler.add?.side, UInt8(ascii: "B"))
    XCTAssertEqual(handler.add?.shares, 300)
    XCTAssertEqual(handler.add?.price, 1_234_500)
  }

  func testEveryTypeOfItsLengthIsDispatchedAndNothingElseIs() {
    var handler = RecordingHandler()
    for type in ITCHMessageType.all {
      let length = ITCHMessageType.length(of: type)
      XCTAssertEqual(dispatched([type] + [UInt8](repeating: 0, count: length - 1), &handler), .dispatched(type: type))
      XCTAssertEqual(dispatched([type] + [UInt8](repeating: 0, count: length), &handler), .badLength, "one too long")
      XCTAssertEqual(dispatched([type] + [UInt8](repeating: 0, count: length - 2), &handler), .badLength, "short")
    }
    XCTAssertEqual(handler.headers, ITCHMessageType.all, "the header hook runs once per dispatched message")
    XCTAssertEqual(
      handler.seen, [UInt8(ascii: "S"), UInt8(ascii: "V"), UInt8(ascii: "A"), UInt8(ascii: "D")],
      "only the methods the handler implements, in spec order")
    XCTAssertEqual(dispatched([UInt8(ascii: "Z"), 0, 0], &handler), .unknownType)
    XCTAssertEqual(dispatched([], &handler), .badLength)
    XCTAssertEqual(handler.headers.count, ITCHMessageType.all.count, "nothing more reached the handler")
  }
}
