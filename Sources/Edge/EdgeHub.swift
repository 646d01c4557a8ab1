import CQuotecastSchema
import Glibc
import QuotecastClient
import Synchronization
import Transport

public struct EdgeConfig: Sendable, Equatable {
  /// Where WebSocket subscribers connect (`ws://listen/feed`) and the page is served (`/`).
  public var listen = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 9470)
  /// The gateway's channels.count (the snapshot channel id is this).
  public var channels = 1
  /// Levels per side kept for snapshots: the gateway's channels.depth.
  public var depth = 10
  public var maxConnections = 256
  /// Frames a connection may have waiting, in bytes; past it the queue is dropped and the
  /// connection gets a fresh snapshot of its books instead.
  public var queueBytes = 1 << 20
  /// Each connection's kernel send buffer: small, so a slow client shows in its queue (and gets a
  /// fresh snapshot) instead of in megabytes of stale frames in the kernel.
  public var sendBufferBytes = 256 << 10
  /// A connection that takes nothing for this long while frames wait is closed.
  public var stallTimeoutMs = 5000
  /// The ring the gateway's sending thread copies each published packet into.
  public var tapRingBytes = 16 << 20
  public var maxInstruments = 16_384
  /// The edge's threads (the hub, and the WebSocket server's event loop) run at `nice`, so on a shared core
  /// the multicast path's thread comes first; with `idlePolicy`, under SCHED_IDLE: only on time nothing else
  /// wants (less disturbance still, but any busy process on the host starves the edge).
  public var idlePolicy = false
  public var nice = 10

  public init() {}

  /// Lowers the calling edge thread's priority as configured; a refusal is logged, never fatal.
  func lowerCurrentThreadPriority(log: (String) -> Void) {
    if idlePolicy {
      do {
        try CPUPinning.setCurrentThreadIdlePolicy()
        return
      } catch { log("websocket: \(error); running at nice \(nice) instead") }
    }
    do { try CPUPinning.setCurrentThreadNice(nice) } catch { log("websocket: \(error)") }
  }
}

/// One WebSocket subscriber as the hub sees it: what it asked for, and a bounded queue of frames
/// its connection task sends. Shared by the hub thread and that task, under one lock.
public final class EdgeConnection: @unchecked Sendable {
  public let id: Int
  public let remote: String
  struct State {
    var subscribed = false
    var all = false
    var symbols: Set<String> = []
    /// Decided per locate: whether this connection wants the instrument.
    var wanted: [UInt16: Bool] = [:]
    var queue: [[UInt8]] = []
    var queuedBytes = 0
    /// The queue overflowed, or a subscription arrived: fresh snapshots are due.
    var needsSnapshot = false
    /// Counts subscriptions: a snapshot built for an earlier one is thrown away, not queued.
    var subscription: UInt64 = 0
    var closed = false
    var closeReason: String?
    var framesSent: UInt64 = 0
    var framesQueued: UInt64 = 0
    var framesDropped: UInt64 = 0
    var resyncs: UInt64 = 0
    var lastProgressNs: UInt64
  }
  let state: Mutex<State>
  /// Rung when frames are queued or the connection closes.
  let doorbell: AsyncStream<Void>
  let ring: AsyncStream<Void>.Continuation
  /// Closes the TCP connection at once (a stalled writer cannot send a close frame).
  let closeChannel: @Sendable () -> Void

