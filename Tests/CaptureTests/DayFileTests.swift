import Synth
import Foundation
import XCTest

@testable import Capture

final class DayFileTests: CaptureTestCase {
  /// A 300-byte message, so the length prefix's high byte (0x01) matters too.
  static let longMessage: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
  static let messages: [[UInt8]] = [
    Array("ABC".utf8),
    [0x58],
    // System Event 'S', locate 0, tracking 0, timestamp 0x000102030405, event 'O'.
    [0x53, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x4F],
    longMessage,
  ]
  /// The same messages framed by hand.
  static let fileBytes: [UInt8] =
    [0x00, 0x03, 0x41, 0x42, 0x43]
    + [0x00, 0x01, 0x58]
    + [0x00, 0x0C, 0x53, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x4F]
    + [0x01, 0x2C] + longMessage

  func testReadsHandBuiltFrames() throws {
    let filePath = try writeFile("day.itch", Self.fileBytes)
    let (messages, reader) = try readDayFile(filePath)
    XCTAssertEqual(messages, Self.messages)
    XCTAssertEqual(reader.messagesRead, 4)
    XCTAssertFalse(reader.endOfSession)
    XCTAssertEqual(reader.counters, CaptureCounters())
  }

  func testEveryTinyReadChunkGivesTheSameMessages() throws {
    let filePath = try writeFile("day.itch", Self.fileBytes + [0x00, 0x00])
    for chunk in 1...9 {
      let (messages, reader) = try readDayFile(filePath, readChunkBytes: chunk)
      XCTAssertEqual(messages, Self.messages, "readChunkBytes \(chunk)")
      XCTAssertTrue(reader.endOfSession, "readChunkBytes \(chunk)")
    }
  }

  func testZeroLengthFrameEndsTheSession() throws {
    // A frame after the end-of-session mark is never returned.
    let filePath = try writeFile("day.itch", [0x00, 0x01, 0x41, 0x00, 0x00, 0x00, 0x01, 0x42])
    var reader = DayFileReader(file: try InputFile(path: filePath))
    XCTAssertEqual(try reader.next().map { [UInt8]($0) }, [0x41])
    XCTAssertNil(try reader.next())
    XCTAssertTrue(reader.endOfSession)
    XCTAssertNil(try reader.next())
    XCTAssertEqual(reader.messagesRead, 1)
  }

  func testTruncatedTailIsCounted() throws {
    // Cut inside the body of the last frame, and inside its length prefix.
    for (name, tail) in [("body", [0x00, 0x05, 0x41, 0x42] as [UInt8]), ("prefix", [0x00])] {
      let filePath = try writeFile("cut-\(name).itch", [0x00, 0x02, 0x41, 0x42] + tail)
      for chunk in [1, 3, 1 << 20] {
        let (messages, reader) = try readDayFile(filePath, readChunkBytes: chunk)
        XCTAssertEqual(messages, [[0x41, 0x42]], "\(name) \(chunk)")
        XCTAssertEqual(reader.counters.truncatedRecords, 1, "\(name) \(chunk)")
        XCTAssertFalse(reader.endOfSession)
      }
    }
  }

  func testEmptyFileHasNoMessages() throws {
    let (messages, reader) = try readDayFile(try writeFile("empty.itch", []))
    XCTAssertEqual(messages, [])
    XCTAssertEqual(reader.counters, CaptureCounters())
    XCTAssertFalse(reader.endOfSession)
  }

  func testWriterProducesExactFrames() throws {
    let filePath = path("out.itch")
    let writer = try DayFileWriter(path: filePath)
    for message in Self.messages { try message.withUnsafeBytes { try writer.write(message: $0) } }
    try writer.writeEndOfSession()
    try writer.close()
    try writer.close()  // a second close is harmless
    XCTAssertEqual(try readFile(filePath), Self.fileBytes + [0x00, 0x00])
    XCTAssertEqual(writer.messagesWritten, 4)
  }

  func testWriterRejectsEmptyAndOversizedMessages() throws {
    let writer = try DayFileWriter(path: path("bad.itch"))
    XCTAssertThrowsError(try [UInt8]().withUnsafeBytes { try writer.write(message: $0) })
    XCTAssertThrowsError(try [UInt8](repeating: 1, count: 65_536).withUnsafeBytes { try writer.write(message: $0) })
    XCTAssertNoThrow(try [UInt8](repeating: 1, count: 65_535).withUnsafeBytes { try writer.write(message: $0) })
    try writer.close()
    XCTAssertThrowsError(try [UInt8](repeating: 1, count: 3).withUnsafeBytes { try writer.write(message: $0) })
  }

