import ArgumentParser
import Foundation
import Glibc
import Transport

/// sendmmsg against io_uring sends, in the same run: the measurement behind `channels.send_method`.
struct BenchSendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-send",
    abstract: "Multicast send cost on loopback: sendmmsg against io_uring sendmsg, alternated, medians.")

  @Option(help: "Packets per timed pass.")
  var packets = 200_000

  @Option(help: "Packet size in bytes (UDP payload).")
  var bytes = 1000

  @Option(help: "Packets per flush, comma-separated (one flush per input datagram in the gateway).")
  var batches = "1,4,16,64"

  @Option(help: "Timed passes per method and batch size; methods alternate pass by pass.")
  var passes = 5

  @Option(help: "Multicast group:port the packets go to (a joined socket on 127.0.0.1 drains it).")
  var group = "239.255.77.1:47100"

  @Option(help: "CPU for the sending thread (the draining thread takes another, if there is one).")
  var cpu: Int?

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard packets >= 1000 && packets <= 10_000_000 else { throw ValidationError("--packets must be 1000...10000000") }
    guard bytes >= 16 && bytes <= 8000 else { throw ValidationError("--bytes must be 16...8000") }
    guard passes >= 1 && passes <= 50 else { throw ValidationError("--passes must be 1...50") }
    guard let sizes = batchSizes, !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 && $0 <= 256 }) else {
      throw ValidationError("--batches: comma-separated sizes of 1...256, got \(batches)")
    }
    guard let endpoint = IPv4Endpoint(group), endpoint.isMulticast else {
      throw ValidationError("--group must be a multicast group:port, got \(group)")
    }
    if let cpu, !CPUPinning.isAllowed(cpu) { throw ValidationError("--cpu \(cpu) does not exist or is not allowed") }
  }

  var batchSizes: [Int]? {
    let sizes = batches.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    return sizes.contains(nil) ? nil : sizes.compactMap { $0 }
  }

  func run() throws {
    let destination = IPv4Endpoint(group)!
    if let cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    // A member on loopback that drains the group, so each send is a full delivery.
    let member = try UDPReceiveSocket(endpoint: destination, receiveBufferBytes: 64 << 20)
    let draining = SharedFlag(true)
    let drainCPU = cpu.map { ($0 + 1) % max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    let drainer = Thread {
      if let drainCPU, CPUPinning.isAllowed(drainCPU) { try? CPUPinning.pinCurrentThread(to: drainCPU) }
      var buffer = [UInt8](repeating: 0, count: 65536)
      while draining.value {
        let received = buffer.withUnsafeMutableBytes { recv(member.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if received < 0 { usleep(50) }
      }
    }
    drainer.start()
    defer { draining.value = false }

    let payload = [UInt8](repeating: 0x5A, count: bytes)
    let methods = MulticastPublisher.SendMethod.allCases
    var samples: [String: [Double]] = [:]
    var drops: [String: UInt64] = [:]
    for pass in 0..<passes {
      for batch in batchSizes! {
        // Alternate which method goes first, so drift hits both alike.
        for method in pass % 2 == 0 ? methods : methods.reversed() {
          let publisher = try MulticastPublisher(
            destinations: [destination], sendBufferBytes: 8 << 20, batchCapacity: max(batch, 1), method: method)
          let elapsedNs = payload.withUnsafeBytes { raw -> UInt64 in
            let start = monotonicNowNs()
            var queued = 0
            for _ in 0..<packets {
              publisher.enqueue(destination: 0, raw)
              queued += 1
              if queued == batch {
                publisher.flush()
                queued = 0
              }
            }
            publisher.flush()
            return monotonicNowNs() - start
          }
          let key = "\(method.rawValue)/\(batch)"
          samples[key, default: []].append(Double(elapsedNs) / Double(packets))
          drops[key, default: 0] += publisher.counters.dropped + publisher.counters.errors
        }
      }
    }
    func median(_ key: String) -> Double {
      let sorted = samples[key]!.sorted()
      return sorted[sorted.count / 2]
    }
    if json {
      let rows = batchSizes!.map { batch in
        "{\"batch\":\(batch),"
          + methods.map {
            "\"\($0.rawValue)_ns_per_packet\":\(String.fixed(median("\($0.rawValue)/\(batch)"), digits: 1))"
          }
          .joined(separator: ",")
          + ",\"ratio_io_uring_over_sendmmsg\":"
          + String.fixed(median("io_uring/\(batch)") / median("sendmmsg/\(batch)"), digits: 3)
          + ",\"dropped\":\(drops["sendmmsg/\(batch)"]! + drops["io_uring/\(batch)"]!)}"
      }
      print(
        "{\"packets\":\(packets),\"bytes\":\(bytes),\"passes\":\(passes),\"cpu\":\(cpu.map(String.init) ?? "null"),"
          + "\"results\":[\(rows.joined(separator: ","))]}")
    } else {
      print("\(packets) packets of \(bytes) bytes per pass to \(destination) on loopback; median of \(passes)")
      print("batch   sendmmsg ns/pkt   io_uring ns/pkt   io_uring / sendmmsg   dropped")
      for batch in batchSizes! {
        let mmsg = median("sendmmsg/\(batch)")
        let uring = median("io_uring/\(batch)")
        print(
          "\(batch)".leftPadded(5) + String.fixed(mmsg, digits: 1).leftPadded(18)
            + String.fixed(uring, digits: 1).leftPadded(18) + String.fixed(uring / mmsg, digits: 3).leftPadded(22)
            + "\(drops["sendmmsg/\(batch)"]! + drops["io_uring/\(batch)"]!)".leftPadded(10))
      }
    }
  }
}

/// A flag shared with the draining thread.
final class SharedFlag<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: Value
  init(_ value: Value) { stored = value }
  var value: Value {
    get { lock.withLock { stored } }
    set { lock.withLock { stored = newValue } }
  }
}
