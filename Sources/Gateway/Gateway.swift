import CQuotecastLinux
import Feed
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
  /// The WebSocket edge's copy of everything sent, if it runs (never waits: a full ring refuses).
  let tap: PacketRing?
  var nowNs: UInt64 = 0

  @inline(__always)
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    publisher.enqueue(destination: channel, packet)
    tap?.offer(channel: channel, packet)
    lastSendNs[Int(channel)] = nowNs
  }

  @inline(__always)
  mutating func flush() {
    publisher.flush()
    tap?.publish()
  }
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
  public var batches: UInt64 = 0
  public var batchedDatagrams: UInt64 = 0
  public var multiDatagramBatches: UInt64 = 0
  public var largestBatch: UInt64 = 0

  public var line: String {
    let hundredths = batches == 0 ? 0 : batchedDatagrams * 100 / batches
    let perBatchText = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    return "in \(datagramsIn) datagrams, \(messages) messages; out \(packetsOut) packets (\(heartbeats) heartbeats), "
      + "\(dropped) dropped; batches \(batches) (\(perBatchText) datagrams each, \(multiDatagramBatches) of several, "
      + "largest \(largestBatch)); gaps \(gaps), duplicates \(duplicates), ENOBUFS \(noBuffers); "
      + "longest cycle \(longestCycleNs / 1000) µs, \(stalls) stalls"
  }
}

/// One thread's share of the books: a core for the channels it owns (all of them unless books
/// are sharded) and that thread's duty-cycle bookkeeping. Touched only by its thread while running.
final class BookShard {
  let index: Int
  let core: QuotecastCore
  /// When each channel (and the snapshot channel, last) last sent from this shard, monotonic ns.
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var longestCycleNs: UInt64 = 0
  var cycles: UInt64 = 0
  var stalls: UInt64 = 0
  var publishRingFull: UInt64 = 0
  var stageHistograms = StageHistograms()

  init(index: Int, of count: Int, config: GatewayConfig, session: UInt64) {
    self.index = index
    var coreConfig = config.coreConfig.shard(index, of: count)
    coreConfig.encoder.session = session
    // The first shard publishes the layout (every shard writes the snapshot channel).
    if index == 0 { coreConfig.encoder.layout = config.layout(session: session) }
    core = QuotecastCore(config: coreConfig)
    core.measuresStages = config.stageTiming
    lastSendNs = .allocate(capacity: config.channels + 1)
    lastSendNs.initialize(repeating: 0, count: config.channels + 1)
  }

  deinit { lastSendNs.deallocate() }
}

/// The gateway in its run-to-completion mode: one thread (pinned if configured) reaps datagrams
/// from io_uring, runs each through the core, and multicasts what comes out before taking the
/// next. Idle channels heartbeat; the snapshot channel cycles through every instrument.
/// Sendable because other threads only call `requestStop` (an atomic), read the CounterBoard, or read
/// state after `run` has returned.
public final class Gateway: @unchecked Sendable {
  public let config: GatewayConfig
  let shards: [BookShard]
  /// The first (in single mode, the only) book shard's core.
  public var core: QuotecastCore { shards[0].core }
  /// Every book shard's core; shard `k` owns the channels with `channel % count == k`.
  public var cores: [QuotecastCore] { shards.map(\.core) }
  let sockets: [UDPReceiveSocket]
  /// Stamped on every packet: when this gateway started (Unix ns).
  public let session: UInt64
  /// Where every sent packet is also copied for the WebSocket edge (nil: no edge).
  let tap: PacketRing?
  /// This host's claim on the channels this instance owns (held until the gateway goes).
  /// Released when `run` returns: a stopped gateway no longer publishes, so another may start.
  var claims: ChannelClaims?
  /// Created by `run`, on the thread that polls it: a SINGLE_ISSUER ring belongs to its creator.
  public private(set) var receiver: URingReceiver?
  public let publisher: MulticastPublisher
  let stopRequested = SharedFlag()
  /// Feed datagrams refused by `feed.sources` (owned by the ingest thread).
  var sourceRejected: UInt64 = 0
  /// `feed.sources` plus the re-request server, copied once so the per-datagram check reads plain
  /// memory (no array, no retain); empty when every source is accepted.
  let allowedSources: UnsafeMutableBufferPointer<IPv4Endpoint>
  /// Where re-requests go from, and their answers come back to (one of the receiver's sockets).
  let rerequestSocket: UDPReceiveSocket?
  /// Published for other threads: the metrics endpoint, tests, tools.
  public let counters: CounterBoard
  public let metricsEndpoint: MetricsEndpoint?
  public private(set) var log: (String) -> Void