  init(id: Int, remote: String, nowNs: UInt64, closeChannel: @escaping @Sendable () -> Void) {
    self.id = id
    self.remote = remote
    self.closeChannel = closeChannel
    state = Mutex(State(lastProgressNs: nowNs))
    (doorbell, ring) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  /// A subscription from the client: symbols, or every instrument.
  func subscribe(all: Bool, symbols: Set<String>) {
    state.withLock {
      $0.subscribed = true
      $0.subscription &+= 1
      $0.all = all
      $0.symbols = symbols
      $0.wanted.removeAll()
      $0.queue.removeAll()
      $0.queuedBytes = 0
      $0.needsSnapshot = true
    }
  }

  /// The frames waiting, taken by the connection task.
  func take() -> [[UInt8]] {
    state.withLock { state in
      let frames = state.queue
      state.queue.removeAll(keepingCapacity: true)
      state.queuedBytes = 0
      return frames
    }
  }

  func noteSent(_ frames: Int, nowNs: UInt64) {
    state.withLock {
      $0.framesSent &+= UInt64(frames)
      $0.lastProgressNs = nowNs
    }
  }

  func close(reason: String?) {
    let first = state.withLock { state -> Bool in
      defer { state.closed = true }
      if !state.closed { state.closeReason = reason }
      return !state.closed
    }
    if first {
      ring.finish()
      if reason != nil { closeChannel() }
    }
  }

  public var isClosed: Bool { state.withLock { $0.closed } }

  public struct Counters: Sendable, Equatable {
    public var framesSent: UInt64
    public var framesQueued: UInt64
    public var framesDropped: UInt64
    public var resyncs: UInt64
    public var queuedBytes: Int
  }

  public var counters: Counters {
    state.withLock {
      Counters(
        framesSent: $0.framesSent, framesQueued: $0.framesQueued, framesDropped: $0.framesDropped,
        resyncs: $0.resyncs, queuedBytes: $0.queuedBytes)
    }
  }
}

/// The WebSocket edge's hub, on a thread of its own: it drains the packets the gateway published
/// from the tap ring (never making the sender wait: a full ring refuses and counts), keeps a
/// mirror of every book, and queues each connection's frames: the packets as sent when it wants
/// every instrument, or re-encoded with only its instruments' updates. A new subscription, or a
/// queue that overflowed, gets a fresh snapshot of its books first. A connection that takes
/// nothing for `stallTimeoutMs` while frames wait is closed, with a log line.
public final class EdgeHub: @unchecked Sendable {
  public let config: EdgeConfig
  public let tap: PacketRing
  let mirror: FeedMirror
  var definitions: [UInt16: DefinitionRecord] = [:]
  let filter: PacketFilter
  let snapshotEncoder: OpaquePointer
  let connections = Mutex<[EdgeConnection]>([])
  let nextID = Atomic<Int>(1)
  let stopRequested = SharedFlag()
  let finished = SharedFlag()
  let log: @Sendable (String) -> Void
  /// Hub-thread counters, published for /metrics.
  let packetsIn = Atomic<UInt64>(0)
  let closedForStalls = Atomic<UInt64>(0)
  let refusedConnections = Atomic<UInt64>(0)
  /// Per closed connection, its last counters (so /metrics keeps totals).
  let retired = Mutex<(framesSent: UInt64, framesDropped: UInt64, resyncs: UInt64)>((0, 0, 0))

  public init(config: EdgeConfig, log: @escaping @Sendable (String) -> Void) {
    self.config = config
    self.log = log
    tap = PacketRing(capacity: config.tapRingBytes)
    mirror = FeedMirror(depth: config.depth, channelCount: config.channels, maxInstruments: config.maxInstruments)
    filter = PacketFilter(maxBytes: 65_536)
    guard let encoder = qc_encoder_create(1 << 17) else { fatalError("out of memory") }
    snapshotEncoder = encoder
  }

  deinit { qc_encoder_destroy(snapshotEncoder) }

  var snapshotChannel: UInt16 { UInt16(config.channels) }

  // MARK: Connections (any thread)

  /// A new connection, or nil when `maxConnections` are open.
  func open(remote: String, closeChannel: @escaping @Sendable () -> Void) -> EdgeConnection? {
    let connection = EdgeConnection(
      id: nextID.add(1, ordering: .relaxed).oldValue, remote: remote, nowNs: Clock.monotonicNs(),
      closeChannel: closeChannel)
    let added = connections.withLock { list -> Bool in
      guard list.count < config.maxConnections else { return false }
      list.append(connection)
      return true
    }
    if !added {
      refusedConnections.add(1, ordering: .relaxed)
      return nil
    }
    return connection
  }

  func remove(_ connection: EdgeConnection) {
    connection.close(reason: nil)
    let counters = connection.counters
    connections.withLock { list in list.removeAll { $0 === connection } }
    retired.withLock {
      $0.framesSent &+= counters.framesSent
      $0.framesDropped &+= counters.framesDropped
      $0.resyncs &+= counters.resyncs
    }
  }

  public var openConnections: [EdgeConnection] { connections.withLock { $0 } }

  // MARK: The hub thread

  public func start() {
    WorkerThread.detached { [self] in
      run()
      finished.set()
    }
  }

  public func stop() {
    stopRequested.set()
    let deadline = Clock.monotonicNs() + 2_000_000_000
    while !finished.isSet && Clock.monotonicNs() < deadline { usleep(1000) }
    for connection in openConnections { connection.close(reason: "the gateway is stopping") }
  }

