import Foundation
import Glibc
import Replay
import Transport

/// `quotecast bench-send`: the send paths side by side in one run (sendmmsg, io_uring sendmsg, UDP GSO, io_uring
/// SEND_ZC), the measurement behind `channels.send_method`.
public struct SendBenchmark {

  /// Packets per timed pass.
  public var packets = 200_000

  /// Packet size in bytes (UDP payload).
  public var bytes = 1000

  /// Packets per flush, comma-separated (one flush per input datagram in the gateway).
  public var batches = [1, 4, 16, 64]

  /// Timed passes per method and batch size; methods alternate pass by pass.
  public var passes = 5

  /// Multicast group:port the packets go to (a joined socket on 127.0.0.1 drains it).
  public var group = IPv4Endpoint(address: 0xEFFF_4D01, port: 47100)

  /// CPU for the sending thread (the draining thread takes another, if there is one).
  public var cpu: Int?

  /// Print one JSON object instead of a table.
  public var json = false

  /// "1,4,16" as sizes; nil if any is not a number.
  public static func batchSizes(_ text: String) -> [Int]? {
    let sizes = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    return sizes.contains(nil) ? nil : sizes.compactMap { $0 }
  }

  public func run() throws {
    let destination = group
    if let cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    // A member on loopback that drains the group, so each send is a full delivery.
    let member = try UDPReceiveSocket(endpoint: destination, receiveBufferBytes: 64 << 20)
    let draining = SharedFlag(true)
    let drainCPU = cpu.map { ($0 + 1) % max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    let drainer = Thread {
      if let drainCPU, CPUPinning.isAllowed(drainCPU) { try? CPUPinning.pinCurrentThread(to: drainCPU) }
      var buffer = [UInt8](repeating: 0, count: 65536)
      while draining.isSet {
        let received = buffer.withUnsafeMutableBytes { recv(member.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if received < 0 { usleep(50) }
      }
    }
    drainer.start()
    defer { draining.clear() }

    let sizes = batches
    guard let largest = sizes.max(), sizes.allSatisfy({ $0 >= 1 }) else {
      throw BenchError("batches: sizes of at least 1, got \(sizes)")
    }
    // Every path sends the same bytes: `largest` packets laid end to end.
    let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: largest * bytes, alignment: 64)
    payload.initializeMemory(as: UInt8.self, repeating: 0x5A)
    defer { payload.deallocate() }
    var samples: [String: [Double]] = [:]
    var drops: [String: UInt64] = [:]
    var unsupported: [SendPath: String] = [:]
    var copiedShare: Double? = nil
    for pass in 0..<passes {
      for batch in sizes {
        // Alternate the order of the paths, so drift hits them alike.
        let order = pass % 2 == 0 ? SendPath.allCases : SendPath.allCases.reversed()
        for path in order where unsupported[path] == nil {
          do {
            let (elapsedNs, dropped, copied) = try timePass(
              path, batch: batch, destination: destination, payload: payload)
            let key = "\(path.rawValue)/\(batch)"
            samples[key, default: []].append(Double(elapsedNs) / Double(packets))
            drops[key, default: 0] += dropped
            if let copied { copiedShare = copied }
          } catch {
            unsupported[path] = "\(error)"
          }
        }
      }
    }
    let measured = SendPath.allCases.filter { unsupported[$0] == nil }
    func median(_ path: SendPath, _ batch: Int) -> Double {
      let sorted = samples["\(path.rawValue)/\(batch)"]!.sorted()
      return sorted[sorted.count / 2]
    }
    func dropped(_ batch: Int) -> UInt64 { measured.reduce(0) { $0 + (drops["\($1.rawValue)/\(batch)"] ?? 0) } }
    if json {
      let rows = sizes.map { batch in
        "{\"batch\":\(batch),"
          + measured.map { "\"\($0.rawValue)_ns_per_packet\":\(String.fixed(median($0, batch), digits: 1))" }
          .joined(separator: ",")
          + measured.filter { $0 != .sendmmsg }.map {
            ",\"ratio_\($0.rawValue)_over_sendmmsg\":"
              + String.fixed(median($0, batch) / median(.sendmmsg, batch), digits: 3)
          }
          .joined()
          + ",\"dropped\":\(dropped(batch))}"
      }
      let skipped = unsupported.keys.sorted { $0.rawValue < $1.rawValue }.map {
        "\"\($0.rawValue)\":\"\(unsupported[$0]!.replacingOccurrences(of: "\"", with: "'"))\""
      }
      print(
        "{\"packets\":\(packets),\"bytes\":\(bytes),\"passes\":\(passes),\"cpu\":\(cpu.map(String.init) ?? "null"),"
          + "\"send_zc_copied_share\":\(copiedShare.map { String.fixed($0, digits: 3) } ?? "null"),"
          + "\"unsupported\":{\(skipped.joined(separator: ","))},\"results\":[\(rows.joined(separator: ","))]}")
    } else {
      print("\(packets) packets of \(bytes) bytes per pass to \(destination) on loopback; median of \(passes) passes")
      print(
        "batch" + measured.map { "\($0.rawValue) ns/pkt".leftPadded(25) }.joined()
          + measured.filter { $0 != .sendmmsg }.map { "\($0.rawValue)/sendmmsg".leftPadded(28) }.joined()
          + "dropped".leftPadded(10))
      for batch in sizes {
        let base = median(.sendmmsg, batch)
        print(
          "\(batch)".leftPadded(5) + measured.map { String.fixed(median($0, batch), digits: 1).leftPadded(25) }.joined()
            + measured.filter { $0 != .sendmmsg }.map {
              String.fixed(median($0, batch) / base, digits: 3).leftPadded(28)
            }
            .joined() + "\(dropped(batch))".leftPadded(10))
      }
      for (path, reason) in unsupported { print("\(path.rawValue): not measured, \(reason)") }
      if let copiedShare {
        print(
          "send_zc: \(String.fixed(copiedShare * 100, digits: 1))% of notifications report a copy (loopback copies)")
      }
    }
  }

