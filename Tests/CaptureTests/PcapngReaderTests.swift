import XCTest

@testable import Capture

final class PcapngReaderTests: CaptureTestCase {
  /// SHB, an Ethernet interface in ns (if_tsresol 9), a raw-IP interface in default µs, EPBs on each, an SPB,
  /// and blocks of types we do not know or want (which must be skipped).
  func testTwoInterfacesWithDifferentResolutionsAndLinkTypes() throws {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    file.interface(linkType: 1, snapLength: 65_535, options: [(9, [9])])
    file.interface(linkType: 101, snapLength: 0)
    file.enhancedPacket(interface: 0, timestampUnits: 1_700_000_000_123_456_789, frame: Frames.helloEthernet)
    file.block(type: 0x0000_0BAD, body: [1, 2, 3, 4, 5])
    file.enhancedPacket(interface: 1, timestampUnits: 1_700_000_000_654_321, frame: Frames.helloIPv4)
    file.block(type: 5, body: [UInt8](repeating: 0, count: 12))  // Interface Statistics
    file.simplePacket(frame: Frames.helloEthernet)
    file.block(type: 0x4000_0BAD, body: [9, 9, 9, 9])  // custom block
    let filePath = try writeFile("two.pcapng", file.bytes)
    // Spot-check the builder against the spec by hand: SHB is 28 bytes, LE byte-order magic 4D 3C 2B 1A.
    XCTAssertEqual(Array(file.bytes.prefix(12)), [0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A])

    for chunk in [1, 3, 7, 1 << 20] {
      let (datagrams, counters) = try readCapture(filePath, readChunkBytes: chunk)
      XCTAssertEqual(
        datagrams,
        [
          Frames.helloDatagram(timestampNs: 1_700_000_000_123_456_789),
          Frames.helloDatagram(timestampNs: 1_700_000_000_654_321_000),
          Frames.helloDatagram(timestampNs: 0),  // Simple Packet Blocks carry no time
        ], "chunk \(chunk)")
      var expected = CaptureCounters()
      expected.datagrams = 3
      XCTAssertEqual(counters, expected, "chunk \(chunk)")
    }
    var reader = try PacketCaptureReader(file: try InputFile(path: filePath))
    XCTAssertEqual(reader.format, .pcapng)
    while try reader.next() != nil {}
    XCTAssertEqual(reader.recordsRead, 3)
  }

  /// A big-endian section with a binary resolution and an offset, then a little-endian section whose interface
  /// list starts afresh.
  func testSectionsInBothByteOrders() throws {
    let sll2: [UInt8] = [
      0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x06,
      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00,
    ]
    var bigSection = PcapngBuilder(bigEndian: true)
    bigSection.sectionHeader()
    // if_tsresol 0x83: units of 1/8 s; if_tsoffset 10 s (big-endian 64-bit).
    bigSection.interface(
      linkType: 276, snapLength: 262_144, options: [(9, [0x83]), (14, [0, 0, 0, 0, 0, 0, 0, 10])])
    bigSection.enhancedPacket(interface: 0, timestampUnits: 17, frame: sll2 + Frames.helloIPv4)
    XCTAssertEqual(Array(bigSection.bytes.prefix(12)), [0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 28, 0x1A, 0x2B, 0x3C, 0x4D])

    var littleSection = PcapngBuilder(bigEndian: false)
    littleSection.sectionHeader()
    littleSection.interface(linkType: 1, snapLength: 65_535, options: [(9, [3])])  // milliseconds
    littleSection.enhancedPacket(interface: 0, timestampUnits: 1_500, frame: Frames.helloEthernet)
    littleSection.enhancedPacket(interface: 1, timestampUnits: 1_500, frame: Frames.helloEthernet)  // no such interface

    let (datagrams, counters) = try readCapture(
      try writeFile("sections.pcapng", bigSection.bytes + littleSection.bytes))
    // 17/8 s = 2.125 s, plus the 10 s offset.
    XCTAssertEqual(
      datagrams, [Frames.helloDatagram(timestampNs: 12_125_000_000), Frames.helloDatagram(timestampNs: 1_500_000_000)])
    XCTAssertEqual(counters.malformedRecords, 1)
    XCTAssertEqual(counters.datagrams, 2)
  }

