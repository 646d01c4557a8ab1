import ITCH

/// The upstream feed's health as the session sees it. Once a gap cannot be recovered every book
/// may be wrong, so the feed is stale for the rest of the session and says so to subscribers.
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
/// to the re-request server (the session does no I/O).
public struct RerequestAction: Equatable, Sendable {
  public var session: MoldSessionID
  public var sequence: UInt64
  public var count: UInt16

  public init(session: MoldSessionID, sequence: UInt64, count: UInt16) {
    self.session = session
    self.sequence = sequence
    self.count = count
  }

  /// Reads a request datagram (what `withRequestBytes` writes); nil unless exactly 20 bytes.
  public init?(requestBytes bytes: UnsafeRawBufferPointer) {
    guard bytes.count == 20, let base = bytes.baseAddress else { return nil }
    session = MoldSessionID(
      high: loadBigEndianUInt64(base, 0), low: loadBigEndianUInt16(base, 8))
    sequence = loadBigEndianUInt64(base, 10)
    count = loadBigEndianUInt16(base, 18)
  }

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

/// How a delivered packet's blocks framed: what was wrong, and one past the last message it held.
public struct DeliveredFraming: Equatable, Sendable {
  public var anomaly: MoldBlockIterator.Anomaly
  public var endSequence: UInt64

  @inlinable
  public init(anomaly: MoldBlockIterator.Anomaly, endSequence: UInt64) {
    self.anomaly = anomaly
    self.endSequence = endSequence
  }
}

/// What the session hands to the layer above it (the core). It never calls back into the session.
public protocol FeedReceiver {
  /// An admitted packet, in order: its messages from the `skip`-th on are new.
  mutating func deliver(_ packet: MoldPacket, skip: Int, nowNs: UInt64) -> DeliveredFraming
  /// Messages from `lostFrom` will never come (`totalLostMessages` this session): every book may
  /// be wrong from here on, and subscribers must hear it before any update that follows.
  mutating func feedWentStale(lostFrom: UInt64, totalLostMessages: UInt64, nowNs: UInt64)
  /// Nothing more follows a stale mark just now (no packet after it): close the output at once.
  mutating func flushStaleMark()
}

/// One MoldUDP64 stream as it arrives: sequencing (`SequenceTracker`) and, with gap filling on,
/// packets held across a gap (`HeldPackets`) until the hole is filled by another line, reordering
/// or a re-request, or given up. It answers with deliveries and stale marks, in order, and asks
/// for re-requests for the caller to send: it does no I/O and reads no clock.
public final class FeedSession {
  public let config: GapFillConfig
  @usableFromInline let trackerStorage: UnsafeMutablePointer<SequenceTracker>
  /// Packets after an open gap (nil when gap filling is off).
  @usableFromInline let held: HeldPackets?
  @usableFromInline var gap = OpenGap()
  @usableFromInline var healthStorage = FeedHealth()

  /// A gap is one hole at a time: the first missing message is `from`; a hole after it, among the
  /// held packets, becomes the next gap (with its own hold time and attempts) when this one closes
  /// or is given up.
  @usableFromInline struct OpenGap {
    @usableFromInline var isOpen = false
    @usableFromInline var from: UInt64 = 0
    @usableFromInline var startNs: UInt64 = 0
    @usableFromInline var attempts = 0
    /// Messages exist up to here (a heartbeat or end of session seen ahead while the gap is open).
    @usableFromInline var knownEnd: UInt64 = 0
    /// The expected sequence when the wait last started: progress (answers arriving) waits afresh.
    @usableFromInline var progressSequence: UInt64 = 0
    /// The open gap runs from message 1 (a late join): held packets may be any distance ahead.
    @usableFromInline var catchingUp = false
    @usableFromInline init() {}
  }

  public init(config: GapFillConfig = GapFillConfig(), tracker: SequenceTracker = SequenceTracker()) {
    self.config = config
    trackerStorage = .allocate(capacity: 1)
    trackerStorage.initialize(to: tracker)
    held =
      config.enabled ? HeldPackets(capacity: config.maxHeldPackets, slotBytes: config.maxHeldPacketBytes) : nil
  }

  deinit {
    trackerStorage.deinitialize(count: 1)
    trackerStorage.deallocate()
  }

  public var tracker: SequenceTracker { trackerStorage.pointee }
  public var health: FeedHealth { healthStorage }
  /// The next message the stream needs.
  @inlinable public var expectedSequence: UInt64 { trackerStorage.pointee.expectedSequence }
  public var isGapOpen: Bool { gap.isOpen }
  public var heldCount: Int { held?.count ?? 0 }

  /// One datagram. Delivered at once when it continues the stream; with gap filling on, a packet
  /// after a hole is held instead, until the hole closes or `tick` gives up on it.
  @inlinable
  public func receive<Receiver: FeedReceiver>(
    _ bytes: UnsafeRawBufferPointer, nowNs: UInt64, into receiver: inout Receiver
  ) {
    let packet = MoldPacket(bytes)
    guard let held else { return admit(packet, nowNs: nowNs, into: &receiver) }
    if let packet, holds(packet, bytes, in: held, nowNs: nowNs, into: &receiver) { return }
    admit(packet, nowNs: nowNs, into: &receiver)
    drainHeld(nowNs: nowNs, into: &receiver)
  }

