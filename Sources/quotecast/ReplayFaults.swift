import ArgumentParser
import Foundation
import Glibc
import QuotecastCore
import Synth
import Transport

/// Faults `replay --to` injects, for arbitration tests and the soak. Rates are per datagram and
/// the draw is seeded, so a run is repeatable; the counts of what was injected are exact.
struct FaultPlan: Equatable {
  /// Lost on line A only, on line B only (needs a line B), or on both lines: never two in a row,
  /// so each both-line loss is one retransmission.
  var dropA = 0.0
  var dropB = 0.0
  var dropBoth = 0.0
  /// Sent twice on a line.
  var duplicate = 0.0
  /// Held back on a line and sent after the line's next datagram.
  var reorder = 0.0
  /// Cut short on line A (line B, sent after A, carries it whole; never on a datagram B drops).
  var truncate = 0.0
  /// A delete of an order that never existed, appended to the datagram (on both lines: it is part
  /// of the feed, and every later sequence number moves up one).
  var unknownReferences = 0.0
  /// A replayed copy sent from 127.0.0.2 (not the feed's source).
  var foreign = 0.0
  var seed: UInt64 = 1

  var isEmpty: Bool {
    dropA == 0 && dropB == 0 && dropBoth == 0 && duplicate == 0 && reorder == 0 && truncate == 0
      && unknownReferences == 0 && foreign == 0
  }

  /// "kind=rate,kind=rate": drop_a, drop_b, drop_both, duplicate, reorder, truncate,
  /// unknown_reference, foreign.
  init(_ text: String, seed: UInt64) throws {
    self.seed = seed
    for part in text.split(separator: ",") {
      let pair = part.split(separator: "=")
      guard pair.count == 2, let rate = Double(pair[1]), rate >= 0, rate <= 0.5 else {
        throw ValidationError("--faults: expected kind=rate with a rate of 0...0.5, got \(part)")
      }
      switch pair[0] {
      case "drop_a": dropA = rate
      case "drop_b": dropB = rate
      case "drop_both": dropBoth = rate
      case "duplicate": duplicate = rate
      case "reorder": reorder = rate
      case "truncate": truncate = rate
      case "unknown_reference": unknownReferences = rate
      case "foreign": foreign = rate
      default:
        throw ValidationError(
          "--faults: unknown kind \(pair[0]) (drop_a, drop_b, drop_both, duplicate, reorder, truncate, "
            + "unknown_reference, foreign)")
      }
    }
  }

  init() {}
}

/// What was injected, exactly.
struct FaultCounts: Codable {
  var datagrams: UInt64 = 0
  /// Datagrams sent on each line (copies included), and from the foreign source.
  var sentA: UInt64 = 0
  var sentB: UInt64 = 0
  var droppedA: UInt64 = 0
  var droppedB: UInt64 = 0
  var droppedBoth: UInt64 = 0
  /// Messages in the datagrams lost on both lines (what a gateway without retransmission loses).
  var messagesDroppedBoth: UInt64 = 0
  var duplicated: UInt64 = 0
  var reordered: UInt64 = 0
  var truncated: UInt64 = 0
  var unknownReferences: UInt64 = 0
  var foreign: UInt64 = 0
  var messages: UInt64 = 0
  var rerequestsServed: UInt64 = 0
  var messagesRetransmitted: UInt64 = 0
  var datagramsRetransmitted: UInt64 = 0

  enum CodingKeys: String, CodingKey {
    case datagrams, messages, foreign, duplicated, reordered, truncated
    case sentA = "sent_a"
    case sentB = "sent_b"
    case droppedA = "dropped_a"
    case droppedB = "dropped_b"
    case droppedBoth = "dropped_both"
    case messagesDroppedBoth = "messages_dropped_both"
    case unknownReferences = "unknown_references"
    case rerequestsServed = "rerequests_served"
    case messagesRetransmitted = "messages_retransmitted"
    case datagramsRetransmitted = "datagrams_retransmitted"
  }
}

extension SplitMix64 {
  /// True with probability `rate` (53 random bits against it).
  mutating func chance(_ rate: Double) -> Bool { rate > 0 && Double(next() >> 11) / Double(1 << 53) < rate }
}

