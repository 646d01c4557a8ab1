import XCTest

@testable import Capture

final class PcapReaderTests: CaptureTestCase {
  func testAllFourClassicHeaderVariants() throws {
    let vlanFrame = Frames.ethernet(vlanTags: [[0x81, 0x00, 0x00, 0x64]]) + Frames.helloIPv4
    for bigEndian in [false, true] {
      for nanosecond in [false, true] {
        var pcap = PcapBuilder(bigEndian: bigEndian, nanosecond: nanosecond, linkType: 1)
        pcap.record(seconds: 1_700_000_000, fraction: nanosecond ? 123_456_789 : 123_456, frame: Frames.helloEthernet)
        pcap.record(seconds: 1_700_000_001, fraction: nanosecond ? 999_999_999 : 999_999, frame: vlanFrame)
        let name = "v-\(bigEndian)-\(nanosecond).pcap"
        let filePath = try writeFile(name, pcap.bytes)
        let (datagrams, counters) = try readCapture(filePath)
        XCTAssertEqual(
          datagrams,
          [
            Frames.helloDatagram(timestampNs: nanosecond ? 1_700_000_000_123_456_789 : 1_700_000_000_123_456_000),
            Frames.helloDatagram(timestampNs: nanosecond ? 1_700_000_001_999_999_999 : 1_700_000_001_999_999_000),
          ], name)
        XCTAssertEqual(counters.datagrams, 2)
        XCTAssertEqual(try PacketCaptureReader(file: try InputFile(path: filePath)).format, .pcap)
      }
    }
  }

  func testLiteralLittleEndianMicrosecondFile() throws {
    // Every byte spelled out: header, one record at 1 s + 2 µs, the 47-byte hello frame.
    let header: [UInt8] = [
      0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    ]
    let record: [UInt8] = [
      0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x2F, 0x00, 0x00, 0x00, 0x2F, 0x00, 0x00, 0x00,
    ]
    XCTAssertEqual(Frames.helloEthernet.count, 0x2F)
    let (datagrams, _) = try readCapture(try writeFile("literal.pcap", header + record + Frames.helloEthernet))
    XCTAssertEqual(datagrams, [Frames.helloDatagram(timestampNs: 1_000_002_000)])
    XCTAssertEqual(datagrams.first?.sourceAddress, 0x0A00_0001)
    XCTAssertEqual(datagrams.first?.destinationAddress, 0xE936_0C6F)
  }

  func testLinkLayers() throws {
    let sll: [UInt8] = [
      0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00, 0x08, 0x00,
    ]
    let sll2: [UInt8] = [
      0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x06,
      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00,
    ]
    let doubleTagged =
      Frames.ethernet(vlanTags: [[0x88, 0xA8, 0x00, 0x0A], [0x81, 0x00, 0x00, 0x64]]) + Frames.helloIPv4
    let cases: [(name: String, linkType: UInt32, frame: [UInt8])] = [
      ("ethernet", 1, Frames.helloEthernet),
      ("ethernet-qinq", 1, doubleTagged),
      ("sll", 113, sll + Frames.helloIPv4),
      ("sll2", 276, sll2 + Frames.helloIPv4),
      ("raw101", 101, Frames.helloIPv4),
      ("raw228", 228, Frames.helloIPv4),
      ("raw12", 12, Frames.helloIPv4),
      ("null", 0, [0x02, 0x00, 0x00, 0x00] + Frames.helloIPv4),
    ]
    for (name, linkType, frame) in cases {
      var pcap = PcapBuilder(bigEndian: false, nanosecond: true, linkType: linkType)
      pcap.record(seconds: 5, fraction: 6, frame: frame)
      let (datagrams, counters) = try readCapture(try writeFile("\(name).pcap", pcap.bytes))
      XCTAssertEqual(datagrams, [Frames.helloDatagram(timestampNs: 5_000_000_006)], name)
      XCTAssertEqual(counters.datagrams, 1, name)
    }
  }

