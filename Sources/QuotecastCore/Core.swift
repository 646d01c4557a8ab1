import Book
import Encoding
import Feed
import ITCH

/// Where finished packets go: a socket, a pcap, a test's array.
public protocol PacketSink {
  /// One finished packet; its bytes stay valid until `flush` returns.
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer)
  /// The end of a batch of `send`s: a batching sink sends now.
  mutating func flush()
}

extension PacketSink {
  public mutating func flush() {}
}

public struct CoreConfig: Sendable, Equatable {
  public var books = BookConfig()
  public var encoder = EncoderConfig()
  /// Holding packets across a gap for another line or a retransmission (off by default: files
  /// have no other line).
  public var gapFill = GapFillConfig()

  public init() {}

  /// The settings a user chooses (CLI flags or the gateway's YAML), over the defaults.
  public init(
    channels: Int, depth: Int, datagramBytes: Int, snapshotDepth: Int, encoder backend: EncoderBackend,
    maxLiveOrders: Int, maxLevels: Int, maxOrderReference: UInt64, maxOrderPages: Int
  ) {
    books.publishedDepth = depth
    books.maxLiveOrders = maxLiveOrders
    books.maxLevels = maxLevels
    books.maxOrderReference = maxOrderReference
    books.maxReferencePages = maxOrderPages
    encoder.channels = channels
    encoder.maxDatagramBytes = datagramBytes
    encoder.snapshotDepth = snapshotDepth
    encoder.backend = backend
  }

  public func problems() -> [String] { books.problems() + encoder.problems() + gapFill.problems() }

  /// The same settings for book shard `index` of `count` (dedicated threads mode).
  public func shard(_ index: Int, of count: Int) -> CoreConfig {
    var config = self
    config.encoder.shardIndex = index
    config.encoder.shardCount = count
    return config
  }
}

/// Smart batching's record: how many datagrams shared their output packets.
public struct BatchCounters: Equatable, Sendable {
  /// Batches closed that delivered at least one datagram.
  public var batches: UInt64 = 0
  /// Datagrams delivered inside those batches.
  public var datagrams: UInt64 = 0
  /// Batches of more than one datagram: backlog that batching turned into fewer packets.
  public var multiDatagramBatches: UInt64 = 0
  public var largestBatch: UInt64 = 0
  public init() {}
}

/// The whole no-I/O pipeline for one MoldUDP64 stream: session → decode → books → encode.
/// Live sockets, capture replay, fuzzing and benchmarks all call `process`.
public final class QuotecastCore {
  public let config: CoreConfig
  public let books: OrderBooks
  public let encoder: UpdateEncoder
  /// Sequencing and gap filling: it says what to deliver and when the feed went stale.
  public let feed: FeedSession
  /// Which channels this core writes, so which messages its books apply; the encoder writes by the same tables.
  public let routing: ChannelRouting
  /// Arena room a flush may need: one full packet per channel this core writes.
  let flushReserveBytes: Int

  public init(config: CoreConfig) {
    self.config = config
    books = OrderBooks(config: config.books)
    // Closing every open packet at once (a flush) needs this much room; the arena always holds it twice over.
    routing = ChannelRouting(
      plan: ChannelPlan(
        channels: config.encoder.channels, owned: config.encoder.ownedChannels,
        shardIndex: config.encoder.shardIndex, shardCount: config.encoder.shardCount))
    flushReserveBytes = routing.writtenChannels.count * (config.encoder.maxDatagramBytes + 8)
    var encoderConfig = config.encoder
    encoderConfig.outputArenaBytes = max(
      encoderConfig.outputArenaBytes, 2 * flushReserveBytes + 8 * config.encoder.maxDatagramBytes)
    encoder = UpdateEncoder(config: encoderConfig, routing: routing)
    feed = FeedSession(config: config.gapFill)
  }

  public var session: SequenceTracker { feed.tracker }
  public var health: FeedHealth { feed.health }

  /// The caller's clock for stage timing (monotonic ns): when set, `process` times its stages (three
  /// reads per datagram) into `lastStageNs`. The core reads no clock of its own.
  public var stageClock: (@convention(c) () -> UInt64)?
  /// The last datagram's stage times: decode and books, encode, and the hand-off to the sink.
  public private(set) var lastStageNs: (decodeAndBooks: UInt64, encode: UInt64, send: UInt64) = (0, 0, 0)
  /// Whether the last `process` call delivered a datagram (and so timed its stages): a held or
  /// dropped one did not.
  public private(set) var lastProcessDelivered = false