  func testInconsistentBlocksAreCounted() throws {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    file.interface(linkType: 1, snapLength: 40)
    // Captured length larger than the block.
    file.enhancedPacket(interface: 0, timestampUnits: 1, frame: Frames.helloEthernet, capturedLength: 200)
    // The SPB is cut to the interface's 40-byte snap length, which cuts the datagram.
    file.simplePacket(frame: Frames.helloEthernet)
    file.enhancedPacket(interface: 0, timestampUnits: 2, frame: Frames.helloEthernet)
    // A block whose trailing length disagrees with its leading one.
    var mismatched = PcapngBuilder(bigEndian: false)
    mismatched.block(type: 6, body: [UInt8](repeating: 0, count: 24))
    var mismatchedBytes = mismatched.bytes
    mismatchedBytes[mismatchedBytes.count - 4] ^= 0x04
    // Then a length that is not a multiple of 4: there is no finding the next block after it.
    let broken: [UInt8] = [6, 0, 0, 0, 13, 0, 0, 0]
    var after = PcapngBuilder(bigEndian: false)
    after.enhancedPacket(interface: 0, timestampUnits: 3, frame: Frames.helloEthernet)

    let filePath = try writeFile("bad.pcapng", file.bytes + mismatchedBytes + broken + after.bytes)
    let (datagrams, counters) = try readCapture(filePath)
    XCTAssertEqual(datagrams, [Frames.helloDatagram(timestampNs: 2_000)])
    var expected = CaptureCounters()
    expected.datagrams = 1
    expected.malformedRecords = 3
    expected.truncatedByCaplen = 1
    expected.beyondSnapLength = 1  // the 47-byte EPB on a 40-byte interface
    XCTAssertEqual(counters, expected, counters.description)
  }

  func testFileEndingInsideABlockIsCounted() throws {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    file.interface(linkType: 1, snapLength: 65_535)
    file.enhancedPacket(interface: 0, timestampUnits: 7, frame: Frames.helloEthernet)
    let complete = file.bytes
    file.enhancedPacket(interface: 0, timestampUnits: 8, frame: Frames.helloEthernet)
    let cutPacket = Array(file.bytes.dropLast(9))
    var unknown = PcapngBuilder(bigEndian: false)
    unknown.block(type: 0x0000_0BAD, body: [UInt8](repeating: 1, count: 64))
    let cutUnknown = complete + unknown.bytes.prefix(40)

    for (name, bytes) in [("packet", cutPacket), ("unknown", cutUnknown)] {
      for chunk in [1, 1 << 20] {
        let (datagrams, counters) = try readCapture(try writeFile("\(name).pcapng", bytes), readChunkBytes: chunk)
        XCTAssertEqual(datagrams, [Frames.helloDatagram(timestampNs: 7_000)], name)
        XCTAssertEqual(counters.truncatedRecords, 1, name)
      }
    }
  }

  func testUnusableSectionHeaderThrows() throws {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    var badMagic = file.bytes
    badMagic[8] = 0x00
    for (name, bytes) in [("magic", badMagic), ("short", Array(file.bytes.prefix(20)))] {
      XCTAssertThrowsError(try PacketCaptureReader(file: try InputFile(path: try writeFile(name, bytes))), name) {
        guard case .malformedHeader? = $0 as? CaptureError else { return XCTFail("\(name): \($0)") }
      }
    }
  }

  func testBinaryAndDecimalResolutions() {
    func ns(_ resolution: UInt8, _ units: UInt64, offsetSeconds: Int64 = 0) -> UInt64 {
      PcapngInterface(
        linkType: 1, snapLength: 0, timestampResolution: resolution, timestampOffsetSeconds: offsetSeconds
      ).nanoseconds(fromUnits: units)
    }
    XCTAssertEqual(ns(6, 1_234_567), 1_234_567_000)
    XCTAssertEqual(ns(9, 1_234_567), 1_234_567)
    XCTAssertEqual(ns(12, 1_234_567), 1_234)  // picoseconds
    XCTAssertEqual(ns(0, 3), 3_000_000_000)
    XCTAssertEqual(ns(0x80, 3), 3_000_000_000)  // 2^0
    XCTAssertEqual(ns(0x81, 3), 1_500_000_000)  // halves
    XCTAssertEqual(ns(0x80 | 30, 1 << 30 | 1 << 29), 1_500_000_000)  // 2^-30 s units
    XCTAssertEqual(ns(0x80 | 64, 1 << 63), 500_000_000)
    XCTAssertEqual(ns(6, 5, offsetSeconds: -1), UInt64(bitPattern: 5_000 - 1_000_000_000))
    // Absurd resolutions from a corrupt file do not trap.
    _ = ns(127, .max)
    _ = ns(0xFF, .max)
    _ = ns(0, .max)
  }
}