  func testPayloadIsBoundedByIPAndUDPLengthsNotCaptureLength() throws {
    let hi: [UInt8] = [0x48, 0x49]
    // Ethernet minimum-size padding after a 30-byte IP packet.
    let padded = Frames.ethernet() + Frames.ipv4(payload: hi) + [UInt8](repeating: 0xEE, count: 16)
    // UDP says 2 payload bytes although the IP packet carries 4 (the last two are not part of the datagram).
    let shortUDP = Frames.ethernet() + Frames.ipv4(payload: hi + [0xAA, 0xBB], udpLength: 10)
    // IHL 6: four bytes of IP options before the UDP header.
    let withOptions = Frames.ethernet() + Frames.ipv4(payload: hi, options: [0x01, 0x01, 0x01, 0x00])
    var pcap = PcapBuilder(bigEndian: true, nanosecond: false, linkType: 1)
    for frame in [padded, shortUDP, withOptions] { pcap.record(seconds: 1, fraction: 1, frame: frame) }
    let (datagrams, counters) = try readCapture(try writeFile("pad.pcap", pcap.bytes))
    XCTAssertEqual(datagrams.map(\.payload), [hi, hi, hi])
    XCTAssertEqual(datagrams.map(\.sourceAddress), [0xC0A8_0001, 0xC0A8_0001, 0xC0A8_0001])
    XCTAssertEqual(datagrams.map(\.destinationPort), [2000, 2000, 2000])
    XCTAssertEqual(counters.datagrams, 3)
  }

  func testUndecodablePacketsAreCountedAndSkipped() throws {
    let payload: [UInt8] = [1, 2, 3, 4]
    let good = Frames.ethernet() + Frames.ipv4(payload: payload)
    let frames: [[UInt8]] = [
      Frames.ethernet() + Frames.ipv4(payload: payload, protocolNumber: 6),  // TCP → nonUDP
      Frames.ethernet(etherType: [0x86, 0xDD]) + [UInt8](repeating: 0x60, count: 48),  // IPv6 → nonIPv4
      Frames.ethernet(etherType: [0x08, 0x06]) + [UInt8](repeating: 0, count: 28),  // ARP → nonIPv4
      Frames.ethernet() + Frames.ipv4(payload: payload, flagsAndFragment: 0x2000),  // MF → ipFragments
      Frames.ethernet() + Frames.ipv4(payload: payload, flagsAndFragment: 0x0010),  // offset 128 → ipFragments
      Frames.ethernet() + Frames.ipv4(payload: payload, ihlOverride: 4),  // IHL < 5 → badIPHeader
      Frames.ethernet() + Frames.ipv4(payload: payload, versionNibble: 6),  // version 6 under 0x0800 → badIPHeader
      Frames.ethernet() + Frames.ipv4(payload: payload, totalLength: 12),  // total < header → badIPHeader
      Frames.ethernet() + Frames.ipv4(payload: payload, udpLength: 4),  // UDP length < 8 → badUDPHeader
      Frames.ethernet() + Frames.ipv4(payload: payload, udpLength: 13),  // beyond the IP packet → badUDPHeader
      Array(good.prefix(10)),  // not even an EtherType → truncatedByCaplen
      Frames.ethernet(vlanTags: [[0x81, 0x00, 0, 1], [0x81, 0x00, 0, 2], [0x81, 0x00, 0, 3]]) + good.suffix(32),
      good,
    ]
    var pcap = PcapBuilder(bigEndian: false, nanosecond: false, linkType: 1)
    for frame in frames { pcap.record(seconds: 9, fraction: 0, frame: frame) }
    // Cut by the snap length: 6 of the 46 frame bytes missing, original length says 46.
    pcap.record(seconds: 9, fraction: 0, frame: Array(good.prefix(good.count - 6)), originalLength: UInt32(good.count))
    pcap.record(seconds: 10, fraction: 0, frame: good)
    let filePath = try writeFile("mixed.pcap", pcap.bytes)
    let (datagrams, counters) = try readCapture(filePath)

    var expected = CaptureCounters()
    expected.datagrams = 2
    expected.nonUDP = 1
    expected.nonIPv4 = 3
    expected.ipFragments = 2
    expected.badIPHeader = 3
    expected.badUDPHeader = 2
    expected.truncatedByCaplen = 2
    XCTAssertEqual(counters, expected, counters.description)
    XCTAssertEqual(
      datagrams.map(\.timestampNs), [9_000_000_000, 10_000_000_000])
    XCTAssertEqual(datagrams.map(\.payload), [payload, payload])

    var reader = try PacketCaptureReader(file: try InputFile(path: filePath))
    while try reader.next() != nil {}
    XCTAssertEqual(reader.recordsRead, UInt64(frames.count + 2))
  }