  /// `tap` receives a copy of every packet sent (for the WebSocket edge), `extraMetrics` more text for /metrics.
  public init(
    config: GatewayConfig, tap: PacketRing? = nil, extraMetrics: ExtraMetrics? = nil,
    log: @escaping (String) -> Void = { fputs($0 + "\n", stderr) }
  ) throws {
    let problems = config.problems()
    guard problems.isEmpty else { throw ConfigError(problems: problems) }
    self.config = config
    self.tap = tap
    self.log = log
    let groups = config.channelGroups
    claims = try ChannelClaims(config.owned.map { (channel: $0, group: groups[$0]) })
    let allowed = config.sources.isEmpty ? [] : config.sources + (config.rerequestServer.map { [$0] } ?? [])
    allowedSources = .allocate(capacity: allowed.count)
    _ = allowedSources.initialize(from: allowed)
    let shardCount = config.shardCount
    // Every start is a new session: subscribers see the sequences begin again and resynchronize.
    let session = Clock.realtimeNs()
    self.session = session
    shards = (0..<shardCount).map { BookShard(index: $0, of: shardCount, config: config, session: session) }
    counters = CounterBoard(shards: shardCount)
    var sockets = try config.inputs.map {
      try UDPReceiveSocket(
        endpoint: $0, interface: config.inputInterface, receiveBufferBytes: config.receiveBufferBytes)
    }
    if config.rerequestServer != nil {
      // On the feed's interface, where the server's answers arrive like the feed.
      let socket = try UDPReceiveSocket(
        endpoint: IPv4Endpoint(address: config.inputInterface, port: 0), receiveBufferBytes: config.receiveBufferBytes)
      sockets.append(socket)
      rerequestSocket = socket
    } else {
      rerequestSocket = nil
    }
    self.sockets = sockets
    publisher = try MulticastPublisher(
      destinations: config.channelGroups + [config.snapshotGroup], interface: config.outputInterface,
      ttl: UInt8(config.ttl), loop: config.loop, sendBufferBytes: config.sendBufferBytes, method: config.sendMethod,
      dropRange: config.dropOutput)
    let board = counters
    let owned = config.owned
    let ownedJSON = owned.map(String.init).joined(separator: ",")
    metricsEndpoint = try config.httpEndpoint.map {
      try MetricsEndpoint(
        endpoint: $0, board: board, channelCount: config.channels,
        ownedChannels: owned.map { (channel: $0, group: groups[$0]) }, extraMetrics: extraMetrics?.render
      ) {
        "{\"status\":\"serving\",\"datagrams_in\":\(board.load(.datagramsIn)),\"messages\":\(board.load(.messages)),"
          + "\"packets_out\":\(board.load(.packetsOut)),\"gaps\":\(board.load(.gaps)),"
          + "\"send_drops\":\(board.load(.sendDrops)),\"owned_channels\":[\(ownedJSON)]}"
      }
    }
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
    allowedSources.deallocate()
  }

  /// Whether a feed datagram from `source` is accepted (port 0 in `feed.sources`: any port).
  @inline(__always)
  func accepts(source: IPv4Endpoint) -> Bool {
    let count = allowedSources.count
    if count == 0 { return true }
    var index = 0
    while index < count {
      let allowed = allowedSources[index]
      if allowed.address == source.address && (allowed.port == 0 || allowed.port == source.port) { return true }
      index += 1
    }
    return false
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
    board.store(.sourceRejected, sourceRejected)
  }

