import CQuotecastLinux
import Feed
import ITCH
import QuotecastCore
import Transport

/// Where a book agent's packets go: straight to the multicast publisher (single mode), or into a
/// packet ring for the publish agent (dedicated mode). It notes when each channel last sent.
protocol GatewaySink: PacketSink {
  var nowNs: UInt64 { get set }
  /// The sink's own counters, on the book agent's thread.
  func publishCounters(to board: CounterBoard, row: Int)
}

/// Hands finished packets to the multicast publisher, one sendmmsg per batch, and notes when
/// each channel last sent (for heartbeats).
struct PublisherSink: GatewaySink {
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

  func publishCounters(to board: CounterBoard, row: Int) { publisher.publishCounters(to: board) }
}

/// Copies finished packets into a book shard's packet ring for the publish agent.
struct PacketRingSink: GatewaySink {
  let ring: PacketRing
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nowNs: UInt64 = 0
  var ringFull: UInt64 = 0

  @inline(__always)
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    if ring.write(channel: channel, packet) {
      lastSendNs[Int(channel)] = nowNs
    } else {
      ringFull &+= 1
    }
  }

  @inline(__always)
  mutating func flush() { ring.publish() }

  func publishCounters(to board: CounterBoard, row: Int) { board.store(.publishRingFull, ringFull, shard: row) }
}

extension MulticastPublisher {
  /// Copies the publisher's counters to the board, from the thread that sends.
  func publishCounters(to board: CounterBoard) {
    board.store(.packetsOut, counters.packets)
    board.store(.bytesOut, counters.bytes)
    board.store(.sendDrops, counters.dropped)
    board.store(.sendErrors, counters.errors)
    board.store(.faultDrops, counters.faultDrops)
    board.store(.segmentedSends, counters.segmentedSends)
    board.store(.paddingBytesOut, counters.paddingBytes)
  }
}

/// One thread's share of the books: a core for the channels it owns (all of them unless books
/// are sharded), when each of its channels last sent, and its stage histograms. Touched only by
/// its thread while running.
final class BookShard {
  let index: Int
  let core: QuotecastCore
  /// When each channel (and the snapshot channel, last) last sent from this shard, monotonic ns.
  let lastSendNs: UnsafeMutablePointer<UInt64>
  let channelSlots: Int
  var stageHistograms = StageHistograms()

  init(index: Int, of count: Int, config: GatewayConfig, session: UInt64) {
    self.index = index
    var coreConfig = config.coreConfig.shard(index, of: count)
    coreConfig.encoder.session = session
    // The first shard publishes the layout (every shard writes the snapshot channel).
    if index == 0 { coreConfig.encoder.layout = config.layout(session: session) }
    core = QuotecastCore(config: coreConfig)
    if config.operations.stageTiming { core.stageClock = { Clock.monotonicNs() } }
    channelSlots = config.channels.count + 1
    lastSendNs = .allocate(capacity: channelSlots)
    lastSendNs.initialize(repeating: 0, count: channelSlots)
  }

  deinit { lastSendNs.deallocate() }

  /// Copies the shard's counters to its row of the board (relaxed atomic stores; no locks).
  /// Every shard sees every datagram, so the session's counters come from shard 0 alone.
  func publishCounters(to board: CounterBoard) {
    let books = core.books
    let row = index
    board.store(.messages, books.counters.messages, shard: row)
    board.store(.heartbeats, core.encoder.counters.heartbeats, shard: row)
    board.store(.bookAnomalies, books.counters.anomalyTotal, shard: row)
    board.store(.eventsDropped, books.eventsDropped, shard: row)
    board.store(.liveOrders, UInt64(books.liveOrders), shard: row)
    board.store(.liveLevels, UInt64(books.liveLevels), shard: row)
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
    board.store(.damagedDuplicates, session.damagedDuplicates)
    let health = core.health
    board.store(.gapsFilled, health.gapsFilled)
    board.store(.catchUps, health.catchUps)
    board.store(.gapsAbandoned, health.gapsAbandoned)
    board.store(.rerequests, health.rerequests)
    board.store(.heldPackets, health.heldPackets)
    board.store(.heldDuplicates, health.heldDuplicates)
    board.store(.truncatedCopiesReplaced, health.truncatedCopiesReplaced)
    board.store(.lostMessages, health.lostMessages)
    board.store(.feedStale, health.stale ? 1 : 0)
  }

  /// One datagram's stages; its packets are handed on when its batch closes (`closeBatch`).
  @inline(__always)
  func recordStages(ingestNs: UInt64) {
    let stages = core.lastStageNs
    stageHistograms.record(.ingest, ingestNs)
    stageHistograms.record(.decodeAndBooks, stages.decodeAndBooks)
    stageHistograms.record(.encode, stages.encode)
  }

