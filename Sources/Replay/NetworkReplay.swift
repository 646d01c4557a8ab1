import Glibc
import ITCH
import Synth
import Transport

/// Sends an input's MoldUDP64 datagrams to a gateway over loopback (or a multicast group via the
/// loopback interface), paced by the original timestamps, by a message rate, or as fast as it can.
public struct NetworkReplay {
  public let destination: IPv4Endpoint
  /// Multiplier on the original timing; nil = as fast as possible.
  public let speed: Double?
  /// Messages per second, open loop; overrides speed.
  public let rate: Double?
  public let loopInput: Bool
  public let durationNs: UInt64?
  /// A second line carrying the same feed (A/B), sent right after line A.
  public var lineB: IPv4Endpoint? = nil
  /// The interface multicast leaves by (IPv4, host order).
  public var interface = IPv4Endpoint.loopback
  public var faults = FaultPlan()
  /// Serves MoldUDP64 re-requests from everything sent (including what the faults dropped).
  public var rerequest: RerequestServer? = nil
  /// What the faults injected, filled in by `run`.
  public var counts = FaultCounts()

  public init(destination: IPv4Endpoint, speed: Double?, rate: Double?, loopInput: Bool, durationNs: UInt64?) {
    self.destination = destination
    self.speed = speed
    self.rate = rate
    self.loopInput = loopInput
    self.durationNs = durationNs
  }

  public static func parseSpeed(_ text: String) throws -> Double? {
    if text == "max" { return nil }
    guard let value = Double(text), value > 0 else { throw ReplayError("--speed must be a positive number or max") }
    return value
  }

  /// Replays the input while serving MoldUDP64 re-requests on `port` (at the replay's interface) from everything
  /// sent, and for `lingerNs` after the last packet; the server's counts join the replay's.
  public mutating func run(
    input: String, messagesPerPacket: Int, servingRerequestsOn port: UInt16, lingerNs: UInt64
  ) throws -> (datagrams: UInt64, messages: UInt64, elapsedNs: UInt64) {
    let server = try RerequestServer(port: port, address: interface)
    server.start()
    rerequest = server
    let sent = try run(input: input, messagesPerPacket: messagesPerPacket)
    usleep(UInt32(min(lingerNs / 1000, UInt64(UInt32.max))))
    server.stop()
    let served = server.counts
    counts.rerequestsServed = served.requestsServed
    counts.messagesRetransmitted = served.messagesRetransmitted
    counts.datagramsRetransmitted = served.datagramsRetransmitted
    return sent
  }