  /// Between `openBatch` and `closeBatch`, a datagram leaves its channels' packets open for the datagrams after it.
  public private(set) var batchOpen = false
  /// Datagrams delivered in the open batch.
  public private(set) var datagramsInBatch = 0
  public private(set) var batchCounters = BatchCounters()
  /// The last `closeBatch`: closing the open packets, and handing them to the sink (with a `stageClock`).
  public private(set) var lastBatchCloseNs: (encode: UInt64, send: UInt64) = (0, 0)

  /// Smart batching: the caller opens a batch when more input is already waiting. Until `closeBatch`, `process`
  /// still encodes each datagram's updates at once, but leaves every channel's packet open, so the updates of the
  /// datagrams that follow share it (a packet still closes when the next update would not fit). Only packet
  /// boundaries change: each channel's updates, in order, are exactly those of unbatched processing.
  @inline(__always)
  public func openBatch() { batchOpen = true }

  /// Closes every open packet and hands the batch's packets to `sink`, with one `flush`.
  @inline(__always)
  public func closeBatch<Sink: PacketSink>(into sink: inout Sink) {
    batchOpen = false
    let delivered = UInt64(datagramsInBatch)
    datagramsInBatch = 0
    if delivered > 0 {
      batchCounters.batches &+= 1
      batchCounters.datagrams &+= delivered
      if delivered > 1 { batchCounters.multiDatagramBatches &+= 1 }
      batchCounters.largestBatch = max(batchCounters.largestBatch, delivered)
    }
    let stageClock = self.stageClock
    let startNs = stageClock?() ?? 0
    encoder.flush()
    let encodedNs = stageClock?() ?? 0
    if encoder.pendingPackets > 0 { drainOutput(into: &sink) }
    if let stageClock { lastBatchCloseNs = (encodedNs - startNs, stageClock() - encodedNs) }
  }

  /// Runs one MoldUDP64 datagram through the pipeline and hands every packet it produced to
  /// `sink` before returning: a packet never waits for the next input. With gap filling on, a
  /// packet after a gap is held instead, until the gap closes or `tick` gives up on it.
  public func process<Sink: PacketSink>(moldPacket bytes: UnsafeRawBufferPointer, nowNs: UInt64, into sink: inout Sink)
  {
    lastProcessDelivered = false
    withReceiver(&sink) { feed.receive(bytes, nowNs: nowNs, into: &$0) }
  }

