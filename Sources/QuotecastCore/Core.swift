import Glibc
@_exported import Book
@_exported import Encoding
@_exported import Feed
@_exported import ITCH

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
    maxLiveOrders: Int, maxLevels: Int, maxOrderReference: UInt64
  ) {
    books.publishedDepth = depth
    books.maxLiveOrders = maxLiveOrders
    books.maxLevels = maxLevels
    books.maxOrderReference = maxOrderReference
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

/// The upstream feed's health as the core sees it. Once a gap cannot be recovered every book may
/// be wrong, so the feed is stale for the rest of the session and says so to subscribers.
public struct FeedHealth: Equatable, Sendable {
  public var stale = false
  public var lostFromSequence: UInt64 = 0
  public var lostMessages: UInt64 = 0
  /// Gaps closed by packets held and then completed (another line, reordering, retransmission).
  public var gapsFilled: UInt64 = 0
  /// Gaps given up on (timeout, or the hold store full).
  public var gapsAbandoned: UInt64 = 0
  public var rerequests: UInt64 = 0
  /// Packets held after a gap, and copies of a held packet that arrived again.
  public var heldPackets: UInt64 = 0
  public var heldDuplicates: UInt64 = 0
  /// Held packets replaced by a longer copy of themselves (the held one had been cut short).
  public var truncatedCopiesReplaced: UInt64 = 0
  /// Joined mid-session and asked the re-request server for everything from message 1.
  public var catchUps: UInt64 = 0
  public init() {}
}

/// A MoldUDP64 request for `count` messages from `sequence` of `session`, for the caller to send
/// to the re-request server (the core does no I/O).
public struct RerequestAction: Equatable, Sendable {
  public var session: MoldSessionID
  public var sequence: UInt64
  public var count: UInt16

  /// The 20-byte request datagram: session, sequence, count, big-endian.
  public func withRequestBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    withUnsafeTemporaryAllocation(byteCount: 20, alignment: 8) { buffer in
      buffer.storeBytes(of: session.high.bigEndian, toByteOffset: 0, as: UInt64.self)
      buffer.storeBytes(of: session.low.bigEndian, toByteOffset: 8, as: UInt16.self)
      buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 10, as: UInt64.self)
      buffer.storeBytes(of: count.bigEndian, toByteOffset: 18, as: UInt16.self)
      return body(UnsafeRawBufferPointer(buffer))
    }
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

/// What a book shard does with one message.
@usableFromInline enum ShardRoute {
  case skip
  case apply
  /// A market-wide message every shard applies (each publishes it on its own channels); only
  /// shard 0 counts it.
  case applyUncounted
}

/// The whole no-I/O pipeline for one MoldUDP64 stream: session → decode → books → encode.
/// Live sockets, capture replay, fuzzing and benchmarks all call `process`.
public final class QuotecastCore {
  public let config: CoreConfig
  public let books: OrderBooks
  public let encoder: UpdateEncoder
  @usableFromInline let trackerStorage: UnsafeMutablePointer<SequenceTracker>
  /// Packets after an open gap (nil when gap filling is off).
  let held: HeldPackets?
  /// A gap is one hole at a time: the first missing message is `gapFrom`; a hole after it, among
  /// the held packets, becomes the next gap (with its own hold time and attempts) when this one
  /// closes or is given up.
  var gapOpen = false
  var gapFrom: UInt64 = 0
  var gapStartNs: UInt64 = 0
  var gapAttempts = 0
  /// Messages exist up to here (a heartbeat or end of session seen ahead while the gap is open).
  var gapKnownEnd: UInt64 = 0
  /// The expected sequence when the gap's wait last started: progress (answers arriving) waits afresh.
  var gapProgressSequence: UInt64 = 0
  /// The open gap runs from message 1 (a late join): held packets may be any distance ahead.
  var catchingUp = false
  public private(set) var health = FeedHealth()
  /// Arena room a flush may need: one full packet per channel this core writes.
  let flushReserveBytes: Int

  public init(config: CoreConfig) {
    self.config = config
    books = OrderBooks(config: config.books)
    // Closing every open packet at once (a flush) needs this much room; the arena always holds it twice over.
    let writtenChannels = ChannelPlan(
      channels: config.encoder.channels, owned: config.encoder.ownedChannels, shardIndex: config.encoder.shardIndex,
      shardCount: config.encoder.shardCount
    ).written.count
    flushReserveBytes = writtenChannels * (config.encoder.maxDatagramBytes + 8)
    var encoderConfig = config.encoder
    encoderConfig.outputArenaBytes = max(
      encoderConfig.outputArenaBytes, 2 * flushReserveBytes + 8 * config.encoder.maxDatagramBytes)
    encoder = UpdateEncoder(config: encoderConfig)
    trackerStorage = .allocate(capacity: 1)
    trackerStorage.initialize(to: SequenceTracker())
    held =
      config.gapFill.enabled
      ? HeldPackets(capacity: config.gapFill.maxHeldPackets, slotBytes: config.gapFill.maxHeldPacketBytes) : nil
  }

  deinit {
    trackerStorage.deinitialize(count: 1)
    trackerStorage.deallocate()
  }

  public var session: SequenceTracker { trackerStorage.pointee }

  /// When set, `process` times its stages (three clock reads per datagram) into `lastStageNs`.
  public var measuresStages = false
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
  /// The last `closeBatch`: closing the open packets, and handing them to the sink (when `measuresStages`).
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
    let startNs = measuresStages ? Self.monotonicNs() : 0
    encoder.flush()
    let encodedNs = measuresStages ? Self.monotonicNs() : 0
    if encoder.pendingPackets > 0 { drainOutput(into: &sink) }
    if measuresStages { lastBatchCloseNs = (encodedNs - startNs, Self.monotonicNs() - encodedNs) }
  }

  @inline(__always)
  static func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
  }

  /// Runs one MoldUDP64 datagram through the pipeline and hands every packet it produced to
  /// `sink` before returning: a packet never waits for the next input. With gap filling on, a
  /// packet after a gap is held instead, until the gap closes or `tick` gives up on it.
  public func process<Sink: PacketSink>(moldPacket bytes: UnsafeRawBufferPointer, nowNs: UInt64, into sink: inout Sink)
  {
    lastProcessDelivered = false
    guard let held else { return deliver(bytes, nowNs: nowNs, into: &sink) }
    if let packet = MoldPacket(bytes) {
      if config.gapFill.catchUpFromStart && packet.sequenceNumber > 1 && !trackerStorage.pointee.isSynchronized
        && trackerStorage.pointee.startFromFirstMessage(of: packet.session)
      {
        catchingUp = true
        health.catchUps &+= 1
      }
      switch holdDecision(packet) {
      case .deliver: break
      case .marker:
        trackerStorage.pointee.noteMarkerAhead(endOfSession: packet.isEndOfSession)
        gapKnownEnd = max(gapKnownEnd, packet.sequenceNumber)
        openGap(nowNs: nowNs)
        return
      case .hold:
        switch held.insert(sequence: packet.sequenceNumber, bytes) {
        case .held:
          health.heldPackets &+= 1
          openGap(nowNs: nowNs)
          return
        case .duplicate:
          health.heldDuplicates &+= 1
          trackerStorage.pointee.counters.duplicatePackets &+= 1
          if !packet.isWellFramed { trackerStorage.pointee.counters.damagedDuplicates &+= 1 }
          return
        case .replacedShorter:
          health.truncatedCopiesReplaced &+= 1
          return
        case .full, .tooLarge:
          // No room to wait for this packet's hole: give up the holes before it (their held
          // packets go through first, so nothing received is lost), then it goes through.
          while gapOpen, let first = held.firstSequence, first < packet.sequenceNumber {
            abandonGap(nowNs: nowNs, into: &sink)
          }
        }
      }
    }
    deliver(bytes, nowNs: nowNs, into: &sink)
    drainHeld(nowNs: nowNs, into: &sink)
  }

  enum HoldDecision {
    case deliver
    case hold
    /// A heartbeat or end of session ahead of the expected sequence.
    case marker
  }

  /// Hold a packet of the adopted session that starts after the expected sequence (but not
  /// implausibly far after it: those go to the tracker, which confirms or drops them).
  @inline(__always)
  func holdDecision(_ packet: MoldPacket) -> HoldDecision {
    let tracker = trackerStorage.pointee
    guard tracker.isSynchronized, let session = tracker.session, session == packet.session else { return .deliver }
    let sequence = packet.sequenceNumber
    let expected = tracker.expectedSequence
    guard sequence > expected, catchingUp || sequence - expected <= tracker.maxForwardJump else { return .deliver }
    return packet.isHeartbeat || packet.isEndOfSession ? .marker : .hold
  }

  @inline(__always)
  func openGap(nowNs: UInt64) {
    if !gapOpen {
      gapOpen = true
      gapFrom = trackerStorage.pointee.expectedSequence
      gapProgressSequence = gapFrom
      gapStartNs = nowNs
      gapAttempts = 0
    }
  }

  /// Delivers held packets the stream has reached. Once the hole is filled, a further hole among
  /// the held packets is a new gap.
  func drainHeld<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    guard gapOpen else { return }
    deliverReachedHeld(nowNs: nowNs, into: &sink)
    guard trackerStorage.pointee.expectedSequence > gapFrom else { return }
    if catchingUp {
      // One gap from message 1 to the first live packet, however many answers fill it.
      if !(held?.isEmpty ?? true) || gapKnownEnd > trackerStorage.pointee.expectedSequence { return }
      catchingUp = false
    }
    health.gapsFilled &+= 1
    gapOpen = false
    reopenIfAnotherHole(nowNs: nowNs)
  }

  func deliverReachedHeld<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    guard let held else { return }
    while let first = held.firstSequence, first <= trackerStorage.pointee.expectedSequence, let bytes = held.firstBytes
    {
      deliver(bytes, nowNs: nowNs, into: &sink)
      held.removeFirst()
    }
  }

  func reopenIfAnotherHole(nowNs: UInt64) {
    if !(held?.isEmpty ?? true) || gapKnownEnd > trackerStorage.pointee.expectedSequence {
      openGap(nowNs: nowNs)
    } else {
      gapKnownEnd = 0
    }
  }

  /// Gives up every open hole now (the gateway calls this when it stops, after draining): what
  /// was held goes out, and what never came is counted lost.
  public func finishGaps<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    while gapOpen { abandonGap(nowNs: nowNs, into: &sink) }
  }

  /// Timed duties of gap filling: past the hold time, a re-request (returned for the caller to
  /// send); past the last re-request, giving up. Call it often (the gateway does every cycle).
  public func tick<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) -> RerequestAction? {
    guard gapOpen, let held else { return nil }
    if nowNs < gapStartNs {
      gapStartNs = nowNs  // the clock stepped back: start the wait again rather than give up
      return nil
    }
    let expected = trackerStorage.pointee.expectedSequence
    if expected > gapProgressSequence {
      // Part of the hole came (an answer being streamed, a slower line): wait afresh from here,
      // and count attempts again, so a long hole filled in many answers is not given up.
      gapProgressSequence = expected
      gapStartNs = nowNs
      gapAttempts = 0
      return nil
    }
    let waitNs = gapAttempts == 0 ? config.gapFill.holdNs : config.gapFill.rerequestTimeoutNs
    guard nowNs - gapStartNs >= waitNs else { return nil }
    let end = held.firstSequence ?? gapKnownEnd
    if gapAttempts < config.gapFill.rerequestAttempts, let session = trackerStorage.pointee.session, end > expected {
      gapAttempts += 1
      gapStartNs = nowNs
      health.rerequests &+= 1
      return RerequestAction(session: session, sequence: expected, count: UInt16(min(end - expected, 65_535)))
    }
    abandonGap(nowNs: nowNs, into: &sink)
    return nil
  }

  /// Gives up on the open hole: the first held packet goes through across it (the tracker counts
  /// what is missing, and the feed is marked stale), then whatever follows it in order. A further
  /// hole is a new gap, which may still be filled.
  func abandonGap<Sink: PacketSink>(nowNs: UInt64, into sink: inout Sink) {
    guard let held, gapOpen else { return }
    gapOpen = false
    catchingUp = false
    gapAttempts = 0
    health.gapsAbandoned &+= 1
    if let bytes = held.firstBytes {
      deliver(bytes, nowNs: nowNs, into: &sink)
      held.removeFirst()
    } else if gapKnownEnd > trackerStorage.pointee.expectedSequence {
      let expected = trackerStorage.pointee.expectedSequence
      trackerStorage.pointee.skip(to: gapKnownEnd)
      markStale(lostFrom: expected, lostMessages: gapKnownEnd - expected, nowNs: nowNs)
      encoder.flush()
      drainOutput(into: &sink)
    }
    deliverReachedHeld(nowNs: nowNs, into: &sink)
    reopenIfAnotherHole(nowNs: nowNs)
  }

  /// An unrecoverable gap: every book may be wrong from here on. Every channel this core writes
  /// says so at once (before any update that follows the gap), and snapshots keep saying it.
  func markStale(lostFrom: UInt64, lostMessages: UInt64, nowNs: UInt64) {
    health.stale = true
    health.lostFromSequence = lostFrom
    health.lostMessages &+= lostMessages
    encoder.setClock(nowNs: nowNs)
    for channel in encoder.writtenChannels {
      encoder.encodeFeedStatus(
        channel: channel, upstreamSequence: lostFrom, timestampNs: nowNs, lostFrom: lostFrom,
        lostMessages: health.lostMessages, stale: true)
    }
  }

  /// One datagram, in order, through session → decode → books → encode → sink.
  func deliver<Sink: PacketSink>(_ bytes: UnsafeRawBufferPointer, nowNs: UInt64, into sink: inout Sink) {
    let packet = MoldPacket(bytes)
    let startNs = measuresStages ? Self.monotonicNs() : 0
    let expectedBefore = trackerStorage.pointee.expectedSequence
    let lostBefore = trackerStorage.pointee.counters.gapMessages
    let admission = trackerStorage.pointee.admit(packet)
    let lost = trackerStorage.pointee.counters.gapMessages &- lostBefore
    if lost > 0 { markStale(lostFrom: expectedBefore, lostMessages: lost, nowNs: nowNs) }
    guard case .deliver(let skip) = admission, let packet else {
      if lost > 0 {
        encoder.flush()
        drainOutput(into: &sink)
      }
      return
    }
    encoder.setClock(nowNs: nowNs)
    lastProcessDelivered = true
    var blocks = packet.blocks
    var sequence = packet.sequenceNumber
    var toSkip = skip
    let routed = encoder.plan.isPartial
    while let message = blocks.next() {
      if toSkip > 0 {
        toSkip -= 1
      } else {
        let route = routed ? self.route(message) : .apply
        if route != .skip {
          books.apply(message, sequence: sequence, counted: route == .apply)
          if books.eventRoom < OrderBooks.maxEventsPerMessage { drainEvents(into: &sink) }
        }
      }
      sequence &+= 1
    }
    trackerStorage.pointee.noteFraming(blocks.anomaly, endSequence: sequence)
    let booksDoneNs = measuresStages ? Self.monotonicNs() : 0
    drainEvents(into: &sink)
    if batchOpen {
      datagramsInBatch += 1
      if measuresStages { lastStageNs = (booksDoneNs - startNs, Self.monotonicNs() - booksDoneNs, 0) }
      return
    }
    encoder.flush()
    let encodedNs = measuresStages ? Self.monotonicNs() : 0
    drainOutput(into: &sink)
    if measuresStages {
      lastStageNs = (booksDoneNs - startNs, encodedNs - booksDoneNs, Self.monotonicNs() - encodedNs)
    }
  }

  /// Which messages this book shard applies: the messages of instruments on the channels it
  /// writes; system events, circuit breakers and trade breaks (which go to every channel) in every
  /// shard; anything else without an instrument (and anything too short to name one) in shard 0 only.
  /// Another gateway instance, owning other channels, routes the same way on its own.
  @inline(__always)
  func route(_ message: UnsafeRawBufferPointer) -> ShardRoute {
    let primary = encoder.plan.shardIndex == 0
    guard message.count >= 3, let base = message.baseAddress else { return primary ? .apply : .skip }
    let type = loadByte(base, 0)
    if type == SystemEvent.type || type == MWCBStatus.type || type == BrokenTrade.type {
      return primary ? .apply : .applyUncounted
    }
    let locate = loadBigEndianUInt16(base, 1)
    if locate == 0 { return primary ? .apply : .skip }
    return encoder.writes(locate: locate) ? .apply : .skip
  }

  /// Session, decode and books only: events are discarded (for `book` and for benchmarks).
  public func applyToBooks(moldPacket bytes: UnsafeRawBufferPointer) {
    let packet = MoldPacket(bytes)
    guard case .deliver(let skip) = trackerStorage.pointee.admit(packet), let packet else { return }
    var blocks = packet.blocks
    var sequence = packet.sequenceNumber
    var toSkip = skip
    let routed = encoder.plan.isPartial
    while let message = blocks.next() {
      if toSkip > 0 {
        toSkip -= 1
      } else {
        let route = routed ? self.route(message) : .apply
        if route != .skip { books.apply(message, sequence: sequence, counted: route == .apply) }
        books.clearEvents()
      }
      sequence &+= 1
    }
    trackerStorage.pointee.noteFraming(blocks.anomaly, endSequence: sequence)
  }

  /// Publishes every active instrument's definition and full-book snapshot on `channel` (the end
  /// of a replay, or a snapshot cycle), each snapshot stamped with its own channel's last sequence.
  public func publishSnapshots<Sink: PacketSink>(
    channel: UInt16, upstreamSequence: UInt64, nowNs: UInt64, into sink: inout Sink
  ) {
    encoder.setClock(nowNs: nowNs)
    if health.stale { encodeStaleStatus(channel: channel, nowNs: nowNs) }
    for locate in books.activeLocates {
      let ownChannel = encoder.plan.channel(for: locate)
      if let directory = books.directoryMessage(locate: locate) {
        encoder.encodeDefinition(
          message: directory, locate: locate, upstreamSequence: upstreamSequence, timestampNs: nowNs, into: channel)
      }
      encoder.encodeSnapshot(
        of: books, locate: locate, into: channel, upstreamSequence: upstreamSequence, timestampNs: nowNs,
        lastChannelSequence: encoder.nextSequence(channel: ownChannel) - 1)
      if encoder.outputBytesFree < config.encoder.maxDatagramBytes * 4 + flushReserveBytes { drainOutput(into: &sink) }
    }
    encoder.flush()
    drainOutput(into: &sink)
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
      upstreamSequence: max(1, trackerStorage.pointee.expectedSequence) - 1, timestampNs: nowNs)
    drainOutput(into: &sink)
  }

  /// Publishes snapshots of `count` instruments starting at position `start` of the active list,
  /// on `channel`; returns the position to start from next time (wrapping).
  public func publishSnapshotSlice<Sink: PacketSink>(
    channel: UInt16, start: Int, count: Int, nowNs: UInt64, into sink: inout Sink
  ) -> Int {
    encoder.setClock(nowNs: nowNs)
    let upstream = max(1, trackerStorage.pointee.expectedSequence) - 1
    if health.stale { encodeStaleStatus(channel: channel, nowNs: nowNs) }
    var position = start
    var published = 0
    let maxLocates = config.books.maxLocates
    var scanned = 0
    // Walk locates in order, skipping empty ones, without allocating.
    while published < count && scanned < maxLocates {
      let locate = UInt16(position % maxLocates)
      position = (position + 1) % maxLocates
      scanned += 1
      guard books.isActive(locate: locate) else { continue }
      let ownChannel = encoder.plan.channel(for: locate)
      // The definition first, so a late joiner learns the instrument with its book.
      if let directory = books.directoryMessage(locate: locate) {
        encoder.encodeDefinition(
          message: directory, locate: locate, upstreamSequence: upstream, timestampNs: nowNs, into: channel)
      }
      encoder.encodeSnapshot(
        of: books, locate: locate, into: channel, upstreamSequence: upstream, timestampNs: nowNs,
        lastChannelSequence: encoder.nextSequence(channel: ownChannel) - 1)
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
      channel: channel, upstreamSequence: health.lostFromSequence, timestampNs: nowNs,
      lostFrom: health.lostFromSequence, lostMessages: health.lostMessages, stale: true)
  }

  @inline(__always)
  func drainOutput<Sink: PacketSink>(into sink: inout Sink) {
    encoder.forEachPacket { channel, packet in sink.send(channel: channel, packet: packet) }
    sink.flush()
    encoder.clearOutput()
  }
}
