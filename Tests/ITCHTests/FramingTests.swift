import ITCH
import XCTest

/// "QUOTECAST " as a MoldUDP64 session.
let sessionHex = "51554F5445434153 5420"

func withPacket(_ bytes: [UInt8], _ body: (MoldPacket?) -> Void) {
  bytes.withUnsafeBytes { body(MoldPacket($0)) }
}

func blocks(of packet: MoldPacket) -> (messages: [[UInt8]], anomaly: MoldBlockIterator.Anomaly) {
  var iterator = packet.blocks
  var messages: [[UInt8]] = []
  while let message = iterator.next() { messages.append(Array(message)) }
  return (messages, iterator.anomaly)
}

final class MoldUDP64Tests: XCTestCase {
  func testHeaderAndBlocks() {
    // sequence 0x0102030405060708, two blocks: "D..." (19 bytes) and "S..." (12 bytes).
    let delete = "44 \(header) 1112131415161718"
    let system = "53 \(header) 4F"
    withPacket(hex("\(sessionHex) 0102030405060708 0002 0013 \(delete) 000C \(system)")) { packet in
      let packet = packet!
      XCTAssertEqual(packet.session, MoldSessionID("QUOTECAST"))
      XCTAssertEqual(packet.session.description, "QUOTECAST ")
      XCTAssertEqual(packet.sequenceNumber, 0x0102_0304_0506_0708)
      XCTAssertEqual(packet.messageCount, 2)
      XCTAssertFalse(packet.isHeartbeat)
      XCTAssertFalse(packet.isEndOfSession)
      let (messages, anomaly) = blocks(of: packet)
      XCTAssertEqual(messages, [hex(delete), hex(system)])
      XCTAssertEqual(anomaly, .none)
    }
  }

  func testShortHeaderIsRejected() {
    withPacket(hex("\(sessionHex) 0102030405060708 00")) { XCTAssertNil($0) }
    withPacket([]) { XCTAssertNil($0) }
  }

  func testHeartbeatAndEndOfSession() {
    withPacket(hex("\(sessionHex) 0000000000000064 0000")) { packet in
      XCTAssertTrue(packet!.isHeartbeat)
      XCTAssertEqual(blocks(of: packet!).messages.count, 0)
    }
    // 0xFFFF: no blocks are read even if bytes follow.
    withPacket(hex("\(sessionHex) 0000000000000064 FFFF 0002 4142")) { packet in
      XCTAssertTrue(packet!.isEndOfSession)
      XCTAssertEqual(blocks(of: packet!).messages.count, 0)
    }
  }

  func testCountLargerThanBlocksPresent() {
    withPacket(hex("\(sessionHex) 0000000000000001 0003 0002 4142 0001 43")) { packet in
      let (messages, anomaly) = blocks(of: packet!)
      XCTAssertEqual(messages, [hex("4142"), hex("43")])
      XCTAssertEqual(anomaly, .fewerBlocksThanCounted)
    }
  }

  func testBlockLengthPastEnd() {
    withPacket(hex("\(sessionHex) 0000000000000001 0002 0002 4142 0009 434445")) { packet in
      let (messages, anomaly) = blocks(of: packet!)
      XCTAssertEqual(messages, [hex("4142")])
      XCTAssertEqual(anomaly, .blockPastEnd)
    }
  }

  func testTruncatedLengthField() {
    withPacket(hex("\(sessionHex) 0000000000000001 0002 0002 4142 00")) { packet in
      let (messages, anomaly) = blocks(of: packet!)
      XCTAssertEqual(messages, [hex("4142")])
      XCTAssertEqual(anomaly, .truncatedLength)
    }
  }

  func testZeroLengthBlocksAndTrailingBytes() {
    withPacket(hex("\(sessionHex) 0000000000000001 0002 0000 0000 FF")) { packet in
      let (messages, anomaly) = blocks(of: packet!)
      XCTAssertEqual(messages, [[], []])
      XCTAssertEqual(anomaly, .trailingBytes)
    }
  }