  public mutating func run(input: String, messagesPerPacket: Int) throws -> (
    datagrams: UInt64, messages: UInt64, elapsedNs: UInt64
  ) {
    for line in [destination] + (lineB.map { [$0] } ?? []) where !(line.isLoopback || line.isMulticast) {
      throw ReplayError("--to and --line-b must be loopback (127.0.0.0/8) or multicast, got \(line)")
    }
    let publisher = try MulticastPublisher(
      destinations: [destination] + (lineB.map { [$0] } ?? []), interface: interface,
      batchCapacity: 2 * FaultyLines.maxQueued + 4)
    var lines = FaultyLines(publisher: publisher, plan: faults, twoLines: lineB != nil)
    lines.foreign = faults.foreign > 0 ? try ForeignSender(destination: destination) : nil
    defer { counts = lines.counts }
    let injected = UnsafeMutableRawPointer.allocate(byteCount: 65536 + 64, alignment: 8)
    defer { injected.deallocate() }
    // Each pass after the first continues the MoldUDP64 sequence, so a gateway sees one session.
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 8)
    defer { scratch.deallocate() }
    var sequenceOffset: UInt64 = 0
    var passMessages: UInt64 = 0
    let startNs = Clock.monotonicNs()
    var datagrams: UInt64 = 0
    var messages: UInt64 = 0
    var firstTimestampNs: UInt64?
    var loopOffsetNs: UInt64 = 0
    var lastTimestampNs: UInt64 = 0
    repeat {
      do {
        _ = try FeedInput.forEachDatagram(path: input, messagesPerPacket: messagesPerPacket) { datagram, timestampNs in
          if let durationNs, Clock.monotonicNs() - startNs >= durationNs { throw StopReplay() }
          let count = datagram.count >= 20 ? Int(UInt16(datagram[18]) << 8 | UInt16(datagram[19])) : 0
          var dueNs: UInt64 = 0
          if let rate {
            dueNs = startNs + UInt64(Double(messages) / rate * 1e9)
          } else if let speed {
            let first = firstTimestampNs ?? timestampNs
            firstTimestampNs = first
            let offset = timestampNs >= first ? timestampNs - first : 0
            dueNs = startNs + UInt64(Double(offset + loopOffsetNs) / speed)
          }
          // Behind schedule, what is due goes out together (one sendmmsg per burst); on time, one at a time.
          lines.catchingUp = Clock.monotonicNs() >= dueNs
          if !lines.catchingUp {
            lines.flushQueued()
            wait(until: dueNs)
          }
          lastTimestampNs = timestampNs
          var outgoing = datagram
          if sequenceOffset > 0 && datagram.count >= 20 && datagram.count <= 65536 {
            scratch.copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
            let sequence = UInt64(bigEndian: scratch.loadUnaligned(fromByteOffset: 10, as: UInt64.self))
            scratch.storeBytes(of: (sequence &+ sequenceOffset).bigEndian, toByteOffset: 10, as: UInt64.self)
            outgoing = UnsafeRawBufferPointer(start: scratch, count: datagram.count)
          }
          var sent = count
          if count > 0 && count != 0xFFFF && lines.injectsUnknownReference() {
            // Part of the feed from here on: every later sequence moves up one.
            outgoing = FaultyLines.appendUnknownDelete(
              outgoing, into: injected, ordinal: lines.counts.unknownReferences)
            sequenceOffset += 1
            sent += 1
          }
          rerequest?.record(outgoing)
          lines.send(outgoing)
          datagrams += 1
          if count != 0xFFFF {
            messages += UInt64(sent)
            passMessages += UInt64(count)
          }
        }
      } catch is StopReplay {
        break
      }
      lines.flush()
      loopOffsetNs += lastTimestampNs - (firstTimestampNs ?? lastTimestampNs) + 1_000_000
      sequenceOffset += passMessages
      passMessages = 0
    } while loopInput && (durationNs.map { Clock.monotonicNs() - startNs < $0 } ?? false)
    lines.flush()
    lines.counts.messages = messages
    return (datagrams, messages, Clock.monotonicNs() - startNs)
  }

  /// Sleeps while the target is far away, then spins for the last stretch.
  func wait(until targetNs: UInt64) {
    while true {
      let nowNs = Clock.monotonicNs()
      if nowNs >= targetNs { return }
      let remaining = targetNs - nowNs
      if remaining > 200_000 {
        var request = timespec(tv_sec: 0, tv_nsec: Int(remaining - 100_000))
        nanosleep(&request, nil)
      }
    }
  }
}

struct StopReplay: Error {}

/// Copies of the datagrams queued while the sender catches up: they must outlive the reader's buffer until the
/// flush. Preallocated; a datagram that does not fit is sent at once instead.
final class CatchUpQueue {
  static let capacityBytes = 1 << 20
  let storage = UnsafeMutableRawPointer.allocate(byteCount: capacityBytes, alignment: 8)
  var usedBytes = 0
  private(set) var count = 0

  deinit { storage.deallocate() }

  func store(_ datagram: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
    guard datagram.count > 0, usedBytes + datagram.count <= Self.capacityBytes else { return nil }
    let copy = storage + usedBytes
    copy.copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
    usedBytes += (datagram.count + 7) & ~7
    count += 1
    return UnsafeRawBufferPointer(start: copy, count: datagram.count)
  }

  func reset() {
    usedBytes = 0
    count = 0
  }
}

/// Sends each datagram on line A (destination 0) and, if there is one, line B (destination 1),
/// injecting the plan's faults and counting each one.
struct FaultyLines {
  let publisher: MulticastPublisher
  let plan: FaultPlan
  let twoLines: Bool
  var random: SplitMix64
  public var counts = FaultCounts()
  var foreign: ForeignSender?
  /// A datagram held back on each line, to go out after the line's next one.
  var stashed: [[UInt8]?] = [nil, nil]
  var lastDroppedBoth = false
  /// Set while the sender is behind its schedule: datagrams are copied and queued, up to `maxQueued`, and go out
  /// in one `sendmmsg`, as a line's burst arrives back to back.
  var catchingUp = false
  let queue = CatchUpQueue()
  static let maxQueued = 32

  init(publisher: MulticastPublisher, plan: FaultPlan, twoLines: Bool) {
    self.publisher = publisher
    self.plan = plan
    self.twoLines = twoLines
    random = SplitMix64(state: plan.seed)
  }

  mutating func injectsUnknownReference() -> Bool {
    guard random.chance(plan.unknownReferences) else { return false }
    counts.unknownReferences += 1
    return true
  }