  /// Copies the publisher's counters to the board, from the thread that sends.
  func publishSendCounters() {
    let board = counters
    board.store(.packetsOut, publisher.counters.packets)
    board.store(.bytesOut, publisher.counters.bytes)
    board.store(.sendDrops, publisher.counters.dropped)
    board.store(.sendErrors, publisher.counters.errors)
    board.store(.faultDrops, publisher.counters.faultDrops)
    board.store(.segmentedSends, publisher.counters.segmentedSends)
    board.store(.paddingBytesOut, publisher.counters.paddingBytes)
  }

  /// Copies a book shard's counters to its row of the board (relaxed atomic stores; no locks).
  /// Every shard sees every datagram, so the session's counters come from shard 0 alone.
  func publishCoreCounters(_ shard: BookShard) {
    let core = shard.core
    let books = core.books
    let board = counters
    let row = shard.index
    board.store(.messages, books.counters.messages, shard: row)
    board.store(.heartbeats, core.encoder.counters.heartbeats, shard: row)
    board.store(.bookAnomalies, books.counters.anomalyTotal, shard: row)
    board.store(.eventsDropped, books.eventsDropped, shard: row)
    board.store(.liveOrders, UInt64(books.liveOrders), shard: row)
    board.store(.liveLevels, UInt64(books.liveLevels), shard: row)
    board.store(.cycles, shard.cycles, shard: row)
    board.store(.stalls, shard.stalls, shard: row)
    board.store(.longestCycleNs, shard.longestCycleNs, shard: row)
    board.store(.publishRingFull, shard.publishRingFull, shard: row)
    board.store(.threadAllocations, qc_thread_allocations(), shard: row)
    // An Int range, not ITCHMessageType.all: iterating an array allocates in debug builds.
    for type in 0..<256 where ITCHMessageType.length(of: UInt8(type)) > 0 {
      board.storeMessages(ofType: UInt8(type), books.messages(ofType: UInt8(type)), shard: row)
    }
    guard row == 0 else { return }
    // Every shard batches the same datagrams: shard 0's count is the gateway's.
    let batching = core.batchCounters
    board.store(.batches, batching.batches)
    board.store(.batchedDatagrams, batching.datagrams)
    board.store(.multiDatagramBatches, batching.multiDatagramBatches)
    board.store(.largestBatch, batching.largestBatch)
    let session = core.session.counters
    board.store(.gaps, session.gaps)
    board.store(.gapMessages, session.gapMessages)
    board.store(.duplicatePackets, session.duplicatePackets)
    board.store(.duplicateMessages, session.duplicateMessages)
    board.store(.unknownSession, session.unknownSession)
    board.store(.implausibleJumps, session.implausibleJumps)
    board.store(.truncatedBlocks, session.truncatedBlocks)
    board.store(.countMismatches, session.countMismatches)
    board.store(.shortPackets, session.shortPackets)
    let health = core.health
    board.store(.gapsFilled, health.gapsFilled)
    board.store(.catchUps, health.catchUps)
    board.store(.gapsAbandoned, health.gapsAbandoned)
    board.store(.rerequests, health.rerequests)
    board.store(.heldPackets, health.heldPackets)
    board.store(.heldDuplicates, health.heldDuplicates)
    board.store(.truncatedCopiesReplaced, health.truncatedCopiesReplaced)
    board.store(.damagedDuplicates, session.damagedDuplicates)
    board.store(.lostMessages, health.lostMessages)
    board.store(.feedStale, health.stale ? 1 : 0)
  }