  /// Enough messages (about 2.4 MB) to refill the reader's 256 KiB buffer and the writer's 1 MiB buffer many times.
  static func manyMessages(count: Int = 40_000, seed: UInt64 = 7) -> [[UInt8]] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { index in
      let length = 1 + Int(random.next() % 120)
      return (0..<length).map { UInt8(truncatingIfNeeded: index &+ $0 &* 31) }
    }
  }

  func testLargeFileRoundTripsThroughBufferRefills() throws {
    let messages = Self.manyMessages()
    for name in ["big.itch", "big.itch.gz"] {
      let filePath = path(name)
      let writer = try DayFileWriter(path: filePath)
      for message in messages { try message.withUnsafeBytes { try writer.write(message: $0) } }
      try writer.writeEndOfSession()
      try writer.close()
      for chunk in [4093, 1 << 20] {
        let (read, reader) = try readDayFile(filePath, readChunkBytes: chunk)
        XCTAssertEqual(read.count, messages.count, "\(name) \(chunk)")
        XCTAssertTrue(read == messages, "\(name) \(chunk)")
        XCTAssertTrue(reader.endOfSession)
      }
    }
  }
}

final class GzipTests: CaptureTestCase {
  func testGzipRoundTripThroughDayFileWriter() throws {
    let filePath = path("day.itch.gz")
    let writer = try DayFileWriter(path: filePath)
    for message in DayFileTests.messages { try message.withUnsafeBytes { try writer.write(message: $0) } }
    try writer.writeEndOfSession()
    try writer.close()
    let bytes = try readFile(filePath)
    XCTAssertEqual(Array(bytes.prefix(3)), [0x1F, 0x8B, 0x08], "gzip magic and deflate method")
    XCTAssertNotEqual(bytes, DayFileTests.fileBytes + [0, 0])
    XCTAssertTrue(try InputFile(path: filePath).isGzip)
    for chunk in [1, 2, 3, 5, 8, 1 << 20] {
      let (messages, reader) = try readDayFile(filePath, readChunkBytes: chunk)
      XCTAssertEqual(messages, DayFileTests.messages, "readChunkBytes \(chunk)")
      XCTAssertTrue(reader.endOfSession)
    }
  }

