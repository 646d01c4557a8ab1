import ArgumentParser
import LatencyBench
import Foundation
import Glibc
import Transport

/// The send paths side by side, in the same run: the measurement behind `channels.send_method`.
struct BenchSendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-send",
    abstract:
      "Multicast send cost on loopback: sendmmsg, io_uring sendmsg, UDP GSO and io_uring SEND_ZC, alternated, medians.")
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
    guard let sizes = SendBenchmark.batchSizes(batches), !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 && $0 <= 256 })
    else {
      throw ValidationError("--batches: comma-separated sizes of 1...256, got \(batches)")
    }
    guard let endpoint = IPv4Endpoint(group), endpoint.isMulticast else {
      throw ValidationError("--group must be a multicast group:port, got \(group)")
    }
    if let cpu, !CPUPinning.isAllowed(cpu) { throw ValidationError("--cpu \(cpu) does not exist or is not allowed") }
  }

  func run() throws {
    var job = SendBenchmark()
    job.packets = packets
    job.bytes = bytes
    job.batches = SendBenchmark.batchSizes(batches)!
    job.passes = passes
    job.group = IPv4Endpoint(group)!
    job.cpu = cpu
    job.json = json
    // A refusal is reported as a bad option is (exit code 64).
    do { try job.run() } catch let error as BenchError { throw ValidationError(error.description) }
  }
}
