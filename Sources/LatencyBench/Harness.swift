import Gateway
import Glibc
import Histogram
import ITCH
import QuotecastClient
import Synchronization
import Transport

/// What the harness measures.
public enum BenchTarget: Sendable {
  /// A gateway the harness starts in this process, on its own (pinned) thread.
  case gateway(GatewayConfig)
  /// The floor: the same io_uring ingest and multicast send with nothing between them.
  case nullRelay(input: IPv4Endpoint, output: IPv4Endpoint, cpu: Int?, idle: IdleStrategy)
  /// A gateway already running elsewhere on this host: its feed input and its channel groups.
  case external(input: IPv4Endpoint, groups: [IPv4Endpoint])

  public var name: String {
    switch self {
    case .gateway: "gateway"
    case .nullRelay: "null-relay"
    case .external: "external"
    }
  }
}

/// One measured run.
public struct RunResult {
  public let target: String
  public let rate: Double
  public var histogram: Histogram<UInt64>
  public let messagesSent: Int
  public let datagramsSent: Int
  /// Messages that should have produced output, and those whose output arrived.
  public let expected: Int
  public let received: Int
  public var lost: Int { max(0, expected - received) }
  /// Messages sent per second over the run, by the send clock.
  public let achievedRate: Double
  /// The worst lateness of a send against its schedule (the harness's own stall).
  public let maxSendLagNs: UInt64
  /// The gateway's own per-stage quantiles (p50, p99) in ns, by stage name; empty for the relay.
  public let stages: [(name: String, p50Ns: UInt64, p99Ns: UInt64)]
  /// The gateway's counters that matter for a run (drops, gaps, ENOBUFS).
  public let notes: [String: UInt64]

  public func quantileNs(_ percentile: Double) -> UInt64 {
    histogram.totalCount == 0 ? 0 : histogram.valueAtPercentile(percentile)
  }
}

/// Where the harness and the system under test run.
public struct Placement: Sendable {
  /// The harness thread: it sends on schedule and receives, busy, on this core.
  public var harnessCPU: Int?
  /// The gateway's (single mode) or the relay's thread.
  public var targetCPU: Int?
  public init(harnessCPU: Int?, targetCPU: Int?) {
    self.harnessCPU = harnessCPU
    self.targetCPU = targetCPU
  }
}

/// Runs the load plan against a target once: open-loop sends from the schedule, and every output
/// update matched to the intended send time of the message that caused it (by its upstream
/// sequence), so a stall anywhere shows in the latency and cannot hide (no coordinated omission).
/// One harness thread does both: it sends what is due, and otherwise polls its receiver. It is a
/// thread of its own, pinned, so the caller's affinity (inherited by the target's threads) stays.
///
/// `sequenceOffset` moves every MoldUDP64 sequence up: a gateway that keeps running between runs
/// (an external one) sees one continuing session.
public func measureLatency(
  plan: LoadPlan, target: BenchTarget, placement: Placement, warmupNs: UInt64, withOutput: [Bool],
  sequenceOffset: UInt64 = 0, log: @escaping @Sendable (String) -> Void = { _ in }
) throws -> RunResult {
  final class Outcome: @unchecked Sendable { var result: Result<RunResult, Error>? }
  let outcome = Outcome()
  let done = SharedFlag()
  WorkerThread.detached {
    outcome.result = Result {
      try measureOnThisThread(
        plan: plan, target: target, placement: placement, warmupNs: warmupNs, withOutput: withOutput,
        sequenceOffset: sequenceOffset, log: log)
    }
    done.set()
  }
  while !done.isSet { usleep(1000) }
  return try outcome.result!.get()
}

