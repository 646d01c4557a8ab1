import ArgumentParser
import Glibc
import Transport

/// Sends an input's MoldUDP64 datagrams to a gateway over loopback (or a multicast group via the
/// loopback interface), paced by the original timestamps, by a message rate, or as fast as it can.
struct NetworkReplay {
  let destination: IPv4Endpoint
  /// Multiplier on the original timing; nil = as fast as possible.
  let speed: Double?
  /// Messages per second, open loop; overrides speed.
  let rate: Double?
  let loopInput: Bool
  let durationNs: UInt64?

  static func parseSpeed(_ text: String) throws -> Double? {
    if text == "max" { return nil }
    guard let value = Double(text), value > 0 else { throw ValidationError("--speed must be a positive number or max") }
    return value
  }

  func run(input: String, messagesPerPacket: Int) throws -> (datagrams: UInt64, messages: UInt64, elapsedNs: UInt64) {
    guard destination.isLoopback || destination.isMulticast else {
      throw ValidationError("--to must be a loopback address (127.0.0.0/8) or a multicast group, got \(destination)")
    }
    let publisher = try MulticastPublisher(destinations: [destination], batchCapacity: 1)
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
          if let rate {
            wait(until: startNs + UInt64(Double(messages) / rate * 1e9))
          } else if let speed {
            let first = firstTimestampNs ?? timestampNs
            firstTimestampNs = first
            let offset = timestampNs >= first ? timestampNs - first : 0
            wait(until: startNs + UInt64(Double(offset + loopOffsetNs) / speed))
          }
          lastTimestampNs = timestampNs
          var outgoing = datagram
          if sequenceOffset > 0 && datagram.count >= 20 && datagram.count <= 65536 {
            scratch.copyMemory(from: datagram.baseAddress!, byteCount: datagram.count)
            let sequence = UInt64(bigEndian: scratch.loadUnaligned(fromByteOffset: 10, as: UInt64.self))
            scratch.storeBytes(of: (sequence &+ sequenceOffset).bigEndian, toByteOffset: 10, as: UInt64.self)
            outgoing = UnsafeRawBufferPointer(start: scratch, count: datagram.count)
          }
          publisher.enqueue(destination: 0, outgoing)
          publisher.flush()
          datagrams += 1
          if count != 0xFFFF {
            messages += UInt64(count)
            passMessages += UInt64(count)
          }
        }
      } catch is StopReplay {
        break
      }
      loopOffsetNs += lastTimestampNs - (firstTimestampNs ?? lastTimestampNs) + 1_000_000
      sequenceOffset += passMessages
      passMessages = 0
    } while loopInput && (durationNs.map { Clock.monotonicNs() - startNs < $0 } ?? false)
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
