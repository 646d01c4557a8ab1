import CQuotecastLinux
import Foundation
import XCTest

@testable import Capture

final class OutputFileTests: CaptureTestCase {
  /// A plain file goes out with O_DIRECT in whole blocks; what falls short of a block waits for the
  /// next buffer, and the last bytes go out buffered. The file must hold exactly what was written,
  /// in order, whatever the record sizes and however they were handed in.
  func testDirectWritesKeepEveryByteInOrder() throws {
    for (name, size) in [("large.bin", 3 * OutputFile.bufferBytes + 777), ("small.bin", 1_000)] {
      let target = path(name)
      let file = try OutputFile(path: target, gzip: false)
      var expected: [UInt8] = []
      var state: UInt64 = 12_345
      while expected.count < size {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let length = Int(state >> 54) + 1  // 1...1024 bytes
        let chunk = (0..<length).map { UInt8(truncatingIfNeeded: (expected.count + $0) &* 31 ^ Int(state >> 40)) }
        if state & 0x100 == 0 {
          try chunk.withUnsafeBytes { try file.append($0) }
        } else {
          let slot = try file.reserve(length)
          chunk.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: length) }
        }
        expected += chunk
      }
      try file.close()
      XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))), expected, name)
      if file.directBytes == 0 && expected.count >= 4_096 {
        let probe = open(path("probe"), O_WRONLY | O_CREAT, 0o644)
        defer { Glibc.close(probe) }
        XCTAssertNotEqual(qc_set_direct_io(probe, 1), 0, "the file system takes O_DIRECT, yet nothing went with it")
        throw XCTSkip("this file system refuses O_DIRECT: only the buffered path was checked")
      }
      // Every whole block went direct; only the tail (under a block) went buffered.
      XCTAssertEqual(file.directBytes, expected.count & ~4_095, name)
    }
  }
}