  /// Whether `packet` waits among the held packets (or is a marker or copy of one) rather than going on now.
  @inlinable
  func holds<Receiver: FeedReceiver>(
    _ packet: MoldPacket, _ bytes: UnsafeRawBufferPointer, in held: HeldPackets, nowNs: UInt64,
    into receiver: inout Receiver
  ) -> Bool {
    if config.catchUpFromStart && packet.sequenceNumber > 1 && !trackerStorage.pointee.isSynchronized
      && trackerStorage.pointee.startFromFirstMessage(of: packet.session)
    {
      gap.catchingUp = true
      healthStorage.catchUps &+= 1
    }
    switch holdDecision(packet) {
    case .deliver: break
    case .marker:
      trackerStorage.pointee.noteMarkerAhead(endOfSession: packet.isEndOfSession)
      gap.knownEnd = max(gap.knownEnd, packet.sequenceNumber)
      openGap(nowNs: nowNs)
      return true
    case .hold:
      switch held.insert(sequence: packet.sequenceNumber, bytes) {
      case .held:
        healthStorage.heldPackets &+= 1
        openGap(nowNs: nowNs)
        return true
      case .duplicate:
        healthStorage.heldDuplicates &+= 1
        trackerStorage.pointee.counters.duplicatePackets &+= 1
        if !packet.isWellFramed { trackerStorage.pointee.counters.damagedDuplicates &+= 1 }
        return true
      case .replacedShorter:
        healthStorage.truncatedCopiesReplaced &+= 1
        return true
      case .full, .tooLarge:
        // No room to wait for this packet's hole: give up the holes before it (their held
        // packets go through first, so nothing received is lost), then it goes through.
        while gap.isOpen, let first = held.firstSequence, first < packet.sequenceNumber {
          abandonGap(nowNs: nowNs, into: &receiver)
        }
      }
    }
    return false
  }

  /// Sequencing only, for a caller that has no use for stale marks or holding (book rebuilds,
  /// benchmarks): the packet's new messages start at `skip`, or nil when it brings none.
  @inlinable
  public func admitWithoutHolding(_ packet: MoldPacket?) -> Int? {
    guard case .deliver(let skip) = trackerStorage.pointee.admit(packet), packet != nil else { return nil }
    return skip
  }

  /// Records how an admitted packet's blocks framed (for a caller of `admitWithoutHolding`).
  @inlinable
  public func noteFraming(_ framing: DeliveredFraming) {
    trackerStorage.pointee.noteFraming(framing.anomaly, endSequence: framing.endSequence)
  }

  @usableFromInline enum HoldDecision {
    case deliver
    case hold
    /// A heartbeat or end of session ahead of the expected sequence.
    case marker
  }

  /// Hold a packet of the adopted session that starts after the expected sequence (but not
  /// implausibly far after it: those go to the tracker, which confirms or drops them).
  @inlinable
  func holdDecision(_ packet: MoldPacket) -> HoldDecision {
    let tracker = trackerStorage.pointee
    guard tracker.isSynchronized, let session = tracker.session, session == packet.session else { return .deliver }
    let sequence = packet.sequenceNumber
    let expected = tracker.expectedSequence
    guard sequence > expected, gap.catchingUp || sequence - expected <= tracker.maxForwardJump else {
      return .deliver
    }
    return packet.isHeartbeat || packet.isEndOfSession ? .marker : .hold
  }

  @inlinable
  func openGap(nowNs: UInt64) {
    if !gap.isOpen {
      gap.isOpen = true
      gap.from = trackerStorage.pointee.expectedSequence
      gap.progressSequence = gap.from
      gap.startNs = nowNs
      gap.attempts = 0
    }
  }

  /// Sequences one packet and hands it on: a hole it skips is lost (a stale mark first), a
  /// duplicate or marker goes no further.
  @inlinable
  func admit<Receiver: FeedReceiver>(_ packet: MoldPacket?, nowNs: UInt64, into receiver: inout Receiver) {
    let expectedBefore = trackerStorage.pointee.expectedSequence
    let lostBefore = trackerStorage.pointee.counters.gapMessages
    let admission = trackerStorage.pointee.admit(packet)
    let lost = trackerStorage.pointee.counters.gapMessages &- lostBefore
    if lost > 0 { markStale(lostFrom: expectedBefore, lostMessages: lost, nowNs: nowNs, into: &receiver) }
    guard case .deliver(let skip) = admission, let packet else {
      if lost > 0 { receiver.flushStaleMark() }
      return
    }
    let framing = receiver.deliver(packet, skip: skip, nowNs: nowNs)
    trackerStorage.pointee.noteFraming(framing.anomaly, endSequence: framing.endSequence)
  }