  func testPacketizerRoundTrip() {
    var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxDatagramBytes: 100, maxMessagesPerPacket: 3)
    var datagrams: [[UInt8]] = []
    let messages: [[UInt8]] = (0..<10).map { [UInt8](repeating: UInt8($0), count: 10 + $0 * 3) }
    for message in messages {
      if packetizer.wouldOverflow(messageBytes: message.count) { packetizer.flush { datagrams.append(Array($0)) } }
      message.withUnsafeBytes { packetizer.append($0) }
    }
    packetizer.flush { datagrams.append(Array($0)) }
    packetizer.control(endOfSession: true) { datagrams.append(Array($0)) }
    var decoded: [[UInt8]] = []
    var expectedSequence: UInt64 = 1
    for datagram in datagrams {
      XCTAssertLessThanOrEqual(datagram.count, 100)
      withPacket(datagram) { packet in
        let packet = packet!
        XCTAssertEqual(packet.sequenceNumber, expectedSequence)
        if packet.isEndOfSession { return }
        XCTAssertLessThanOrEqual(packet.messageCount, 3)
        let (messages, anomaly) = blocks(of: packet)
        XCTAssertEqual(anomaly, .none)
        decoded += messages
        expectedSequence += UInt64(messages.count)
      }
    }
    XCTAssertEqual(decoded, messages)
    XCTAssertEqual(expectedSequence, 11)
  }

  func testDayFrames() {
    let bytes = hex("0002 4142 0001 43 0000 0001 44")
    bytes.withUnsafeBytes { raw in
      var frames = DayFrameIterator(raw)
      XCTAssertEqual(frames.next().map(Array.init), hex("4142"))
      XCTAssertEqual(frames.next().map(Array.init), hex("43"))
      XCTAssertNil(frames.next())
      XCTAssertTrue(frames.endOfSession)
      XCTAssertFalse(frames.truncated)
    }
    hex("0002 4142 0005 4344").withUnsafeBytes { raw in
      var frames = DayFrameIterator(raw)
      XCTAssertEqual(frames.next().map(Array.init), hex("4142"))
      XCTAssertNil(frames.next())
      XCTAssertTrue(frames.truncated)
    }
    hex("0002 4142 00").withUnsafeBytes { raw in
      var frames = DayFrameIterator(raw)
      _ = frames.next()
      XCTAssertNil(frames.next())
      XCTAssertTrue(frames.truncated)
    }
  }
}

final class PacketizerAddTests: XCTestCase {
  /// `add` flushes when a message would not fit and refuses, untouched, one no datagram can carry.
  func testAddRefusesAMessageNoDatagramCanCarry() {
    // 100-byte datagrams: 20 bytes of header, so one message of at most 100 - 20 - 2 = 78 bytes.
    var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxDatagramBytes: 100, maxMessagesPerPacket: 8)
    XCTAssertEqual(packetizer.maxMessageBytes, 78)
    var datagrams: [[UInt8]] = []
    let fits = [UInt8](repeating: 0xAA, count: 78)
    let tooLong = [UInt8](repeating: 0xBB, count: 79)
    XCTAssertTrue(fits.withUnsafeBytes { packetizer.add($0) { datagrams.append(Array($0)) } })
    XCTAssertFalse(tooLong.withUnsafeBytes { packetizer.add($0) { datagrams.append(Array($0)) } })
    XCTAssertEqual(datagrams.count, 0, "a refused message flushes nothing")
    XCTAssertEqual(packetizer.pendingMessages, 1)
    // A second 78-byte message cannot share the packet: the first goes out alone.
    XCTAssertTrue(fits.withUnsafeBytes { packetizer.add($0) { datagrams.append(Array($0)) } })
    XCTAssertEqual(datagrams.count, 1)
    XCTAssertEqual(datagrams[0].count, 100)
    // Sequence 1, count 1, then the block length 0x004E.
    XCTAssertEqual(Array(datagrams[0][10..<22]), hex("0000 0000 0000 0001 0001 004E"))
    packetizer.flush { datagrams.append(Array($0)) }
    XCTAssertEqual(Array(datagrams[1][10..<20]), hex("0000 0000 0000 0002 0001"))
    XCTAssertEqual(packetizer.nextSequence, 3, "the refused message took no sequence number")
  }
}
