import Capture
import Foundation
import ITCH
import Replay
import XCTest

/// The day-file and capture paths into the core, on hand-built files: what is skipped is counted, what cannot be
/// read is refused with a clear error, and nothing traps.
final class FeedInputTests: DirectoryTestCase {

  private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  /// A 12-byte System Event ('S'), timestamp `ns`: [type][locate 2][tracking 2][timestamp 6][event code].
  private func systemEvent(ns: UInt64, code: UInt8 = UInt8(ascii: "O")) -> [UInt8] {
    var message: [UInt8] = [UInt8(ascii: "S"), 0, 0, 0, 0]
    for shift in stride(from: 40, through: 0, by: -8) { message.append(UInt8(truncatingIfNeeded: ns >> UInt64(shift))) }
    return message + [code]
  }

  private func frame(_ message: [UInt8]) -> [UInt8] {
    [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
  }

  private func datagrams(_ path: String, perPacket: Int = 20) throws -> ([[UInt8]], [UInt64], InputSummary) {
    var out: [[UInt8]] = []
    var stamps: [UInt64] = []
    let summary = try FeedInput.forEachDatagram(path: path, messagesPerPacket: perPacket) { datagram, ns in
      out.append(Array(datagram))
      stamps.append(ns)
    }
    return (out, stamps, summary)
  }

  /// The junk that used to trap: a length prefix longer than a whole datagram is counted and skipped by it.
  func testMessageLongerThanADatagramIsCountedAndSkipped() throws {
    let first = systemEvent(ns: 7)
    let last = systemEvent(ns: 9, code: UInt8(ascii: "C"))
    // A 1,400-byte datagram carries at most 1,400 - 20 (header) - 2 (length) = 1,378 bytes of message.
    let huge = [UInt8](repeating: 0x41, count: 1_379)
    let path = try write("oversized.itch", frame(first) + frame(huge) + frame(last))
    let (out, stamps, summary) = try datagrams(path)
    XCTAssertEqual(summary.oversizedMessages, 1)
    XCTAssertEqual(summary.messages, 2)
    XCTAssertEqual(summary.datagrams, 1)
    XCTAssertEqual(stamps, [7])
    // Header: session "QUOTECAST " (10 bytes), sequence 1, count 2; then both 12-byte frames.
    XCTAssertEqual(out, [Array("QUOTECAST ".utf8) + [0, 0, 0, 0, 0, 0, 0, 1, 0, 2] + frame(first) + frame(last)])
    XCTAssertEqual(summary.anomalies.first { $0.name == "oversized_messages" }?.value, 1)
  }

  /// 1,378 bytes still fits: 20 + 2 + 1,378 = 1,400.
  func testLongestMessageThatFitsGoesOut() throws {
    let longest = [UInt8](repeating: 0x41, count: 1_378)
    let path = try write("longest.itch", frame(systemEvent(ns: 1)) + frame(longest))
    let (out, _, summary) = try datagrams(path)
    XCTAssertEqual(summary.oversizedMessages, 0)
    XCTAssertEqual(out.map(\.count), [34, 1_400])
  }

  func testTruncatedDayFileReportsTheOffset() throws {
    let path = try write("cut.itch", frame(systemEvent(ns: 1)) + [0x00, 0x0C, 0x53, 0, 0])
    let (out, _, summary) = try datagrams(path)
    XCTAssertEqual(out.count, 1)
    XCTAssertEqual(summary.messages, 1)
    XCTAssertEqual(summary.truncatedAtOffset, 14)
    XCTAssertEqual(summary.capture.truncatedRecords, 1)
  }

  func testDetectionNamesWhatItFound() throws {
    XCTAssertEqual(try InputDetection.detect(path: try write("day", frame(systemEvent(ns: 1)))).format, .dayFile)
    let pcap = try write("a.pcap", [0xD4, 0xC3, 0xB2, 0xA1] + [UInt8](repeating: 0, count: 20))
    XCTAssertEqual(try InputDetection.detect(path: pcap).format, .pcap)
    XCTAssertEqual(InputDetection.describe(.pcap, gzip: true), "gzip-compressed pcap")
    // An end-of-session frame alone is a (short) day file.
    XCTAssertEqual(try InputDetection.detect(path: try write("eos", [0, 0])).format, .dayFile)
  }

  func testEmptyAndUnrecognisedFilesAreRefused() throws {
    let empty = try write("empty", [])
    XCTAssertThrowsError(try datagrams(empty)) { error in
      XCTAssertEqual(error as? FeedInputError, .empty(path: empty))
      XCTAssertTrue("\(error)".contains("pcapng"), "names the formats it accepts: \(error)")
    }
    // 'S' with length 13 is not a System Event; nor is an unknown type 'z' with any length.
    for junk: [UInt8] in [[0x00, 0x0D, 0x53, 1, 2], [0x00, 0x0C, 0x7A], [0xFF, 0xFF], [0x01]] {
      let path = try write("junk", junk)
      XCTAssertThrowsError(try datagrams(path)) { error in
        guard case .unrecognized = error as? FeedInputError else { return XCTFail("\(junk): \(error)") }
        XCTAssertTrue("\(error)".contains("is not a feed file"))
      }
    }
  }

  func testCutGzipEndsWithAClearErrorAfterWhatWasRead() throws {
    let path = directory + "/day.itch.gz"
    let writer = try DayFileWriter(path: path)
    // Varied messages so the stream is long enough to cut in the middle.
    for n in 0..<20_000 {
      try systemEvent(ns: UInt64(n) &* 2_654_435_761).withUnsafeBytes { try writer.write(message: $0) }
    }
    try writer.close()
    let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let cut = try write("cut.itch.gz", Array(whole[0..<(whole.count / 2)]))
    var seen: UInt64 = 0
    XCTAssertThrowsError(try FeedInput.forEachDatagram(path: cut, messagesPerPacket: 20) { _, _ in seen += 1 }) {
      error in
      guard case .damaged(_, let after, let reason) = error as? FeedInputError else { return XCTFail("\(error)") }
      XCTAssertTrue(reason.contains("gzip"), reason)
      XCTAssertTrue(after.hasSuffix("messages"), after)
    }
    XCTAssertGreaterThan(seen, 0, "the datagrams before the damage were handed out")
    let (_, _, whole_) = try datagrams(path)
    XCTAssertEqual(whole_.gzip, true)
    XCTAssertEqual(whole_.messages, 20_000)
    XCTAssertEqual(whole_.formatDescription, "gzip-compressed day file")
  }
}