  /// Gives up every open hole now (the gateway calls this when it stops, after draining): what
  /// was held goes out, and what never came is counted lost.
  public func finishGaps<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    withReceiver(&sink) { feed.finishGaps(nowNs: nowNs, into: &$0) }
  }

  /// Timed duties of gap filling: past the hold time, a re-request (returned for the caller to
  /// send); past the last re-request, giving up. Call it often (the gateway does every cycle).
  public func tick<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) -> RerequestAction? {
    withReceiver(&sink) { feed.tick(nowNs: nowNs, into: &$0) }
  }

  @inline(__always)
  func withReceiver<Sink: PacketSink, Result>(
    _ sink: inout Sink, _ body: (inout CoreReceiver<Sink>) -> Result
  ) -> Result {
    withUnsafeMutablePointer(to: &sink) { pointer in
      var receiver = CoreReceiver(core: Unmanaged.passUnretained(self), sink: pointer)
      return body(&receiver)
    }
  }

  /// An unrecoverable gap: every book may be wrong from here on. Every channel this core writes
  /// says so at once (before any update that follows the gap), and snapshots keep saying it.
  func encodeFeedWentStale(lostFrom: UInt64, totalLostMessages: UInt64, nowNs: UInt64) {
    encoder.setClock(nowNs: nowNs)
    for channel in encoder.writtenChannels {
      encoder.encodeFeedStatus(
        channel: channel, upstreamSequence: lostFrom, timestampNs: nowNs, lostFrom: lostFrom,
        lostMessages: totalLostMessages, stale: true)
    }
  }

  /// One admitted datagram's new messages, in order, through decode → books → encode → sink
  /// (or, with `encodes` off, decode → books only).
  @inline(__always)
  func deliver<Sink: PacketSink>(
    _ packet: MoldPacket, skip: Int, nowNs: UInt64, encodes: Bool, into sink: inout Sink
  ) -> DeliveredFraming {
    let stageClock = self.stageClock
    let startNs = stageClock?() ?? 0
    if encodes {
      encoder.setClock(nowNs: nowNs)
      lastProcessDelivered = true
    }
    var blocks = packet.blocks
    var sequence = packet.sequenceNumber
    var toSkip = skip
    let routed = routing.isPartial
    // The order record a few messages ahead starts loading while this one is applied, so the
    // cache misses of several messages overlap instead of each waiting its turn.
    var ahead = blocks
    for _ in 1..<Self.prefetchDistance {
      if let early = ahead.next() { books.prefetchOrder(early) }
    }
    while let message = blocks.next() {
      if let later = ahead.next() { books.prefetchOrder(later) }
      if toSkip > 0 {
        toSkip -= 1
      } else {
        let route = routed ? routing.route(message) : .apply
        if route != .skip {
          books.apply(message, sequence: sequence, counted: route == .apply)
          if !encodes {
            books.clearEvents()
          } else if books.eventRoom < OrderBooks.maxEventsPerMessage {
            drainEvents(into: &sink)
          }
        }
      }
      sequence &+= 1
    }
    let framing = DeliveredFraming(anomaly: blocks.anomaly, endSequence: sequence)
    guard encodes else { return framing }
    let booksDoneNs = stageClock?() ?? 0
    drainEvents(into: &sink)
    if batchOpen {
      datagramsInBatch += 1
      if let stageClock { lastStageNs = (booksDoneNs - startNs, stageClock() - booksDoneNs, 0) }
      return framing
    }
    encoder.flush()
    let encodedNs = stageClock?() ?? 0
    drainOutput(into: &sink)
    if let stageClock {
      lastStageNs = (booksDoneNs - startNs, encodedNs - booksDoneNs, stageClock() - encodedNs)
    }
    return framing
  }

  /// How many messages ahead `deliver` prefetches order records (measured best on a 2-core EPYC VM).
  @usableFromInline static var prefetchDistance: Int { 4 }

  /// Session, decode and books only: events are discarded (for `book` and for benchmarks).
  public func applyToBooks(moldPacket bytes: UnsafeRawBufferPointer) {
    let packet = MoldPacket(bytes)
    guard let skip = feed.admitWithoutHolding(packet), let packet else { return }
    var nowhere = DiscardingSink()
    feed.noteFraming(deliver(packet, skip: skip, nowNs: 0, encodes: false, into: &nowhere))
  }

  /// Publishes every active instrument's definition and full-book snapshot on `channel` (the end
  /// of a replay, or a snapshot cycle), each snapshot stamped with its own channel's last sequence.
  public func publishSnapshots<Sink: PacketSink>(
    channel: UInt16, upstreamSequence: UInt64, nowNs: UInt64, into sink: inout Sink
  ) {
    _ = publishSnapshots(
      channel: channel, start: 0, count: config.books.maxLocates, upstreamSequence: upstreamSequence, nowNs: nowNs,
      into: &sink)
  }

  @inline(__always)
  func drainEvents<Sink: PacketSink>(into sink: inout Sink) {
    // Each event adds at most one bounded update, so a datagram's worth of room per event suffices.
    let roomBytes = (books.pendingEvents + 1) * 256 + config.encoder.maxDatagramBytes * 2 + flushReserveBytes
    if encoder.outputBytesFree < roomBytes {
      drainOutput(into: &sink)
    }
    encoder.encode(books.events)
    books.clearEvents()
  }

  /// Heartbeats every channel in `channels` (the gateway calls this for idle channels).
  public func heartbeat<Sink: PacketSink>(channel: UInt16, nowNs: UInt64, into sink: inout Sink) {
    encoder.setClock(nowNs: nowNs)
    encoder.heartbeat(channel: channel)
    drainOutput(into: &sink)
  }

  /// Publishes this instance's layout (`EncoderConfig.layout`) on the snapshot channel: the gateway
  /// does at start and at the start of every snapshot cycle.
  public func publishLayout<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    guard encoder.hasLayout else { return }
    encoder.setClock(nowNs: nowNs)
    encoder.encodeLayout(
      upstreamSequence: max(1, feed.expectedSequence) - 1, timestampNs: nowNs)
    drainOutput(into: &sink)
  }

  /// Publishes snapshots of `count` instruments starting at position `start` of the active list,
  /// on `channel`; returns the position to start from next time (wrapping).
  public func publishSnapshotSlice<Sink: PacketSink>(
    channel: UInt16, start: Int, count: Int, nowNs: UInt64, into sink: inout Sink
  ) -> Int {
    publishSnapshots(
      channel: channel, start: start, count: count, upstreamSequence: max(1, feed.expectedSequence) - 1,
      nowNs: nowNs, into: &sink)
  }

  /// The one snapshot publisher: the stale status if the feed is stale, then for each active
  /// instrument from `start` (in locate order, wrapping, at most `count`), its definition (so a
  /// late joiner learns the instrument with its book) and its book. Allocates nothing.
  func publishSnapshots<Sink: PacketSink>(
    channel: UInt16, start: Int, count: Int, upstreamSequence: UInt64, nowNs: UInt64, into sink: inout Sink
  ) -> Int {
    encoder.setClock(nowNs: nowNs)
    if feed.health.stale { encodeStaleStatus(channel: channel, nowNs: nowNs) }
    var position = start
    var published = 0
    let maxLocates = config.books.maxLocates
    var scanned = 0
    while published < count && scanned < maxLocates {
      let locate = UInt16(position % maxLocates)
      position = (position + 1) % maxLocates
      scanned += 1
      guard books.isActive(locate: locate) else { continue }
      if let definition = books.definition(locate: locate) {
        encoder.encodeDefinition(
          definition.pointee, locate: locate, upstreamSequence: upstreamSequence, timestampNs: nowNs, into: channel)
      }
      encoder.encodeSnapshot(
        of: books, locate: locate, into: channel, upstreamSequence: upstreamSequence, timestampNs: nowNs,
        lastChannelSequence: encoder.nextSequence(channel: routing.channel(for: locate)) - 1)
      published += 1
      if encoder.outputBytesFree < config.encoder.maxDatagramBytes * 4 + flushReserveBytes { drainOutput(into: &sink) }
    }
    encoder.flush()
    drainOutput(into: &sink)
    return position
  }

  /// The stale feed status again, for late joiners (the snapshot channel repeats it every slice).
  func encodeStaleStatus(channel: UInt16, nowNs: UInt64) {
    encoder.encodeFeedStatus(
      channel: channel, upstreamSequence: feed.health.lostFromSequence, timestampNs: nowNs,
      lostFrom: feed.health.lostFromSequence, lostMessages: feed.health.lostMessages, stale: true)
  }

  @inline(__always)
  func drainOutput<Sink: PacketSink>(into sink: inout Sink) {
    encoder.forEachPacket { channel, packet in sink.send(channel: channel, packet: packet) }
    sink.flush()
    encoder.clearOutput()
  }
}

