import Capture
import Foundation
import XCTest

@testable import Replay

/// Reading on a second thread hands the core exactly what reading inline does: the same datagrams,
/// stamps and summary, the same error after the same datagrams, and it stops when the core does.
final class ReadAheadInputTests: DirectoryTestCase {
  /// A day file of `count` varied system events (14 bytes framed), larger than the ring when asked.
  private func day(_ name: String, count: Int) throws -> String {
    let path = directory + "/" + name
    let writer = try DayFileWriter(path: path)
    for n in 0..<count {
      let ns = UInt64(n) &* 2_654_435_761
      var message: [UInt8] = [UInt8(ascii: "S"), 0, 0, 0, 0]
      for shift in stride(from: 40, through: 0, by: -8) {
        message.append(UInt8(truncatingIfNeeded: ns >> UInt64(shift)))
      }
      message.append(UInt8(ascii: "O"))
      try message.withUnsafeBytes { try writer.write(message: $0) }
    }
    try writer.close()
    return path
  }

  private typealias Read = (UnsafeRawBufferPointer, UInt64) throws -> Void
  private typealias Reader = (String, Int, Read) throws -> InputSummary

  private func collect(_ path: String, _ reader: Reader) -> (
    datagrams: [[UInt8]], stamps: [UInt64], Result<InputSummary, Error>
  ) {
    var datagrams: [[UInt8]] = []
    var stamps: [UInt64] = []
    let result = Result {
      try reader(path, 20) { datagram, ns in
        datagrams.append(Array(datagram))
        stamps.append(ns)
      }
    }
    return (datagrams, stamps, result)
  }

  private let inline: Reader = { try FeedInput.forEachDatagram(path: $0, messagesPerPacket: $1, $2) }
  private let readAhead: Reader = { try ReadAheadInput.forEachDatagram(path: $0, messagesPerPacket: $1, $2) }

  func testTheSameDatagramsStampsAndSummaryAsReadingInline() throws {
    // 400,000 messages: 5.6 MB of datagrams, more than the 4 MiB ring, so the reader waits on it.
    let path = try day("day.itch", count: 400_000)
    let (expectedDatagrams, expectedStamps, expected) = collect(path, inline)
    let (datagrams, stamps, got) = collect(path, readAhead)
    XCTAssertEqual(datagrams.count, 20_000)
    XCTAssertEqual(datagrams, expectedDatagrams)
    XCTAssertEqual(stamps, expectedStamps)
    let summary = try got.get()
    XCTAssertEqual(summary.messages, try expected.get().messages)
    XCTAssertEqual(summary.datagrams, try expected.get().datagrams)
    XCTAssertEqual(summary.formatDescription, try expected.get().formatDescription)
  }

  func testADamagedFileEndsWithTheSameErrorAfterTheSameDatagrams() throws {
    let whole = try Data(contentsOf: URL(fileURLWithPath: try day("day.itch.gz", count: 20_000)))
    let cut = directory + "/cut.itch.gz"
    try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
    let (expectedDatagrams, _, expected) = collect(cut, inline)
    let (datagrams, _, got) = collect(cut, readAhead)
    XCTAssertGreaterThan(datagrams.count, 0)
    XCTAssertEqual(datagrams, expectedDatagrams)
    XCTAssertThrowsError(try expected.get())
    XCTAssertThrowsError(try got.get()) { error in
      XCTAssertEqual("\(error)", "\(expected.failureValue!)")
    }
  }

  func testTheReaderStopsWhenTheCallerDoes() throws {
    struct Enough: Error {}
    let path = try day("day.itch", count: 400_000)
    var seen = 0
    XCTAssertThrowsError(
      try ReadAheadInput.forEachDatagram(path: path, messagesPerPacket: 20) { _, _ in
        seen += 1
        if seen == 5 { throw Enough() }
      }
    ) { error in XCTAssertTrue(error is Enough, "\(error)") }
    XCTAssertEqual(seen, 5, "nothing is handed out after the caller's error")
  }
}

extension Result {
  fileprivate var failureValue: Failure? {
    if case .failure(let error) = self { return error }
    return nil
  }
}