  func testGzipWrittenByTheGzipTool() throws {
    let tool = ["/bin/gzip", "/usr/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let tool else { throw XCTSkip("no gzip command-line tool") }
    let plainPath = try writeFile("tool.itch", DayFileTests.fileBytes + [0x00, 0x00])
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = ["-9", "-k", plainPath]
    try process.run()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    for chunk in [1, 7, 1 << 20] {
      let (messages, reader) = try readDayFile(plainPath + ".gz", readChunkBytes: chunk)
      XCTAssertEqual(messages, DayFileTests.messages, "readChunkBytes \(chunk)")
      XCTAssertTrue(reader.endOfSession)
    }
  }

  func testConcatenatedGzipMembersReadAsOneStream() throws {
    func gzipped(_ messages: [[UInt8]], _ name: String) throws -> [UInt8] {
      let writer = try DayFileWriter(path: path(name))
      for message in messages { try message.withUnsafeBytes { try writer.write(message: $0) } }
      try writer.close()
      return try readFile(path(name))
    }
    let first = try gzipped(Array(DayFileTests.messages.prefix(2)), "a.gz")
    let second = try gzipped(Array(DayFileTests.messages.suffix(2)), "b.gz")
    let joined = try writeFile("joined.itch", first + second)
    for chunk in [1, 4, 1 << 20] {
      XCTAssertEqual(try readDayFile(joined, readChunkBytes: chunk).messages, DayFileTests.messages, "\(chunk)")
    }
  }

  /// A payload that compresses to something of a size worth cutting and corrupting.
  static func sizeablePlainDayFile() -> [UInt8] {
    var bytes: [UInt8] = []
    for message in DayFileTests.manyMessages(count: 3_000, seed: 11) {
      bytes += [UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }
    return bytes
  }

  func testCorruptGzipThrowsGzipError() throws {
    let plain = try writeFile("plain.itch", Self.sizeablePlainDayFile())
    let writer = try DayFileWriter(path: path("good.itch.gz"))
    let (messages, _) = try readDayFile(plain)
    for message in messages { try message.withUnsafeBytes { try writer.write(message: $0) } }
    try writer.close()
    var bytes = try readFile(path("good.itch.gz"))
    XCTAssertGreaterThan(bytes.count, 1_000)
    for offset in bytes.count / 2..<bytes.count / 2 + 4 { bytes[offset] ^= 0xA5 }
    let corrupt = try writeFile("corrupt.itch.gz", bytes)
    for chunk in [1, 64, 1 << 20] {
      var reader = DayFileReader(file: try InputFile(path: corrupt, readChunkBytes: chunk))
      var thrown: Error?
      do {
        while try reader.next() != nil {}
      } catch {
        thrown = error
      }
      guard case .gzip(let message)? = thrown as? CaptureError else {
        return XCTFail("expected CaptureError.gzip, got \(String(describing: thrown)) (chunk \(chunk))")
      }
      XCTAssertFalse(message.isEmpty)
    }
  }

  func testTruncatedGzipReturnsEveryDecodedByteThenThrows() throws {
    let original = Self.sizeablePlainDayFile()
    let plainPath = try writeFile("plain.itch", original)
    let writer = try DayFileWriter(path: path("full.itch.gz"))
    for message in try readDayFile(plainPath).messages {
      try message.withUnsafeBytes { try writer.write(message: $0) }
    }
    try writer.close()
    let compressed = try readFile(path("full.itch.gz"))
    let cut = try writeFile("cut.itch.gz", Array(compressed.prefix(compressed.count / 2)))

    var decodedCounts: [Int] = []
    for chunk in [1, 13, 1 << 20] {
      let file = try InputFile(path: cut, readChunkBytes: chunk)
      var decoded: [UInt8] = []
      var scratch = [UInt8](repeating: 0, count: 4096)
      var thrown: Error?
      do {
        while true {
          let got = try scratch.withUnsafeMutableBytes { try file.read(into: $0) }
          if got == 0 { break }
          decoded += scratch.prefix(got)
        }
      } catch {
        thrown = error
      }
      guard case .gzip? = thrown as? CaptureError else {
        return XCTFail("expected CaptureError.gzip, got \(String(describing: thrown))")
      }
      // The error repeats rather than turning into a clean end of file.
      XCTAssertThrowsError(try scratch.withUnsafeMutableBytes { try file.read(into: $0) })
      XCTAssertGreaterThan(decoded.count, original.count / 4)
      XCTAssertEqual(decoded, Array(original.prefix(decoded.count)))
      decodedCounts.append(decoded.count)
    }
    // However the input was chopped, the same bytes came out before the error.
    XCTAssertEqual(Set(decodedCounts).count, 1, "\(decodedCounts)")

    // At the day-file level: whole messages before the damage, then the error.
    var reader = DayFileReader(file: try InputFile(path: cut))
    var messages: [[UInt8]] = []
    XCTAssertThrowsError(try { while let message = try reader.next() { messages.append([UInt8](message)) } }())
    let expected = try readDayFile(plainPath).messages
    XCTAssertGreaterThan(messages.count, 0)
    XCTAssertEqual(messages, Array(expected.prefix(messages.count)))
  }
}

final class InputFileTests: CaptureTestCase {
  func testMissingFileThrowsOpenErrorNamingThePath() throws {
    let missing = path("no-such-file.itch")
    XCTAssertThrowsError(try InputFile(path: missing)) { error in
      XCTAssertEqual(error as? CaptureError, .open(path: missing, errno: ENOENT))
      let text = "\(error)"
      XCTAssertTrue(text.contains(missing), text)
      XCTAssertTrue(text.contains("No such file"), text)
    }
  }

  func testPlainFileReadsInChunksOfAtMostReadChunkBytes() throws {
    let bytes: [UInt8] = Array(0..<10)
    let file = try InputFile(path: try writeFile("plain.bin", bytes), readChunkBytes: 3)
    XCTAssertFalse(file.isGzip)
    var sizes: [Int] = []
    var collected: [UInt8] = []
    var scratch = [UInt8](repeating: 0, count: 8)
    while true {
      let got = try scratch.withUnsafeMutableBytes { try file.read(into: $0) }
      if got == 0 { break }
      sizes.append(got)
      collected += scratch.prefix(got)
    }
    XCTAssertEqual(collected, bytes)
    XCTAssertTrue(sizes.allSatisfy { $0 <= 3 }, "\(sizes)")
  }

  func testDetectsFormatsFromFirstBytes() throws {
    XCTAssertEqual(InputFormat.detect(firstBytes: [0xA1, 0xB2, 0xC3, 0xD4]), .pcap)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0xD4, 0xC3, 0xB2, 0xA1]), .pcap)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0xA1, 0xB2, 0x3C, 0x4D]), .pcap)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0x4D, 0x3C, 0xB2, 0xA1, 0x02]), .pcap)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0x0A, 0x0D, 0x0D, 0x0A]), .pcapng)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0x00, 0x0C, 0x53, 0x00]), .dayFile)
    XCTAssertEqual(InputFormat.detect(firstBytes: [0xA1, 0xB2, 0xC3]), .dayFile)
    XCTAssertEqual(InputFormat.detect(firstBytes: [UInt8]()), .dayFile)
    // Through a file, and through gzip.
    XCTAssertEqual(try InputFormat.detect(path: try writeFile("x.pcapng", [0x0A, 0x0D, 0x0D, 0x0A, 0, 0])), .pcapng)
    let writer = try PcapWriter(path: path("x.pcap.gz"))
    try writer.close()
    XCTAssertEqual(try InputFormat.detect(path: path("x.pcap.gz")), .pcap)
  }

  func testCountersDescriptionListsOnlyNonZeroFields() {
    var counters = CaptureCounters()
    XCTAssertEqual(counters.description, "(no counts)")
    counters.datagrams = 3
    counters.nonUDP = 2
    XCTAssertEqual(counters.description, "datagrams=3 nonUDP=2")
  }
}