  mutating func send(_ datagram: UnsafeRawBufferPointer) {
    counts.datagrams += 1
    if plan.isEmpty {
      transmit(datagram, line: 0)
      if twoLines { transmit(datagram, line: 1) }
      return
    }
    // At most one kind of loss per datagram; both-line losses never back to back.
    var dropA = false
    var dropB = false
    if twoLines && !lastDroppedBoth && random.chance(plan.dropBoth) {
      dropA = true
      dropB = true
      counts.droppedBoth += 1
      counts.messagesDroppedBoth += UInt64(UInt16(datagram[18]) << 8 | UInt16(datagram[19]))
    } else if random.chance(plan.dropA) {
      dropA = true
      counts.droppedA += 1
    } else if twoLines && random.chance(plan.dropB) {
      dropB = true
      counts.droppedB += 1
    }
    lastDroppedBoth = dropA && dropB
    // A cut copy on line A only when line B carries it whole: otherwise it would be a loss on
    // both lines, which the counts keep separate.
    if !dropA { faultySend(datagram, line: 0, mayTruncate: twoLines && !dropB) }
    if twoLines && !dropB { faultySend(datagram, line: 1, mayTruncate: false) }
    if let foreign, random.chance(plan.foreign) {
      foreign.send(datagram)
      counts.foreign += 1
    }
  }

  mutating func faultySend(_ datagram: UnsafeRawBufferPointer, line: Int, mayTruncate: Bool) {
    if mayTruncate && datagram.count > 24 && random.chance(plan.truncate) {
      // Cut inside the blocks: the header stays, some messages do not.
      let keep = 20 + Int(random.next() % UInt64(datagram.count - 21))
      counts.truncated += 1
      // Never held back: the cut copy goes out before line B's whole one, so its count is exact.
      transmit(UnsafeRawBufferPointer(rebasing: datagram[0..<keep]), line: line)
      return
    }
    sendOrStash(datagram, line: line)
    if random.chance(plan.duplicate) {
      counts.duplicated += 1
      transmit(datagram, line: line)
    }
  }

  mutating func sendOrStash(_ datagram: UnsafeRawBufferPointer, line: Int) {
    if stashed[line] == nil && random.chance(plan.reorder) {
      stashed[line] = Array(datagram)
      counts.reordered += 1
      return
    }
    transmit(datagram, line: line)
    if let held = stashed[line] {
      stashed[line] = nil
      held.withUnsafeBytes { transmit($0, line: line) }
    }
  }

  mutating func transmit(_ datagram: UnsafeRawBufferPointer, line: Int) {
    if catchingUp, let copy = queue.store(datagram) {
      publisher.enqueue(destination: UInt16(line), copy)
      if queue.count >= Self.maxQueued { flushQueued() }
    } else {
      // After whatever is queued, in order.
      publisher.enqueue(destination: UInt16(line), datagram)
      publisher.flush()
      queue.reset()
    }
    if line == 0 { counts.sentA += 1 } else { counts.sentB += 1 }
  }

  /// Sends the datagrams queued while catching up.
  mutating func flushQueued() {
    guard queue.count > 0 else { return }
    publisher.flush()
    queue.reset()
  }

  /// Sends whatever is still held back.
  mutating func flush() {
    flushQueued()
    for line in 0..<2 {
      if let held = stashed[line] {
        stashed[line] = nil
        held.withUnsafeBytes { transmit($0, line: line) }
      }
    }
  }

  /// The datagram with a delete of order reference 4,000,000,000 + ordinal appended: unknown to
  /// any book (synthetic references are small) yet under the reference cap.
  static func appendUnknownDelete(
    _ datagram: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawPointer, ordinal: UInt64
  ) -> UnsafeRawBufferPointer {
    buffer.copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
    let count = UInt16(bigEndian: buffer.loadUnaligned(fromByteOffset: 18, as: UInt16.self))
    buffer.storeBytes(of: (count + 1).bigEndian, toByteOffset: 18, as: UInt16.self)
    let at = datagram.count
    let length = ITCHWriter.orderDelete(
      buffer + at + 2, locate: 1, timestampNs: 0, orderReference: 4_000_000_000 + ordinal)
    buffer.storeBytes(of: UInt16(length).bigEndian, toByteOffset: at, as: UInt16.self)
    return UnsafeRawBufferPointer(start: buffer, count: at + 2 + length)
  }
}

/// Sends copies from 127.0.0.2, a source the gateway's `feed.sources` does not list: a spoofed or
/// replayed packet, which must be counted and dropped.
final class ForeignSender {
  let fd: Int32
  var address: sockaddr_in

  init(destination: IPv4Endpoint) throws {
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw ReplayError("cannot open the foreign-source socket") }
    var local = IPv4Endpoint(address: 0x7F00_0002, port: 0).socketAddress
    let socketFD = fd
    let bound = withUnsafePointer(to: &local) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    address = destination.socketAddress
    guard bound == 0 else {
      close(fd)
      throw ReplayError("cannot bind 127.0.0.2 for foreign-source faults")
    }
  }

  deinit { close(fd) }

  func send(_ datagram: UnsafeRawBufferPointer) {
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(fd, datagram.baseAddress, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
  }
}
