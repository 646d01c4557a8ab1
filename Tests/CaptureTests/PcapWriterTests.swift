import Foundation
import Synth
import XCTest

@testable import Capture

final class PcapWriterTests: CaptureTestCase {
  func testWritesExactBytesForAMulticastDatagram() throws {
    let filePath = path("one.pcap")
    let writer = try PcapWriter(path: filePath)
    try Frames.hello.withUnsafeBytes {
      try writer.write(
        timestampNs: 1_700_000_000_123_456_789, sourceAddress: 0x0A00_0001, sourcePort: 12345,
        destinationAddress: 0xE936_0C6F, destinationPort: 26477, payload: $0)
    }
    try writer.close()
    let fileHeader: [UInt8] = [
      0x4D, 0x3C, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    ]
    // 1,700,000,000 s = 0x6553F100; 123,456,789 ns = 0x075BCD15; 47 bytes captured and on the wire.
    let recordHeader: [UInt8] = [
      0x00, 0xF1, 0x53, 0x65, 0x15, 0xCD, 0x5B, 0x07, 0x2F, 0x00, 0x00, 0x00, 0x2F, 0x00, 0x00, 0x00,
    ]
    // 233.54.12.111 → 01:00:5e + 0x36 0x0c 0x6f; our source MAC 02:00:00:00:00:02.
    let ethernet: [UInt8] = [0x01, 0x00, 0x5E, 0x36, 0x0C, 0x6F, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00]
    // Same as Frames.helloIPv4: TTL 1, identification 0, DF clear, checksum 0xBA26, UDP checksum 0.
    XCTAssertEqual(try readFile(filePath), fileHeader + recordHeader + ethernet + Frames.helloIPv4)
  }

  func testAFullDiskIsReportedNotLost() throws {
    // /dev/full refuses every write with ENOSPC. The writer thread meets it; the caller hears of it
    // at the next buffer handed over or at close, never not at all, plain and gzip alike (the
    // gzip case through a link whose name ends in .gz).
    let gzipPath = path("full.pcap.gz")
    try FileManager.default.createSymbolicLink(atPath: gzipPath, withDestinationPath: "/dev/full")
    for target in ["/dev/full", gzipPath] {
      let writer = try PcapWriter(path: target)
      var payload = [UInt8](repeating: 0, count: 1_400)
      var failure: Error?
      for index in 0..<3_000 where failure == nil {
        // Varied bytes, so deflate has output to write well before close.
        for offset in payload.indices { payload[offset] = UInt8(truncatingIfNeeded: (index &* 131) ^ (offset &* 7)) }
        do {
          try payload.withUnsafeBytes {
            try writer.write(
              timestampNs: 1, sourceAddress: 0x7F00_0001, sourcePort: 1, destinationAddress: 0xE936_0C6F,
              destinationPort: 2, payload: $0)
          }
        } catch { failure = error }
      }
      if failure == nil {
        do { try writer.close() } catch { failure = error }
      } else {
        try? writer.close()
      }
      XCTAssertEqual(failure as? CaptureError, .write(path: target, errno: ENOSPC), target)
    }
  }

  func testUnicastFrameLayoutAndChecksum() throws {
    let filePath = path("unicast.pcap")
    let writer = try PcapWriter(path: filePath)
    let payload: [UInt8] = Array("ABCDEF".utf8)
    try payload.withUnsafeBytes {
      try writer.write(
        timestampNs: 42, sourceAddress: 0x7F00_0001, sourcePort: 1, destinationAddress: 0x7F00_0002,
        destinationPort: 2, payload: $0)
    }
    // A group whose 24th bit is set: only the low 23 bits go into the MAC (239.255.0.1 → 01:00:5e:7f:00:01).
    try [UInt8]().withUnsafeBytes {
      try writer.write(
        timestampNs: 43, sourceAddress: 0x7F00_0001, sourcePort: 1, destinationAddress: 0xEFFF_0001,
        destinationPort: 2, payload: $0)
    }
    try writer.close()
    let bytes = try readFile(filePath)
    let frame = Array(bytes[40..<(40 + 14 + 20 + 8 + 6)])
    XCTAssertEqual(Array(frame[0..<12]), [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02])
    let ip = Array(frame[14..<34])
    XCTAssertEqual(ip[0], 0x45)
    XCTAssertEqual(Array(ip[2..<4]), [0x00, 0x22])  // 20 + 8 + 6
    XCTAssertEqual(Array(ip[4..<8]), [0, 0, 0, 0])  // identification 0, no flags
    XCTAssertEqual(ip[8], 1)  // TTL
    XCTAssertEqual(ip[9], 17)
    // By hand: 4500+0022+0111+7F00+0001+7F00+0002 = 0x14436 → 0x4437 → ~ = 0xBBC8; and by the test's own sum.
    let recomputed = Frames.ipv4Checksum(ip)
    XCTAssertEqual(UInt16(ip[10]) << 8 | UInt16(ip[11]), recomputed)
    XCTAssertEqual(recomputed, 0xBBC8)
    XCTAssertEqual(Array(frame[34..<42]), [0x00, 0x01, 0x00, 0x02, 0x00, 0x0E, 0x00, 0x00])
    XCTAssertEqual(Array(frame[42...]), payload)

    let secondFrame = Array(bytes[(40 + 48 + 16)...])
    XCTAssertEqual(Array(secondFrame[0..<6]), [0x01, 0x00, 0x5E, 0x7F, 0x00, 0x01])
    XCTAssertEqual(secondFrame.count, 14 + 20 + 8)
  }