  /// Sends a MoldUDP64 re-request to the configured server from the re-request socket (whose
  /// answers the receiver reads like any feed datagram).
  func send(_ request: RerequestAction) {
    guard let socket = rerequestSocket, let server = config.rerequestServer else { return }
    var address = server.socketAddress
    request.withRequestBytes { bytes in
      _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(
            socket.fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0,
            socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }

  /// One datagram's stages; its packets are handed on when its batch closes (`recordBatchClose`).
  @inline(__always)
  func recordStages(_ shard: BookShard, ingestNs: UInt64) {
    let stages = shard.core.lastStageNs
    shard.stageHistograms.record(.ingest, ingestNs)
    shard.stageHistograms.record(.decodeAndBooks, stages.decodeAndBooks)
    shard.stageHistograms.record(.encode, stages.encode)
  }

  /// Closes the shard's open batch; with stage timing, records the hand-off of its packets once per batch.
  @inline(__always)
  func closeBatch<Sink: PacketSink>(_ shard: BookShard, into sink: inout Sink, measures: Bool) {
    let delivered = shard.core.datagramsInBatch
    shard.core.closeBatch(into: &sink)
    if measures && delivered > 0 { shard.stageHistograms.record(.send, shard.core.lastBatchCloseNs.send) }
  }

  @inline(__always)
  func noteCycle(_ shard: BookShard, _ cycleNs: UInt64) {
    shard.longestCycleNs = max(shard.longestCycleNs, cycleNs)
    shard.cycles &+= 1
    if cycleNs > UInt64(config.stallThresholdUs) * 1000 { shard.stalls &+= 1 }
  }

  /// The UDP port each input is bound to (for inputs configured with port 0).
  public var inputPorts: [UInt16] { sockets.map(\.boundPort) }

  public func requestStop() { stopRequested.set() }

  /// Runs the gateway on a thread of its own (it owns the io_uring ring) and waits for it without
  /// blocking a Swift concurrency thread; `requestStop` ends it.
  public func runOnOwnThread(durationNs: UInt64? = nil) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
      WorkerThread.detached { [self] in
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
      longestCycleNs: board.load(.longestCycleNs), stalls: board.load(.stalls), batches: board.load(.batches),
      batchedDatagrams: board.load(.batchedDatagrams), multiDatagramBatches: board.load(.multiDatagramBatches),
      largestBatch: board.load(.largestBatch))
  }

  /// Stats read directly: only once `run` has returned.
  public var stats: GatewayStats {
    let session = core.session.counters
    var ingest = URingReceiver.Counters()
    if let receiver { ingest = receiver.counters }
    return GatewayStats(
      datagramsIn: ingest.datagrams, messages: shards.reduce(0) { $0 + $1.core.books.counters.messages },
      packetsOut: publisher.counters.packets, heartbeats: shards.reduce(0) { $0 + $1.core.encoder.counters.heartbeats },
      dropped: publisher.counters.dropped, gaps: session.gaps, duplicates: session.duplicatePackets,
      noBuffers: ingest.noBuffers, longestCycleNs: shards.map(\.longestCycleNs).max() ?? 0,
      stalls: shards.reduce(0) { $0 + $1.stalls }, batches: core.batchCounters.batches,
      batchedDatagrams: core.batchCounters.datagrams, multiDatagramBatches: core.batchCounters.multiDatagramBatches,
      largestBatch: core.batchCounters.largestBatch)
  }

  /// Runs until `requestStop`, SIGINT/SIGTERM (if handlers are installed), or `durationNs`; then
  /// drains what the kernel already holds and returns.
  public func run(durationNs: UInt64? = nil) throws {
    if config.mode == .single, let cpu = config.cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    let receiver = try URingReceiver(sockets: sockets, config: config.ingest)
    self.receiver = receiver
    for warning in receiver.warnings { log("warning: \(warning)") }
    metricsEndpoint?.start()
    defer {
      metricsEndpoint?.stop()
      claims = nil
    }
    log(
      "quotecast serving \(config.inputs.map(\.description).joined(separator: ", ")) → "
        + "\(config.channels) channel(s) from \(config.groupBase)"
        + (config.ownedChannels == nil ? "" : " (owning \(config.ownedDescription))")
        + ", snapshots \(config.snapshotGroup); "
        + "io_uring \(receiver.setupDescription), sends by \(config.sendMethod.rawValue), \(config.mode.rawValue) mode"
        + (config.mode == .dedicated ? " (\(config.bookShards) book shard(s))" : "") + ", idle \(config.idle.rawValue)"
        + (config.mode == .single ? (config.cpu.map { ", pinned to cpu \($0)" } ?? "") : "")
        + (metricsEndpoint.map { "; metrics on http://\($0.endpoint)/metrics" } ?? ""))
    for shard in shards {
      for channel in 0...config.channels { shard.lastSendNs[channel] = Clock.monotonicNs() }
    }
    if config.mode == .dedicated {
      try runDedicated(receiver: receiver, durationNs: durationNs)
      return
    }
    let shard = shards[0]
    var sink = PublisherSink(publisher: publisher, lastSendNs: shard.lastSendNs, tap: tap)
    var loop = TimerLoop(gateway: self, shard: shard)
    let startNs = Clock.monotonicNs()
    let waitNs: Int64? = config.idle == .block ? 10_000_000 : nil
    let core = self.core
    let maxBatch = config.maxBatchDatagrams
    let measures = config.stageTiming
    // Smart batching: every datagram of a reap runs through the core before the batch's packets close, so a
    // backlog becomes fewer, fuller packets; a datagram alone in its reap closes its packets at once.
    func handle(_ payload: UnsafeRawBufferPointer, _ source: IPv4Endpoint) {
      guard accepts(source: source) else {
        sourceRejected &+= 1
        return
      }
      sink.nowNs = Clock.monotonicNs()
      core.process(moldPacket: payload, nowNs: Clock.realtimeNs(), into: &sink)
      if measures && core.lastProcessDelivered { recordStages(shard, ingestNs: sink.nowNs &- receiver.lastReapNs) }
      if core.datagramsInBatch >= maxBatch {
        closeBatch(shard, into: &sink, measures: measures)
        core.openBatch()
      }
    }
    while !stopRequested.isSet {
      let cycleStartNs = Clock.monotonicNs()
      if let durationNs, cycleStartNs - startNs >= durationNs { break }
      core.openBatch()
      var handled = receiver.poll(waitNs: waitNs) { _, payload, source in handle(payload, source) }
      // Completions the kernel posted meanwhile are waiting input too: take them before closing (no syscall).
      while handled > 0 && core.datagramsInBatch < maxBatch && receiver.completionsReady > 0 {
        handled += receiver.poll(enterKernel: false) { _, payload, source in handle(payload, source) }
      }
      closeBatch(shard, into: &sink, measures: measures)
      let nowNs = Clock.monotonicNs()
      // The blocking wait is idle time, not work: time only cycles that handled datagrams.
      if handled > 0 { noteCycle(shard, nowNs - max(cycleStartNs, sink.nowNs)) }
      sink.nowNs = nowNs
      loop.tick(nowNs: nowNs, into: &sink, ownsIngestAndSend: true)
      if handled == 0 && config.idle == .yield { sched_yield() }
    }
    // Drain: whatever already arrived is processed and sent before returning.
    var drained = 0
    while true {
      core.openBatch()
      let handled = receiver.poll(waitNs: 1_000_000) { _, payload, source in handle(payload, source) }
      closeBatch(shard, into: &sink, measures: measures)
      if handled == 0 { break }
      drained += handled
    }
    // A gap still open can no longer be filled: what is held goes out, and the rest is lost.
    core.finishGaps(nowNs: Clock.realtimeNs(), into: &sink)
    publisher.flush()
    publishIngestCounters(receiver)
    publishSendCounters()
    publishCoreCounters(shard)
    shard.stageHistograms.publish(to: counters, shard: 0)
    log("quotecast stopped after draining \(drained) datagram(s): \(stats.line)")
  }
}

/// The timed duties of the thread that owns the core: heartbeats for idle channels, the snapshot
/// cycle, the stats line, and counter publication.
struct TimerLoop {
  let gateway: Gateway
  let shard: BookShard
  /// Gap ticks, heartbeats and the snapshot cycle.
  var duties: CoreDuties
  let statsNs: UInt64
  var nextStatsNs: UInt64
  var nextPublishNs: UInt64
  var nextStagesNs: UInt64
  var nextAnomalyLogNs: UInt64 = 0
  var anomalies = AnomalyLog()

