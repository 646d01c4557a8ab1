import CQuotecastLinux
import Feed
import Glibc
import ITCH
import QuotecastCore
import Synchronization
import Transport

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

extension GatewayStats {
  /// As last published to the board.
  init(board: CounterBoard) {
    self.init(
      datagramsIn: board.load(.datagramsIn), messages: board.load(.messages), packetsOut: board.load(.packetsOut),
      heartbeats: board.load(.heartbeats), dropped: board.load(.sendDrops), gaps: board.load(.gaps),
      duplicates: board.load(.duplicatePackets), noBuffers: board.load(.noBuffers),
      longestCycleNs: board.load(.longestCycleNs), stalls: board.load(.stalls), batches: board.load(.batches),
      batchedDatagrams: board.load(.batchedDatagrams), multiDatagramBatches: board.load(.multiDatagramBatches),
      largestBatch: board.load(.largestBatch))
  }
}

/// The gateway: its sockets, book shards, publisher and counters, and `run`, which drives the
/// agents (ingest, books, publish) on one thread or on dedicated ones. Idle channels heartbeat; the
/// snapshot channel cycles through every instrument.
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
  /// `feed.sources` plus the re-request server; empty when every source is accepted.
  let sources: SourceFilter
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
    let groups = config.channels.groups
    claims = try ChannelClaims(config.owned.map { (channel: $0, group: groups[$0]) })
    let allowed = config.feed.sources.isEmpty ? [] : config.feed.sources + (config.feed.rerequest.map { [$0] } ?? [])
    sources = SourceFilter(allowed)
    let shardCount = config.threading.shardCount
    // Every start is a new session: subscribers see the sequences begin again and resynchronize.
    let session = Clock.realtimeNs()
    self.session = session
    shards = (0..<shardCount).map { BookShard(index: $0, of: shardCount, config: config, session: session) }
    counters = CounterBoard(shards: shardCount)
    var sockets = try config.feed.inputs.map {
      try UDPReceiveSocket(
        endpoint: $0, interface: config.feed.interface, receiveBufferBytes: config.feed.receiveBufferBytes)
    }
    if config.feed.rerequest != nil {
      // On the feed's interface, where the server's answers arrive like the feed.
      let socket = try UDPReceiveSocket(
        endpoint: IPv4Endpoint(address: config.feed.interface, port: 0),
        receiveBufferBytes: config.feed.receiveBufferBytes)
      sockets.append(socket)
      rerequestSocket = socket
    } else {
      rerequestSocket = nil
    }
    self.sockets = sockets
    publisher = try MulticastPublisher(
      destinations: config.channels.groups + [config.snapshot.group], interface: config.channels.interface,
      ttl: UInt8(config.channels.ttl), loop: config.channels.loop, sendBufferBytes: config.channels.sendBufferBytes,
      method: config.channels.sendMethod,
      dropRange: config.faults.dropOutput)
    let board = counters
    let owned = config.owned
    let ownedJSON = owned.map(String.init).joined(separator: ",")
    metricsEndpoint = try config.operations.http.map {
      try MetricsEndpoint(
        endpoint: $0, board: board, channelCount: config.channels.count,
        ownedChannels: owned.map { (channel: $0, group: groups[$0]) }, extraMetrics: extraMetrics?.render
      ) {
        "{\"status\":\"serving\",\"datagrams_in\":\(board.load(.datagramsIn)),\"messages\":\(board.load(.messages)),"
          + "\"packets_out\":\(board.load(.packetsOut)),\"gaps\":\(board.load(.gaps)),"
          + "\"send_drops\":\(board.load(.sendDrops)),\"owned_channels\":[\(ownedJSON)]}"
      }
    }
    for warning in config.warnings { log("warning: \(warning)") }
    for socket in sockets where socket.receiveBufferBytes < config.feed.receiveBufferBytes {
      log(
        "warning: feed.receive_buffer_bytes: the kernel granted \(socket.receiveBufferBytes) of "
          + "\(config.feed.receiveBufferBytes) bytes on \(socket.endpoint) (raise net.core.rmem_max or run with CAP_NET_ADMIN)"
      )
    }
  }

  deinit {
    metricsEndpoint?.stop()
    sources.deallocate()
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
  public var statsFromBoard: GatewayStats { GatewayStats(board: counters) }

  /// Final stats, once `run` has returned (every agent publishes its counters as it closes).
  public var stats: GatewayStats { statsFromBoard }

  /// Runs until `requestStop`, SIGINT/SIGTERM (if handlers are installed), or `durationNs`; then
  /// drains what the kernel already holds and returns. Single mode runs ingest and the books (which
  /// send) as one agent on this thread; dedicated mode runs ingest here, each book shard and the
  /// publisher on threads of their own.
  public func run(durationNs: UInt64? = nil) throws {
    if config.threading.mode == .single { try AgentRunner.pin(cpu: config.threading.cpu) }
    let receiver = try URingReceiver(sockets: sockets, config: config.ingest.receiver)
    self.receiver = receiver
    for warning in receiver.warnings { log("warning: \(warning)") }
    metricsEndpoint?.start()
    defer {
      metricsEndpoint?.stop()
      claims = nil
    }
    log(
      "quotecast serving \(config.feed.inputs.map(\.description).joined(separator: ", ")) → "
        + "\(config.channels.count) channel(s) from \(config.channels.groupBase)"
        + (config.channels.owned == nil ? "" : " (owning \(config.ownedDescription))")
        + ", snapshots \(config.snapshot.group); "
        + "io_uring \(receiver.setupDescription), sends by \(config.channels.sendMethod.rawValue), \(config.threading.mode.rawValue) mode"
        + (config.threading.mode == .dedicated ? " (\(config.threading.bookShards) book shard(s))" : "")
        + ", idle \(config.threading.idle.rawValue)"
        + (config.threading.mode == .single ? (config.threading.cpu.map { ", pinned to cpu \($0)" } ?? "") : "")
        + (metricsEndpoint.map { "; metrics on http://\($0.endpoint)/metrics" } ?? ""))
    let startNs = Clock.monotonicNs()
    let descriptors = BroadcastRing<DatagramDescriptor>(
      capacity: config.ingest.receiver.bufferCount, consumers: shards.count)
    let ingestDone = SharedFlag()
    let stallThresholdUs = config.operations.stallThresholdUs
    let maxBatch = config.ingest.maxBatchDatagrams
    var ingest = IngestAgent(
      receiver: receiver, descriptors: descriptors, sources: sources, stopRequested: stopRequested, done: ingestDone,
      deadlineNs: durationNs.map { startNs &+ $0 } ?? .max, maxBatch: maxBatch, board: counters,
      duty: DutyCycle(stallThresholdUs: stallThresholdUs, counters: .ingest))
    var rerequests: RerequestSender?
    if let socket = rerequestSocket, let server = config.feed.rerequest {
      rerequests = RerequestSender(fd: socket.fd, server: server)
    }
    func timers(_ shard: BookShard) -> ShardTimers {
      ShardTimers(
        shard: shard, config: config, board: counters, rerequests: rerequests, startNs: startNs, log: log)
    }
    let runner = AgentRunner(idle: config.threading.idle)
    switch config.threading.mode {
    case .single:
      let shard = shards[0]
      let books = BookAgent(
        shard: shard, reader: .init(ring: descriptors, consumer: 0),
        sink: PublisherSink(publisher: publisher, lastSendNs: shard.lastSendNs, tap: tap), timers: timers(shard),
        upstreamDone: ingestDone, closed: nil, maxBatch: maxBatch,
        duty: DutyCycle(stallThresholdUs: stallThresholdUs, counters: .bookShard(shard.index)))
      var agent = CompositeAgent(first: ingest, second: books)
      runner.run(&agent)
      ingest = agent.first
    case .dedicated:
      try AgentRunner.pin(cpu: config.threading.ingestCPU)
      let threadErrors = SharedError()
      let booksClosed = SharedCountdown(shards.count)
      let packetRings = shards.map { _ in PacketRing(capacity: config.threading.packetRingBytes) }
      let rings = UnsafeMutableBufferPointer<PacketRing>.allocate(capacity: packetRings.count)
      _ = rings.initialize(from: packetRings)
      let publish = PublishAgent(
        rings: rings, publisher: publisher, tap: tap, board: counters, booksClosed: booksClosed,
        duty: DutyCycle(stallThresholdUs: stallThresholdUs, counters: .publish))
      let publishThread = WorkerThread { [config] in
        threadErrors.pinning(cpu: config.threading.publishCPU) {
          var agent = publish
          runner.run(&agent)
        }
      }
      let bookThreads = shards.map { shard in
        let agent = BookAgent(
          shard: shard, reader: .init(ring: descriptors, consumer: shard.index),
          sink: PacketRingSink(ring: packetRings[shard.index], lastSendNs: shard.lastSendNs), timers: timers(shard),
          upstreamDone: ingestDone, closed: booksClosed, maxBatch: maxBatch,
          duty: DutyCycle(stallThresholdUs: stallThresholdUs, counters: .bookShard(shard.index)))
        let cpu = config.threading.coreCPUs.isEmpty ? nil : config.threading.coreCPUs[shard.index]
        return WorkerThread {
          threadErrors.pinning(cpu: cpu) {
            var agent = agent
            runner.run(&agent)
          }
        }
      }
      runner.run(&ingest)
      for thread in bookThreads { thread.join() }
      publishThread.join()
      if let error = threadErrors.first { throw error }
    }
    // Every book agent has finished: every buffer goes back.
    ingest.reclaimFinished()
    log("quotecast stopped after draining \(ingest.drained) datagram(s): \(stats.line)")
  }
}