  func run() {
    config.lowerCurrentThreadPriority(log: log)
    var nextStallCheckNs: UInt64 = 0
    while !stopRequested.isSet {
      let live = connections.withLock { $0 }
      let read = tap.read { channel, bytes in deliver(channel: channel, bytes, to: live) }
      tap.release()
      if read > 0 { packetsIn.add(UInt64(read), ordering: .relaxed) }
      for connection in live { sendSnapshotIfDue(connection) }
      let nowNs = Clock.monotonicNs()
      if nowNs >= nextStallCheckNs {
        nextStallCheckNs = nowNs + 50_000_000
        closeStalled(live, nowNs: nowNs)
      }
      if read == 0 { usleep(1000) }
    }
  }

  func deliver(channel: UInt16, _ bytes: UnsafeRawBufferPointer, to live: [EdgeConnection]) {
    guard let packet = PacketView(bytes) else { return }
    _ = mirror.receive(packet, bytes)
    noteDefinitions(packet)
    // Periodic snapshots and layouts are for multicast subscribers; a WebSocket is lossless and
    // gets its own snapshots.
    if channel >= snapshotChannel || packet.updateCount == 0 { return }
    let definitions = self.definitions
    for connection in live {
      connection.state.withLock { state in
        guard state.subscribed, !state.closed, !state.needsSnapshot else { return }
        let frame: UnsafeRawBufferPointer
        if state.all {
          frame = bytes
        } else {
          switch filter.filter(packet, wants: { Self.wants($0, &state, definitions) }) {
          case .none: return
          case .all: frame = bytes
          case .some(let filtered): frame = filtered
          }
        }
        if state.queuedBytes + frame.count > config.queueBytes {
          // Too slow: what waits is dropped, and a fresh snapshot takes its place.
          state.framesDropped &+= UInt64(state.queue.count + 1)
          state.queue.removeAll()
          state.queuedBytes = 0
          state.resyncs &+= 1
          state.needsSnapshot = true
          return
        }
        state.queue.append(Array(frame))
        state.queuedBytes += frame.count
        state.framesQueued &+= 1
      }
      connection.ring.yield()
    }
  }

  static func wants(_ locate: UInt16, _ state: inout EdgeConnection.State, _ definitions: [UInt16: DefinitionRecord])
    -> Bool
  {
    if let decided = state.wanted[locate] { return decided }
    guard let definition = definitions[locate] else { return false }
    let wanted = state.symbols.contains(definition.symbolText)
    state.wanted[locate] = wanted
    return wanted
  }

  func noteDefinitions(_ packet: PacketView) {
    for index in 0..<packet.updateCount {
      guard let definition = packet.update(at: index)?.definition else { continue }
      if definitions[definition.locate] == nil { definitions[definition.locate] = DefinitionRecord(definition) }
    }
  }

  /// Snapshots of the connection's instruments, as snapshot-channel packets of at most 64
  /// instruments: each instrument's definition, then its book, stamped with its channel's last
  /// sequence. They replace whatever the connection had queued. `whileBuilding` runs after the
  /// subscription was read and before the snapshot is queued (tests re-subscribe there).
  func sendSnapshotIfDue(_ connection: EdgeConnection, whileBuilding: () -> Void = {}) {
    let due = connection.state.withLock { state -> (all: Bool, symbols: Set<String>, subscription: UInt64)? in
      guard state.needsSnapshot, !state.closed else { return nil }
      return (state.all, state.symbols, state.subscription)
    }
    guard let due else { return }
    var frames: [[UInt8]] = []
    var inPacket = 0
    qc_encoder_reset(snapshotEncoder)
    let bids = UnsafeMutablePointer<qc_book_level>.allocate(capacity: config.depth)
    let asks = UnsafeMutablePointer<qc_book_level>.allocate(capacity: config.depth)
    defer {
      bids.deallocate()
      asks.deallocate()
    }
    func finishPacket() {
      var length = 0
      if let bytes = qc_encoder_finish(snapshotEncoder, snapshotChannel, 0, Clock.realtimeNs(), 0, &length) {
        frames.append(Array(UnsafeRawBufferPointer(start: bytes, count: length)))
      }
      qc_encoder_reset(snapshotEncoder)
      inPacket = 0
    }
    for locate in mirror.locates.sorted() {
      guard let definition = definitions[locate], due.all || due.symbols.contains(definition.symbolText) else {
        continue
      }
      let channel = UInt16(Int(locate) % config.channels)
      let lastSequence = mirror.lastSequence(channel: channel)
      definition.withDefinition { qc_encoder_add_definition(snapshotEncoder, lastSequence, 0, $0) }
      _ = mirror.withBook(locate: locate) { book in
        for (index, level) in book.bids.prefix(config.depth).enumerated() {
          bids[index] = qc_book_level(price: level.price, orders: level.orders, shares: level.shares)
        }
        for (index, level) in book.asks.prefix(config.depth).enumerated() {
          asks[index] = qc_book_level(price: level.price, orders: level.orders, shares: level.shares)
        }
        qc_encoder_add_snapshot(
          snapshotEncoder, lastSequence, 0, locate, UInt16(config.depth), book.tradingState, bids,
          min(book.bids.count, config.depth), asks, min(book.asks.count, config.depth), lastSequence, 0, 0)
      }
      inPacket += 1
      if inPacket == 64 { finishPacket() }
    }
    if inPacket > 0 || frames.isEmpty { finishPacket() }
    whileBuilding()
    let queued = connection.state.withLock { state -> Bool in
      // Re-subscribed meanwhile: this snapshot is of the old set; the next pass builds the new one.
      guard state.subscription == due.subscription else { return false }
      state.needsSnapshot = false
      state.queue = frames
      state.queuedBytes = frames.reduce(0) { $0 + $1.count }
      state.framesQueued &+= UInt64(frames.count)
      state.wanted.removeAll()
      return true
    }
    if queued { connection.ring.yield() }
  }

