import Foundation
import Transport
import XCTest

/// The preallocated rings between the gateway's threads: exact bytes and order, wrap-around, a full
/// ring refusing, and two threads hammering each ring.
final class RingTests: XCTestCase {
  /// Packet `index`'s bytes: its length and content follow from the index, so a reader can check both.
  static func packet(_ index: Int) -> [UInt8] {
    let length = (index &* 37) % 301
    return (0..<length).map { UInt8(truncatingIfNeeded: index &+ $0) }
  }

  func testPacketsComeOutInOrderWithTheirBytesAcrossTheWrap() {
    let ring = PacketRing(capacity: 1 << 16)
    var next = 0
    var read = 0
    // Several laps of the ring, written in bursts and read in bursts.
    while read < 3_000 {
      var written = 0
      while written < 40 {
        let bytes = Self.packet(next)
        guard bytes.withUnsafeBytes({ ring.write(channel: UInt16(next % 7), $0) }) else { break }
        next += 1
        written += 1
      }
      ring.publish()
      _ = ring.read { channel, bytes in
        XCTAssertEqual(Int(channel), read % 7)
        XCTAssertEqual(Array(bytes), Self.packet(read), "packet \(read)")
        read += 1
      }
      ring.release()
    }
    XCTAssertEqual(read, next)
  }

  func testStampedPacketsKeepTheirStampsAcrossTheWrap() {
    let ring = PacketRing(capacity: 1 << 16)
    var next = 0
    var read = 0
    while read < 3_000 {
      while Self.packet(next).withUnsafeBytes({ ring.write(stamp: UInt64(next) &* 0x9E37_79B9_7F4A_7C15, $0) }) {
        next += 1
      }
      ring.publish()
      _ = ring.read { _, record in
        let (stamp, bytes) = PacketRing.stamp(of: record)
        XCTAssertEqual(stamp, UInt64(read) &* 0x9E37_79B9_7F4A_7C15, "packet \(read)")
        XCTAssertEqual(Array(bytes), Self.packet(read), "packet \(read)")
        read += 1
      }
      ring.release()
    }
    XCTAssertEqual(read, next)
  }

  func testAFullRingRefusesUntilTheReaderReleases() {
    let ring = PacketRing(capacity: 1 << 16)
    let packet = [UInt8](repeating: 7, count: 1000)
    var written = 0
    while packet.withUnsafeBytes({ ring.write(channel: 0, $0) }) { written += 1 }
    XCTAssertEqual(written, (1 << 16) / 1008, "each record is 8 bytes of header plus the packet, 8-aligned")
    packet.withUnsafeBytes { ring.offer(channel: 0, $0) }
    XCTAssertEqual(ring.refused.load(ordering: .relaxed), 1, "an offer to a full ring is counted, not waited for")
    ring.publish()
    XCTAssertEqual(ring.read { _, _ in }, written)
    XCTAssertFalse(packet.withUnsafeBytes { ring.write(channel: 0, $0) }, "read but not released: still full")
    ring.release()
    XCTAssertTrue(packet.withUnsafeBytes { ring.write(channel: 0, $0) })
  }

  func testTwoThreadsPassEveryPacketIntactThroughASmallRing() {
    let ring = PacketRing(capacity: 1 << 16)
    let total = 200_000
    let producer = WorkerThread {
      for index in 0..<total {
        let bytes = Self.packet(index)
        while !bytes.withUnsafeBytes({ ring.write(channel: UInt16(index & 0xFFFF), $0) }) { ring.publish() }
        if index % 16 == 15 { ring.publish() }
      }
      ring.publish()
    }
    var read = 0
    var mismatches = 0
    let deadline = Date().addingTimeInterval(60)
    while read < total && Date() < deadline {
      _ = ring.read { channel, bytes in
        if Int(channel) != read & 0xFFFF || !bytes.elementsEqual(Self.packet(read)) { mismatches += 1 }
        read += 1
      }
      ring.release()
    }
    producer.join()
    XCTAssertEqual(read, total)
    XCTAssertEqual(mismatches, 0)
  }

  /// Every consumer sees every entry in order, and the producer reclaims an entry only after all of
  /// them have passed it (each consumer marks what it read in its own array; a reclaimed entry must
  /// carry both marks).
  func testEveryConsumerSeesEveryEntryAndReclaimWaitsForTheSlowest() {
    let total = 300_000
    let ring = BroadcastRing<Int>(capacity: 1024, consumers: 2)
    let seen = (0..<2).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: total) }
    for marks in seen { marks.initialize(repeating: 0, count: total) }
    defer { for marks in seen { marks.deallocate() } }
    let outOfOrder = UnsafeMutablePointer<Int>.allocate(capacity: 2)
    outOfOrder.initialize(repeating: 0, count: 2)
    defer { outOfOrder.deallocate() }
    let consumers = (0..<2).map { consumer in
      WorkerThread {
        var reader = BroadcastRing<Int>.Reader(ring: ring, consumer: consumer)
        var expected = 0
        let marks = seen[consumer]
        while expected < total {
          reader.drain { entry in
            if entry != expected { outOfOrder[consumer] += 1 }
            marks[entry] = 1
            expected += 1
          }
          if consumer == 1 { sched_yield() }  // the slow one
        }
      }
    }
    var written = 0
    var reclaimed = 0
    var reclaimedBadly = 0
    let deadline = Date().addingTimeInterval(60)
    while reclaimed < total && Date() < deadline {
      while written < total && ring.write(written) { written += 1 }
      ring.publish()
      ring.reclaim { entry in
        // In order, and only once both consumers have read it.
        if entry != reclaimed || seen[0][entry] != 1 || seen[1][entry] != 1 { reclaimedBadly += 1 }
        reclaimed += 1
      }
    }
    for consumer in consumers { consumer.join() }
    XCTAssertEqual(written, total)
    XCTAssertEqual(reclaimed, total)
    XCTAssertEqual(reclaimedBadly, 0)
    XCTAssertEqual(outOfOrder[0] + outOfOrder[1], 0)
  }
}