  init(gateway: Gateway, shard: BookShard) {
    self.gateway = gateway
    self.shard = shard
    let config = gateway.config
    let startNs = Clock.monotonicNs()
    duties = CoreDuties(
      heartbeatIntervalMs: config.heartbeatIntervalMs, snapshotCycleMs: config.snapshotCycleMs,
      snapshotTickMs: config.snapshotTickMs, startNs: startNs, lastSendNs: shard.lastSendNs)
    statsNs = UInt64(config.statsIntervalMs) * 1_000_000
    nextStatsNs = startNs + statsNs
    nextPublishNs = startNs
    nextStagesNs = startNs + 1_000_000_000
  }

  @inline(__always)
  mutating func tick<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink, ownsIngestAndSend: Bool) {
    // Gap filling: every shard keeps its own hold and gives up on its own; shard 0 alone asks the
    // re-request server (the answers reach every shard).
    if let request = duties.run(core: shard.core, nowNs: nowNs, wallNs: Clock.realtimeNs(), into: &sink),
      shard.index == 0
    {
      gateway.send(request)
    }
    if nowNs >= nextPublishNs {
      nextPublishNs = nowNs + 20_000_000
      if ownsIngestAndSend, let receiver = gateway.receiver {
        gateway.publishIngestCounters(receiver)
        gateway.publishSendCounters()
      }
      gateway.publishCoreCounters(shard)
    }
    if nowNs >= nextStagesNs {
      nextStagesNs = nowNs + 1_000_000_000
      shard.stageHistograms.publish(to: gateway.counters, shard: shard.index)
    }
    if shard.index == 0 && nowNs >= nextAnomalyLogNs {
      nextAnomalyLogNs = nowNs + 1_000_000_000
      anomalies.logChanges(gateway.counters, log: gateway.log)
    }
    if statsNs > 0 && shard.index == 0 && nowNs >= nextStatsNs {
      nextStatsNs = nowNs + statsNs
      gateway.log("stats: \(gateway.statsFromBoard.line)")
    }
  }
}

