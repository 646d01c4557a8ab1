import CQuotecastLinux
import Glibc
import ITCH
import QuotecastCore
import Synchronization
import Transport

/// Hands finished packets to the multicast publisher, one sendmmsg per batch, and notes when
/// each channel last sent (for heartbeats).
struct PublisherSink: PacketSink {
  let publisher: MulticastPublisher
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nowNs: UInt64 = 0

  @inline(__always)
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    publisher.enqueue(destination: channel, packet)
    lastSendNs[Int(channel)] = nowNs
  }

  @inline(__always)
  mutating func flush() { publisher.flush() }
}

public struct GatewayStats: Sendable {
  public var datagramsIn: UInt64
  public var messages: UInt64
  public var packetsOut: UInt64
  public var heartbeats: UInt64
  public var dropped: UInt64
  public var gaps: UInt64
  public var duplicates: UInt64
  public var noBuffers: UInt64
  public var longestCycleNs: UInt64
  public var stalls: UInt64

  public var line: String {
    "in \(datagramsIn) datagrams, \(messages) messages; out \(packetsOut) packets (\(heartbeats) heartbeats), "
      + "\(dropped) dropped; gaps \(gaps), duplicates \(duplicates), ENOBUFS \(noBuffers); "
      + "longest cycle \(longestCycleNs / 1000) µs, \(stalls) stalls"
  }
}

/// The gateway in its run-to-completion mode: one thread (pinned if configured) reaps datagrams
/// from io_uring, runs each through the core, and multicasts what comes out before taking the
/// next. Idle channels heartbeat; the snapshot channel cycles through every instrument.
/// Sendable because other threads only call `requestStop` (an atomic), read the CounterBoard, or read
/// state after `run` has returned.
public final class Gateway: @unchecked Sendable {
  public let config: GatewayConfig
  public let core: QuotecastCore
  let sockets: [UDPReceiveSocket]
  /// Created by `run`, on the thread that polls it: a SINGLE_ISSUER ring belongs to its creator.
  public private(set) var receiver: URingReceiver?
  public let publisher: MulticastPublisher
  let lastSendNs: UnsafeMutablePointer<UInt64>
  let stopRequested = Atomic<Bool>(false)
  var longestCycleNs: UInt64 = 0
  var cycles: UInt64 = 0
  var stalls: UInt64 = 0
  var snapshotPosition = 0
  var publishRingFull: UInt64 = 0
  /// Owned by the thread that runs the core.
  var stageHistograms = StageHistograms()
  /// Published for other threads: the metrics endpoint, tests, tools.
  public let counters = CounterBoard()
  public let metricsEndpoint: MetricsEndpoint?
  public private(set) var log: (String) -> Void

  public init(config: GatewayConfig, log: @escaping (String) -> Void = { fputs($0 + "\n", stderr) }) throws {
    let problems = config.problems()
    guard problems.isEmpty else { throw ConfigError(problems: problems) }
    self.config = config
    self.log = log
    core = QuotecastCore(config: config.coreConfig)
    core.measuresStages = config.stageTiming
    sockets = try config.inputs.map {
      try UDPReceiveSocket(
        endpoint: $0, interface: config.inputInterface, receiveBufferBytes: config.receiveBufferBytes)
    }
    publisher = try MulticastPublisher(
      destinations: config.channelGroups + [config.snapshotGroup], interface: config.outputInterface,
      ttl: UInt8(config.ttl), loop: config.loop, sendBufferBytes: config.sendBufferBytes)
    let board = counters
    metricsEndpoint = try config.httpEndpoint.map {
      try MetricsEndpoint(endpoint: $0, board: board) {
        "{\"status\":\"serving\",\"datagrams_in\":\(board.load(.datagramsIn)),\"messages\":\(board.load(.messages)),"
          + "\"packets_out\":\(board.load(.packetsOut)),\"gaps\":\(board.load(.gaps)),"
          + "\"send_drops\":\(board.load(.sendDrops))}"
      }
    }
    lastSendNs = .allocate(capacity: config.channels + 1)
    lastSendNs.initialize(repeating: 0, count: config.channels + 1)
    for warning in config.warnings { log("warning: \(warning)") }
    for socket in sockets where socket.receiveBufferBytes < config.receiveBufferBytes {
      log(
        "warning: feed.receive_buffer_bytes: the kernel granted \(socket.receiveBufferBytes) of "
          + "\(config.receiveBufferBytes) bytes on \(socket.endpoint) (raise net.core.rmem_max or run with CAP_NET_ADMIN)"
      )
    }
  }

  deinit {
    metricsEndpoint?.stop()
    lastSendNs.deallocate()
  }

  /// Copies the ingest side's counters to the board (from the thread that owns the ring).
  func publishIngestCounters(_ receiver: URingReceiver) {
    let ingest = receiver.counters
    let board = counters
    board.store(.datagramsIn, ingest.datagrams)
    board.store(.bytesIn, ingest.bytes)
    board.store(.noBuffers, ingest.noBuffers)
    board.store(.truncatedDatagrams, ingest.truncated)
    board.store(.ingestErrors, ingest.errors)
    board.store(.enterErrors, ingest.enterErrors)
  }

