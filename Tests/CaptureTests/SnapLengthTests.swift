import XCTest

@testable import Capture

/// A record longer than its snap length should not exist: it is read anyway, as libpcap does (the IP and UDP
/// lengths bound the payload), and counted, so a damaged length shows.
final class SnapLengthTests: CaptureTestCase {
  func testClassicRecordBeyondTheSnapLengthIsCounted() throws {
    let snap = UInt32(Frames.helloEthernet.count)
    var pcap = PcapBuilder(bigEndian: false, nanosecond: false, linkType: 1, snapLength: snap)
    pcap.record(seconds: 1, fraction: 0, frame: Frames.helloEthernet)
    pcap.record(seconds: 2, fraction: 0, frame: Frames.helloEthernet + [0xEE])  // one byte past the snap length
    pcap.record(seconds: 3, fraction: 0, frame: Frames.helloEthernet)
    let (datagrams, counters) = try readCapture(try writeFile("snap.pcap", pcap.bytes))
    XCTAssertEqual(datagrams.map(\.timestampNs), [1_000_000_000, 2_000_000_000, 3_000_000_000])
    XCTAssertEqual(counters.beyondSnapLength, 1)
    XCTAssertEqual(counters.truncatedRecords, 0)
  }

  func testALengthThatRunsPastTheFileEndsItAsTruncated() throws {
    var pcap = PcapBuilder(bigEndian: false, nanosecond: false, linkType: 1, snapLength: 100)
    pcap.record(seconds: 1, fraction: 0, frame: Frames.helloEthernet)
    // A record header claiming 96 captured bytes (within the snap length), then 3 bytes and the end of the file.
    let bytes = pcap.bytes + [2, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 96, 0, 0, 0, 1, 2, 3]
    let (datagrams, counters) = try readCapture(try writeFile("cut.pcap", bytes))
    XCTAssertEqual(datagrams.count, 1)
    XCTAssertEqual(counters.beyondSnapLength, 0)
    XCTAssertEqual(counters.truncatedRecords, 1)
  }

  func testEnhancedPacketBeyondItsInterfaceSnapLengthIsCounted() throws {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    file.interface(linkType: 1, snapLength: UInt32(Frames.helloEthernet.count - 1))
    file.interface(linkType: 1, snapLength: 0)  // 0: no limit
    file.enhancedPacket(interface: 0, timestampUnits: 1, frame: Frames.helloEthernet)
    file.enhancedPacket(interface: 1, timestampUnits: 2, frame: Frames.helloEthernet)
    let (datagrams, counters) = try readCapture(try writeFile("snap.pcapng", file.bytes))
    XCTAssertEqual(datagrams.map(\.timestampNs), [1_000, 2_000])
    XCTAssertEqual(counters.beyondSnapLength, 1)
  }
}