  func closeStalled(_ live: [EdgeConnection], nowNs: UInt64) {
    let timeoutNs = UInt64(config.stallTimeoutMs) * 1_000_000
    for connection in live {
      let (waiting, since) = connection.state.withLock {
        (!$0.closed && ($0.queuedBytes > 0 || $0.needsSnapshot), $0.lastProgressNs)
      }
      guard waiting, nowNs > since, nowNs - since >= timeoutNs else { continue }
      closedForStalls.add(1, ordering: .relaxed)
      let counters = connection.counters
      log(
        "websocket: closed connection \(connection.id) (\(connection.remote)): it took nothing for "
          + "\(config.stallTimeoutMs) ms with \(counters.queuedBytes) bytes waiting; "
          + "\(counters.resyncs) resync(s), \(counters.framesDropped) frame(s) dropped")
      connection.close(reason: "not reading")
    }
  }

  // MARK: Metrics

  /// Prometheus text for the edge: totals, and per open connection.
  public func metricsText() -> String {
    let live = openConnections
    let retired = self.retired.withLock { $0 }
    var sent = retired.framesSent
    var dropped = retired.framesDropped
    var resyncs = retired.resyncs
    var lines: [String] = []
    for connection in live {
      let counters = connection.counters
      sent &+= counters.framesSent
      dropped &+= counters.framesDropped
      resyncs &+= counters.resyncs
      let label = "connection=\"\(connection.id)\""
      lines.append("quotecast_websocket_connection_frames_sent_total{\(label)} \(counters.framesSent)")
      lines.append("quotecast_websocket_connection_frames_dropped_total{\(label)} \(counters.framesDropped)")
      lines.append("quotecast_websocket_connection_resyncs_total{\(label)} \(counters.resyncs)")
      lines.append("quotecast_websocket_connection_queued_bytes{\(label)} \(counters.queuedBytes)")
    }
    let totals = [
      "# TYPE quotecast_websocket_connections gauge",
      "quotecast_websocket_connections \(live.count)",
      "# TYPE quotecast_websocket_frames_sent_total counter",
      "quotecast_websocket_frames_sent_total \(sent)",
      "# TYPE quotecast_websocket_frames_dropped_total counter",
      "quotecast_websocket_frames_dropped_total \(dropped)",
      "# TYPE quotecast_websocket_resyncs_total counter",
      "quotecast_websocket_resyncs_total \(resyncs)",
      "# TYPE quotecast_websocket_stalled_closes_total counter",
      "quotecast_websocket_stalled_closes_total \(closedForStalls.load(ordering: .relaxed))",
      "# TYPE quotecast_websocket_refused_connections_total counter",
      "quotecast_websocket_refused_connections_total \(refusedConnections.load(ordering: .relaxed))",
      "# TYPE quotecast_websocket_tap_packets_total counter",
      "quotecast_websocket_tap_packets_total \(packetsIn.load(ordering: .relaxed))",
      "# TYPE quotecast_websocket_tap_refused_total counter",
      "quotecast_websocket_tap_refused_total \(tap.refused.load(ordering: .relaxed))",
    ]
    return (totals + lines).joined(separator: "\n") + "\n"
  }
}