  /// Closes the open batch; with stage timing, records the hand-off of its packets once per batch.
  @inline(__always)
  func closeBatch<Sink: PacketSink>(into sink: inout Sink) {
    let delivered = core.datagramsInBatch
    core.closeBatch(into: &sink)
    if core.stageClock != nil && delivered > 0 { stageHistograms.record(.send, core.lastBatchCloseNs.send) }
  }
}

/// Runs a shard's books over every datagram in the descriptor ring (smart batching: the datagrams
/// waiting share their channels' packets, up to the bound), then its timed duties. Finishes after
/// ingest has: open gaps are given up, what is held goes out.
struct BookAgent<Sink: GatewaySink>: GatewayAgent {
  let shard: BookShard
  var reader: BroadcastRing<DatagramDescriptor>.Reader
  var sink: Sink
  var timers: ShardTimers
  /// Ingest's done flag.
  let upstreamDone: SharedFlag
  /// Counted down once this agent has closed (the publish agent ends after every book agent).
  let closed: SharedCountdown?
  let maxBatch: Int
  var duty: DutyCycle

  @inline(__always)
  mutating func noteCycle(_ cycleNs: UInt64) { duty.note(cycleNs) }

  var isFinished: Bool { upstreamDone.isSet }

  @inline(__always)
  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int {
    sink.nowNs = nowNs
    let count = Self.apply(reader: &reader, sink: &sink, shard: shard, maxBatch: maxBatch, wallNs: wallNs)
    timers.tick(nowNs: nowNs, wallNs: wallNs, duty: duty, into: &sink)
    return count
  }

  /// Every waiting datagram through the core, its packets closed at the end (or at the bound).
  @inline(__always)
  static func apply(
    reader: inout BroadcastRing<DatagramDescriptor>.Reader, sink: inout Sink, shard: BookShard, maxBatch: Int,
    wallNs: UInt64
  ) -> Int {
    let core = shard.core
    let stageClock = core.stageClock
    core.openBatch()
    let count = reader.drain { descriptor in
      guard let payload = descriptor.payload else { return }
      let startNs = stageClock?() ?? 0
      core.process(
        moldPacket: UnsafeRawBufferPointer(start: payload, count: Int(descriptor.length)), nowNs: wallNs, into: &sink)
      if stageClock != nil && core.lastProcessDelivered {
        shard.recordStages(ingestNs: startNs &- descriptor.reapedNs)
      }
      if core.datagramsInBatch >= maxBatch {
        shard.closeBatch(into: &sink)
        core.openBatch()
      }
    }
    shard.closeBatch(into: &sink)
    return count
  }

  mutating func onClose(nowNs: UInt64, wallNs: UInt64) {
    // A gap still open can no longer be filled: what is held goes out, and the rest is lost.
    shard.core.finishGaps(nowNs: wallNs, into: &sink)
    sink.flush()
    timers.publishCounters(duty: duty, sink: sink)
    shard.stageHistograms.publish(to: timers.board, shard: shard.index)
    closed?.countDown()
  }
}

/// Reads every book shard's packet ring and sends what waits with one flush (smart batching: one
/// sendmmsg for all of them); a ring's space is released only after the flush, since the queued
/// sends point into it. Finishes after every book agent has.
struct PublishAgent: GatewayAgent {
  /// Every book shard's ring, copied into plain memory (no array on the hot path); freed on close.
  let rings: UnsafeMutableBufferPointer<PacketRing>
  let publisher: MulticastPublisher
  let tap: PacketRing?
  let board: CounterBoard
  let booksClosed: SharedCountdown
  var duty: DutyCycle
  var nextPublishNs: UInt64 = 0

  @inline(__always)
  mutating func noteCycle(_ cycleNs: UInt64) { duty.note(cycleNs) }

  var isFinished: Bool { booksClosed.isDone }

  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int {
    let publisher = self.publisher
    let tap = self.tap
    var count = 0
    for index in 0..<rings.count {
      count += rings[index].read { channel, bytes in
        publisher.enqueue(destination: channel, bytes)
        tap?.offer(channel: channel, bytes)
      }
    }
    if count > 0 {
      publisher.flush()
      tap?.publish()
      for index in 0..<rings.count { rings[index].release() }
    }
    if nowNs >= nextPublishNs {
      nextPublishNs = nowNs &+ 20_000_000
      publishCounters()
    }
    return count
  }

  func publishCounters() {
    publisher.publishCounters(to: board)
    board.store(.publishThreadAllocations, qc_thread_allocations())
    duty.publish(to: board)
  }

  mutating func onClose(nowNs: UInt64, wallNs: UInt64) {
    publishCounters()
    _ = rings.deinitialize()
    rings.deallocate()
  }
}