func measureOnThisThread(
  plan: LoadPlan, target: BenchTarget, placement: Placement, warmupNs: UInt64, withOutput: [Bool],
  sequenceOffset: UInt64, log: @escaping @Sendable (String) -> Void
) throws -> RunResult {
  let input: IPv4Endpoint
  let groups: [IPv4Endpoint]
  let relayOutput: Bool
  let stop = SharedFlag()
  let finished = SharedFlag()
  var gateway: Gateway?
  switch target {
  case .gateway(let config):
    input = config.feed.inputs[0]
    groups = config.channels.groups
    relayOutput = false
    let running = try Gateway(config: config, log: log)
    gateway = running
    WorkerThread.detached {
      do { try running.run() } catch { log("gateway: \(error)") }
      finished.set()
    }
  case .nullRelay(let relayInput, let output, let cpu, let idle):
    input = relayInput
    groups = [output]
    relayOutput = true
    let relay = try NullRelay(input: relayInput, output: output)
    WorkerThread.detached {
      do { try relay.run(cpu: cpu, idle: idle, stop: stop) } catch { log("relay: \(error)") }
      finished.set()
    }
  case .external(let externalInput, let externalGroups):
    input = externalInput
    groups = externalGroups
    relayOutput = false
    finished.set()
  }
  defer {
    stop.set()
    gateway?.requestStop()
    while !finished.isSet { usleep(1000) }
  }
  usleep(200_000)  // the target's ring is armed

  if let cpu = placement.harnessCPU { try CPUPinning.pinCurrentThread(to: cpu) }
  let sockets = try groups.map { try UDPReceiveSocket(endpoint: $0, receiveBufferBytes: 32 << 20) }
  var receiverConfig = URingReceiver.Config()
  receiverConfig.bufferCount = 8192
  let receiver = try URingReceiver(sockets: sockets, config: receiverConfig)
  let publisher = try MulticastPublisher(destinations: [input], sendBufferBytes: 8 << 20, batchCapacity: 1)
  let scratch = UnsafeMutableRawPointer.allocate(byteCount: 65_536, alignment: 8)
  defer { scratch.deallocate() }

  var histogram = Histogram<UInt64>(
    lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
  var seen = [Bool](repeating: false, count: plan.messages + 1)
  var received = 0
  var maxLagNs: UInt64 = 0
  let expected = relayOutput ? plan.messages : withOutput.reduce(0) { $0 + ($1 ? 1 : 0) }
  let startNs = Clock.monotonicNs() + 1_000_000
  var next = 0
  var lastSendNs = startNs
  let drainNs: UInt64 = 200_000_000
  try plan.bytes.withUnsafeBytes { raw in
    while true {
      let nowNs = Clock.monotonicNs()
      // Send everything that is due (a late harness sends at once: the schedule is the clock).
      while next < plan.datagrams.count && startNs + plan.intendedNs[next] <= nowNs {
        let datagram = plan.datagrams[next]
        var bytes = UnsafeRawBufferPointer(rebasing: raw[datagram.offset..<datagram.offset + datagram.count])
        if sequenceOffset > 0 && bytes.count >= 20 && bytes.count <= 65_536 {
          scratch.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
          let sequence = UInt64(bigEndian: scratch.loadUnaligned(fromByteOffset: 10, as: UInt64.self))
          scratch.storeBytes(of: (sequence &+ sequenceOffset).bigEndian, toByteOffset: 10, as: UInt64.self)
          bytes = UnsafeRawBufferPointer(start: scratch, count: bytes.count)
        }
        publisher.enqueue(destination: 0, bytes)
        publisher.flush()
        let sentNs = Clock.monotonicNs()
        maxLagNs = max(maxLagNs, sentNs - (startNs + plan.intendedNs[next]))
        lastSendNs = sentNs
        next += 1
      }
      _ = receiver.poll(waitNs: nil) { _, payload, _ in
        let receivedNs = receiver.lastReapNs
        func sample(_ upstream: UInt64) {
          let sequence = upstream &- sequenceOffset
          guard sequence >= 1 && sequence <= UInt64(plan.messages), !seen[Int(sequence)] else { return }
          seen[Int(sequence)] = true
          received += 1
          let intended = plan.intendedNs[Int(plan.datagramOfMessage[Int(sequence) - 1])]
          if intended >= warmupNs { _ = histogram.record(receivedNs &- (startNs + intended)) }
        }
        if relayOutput {
          guard let packet = MoldPacket(payload), !packet.isHeartbeat, !packet.isEndOfSession else { return }
          for offset in 0..<UInt64(packet.messageCount) { sample(packet.sequenceNumber + offset) }
        } else {
          guard let packet = PacketView(payload) else { return }
          for index in 0..<packet.updateCount {
            // A feed status names the first lost message, not one that was delivered.
            if let update = packet.update(at: index), update.feedStatus == nil { sample(update.upstreamSequence) }
          }
        }
      }
      if next == plan.datagrams.count && (received >= expected || Clock.monotonicNs() - lastSendNs > drainNs) { break }
    }
  }
  let elapsedNs = max(1, lastSendNs - startNs)
  var stages: [(String, UInt64, UInt64)] = []
  var notes: [String: UInt64] = [:]
  if let gateway {
    gateway.requestStop()
    while !finished.isSet { usleep(1000) }
    for stage in Stage.allCases {
      stages.append(
        (
          stage.name, gateway.counters.stageLatencyNs(stage.rawValue, quantile: 0),
          gateway.counters.stageLatencyNs(stage.rawValue, quantile: 1)
        ))
    }
    for counter in [GatewayCounter.sendDrops, .gaps, .noBuffers, .stalls, .longestCycleNs, .datagramsIn] {
      notes[counter.metricName] = gateway.counters.load(counter)
    }
  }
  _ = receiver  // keeps the sockets' ring alive to here
  return RunResult(
    target: target.name, rate: plan.rate, histogram: histogram, messagesSent: plan.messages,
    datagramsSent: next, expected: expected, received: received,
    achievedRate: Double(plan.messages) / (Double(elapsedNs) / 1e9), maxSendLagNs: maxLagNs,
    stages: stages.map { (name: $0.0, p50Ns: $0.1, p99Ns: $0.2) }, notes: notes)
}

/// The floor: io_uring multishot recvmsg in, one sendmmsg out per datagram, nothing between.
/// Exactly the gateway's ingest and send code, without session, decode, books or encode.
final class NullRelay: @unchecked Sendable {
  let socket: UDPReceiveSocket
  let publisher: MulticastPublisher

  init(input: IPv4Endpoint, output: IPv4Endpoint) throws {
    socket = try UDPReceiveSocket(endpoint: input)
    publisher = try MulticastPublisher(destinations: [output])
  }

  func run(cpu: Int?, idle: IdleStrategy, stop: SharedFlag) throws {
    if let cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    let receiver = try URingReceiver(sockets: [socket])
    let publisher = self.publisher
    let waitNs: Int64? = idle == .block ? 10_000_000 : nil
    while !stop.isSet {
      let handled = receiver.poll(waitNs: waitNs) { _, payload, _ in
        // Per datagram, as the gateway flushes its output per input datagram.
        publisher.enqueue(destination: 0, payload)
        publisher.flush()
      }
      if handled == 0 && idle == .yield { sched_yield() }
    }
  }
}
