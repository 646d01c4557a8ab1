import Encoding
import QuotecastClient
import QuotecastCore
import TestSupport
import CoreTestSupport
import XCTest

/// Hostile datagrams through the whole core: seeded bit flips, truncations, splices and forged
/// lengths. Nothing may crash or read outside a buffer, the books must stay structurally sound,
/// and every packet out must still verify.
final class MutationTests: XCTestCase {
  func mutate(_ datagram: [UInt8], with others: [[UInt8]], _ random: inout SeededGenerator) -> [UInt8] {
    var bytes = datagram
    switch Int.random(in: 0...5, using: &random) {
    case 0:  // bit flips
      for _ in 0...Int.random(in: 0...4, using: &random) where !bytes.isEmpty {
        bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= 1 << UInt8.random(in: 0...7, using: &random)
      }
    case 1:  // truncation
      bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
    case 2:  // splice the tail of another datagram
      let other = others[Int.random(in: 0..<others.count, using: &random)]
      let cut = Int.random(in: 0...bytes.count, using: &random)
      bytes = Array(bytes.prefix(cut)) + Array(other.suffix(Int.random(in: 0...other.count, using: &random)))
    case 3:  // forged message count
      if bytes.count >= 20 {
        let count = UInt16.random(in: 0...UInt16.max, using: &random)
        bytes[18] = UInt8(count >> 8)
        bytes[19] = UInt8(count & 0xFF)
      }
    case 4:  // forged block length somewhere after the header
      if bytes.count > 22 {
        let at = Int.random(in: 20..<bytes.count - 1, using: &random)
        bytes[at] = UInt8.random(in: 0...255, using: &random)
        bytes[at + 1] = UInt8.random(in: 0...255, using: &random)
      }
    default:  // forged message type bytes
      for _ in 0...2 where bytes.count > 22 {
        bytes[Int.random(in: 22..<bytes.count, using: &random)] = UInt8.random(in: 0x20...0x7A, using: &random)
      }
    }
    return bytes
  }

  func testMutatedDatagramsNeverBreakTheCore() {
    let datagrams = syntheticDatagrams(messages: 60_000, symbols: 20, seed: 17)
    var random = SeededGenerator(seed: 2024)
    let core = QuotecastCore(config: coreConfig())
    var sink = CollectingSink()
    var mutated = 0
    var verified = 0
    func verifyCollected() {
      for packet in sink.packets {
        packet.bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) }
        verified += 1
      }
      sink.packets.removeAll(keepingCapacity: true)
    }
    for (index, datagram) in datagrams.enumerated() {
      // Most datagrams arrive clean so the books stay busy; the rest are damaged, and some of the
      // damaged ones arrive in place of their clean copy.
      let roll = Int.random(in: 0...9, using: &random)
      if roll < 3 {
        let bad = mutate(datagram, with: datagrams, &random)
        bad.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
        mutated += 1
      }
      if roll != 0 {
        datagram.withUnsafeBytes { core.process(moldPacket: $0, nowNs: UInt64(index), into: &sink) }
      }
      if sink.packets.count > 5_000 { verifyCollected() }
    }
    verifyCollected()
    XCTAssertGreaterThan(verified, 5_000, "packets came out, and every one was verified")
    XCTAssertGreaterThan(mutated, datagrams.count / 5)
    XCTAssertEqual(core.books.invariantViolations(), [])
    let counters = core.books.counters
    let session = core.session.counters
    // The damage was seen and counted, not ignored.
    XCTAssertGreaterThan(counters.unknownMessageType + counters.badMessageLength, 0)
    XCTAssertGreaterThan(session.truncatedBlocks + session.countMismatches + session.shortPackets, 0)
    XCTAssertGreaterThan(session.duplicatePackets, 0)
    XCTAssertEqual(core.books.eventsDropped, 0)
    // Damaged headers did not stop the feed. A tenth of the datagrams arrive only damaged, and a
    // damaged copy that arrives first wins, so somewhat under 60,000 messages get through.
    XCTAssertGreaterThan(counters.messages, 51_000)
  }

  func testRandomBytesNeverBreakTheCore() {
    var random = SeededGenerator(seed: 7)
    let core = QuotecastCore(config: coreConfig())
    var sink = CollectingSink()
    for index in 0..<20_000 {
      // A valid header half the time, so the block parser sees garbage too.
      var bytes = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
      if index % 2 == 0 && bytes.count >= 20 {
        bytes.replaceSubrange(0..<10, with: Array("QUOTECAST ".utf8))
      }
      bytes.withUnsafeBytes { core.process(moldPacket: $0, nowNs: 0, into: &sink) }
    }
    XCTAssertEqual(core.books.invariantViolations(), [])
    for packet in sink.packets { packet.bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) } }
  }
}