/// Every message sent, by sequence, and a MoldUDP64 re-request server over them: a request is
/// session (10) + sequence (8) + count (2); the answer is the messages, framed as MoldUDP64
/// datagrams of at most 1,400 bytes, sent back to the requester.
final class RerequestServer: @unchecked Sendable {
  let socket: UDPReceiveSocket
  let lock = NSLock()
  var session = [UInt8](repeating: 0x20, count: 10)
  /// Message bytes with their 2-byte length prefixes, and where message `sequence` starts
  /// (`offsets[sequence - 1]`).
  var store: [UInt8] = []
  var offsets: [Int] = []
  var served: UInt64 = 0
  var retransmitted: UInt64 = 0
  var retransmittedDatagrams: UInt64 = 0
  var running = true
  var thread: Thread?

  init(port: UInt16, address: UInt32 = IPv4Endpoint.loopback) throws {
    socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: address, port: port))
  }

  /// Records a datagram as sent (its messages become retransmittable).
  func record(_ datagram: UnsafeRawBufferPointer) {
    guard datagram.count >= 20, let packet = MoldPacket(datagram), !packet.isHeartbeat, !packet.isEndOfSession
    else { return }
    lock.lock()
    defer { lock.unlock() }
    session = Array(datagram[0..<10])
    var sequence = packet.sequenceNumber
    var blocks = packet.blocks
    while let message = blocks.next() {
      // Only the next sequence in order is stored (a datagram re-sent as a copy adds nothing).
      if sequence == UInt64(offsets.count) + 1 {
        offsets.append(store.count)
        store.append(UInt8(message.count >> 8))
        store.append(UInt8(message.count & 0xFF))
        store.append(contentsOf: message)
      }
      sequence += 1
    }
  }

  func start() {
    let thread = Thread { [self] in serve() }
    self.thread = thread
    thread.start()
  }

  func stop() {
    lock.lock()
    running = false
    lock.unlock()
  }

  var isRunning: Bool {
    lock.lock()
    defer { lock.unlock() }
    return running
  }

  func serve() {
    var request = [UInt8](repeating: 0, count: 64)
    while isRunning {
      var from = sockaddr_in()
      var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
      let received = request.withUnsafeMutableBytes { buffer in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            recvfrom(socket.fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &fromLength)
          }
        }
      }
      if received < 0 {
        usleep(200)
        continue
      }
      guard received == 20 else { continue }
      let sequence = request[10..<18].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
      let count = UInt64(request[18]) << 8 | UInt64(request[19])
      answer(sequence: sequence, count: count, to: &from)
    }
  }

  func answer(sequence first: UInt64, count: UInt64, to address: inout sockaddr_in) {
    lock.lock()
    let available = UInt64(offsets.count)
    guard first >= 1, first <= available, count > 0 else {
      lock.unlock()
      return
    }
    let last = min(first + count - 1, available)
    var datagrams: [[UInt8]] = []
    var packet: [UInt8] = []
    var packetFirst = first
    var packetCount: UInt16 = 0
    func close() {
      guard packetCount > 0 else { return }
      var header = session
      withUnsafeBytes(of: packetFirst.bigEndian) { header.append(contentsOf: $0) }
      withUnsafeBytes(of: packetCount.bigEndian) { header.append(contentsOf: $0) }
      datagrams.append(header + packet)
      packet = []
      packetCount = 0
    }
    for sequence in first...last {
      let start = offsets[Int(sequence - 1)]
      let end = sequence < available ? offsets[Int(sequence)] : store.count
      if 20 + packet.count + (end - start) > 1400 {
        close()
        packetFirst = sequence
      }
      packet.append(contentsOf: store[start..<end])
      packetCount += 1
    }
    close()
    served += 1
    retransmitted += last - first + 1
    retransmittedDatagrams += UInt64(datagrams.count)
    lock.unlock()
    for datagram in datagrams {
      _ = datagram.withUnsafeBytes { bytes in
        withUnsafePointer(to: &address) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(socket.fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
          }
        }
      }
    }
  }
}
