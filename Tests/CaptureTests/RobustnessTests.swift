import Synth
import XCTest

@testable import Capture

/// Truncations and random single-byte mutations of small valid captures: the reader may count, skip or throw,
/// but it must not crash, and every payload it yields must lie inside the record it came from.
final class RobustnessTests: CaptureTestCase {
  static func samplePcap() -> [UInt8] {
    var pcap = PcapBuilder(bigEndian: false, nanosecond: true, linkType: 1)
    pcap.record(seconds: 1, fraction: 1, frame: Frames.helloEthernet)
    pcap.record(
      seconds: 2, fraction: 2, frame: Frames.ethernet(vlanTags: [[0x81, 0x00, 0x00, 0x05]]) + Frames.helloIPv4)
    pcap.record(seconds: 3, fraction: 3, frame: Frames.ethernet() + Frames.ipv4(payload: [1, 2, 3]) + [0, 0, 0, 0])
    return pcap.bytes
  }

  static func samplePcapng() -> [UInt8] {
    var file = PcapngBuilder(bigEndian: false)
    file.sectionHeader()
    file.interface(linkType: 1, snapLength: 65_535, options: [(9, [9])])
    file.interface(linkType: 113, snapLength: 0)
    file.enhancedPacket(interface: 0, timestampUnits: 11, frame: Frames.helloEthernet)
    let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00]
    file.enhancedPacket(interface: 1, timestampUnits: 12, frame: sll + Frames.helloIPv4)
    file.block(type: 0x0000_0BAD, body: [1, 2, 3])
    file.simplePacket(frame: Frames.helloEthernet)
    return file.bytes
  }

  /// Reads everything, checking each payload against the record bounds; returns the datagrams, or nil if the
  /// reader threw (allowed for a damaged file header).
  func checkedRead(_ filePath: String, file bytes: [UInt8]) throws -> [Datagram]? {
    guard var reader = try? PacketCaptureReader(file: try InputFile(path: filePath)) else { return nil }
    var datagrams: [Datagram] = []
    while let datagram = try reader.next() {
      let record = reader.lastRecord
      let payload = datagram.payload
      guard let recordStart = record.baseAddress, let payloadStart = payload.baseAddress else {
        XCTFail("payload or record without an address")
        return datagrams
      }
      XCTAssertTrue(payloadStart >= recordStart, "payload starts before its record")
      XCTAssertTrue(payloadStart + payload.count <= recordStart + record.count, "payload runs past its record")
      XCTAssertLessThanOrEqual(record.count, bytes.count)
      datagrams.append(Datagram(datagram))
    }
    return datagrams
  }

  func testEveryTruncationYieldsAPrefixOfTheDatagrams() throws {
    for (name, bytes) in [("pcap", Self.samplePcap()), ("pcapng", Self.samplePcapng())] {
      let full = try XCTUnwrap(try checkedRead(try writeFile("full.\(name)", bytes), file: bytes))
      XCTAssertEqual(full.count, 3, name)
      let filePath = path("cut.\(name)")
      for length in 0..<bytes.count {
        let cut = Array(bytes.prefix(length))
        try writeFile("cut.\(name)", cut)
        guard let datagrams = try checkedRead(filePath, file: cut) else { continue }
        XCTAssertLessThan(datagrams.count, full.count, "\(name) cut at \(length)")
        XCTAssertEqual(datagrams, Array(full.prefix(datagrams.count)), "\(name) cut at \(length)")
      }
    }
  }

  func testRandomSingleByteMutationsNeverEscapeTheRecord() throws {
    var random = SplitMix64(seed: 0x5EED)
    var yielded = 0
    for (name, original) in [("pcap", Self.samplePcap()), ("pcapng", Self.samplePcapng())] {
      let filePath = path("mutant.\(name)")
      for _ in 0..<2_000 {
        var bytes = original
        let position = Int(random.next() % UInt64(bytes.count))
        bytes[position] ^= UInt8(1 + random.next() % 255)  // always a change
        try writeFile("mutant.\(name)", bytes)
        yielded += try checkedRead(filePath, file: bytes)?.count ?? 0
      }
    }
    // Most single-byte changes leave most datagrams readable: the loop really exercised the decoder.
    XCTAssertGreaterThan(yielded, 4_000)
  }
}