/// The core as the feed session's receiver: deliveries go through the books to `sink`.
struct CoreReceiver<Sink: PacketSink>: FeedReceiver {
  /// Unmanaged, read through `_withUnsafeGuaranteedRef`: a stored class reference would cost a
  /// retain and a release per datagram.
  let core: Unmanaged<QuotecastCore>
  let sink: UnsafeMutablePointer<Sink>

  @inline(__always)
  mutating func deliver(_ packet: MoldPacket, skip: Int, nowNs: UInt64) -> DeliveredFraming {
    let sink = self.sink
    return core._withUnsafeGuaranteedRef {
      $0.deliver(packet, skip: skip, nowNs: nowNs, encodes: true, into: &sink.pointee)
    }
  }

  mutating func feedWentStale(lostFrom: UInt64, totalLostMessages: UInt64, nowNs: UInt64) {
    core._withUnsafeGuaranteedRef {
      $0.encodeFeedWentStale(lostFrom: lostFrom, totalLostMessages: totalLostMessages, nowNs: nowNs)
    }
  }

  mutating func flushStaleMark() {
    let sink = self.sink
    core._withUnsafeGuaranteedRef {
      $0.encoder.flush()
      $0.drainOutput(into: &sink.pointee)
    }
  }
}

/// Where `applyToBooks` would send packets, if it made any.
struct DiscardingSink: PacketSink {
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {}
}