  /// Copies the core and publish side's counters to the board (relaxed atomic stores; no locks).
  func publishCoreCounters() {
    let session = core.session.counters
    let books = core.books
    let board = counters
    board.store(.messages, books.counters.messages)
    board.store(.packetsOut, publisher.counters.packets)
    board.store(.bytesOut, publisher.counters.bytes)
    board.store(.heartbeats, core.encoder.counters.heartbeats)
    board.store(.sendDrops, publisher.counters.dropped)
    board.store(.sendErrors, publisher.counters.errors)
    board.store(.gaps, session.gaps)
    board.store(.gapMessages, session.gapMessages)
    board.store(.duplicatePackets, session.duplicatePackets)
    board.store(.duplicateMessages, session.duplicateMessages)
    board.store(.unknownSession, session.unknownSession)
    board.store(.implausibleJumps, session.implausibleJumps)
    board.store(.truncatedBlocks, session.truncatedBlocks)
    board.store(.countMismatches, session.countMismatches)
    board.store(.shortPackets, session.shortPackets)
    board.store(.publishRingFull, publishRingFull)
    board.store(.bookAnomalies, books.counters.anomalyTotal)
    board.store(.eventsDropped, books.eventsDropped)
    board.store(.liveOrders, UInt64(books.liveOrders))
    board.store(.liveLevels, UInt64(books.liveLevels))
    board.store(.cycles, cycles)
    board.store(.stalls, stalls)
    board.store(.longestCycleNs, longestCycleNs)
    board.store(.threadAllocations, qc_thread_allocations())
    // An Int range, not ITCHMessageType.all: iterating an array allocates in debug builds.
    for type in 0..<256 where ITCHMessageType.length(of: UInt8(type)) > 0 {
      board.storeMessages(ofType: UInt8(type), books.messages(ofType: UInt8(type)))
    }
  }

  @inline(__always)
  func recordStages(ingestNs: UInt64) {
    let stages = core.lastStageNs
    stageHistograms.record(.ingest, ingestNs)
    stageHistograms.record(.decodeAndBooks, stages.decodeAndBooks)
    stageHistograms.record(.encode, stages.encode)
    stageHistograms.record(.send, stages.send)
  }

  @inline(__always)
  func noteCycle(_ cycleNs: UInt64) {
    longestCycleNs = max(longestCycleNs, cycleNs)
    cycles &+= 1
    if cycleNs > UInt64(config.stallThresholdUs) * 1000 { stalls &+= 1 }
  }

  /// The UDP port each input is bound to (for inputs configured with port 0).
  public var inputPorts: [UInt16] { sockets.map(\.boundPort) }

  public func requestStop() { stopRequested.store(true, ordering: .releasing) }

  /// Runs the gateway on a thread of its own (it owns the io_uring ring) and waits for it without
  /// blocking a Swift concurrency thread; `requestStop` ends it.
  public func runOnOwnThread(durationNs: UInt64? = nil) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
      _ = WorkerThread { [self] in
        do {
          try run(durationNs: durationNs)
          continuation.resume()
        } catch {
          continuation.resume(throwing: error)
        }
      }
    }
  }

  /// Stats as last published to the board: safe from any thread while running.
  public var statsFromBoard: GatewayStats {
    let board = counters
    return GatewayStats(
      datagramsIn: board.load(.datagramsIn), messages: board.load(.messages), packetsOut: board.load(.packetsOut),
      heartbeats: board.load(.heartbeats), dropped: board.load(.sendDrops), gaps: board.load(.gaps),
      duplicates: board.load(.duplicatePackets), noBuffers: board.load(.noBuffers),
      longestCycleNs: board.load(.longestCycleNs), stalls: board.load(.stalls))
  }

  public var stats: GatewayStats {
    let session = core.session.counters
    var ingest = URingReceiver.Counters()
    if let receiver { ingest = receiver.counters }
    return GatewayStats(
      datagramsIn: ingest.datagrams, messages: core.books.counters.messages,
      packetsOut: publisher.counters.packets, heartbeats: core.encoder.counters.heartbeats,
      dropped: publisher.counters.dropped, gaps: session.gaps, duplicates: session.duplicatePackets,
      noBuffers: ingest.noBuffers, longestCycleNs: longestCycleNs, stalls: stalls)
  }

  /// Runs until `requestStop`, SIGINT/SIGTERM (if handlers are installed), or `durationNs`; then
  /// drains what the kernel already holds and returns.
  public func run(durationNs: UInt64? = nil) throws {
    if config.mode == .single, let cpu = config.cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    let receiver = try URingReceiver(sockets: sockets, config: config.ingest)
    self.receiver = receiver
    for warning in receiver.warnings { log("warning: \(warning)") }
    metricsEndpoint?.start()
    defer { metricsEndpoint?.stop() }
    log(
      "quotecast serving \(config.inputs.map(\.description).joined(separator: ", ")) → "
        + "\(config.channels) channel(s) from \(config.groupBase), snapshots \(config.snapshotGroup); "
        + "io_uring \(receiver.setupDescription), \(config.mode.rawValue) mode, idle \(config.idle.rawValue)"
        + (config.mode == .single ? (config.cpu.map { ", pinned to cpu \($0)" } ?? "") : "")
        + (metricsEndpoint.map { "; metrics on http://\($0.endpoint)/metrics" } ?? ""))
    for channel in 0...config.channels { lastSendNs[channel] = Clock.monotonicNs() }
    if config.mode == .dedicated {
      try runDedicated(receiver: receiver, durationNs: durationNs)
      return
    }
    var sink = PublisherSink(publisher: publisher, lastSendNs: lastSendNs)
    var loop = TimerLoop(gateway: self)
    let startNs = Clock.monotonicNs()
    let waitNs: Int64? = config.idle == .block ? 10_000_000 : nil
    let core = self.core
    while !stopRequested.load(ordering: .acquiring) {
      let cycleStartNs = Clock.monotonicNs()
      if let durationNs, cycleStartNs - startNs >= durationNs { break }
      let measures = config.stageTiming
      let handled = receiver.poll(waitNs: waitNs) { _, payload, _ in
        sink.nowNs = Clock.monotonicNs()
        core.process(moldPacket: payload, nowNs: Clock.realtimeNs(), into: &sink)
        if measures { recordStages(ingestNs: sink.nowNs &- receiver.lastReapNs) }
      }
      let nowNs = Clock.monotonicNs()
      // The blocking wait is idle time, not work: time only cycles that handled datagrams.
      if handled > 0 { noteCycle(nowNs - max(cycleStartNs, sink.nowNs)) }
      sink.nowNs = nowNs
      loop.tick(nowNs: nowNs, into: &sink, publishIngest: true)
      if handled == 0 && config.idle == .yield { sched_yield() }
    }
    // Drain: whatever already arrived is processed and sent before returning.
    var drained = 0
    while true {
      let handled = receiver.poll(waitNs: 1_000_000) { _, payload, _ in
        core.process(moldPacket: payload, nowNs: Clock.realtimeNs(), into: &sink)
      }
      if handled == 0 { break }
      drained += handled
    }
    publisher.flush()
    publishIngestCounters(receiver)
    publishCoreCounters()
    stageHistograms.publish(to: counters)
    log("quotecast stopped after draining \(drained) datagram(s): \(stats.line)")
  }
}