  /// How one pass sends: the publisher's three methods, and io_uring SEND_ZC from a registered buffer.
  enum SendPath: String, CaseIterable {
    case sendmmsg
    case ioUring = "io_uring"
    case gso
    case sendZC = "io_uring_send_zc"
  }

  struct SendPathUnavailable: Error, CustomStringConvertible {
    let description: String
  }

  /// One timed pass of `packets` packets, flushed `batch` at a time: the elapsed time, packets dropped, and for
  /// SEND_ZC the share of notifications that reported a copy.
  func timePass(_ path: SendPath, batch: Int, destination: IPv4Endpoint, payload: UnsafeMutableRawBufferPointer)
    throws -> (UInt64, UInt64, Double?)
  {
    let flushes = packets / batch
    let last = packets - flushes * batch
    switch path {
    case .sendmmsg, .ioUring, .gso:
      let publisher = try MulticastPublisher(
        destinations: [destination], sendBufferBytes: 8 << 20, batchCapacity: batch,
        method: MulticastPublisher.SendMethod(rawValue: path.rawValue)!)
      let start = Clock.monotonicNs()
      for round in 0...flushes {
        for index in 0..<(round == flushes ? last : batch) {
          publisher.enqueue(
            destination: 0, UnsafeRawBufferPointer(rebasing: payload[index * bytes..<(index + 1) * bytes]))
        }
        publisher.flush()
      }
      let elapsedNs = Clock.monotonicNs() - start
      if publisher.segmentationRefused {
        throw SendPathUnavailable(description: "the kernel refuses UDP_SEGMENT here")
      }
      if publisher.counters.errors > 0 { throw SendPathUnavailable(description: "send errors") }
      return (elapsedNs, publisher.counters.dropped, nil)
    case .sendZC:
      let sender: ZeroCopyRingSender
      do {
        sender = try ZeroCopyRingSender(destination: destination, bufferBytes: payload.count, batchCapacity: batch)
      } catch {
        throw SendPathUnavailable(description: "this kernel has no SEND_ZC with fixed buffers (\(error))")
      }
      sender.buffer.copyMemory(from: UnsafeRawBufferPointer(payload))
      let start = Clock.monotonicNs()
      for round in 0...flushes {
        for index in 0..<(round == flushes ? last : batch) { sender.enqueue(offset: index * bytes, length: bytes) }
        let failure = sender.flush()
        if failure != 0 {
          throw SendPathUnavailable(description: "SEND_ZC failed: \(String(cString: strerror(failure)))")
        }
      }
      let elapsedNs = Clock.monotonicNs() - start
      let share = sender.notifications > 0 ? Double(sender.copiedNotifications) / Double(sender.notifications) : nil
      return (elapsedNs, sender.counters.dropped, share)
    }
  }

  public init() {}
}