/// Bad input is counted per datagram and logged here at most once a second: one line with what
/// changed since the last, so a hostile or broken feed cannot flood the log.
struct AnomalyLog {
  /// A switch, not an array literal: this runs on the book thread.
  static func counter(_ index: Int) -> GatewayCounter? {
    switch index {
    case 0: .gaps
    case 1: .gapsAbandoned
    case 2: .lostMessages
    case 3: .shortPackets
    case 4: .unknownSession
    case 5: .implausibleJumps
    case 6: .truncatedBlocks
    case 7: .countMismatches
    case 8: .sourceRejected
    case 9: .bookAnomalies
    case 10: .noBuffers
    case 11: .sendDrops
    case 12: .truncatedDatagrams
    // Includes a GSO send the kernel refused (the publisher then sends by plain sendmmsg).
    case 13: .sendErrors
    default: nil
    }
  }
  static var watched: Int { 14 }
  var last = (0..<AnomalyLog.watched).map { _ in UInt64(0) }
  var reportedStale = false

  mutating func logChanges(_ board: CounterBoard, log: (String) -> Void) {
    var changed = false
    for index in 0..<Self.watched where board.load(Self.counter(index)!) != last[index] { changed = true }
    if changed {
      var parts: [String] = []
      for index in 0..<Self.watched {
        let counter = Self.counter(index)!
        let value = board.load(counter)
        if value != last[index] { parts.append("\(counter.metricName) +\(value &- last[index])") }
        last[index] = value
      }
      log("anomalies in the last second (counted, dropped): " + parts.joined(separator: ", "))
    }
    if !reportedStale && board.load(.feedStale) != 0 {
      reportedStale = true
      log(
        "FEED STALE: \(board.load(.lostMessages)) upstream message(s) could not be recovered; every book may be "
          + "wrong, and subscribers are told so")
    }
  }
}