/// The timed duties of the thread that owns the core: heartbeats for idle channels, the snapshot
/// cycle, the stats line, and counter publication.
struct TimerLoop {
  let gateway: Gateway
  let heartbeatNs: UInt64
  let snapshotTickNs: UInt64
  let ticksPerCycle: Int
  let statsNs: UInt64
  var nextSnapshotNs: UInt64
  var nextStatsNs: UInt64
  var nextPublishNs: UInt64
  var nextStagesNs: UInt64
  var tick = 0
  var perTick = 1

  init(gateway: Gateway) {
    self.gateway = gateway
    let config = gateway.config
    let startNs = Clock.monotonicNs()
    heartbeatNs = UInt64(config.heartbeatIntervalMs) * 1_000_000
    snapshotTickNs = UInt64(config.snapshotTickMs) * 1_000_000
    ticksPerCycle = max(1, config.snapshotCycleMs / config.snapshotTickMs)
    statsNs = UInt64(config.statsIntervalMs) * 1_000_000
    nextSnapshotNs = startNs + snapshotTickNs
    nextStatsNs = startNs + statsNs
    nextPublishNs = startNs
    nextStagesNs = startNs + 1_000_000_000
  }

  @inline(__always)
  mutating func tick<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink, publishIngest: Bool) {
    let core = gateway.core
    let channels = gateway.config.channels
    for channel in 0..<channels where nowNs - gateway.lastSendNs[channel] >= heartbeatNs {
      core.heartbeat(channel: UInt16(channel), nowNs: Clock.realtimeNs(), into: &sink)
    }
    if nowNs >= nextSnapshotNs {
      nextSnapshotNs = nowNs + snapshotTickNs
      // Recount the instruments once per cycle (a scan of every locate), not on every tick.
      if tick % ticksPerCycle == 0 { perTick = (max(1, core.books.activeCount) + ticksPerCycle - 1) / ticksPerCycle }
      tick += 1
      gateway.snapshotPosition = core.publishSnapshotSlice(
        channel: core.encoder.snapshotChannel, start: gateway.snapshotPosition, count: perTick,
        nowNs: Clock.realtimeNs(), into: &sink)
    }
    if nowNs >= nextPublishNs {
      nextPublishNs = nowNs + 20_000_000
      if publishIngest, let receiver = gateway.receiver { gateway.publishIngestCounters(receiver) }
      gateway.publishCoreCounters()
    }
    if nowNs >= nextStagesNs {
      nextStagesNs = nowNs + 1_000_000_000
      gateway.stageHistograms.publish(to: gateway.counters)
    }
    if statsNs > 0 && nowNs >= nextStatsNs {
      nextStatsNs = nowNs + statsNs
      gateway.log("stats: \(gateway.statsFromBoard.line)")
    }
  }
}