  func testUnsupportedLinkTypeIsCounted() throws {
    var pcap = PcapBuilder(bigEndian: false, nanosecond: false, linkType: 105)  // 802.11
    pcap.record(seconds: 1, fraction: 0, frame: Frames.helloEthernet)
    pcap.record(seconds: 2, fraction: 0, frame: Frames.helloEthernet)
    let (datagrams, counters) = try readCapture(try writeFile("wifi.pcap", pcap.bytes))
    XCTAssertEqual(datagrams, [])
    XCTAssertEqual(counters.unsupportedLinkType, 2)
    XCTAssertEqual(counters.datagrams, 0)
  }

  func testFileEndingInsideARecordIsCountedAndEndsCleanly() throws {
    var pcap = PcapBuilder(bigEndian: false, nanosecond: true, linkType: 1)
    pcap.record(seconds: 1, fraction: 0, frame: Frames.helloEthernet)
    pcap.record(seconds: 2, fraction: 0, frame: Frames.helloEthernet)
    let whole = pcap.bytes
    let oneRecord = 24 + 16 + Frames.helloEthernet.count
    // Inside the second frame, and inside the second record header.
    for cut in [whole.count - 5, oneRecord + 7] {
      for chunk in [1, 5, 1 << 20] {
        let (datagrams, counters) = try readCapture(
          try writeFile("cut\(cut).pcap", Array(whole.prefix(cut))), readChunkBytes: chunk)
        XCTAssertEqual(datagrams, [Frames.helloDatagram(timestampNs: 1_000_000_000)], "cut \(cut) chunk \(chunk)")
        XCTAssertEqual(counters.truncatedRecords, 1, "cut \(cut) chunk \(chunk)")
      }
    }
    // Cut exactly at a record boundary: nothing is truncated.
    let (datagrams, counters) = try readCapture(try writeFile("edge.pcap", Array(whole.prefix(oneRecord))))
    XCTAssertEqual(datagrams.count, 1)
    XCTAssertEqual(counters.truncatedRecords, 0)
  }

  func testOversizedRecordIsSkippedWithoutBeingBuffered() throws {
    var writer = ByteWriter()
    writer.append(PcapBuilder(bigEndian: false, nanosecond: false, linkType: 1).bytes)
    writer.u32(1)
    writer.u32(0)
    writer.u32(0x7FFF_FFF0)  // captured length claims ~2 GiB
    writer.u32(0x7FFF_FFF0)
    writer.append([UInt8](repeating: 0, count: 100))
    let (datagrams, counters) = try readCapture(try writeFile("huge.pcap", writer.bytes))
    XCTAssertEqual(datagrams, [])
    XCTAssertEqual(counters.oversizedRecords, 1)
    XCTAssertEqual(counters.truncatedRecords, 1)
  }

  func testNonCapturesAreRejected() throws {
    let dayFile = try writeFile("day.itch", DayFileTests.fileBytes)
    XCTAssertThrowsError(try PacketCaptureReader(file: try InputFile(path: dayFile))) {
      XCTAssertEqual($0 as? CaptureError, .notACapture)
    }
    let tiny = try writeFile("tiny", [0xD4, 0xC3])
    XCTAssertThrowsError(try PacketCaptureReader(file: try InputFile(path: tiny))) {
      XCTAssertEqual($0 as? CaptureError, .notACapture)
    }
    let shortHeader = try writeFile("short.pcap", [0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00])
    XCTAssertThrowsError(try PacketCaptureReader(file: try InputFile(path: shortHeader))) {
      guard case .malformedHeader? = $0 as? CaptureError else { return XCTFail("\($0)") }
    }
  }
}