  func testRoundTripThroughTheReader() throws {
    var random = SplitMix64(seed: 99)
    var written: [Datagram] = []
    var timestampNs: UInt64 = 1_600_000_000_000_000_000
    // About 2 MB, so the 1 MiB write buffer is flushed several times.
    for index in 0..<3_000 {
      timestampNs += random.next() % 5_000_000
      let payload = (0..<Int(random.next() % 1_400)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
      written.append(
        Datagram(
          timestampNs: timestampNs, sourceAddress: 0x0A00_0000 | UInt32(index % 7),
          sourcePort: UInt16(truncatingIfNeeded: 40_000 + index), destinationAddress: 0xE900_0000 | UInt32(index % 3),
          destinationPort: UInt16(26_400 + index % 5), payload: payload))
    }
    for name in ["trip.pcap", "trip.pcap.gz"] {
      let writer = try PcapWriter(path: path(name))
      for datagram in written {
        try datagram.payload.withUnsafeBytes {
          try writer.write(
            timestampNs: datagram.timestampNs, sourceAddress: datagram.sourceAddress,
            sourcePort: datagram.sourcePort, destinationAddress: datagram.destinationAddress,
            destinationPort: datagram.destinationPort, payload: $0)
        }
      }
      try writer.close()
      let (read, counters) = try readCapture(path(name))
      XCTAssertEqual(read.count, written.count, name)
      XCTAssertTrue(read == written, name)
      XCTAssertEqual(counters.datagrams, UInt64(written.count), name)
    }
  }

  func testIdenticalCallsGiveIdenticalFiles() throws {
    func writeSample(_ name: String) throws -> [UInt8] {
      let writer = try PcapWriter(path: path(name))
      for index in 0..<50 {
        let payload = [UInt8](repeating: UInt8(index), count: index * 3)
        try payload.withUnsafeBytes {
          try writer.write(
            timestampNs: UInt64(index) * 1_000_003, sourceAddress: 0x0A00_0001, sourcePort: 5,
            destinationAddress: 0xE936_0C6F, destinationPort: 6, payload: $0)
        }
      }
      try writer.close()
      return try readFile(path(name))
    }
    let first = try writeSample("a.pcap")
    XCTAssertEqual(first.count, 24 + 50 * (16 + 42) + 3 * (49 * 50 / 2))
    XCTAssertEqual(first, try writeSample("b.pcap"))
    XCTAssertEqual(try writeSample("a.pcap.gz").count > 0, true)
    XCTAssertEqual(try writeSample("a.pcap.gz"), try writeSample("b.pcap.gz"))
  }

  func testRejectsWhatPcapCannotCarry() throws {
    let writer = try PcapWriter(path: path("reject.pcap"))
    let tooBig = [UInt8](repeating: 0, count: PcapWriter.maxPayloadBytes + 1)
    XCTAssertThrowsError(
      try tooBig.withUnsafeBytes {
        try writer.write(
          timestampNs: 0, sourceAddress: 1, sourcePort: 1, destinationAddress: 2, destinationPort: 2, payload: $0)
      })
    XCTAssertThrowsError(
      try [UInt8]().withUnsafeBytes {
        try writer.write(
          timestampNs: (UInt64(UInt32.max) + 1) * 1_000_000_000, sourceAddress: 1, sourcePort: 1,
          destinationAddress: 2, destinationPort: 2, payload: $0)
      })
    let largest = [UInt8](repeating: 7, count: PcapWriter.maxPayloadBytes)
    try largest.withUnsafeBytes {
      try writer.write(
        timestampNs: 0, sourceAddress: 1, sourcePort: 1, destinationAddress: 2, destinationPort: 2, payload: $0)
    }
    try writer.close()
    let (read, _) = try readCapture(path("reject.pcap"))
    XCTAssertEqual(read.map(\.payload), [largest])
  }
}