  @inlinable
  func markStale<Receiver: FeedReceiver>(
    lostFrom: UInt64, lostMessages: UInt64, nowNs: UInt64, into receiver: inout Receiver
  ) {
    healthStorage.stale = true
    healthStorage.lostFromSequence = lostFrom
    healthStorage.lostMessages &+= lostMessages
    receiver.feedWentStale(lostFrom: lostFrom, totalLostMessages: healthStorage.lostMessages, nowNs: nowNs)
  }

  /// Delivers held packets the stream has reached. Once the hole is filled, a further hole among
  /// the held packets is a new gap.
  @inlinable
  func drainHeld<Receiver: FeedReceiver>(nowNs: UInt64, into receiver: inout Receiver) {
    guard gap.isOpen else { return }
    deliverReachedHeld(nowNs: nowNs, into: &receiver)
    guard trackerStorage.pointee.expectedSequence > gap.from else { return }
    if gap.catchingUp {
      // One gap from message 1 to the first live packet, however many answers fill it.
      if !(held?.isEmpty ?? true) || gap.knownEnd > trackerStorage.pointee.expectedSequence { return }
      gap.catchingUp = false
    }
    healthStorage.gapsFilled &+= 1
    gap.isOpen = false
    reopenIfAnotherHole(nowNs: nowNs)
  }

  @inlinable
  func deliverReachedHeld<Receiver: FeedReceiver>(nowNs: UInt64, into receiver: inout Receiver) {
    guard let held else { return }
    while let first = held.firstSequence, first <= trackerStorage.pointee.expectedSequence, let bytes = held.firstBytes
    {
      admit(MoldPacket(bytes), nowNs: nowNs, into: &receiver)
      held.removeFirst()
    }
  }

  @inlinable
  func reopenIfAnotherHole(nowNs: UInt64) {
    if !(held?.isEmpty ?? true) || gap.knownEnd > trackerStorage.pointee.expectedSequence {
      openGap(nowNs: nowNs)
    } else {
      gap.knownEnd = 0
    }
  }

  /// Gives up every open hole now (the gateway does when it stops, after draining): what was held
  /// goes out, and what never came is counted lost.
  @inlinable
  public func finishGaps<Receiver: FeedReceiver>(nowNs: UInt64, into receiver: inout Receiver) {
    while gap.isOpen { abandonGap(nowNs: nowNs, into: &receiver) }
  }

  /// Timed duties of gap filling: past the hold time, a re-request (returned for the caller to
  /// send); past the last re-request, giving up. Call it often (the gateway does every cycle).
  @inlinable
  public func tick<Receiver: FeedReceiver>(nowNs: UInt64, into receiver: inout Receiver) -> RerequestAction? {
    guard gap.isOpen, let held else { return nil }
    if nowNs < gap.startNs {
      gap.startNs = nowNs  // the clock stepped back: start the wait again rather than give up
      return nil
    }
    let expected = trackerStorage.pointee.expectedSequence
    if expected > gap.progressSequence {
      // Part of the hole came (an answer being streamed, a slower line): wait afresh from here,
      // and count attempts again, so a long hole filled in many answers is not given up.
      gap.progressSequence = expected
      gap.startNs = nowNs
      gap.attempts = 0
      return nil
    }
    let waitNs = gap.attempts == 0 ? config.holdNs : config.rerequestTimeoutNs
    guard nowNs - gap.startNs >= waitNs else { return nil }
    let end = held.firstSequence ?? gap.knownEnd
    if gap.attempts < config.rerequestAttempts, let session = trackerStorage.pointee.session, end > expected {
      gap.attempts += 1
      gap.startNs = nowNs
      healthStorage.rerequests &+= 1
      return RerequestAction(session: session, sequence: expected, count: UInt16(min(end - expected, 65_535)))
    }
    abandonGap(nowNs: nowNs, into: &receiver)
    return nil
  }

  /// Gives up on the open hole: the first held packet goes through across it (the tracker counts
  /// what is missing, and the feed is marked stale), then whatever follows it in order. A further
  /// hole is a new gap, which may still be filled.
  @inlinable
  func abandonGap<Receiver: FeedReceiver>(nowNs: UInt64, into receiver: inout Receiver) {
    guard let held, gap.isOpen else { return }
    gap.isOpen = false
    gap.catchingUp = false
    gap.attempts = 0
    healthStorage.gapsAbandoned &+= 1
    if let bytes = held.firstBytes {
      admit(MoldPacket(bytes), nowNs: nowNs, into: &receiver)
      held.removeFirst()
    } else if gap.knownEnd > trackerStorage.pointee.expectedSequence {
      let expected = trackerStorage.pointee.expectedSequence
      trackerStorage.pointee.skip(to: gap.knownEnd)
      markStale(lostFrom: expected, lostMessages: gap.knownEnd - expected, nowNs: nowNs, into: &receiver)
      receiver.flushStaleMark()
    }
    deliverReachedHeld(nowNs: nowNs, into: &receiver)
    reopenIfAnotherHole(nowNs: nowNs)
  }
}
