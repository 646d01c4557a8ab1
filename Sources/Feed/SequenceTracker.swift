import ITCH

/// Counters a session keeps. Stable names: they are exported as they are.
public struct SessionCounters: Equatable, Sendable {
  public var packets: UInt64 = 0
  public var heartbeats: UInt64 = 0
  public var endOfSession: UInt64 = 0
  /// Datagrams shorter than the 20-byte header.
  public var shortPackets: UInt64 = 0
  /// Packets from a session other than the one adopted.
  public var unknownSession: UInt64 = 0
  /// Gap events, and the number of messages they skipped.
  public var gaps: UInt64 = 0
  public var gapMessages: UInt64 = 0
  /// Packets wholly seen before, and messages skipped because they were seen before.
  public var duplicatePackets: UInt64 = 0
  public var duplicateMessages: UInt64 = 0
  /// Block framing problems inside a packet (the valid prefix is still delivered).
  public var truncatedBlocks: UInt64 = 0
  public var countMismatches: UInt64 = 0
  public var trailingBytes: UInt64 = 0
  /// Packets whose sequence jumped further ahead than `maxForwardJump` without confirmation
  /// (a corrupted header must not poison the expected sequence).
  public var implausibleJumps: UInt64 = 0
  /// Duplicate copies whose blocks do not frame (cut short or corrupted): the other copy won, but
  /// the line that sent this one is damaging packets.
  public var damagedDuplicates: UInt64 = 0

  public init() {}

  /// Every anomaly counter, by name, in a stable order.
  public var anomalies: [(name: String, value: UInt64)] {
    [
      ("short_packets", shortPackets), ("unknown_session", unknownSession), ("gaps", gaps),
      ("gap_messages", gapMessages), ("duplicate_packets", duplicatePackets),
      ("duplicate_messages", duplicateMessages), ("truncated_blocks", truncatedBlocks),
      ("count_mismatches", countMismatches), ("trailing_bytes", trailingBytes),
      ("implausible_jumps", implausibleJumps), ("damaged_duplicates", damagedDuplicates),
    ]
  }
}

/// What to do with a packet's messages.
@frozen public enum Admission: Equatable {
  /// Deliver the packet's messages, skipping the first `skip` (already delivered before).
  case deliver(skip: Int)
  /// Nothing to deliver (heartbeat, end of session, duplicate, foreign session, short).
  case drop
}

/// Per-session sequencing for one MoldUDP64 stream: adopts the first session it sees (or the
/// one configured), tracks the next expected sequence, and counts gaps and duplicates. A gap
/// is counted and the packet delivered: recovery belongs to the layer above.
///
/// The first packet sets the sequence (a late join is a gap, nothing more). After that, a jump
/// further ahead than `maxForwardJump` messages is believed only when the next packet continues
/// it; until then it is counted and dropped, so one corrupted header cannot make every later
/// packet look like a duplicate.
public struct SequenceTracker {
  public private(set) var session: MoldSessionID?
  /// The sequence number of the next message not yet delivered.
  public private(set) var expectedSequence: UInt64 = 1
  public private(set) var ended = false
  public var counters = SessionCounters()
  public let maxForwardJump: UInt64
  var synchronized = false
  /// Where the stream would continue if the last implausible jump was real.
  var unconfirmedJumpEnd: UInt64?
  /// The expected sequence before the last delivered packet: framing faults never take the
  /// stream back past it (those messages were already delivered).
  var deliveredUpTo: UInt64 = 1

  public init(session: MoldSessionID? = nil, expectedSequence: UInt64 = 1, maxForwardJump: UInt64 = 1 << 13) {
    self.session = session
    self.expectedSequence = expectedSequence
    self.maxForwardJump = maxForwardJump
  }

  /// Classifies one datagram. `nil` packet means it was shorter than a header.
  public mutating func admit(_ packet: MoldPacket?) -> Admission {
    guard let packet else {
      counters.shortPackets &+= 1
      return .drop
    }
    let packetSession = packet.session
    if let session {
      if session != packetSession {
        counters.unknownSession &+= 1
        return .drop
      }
    } else {
      session = packetSession
    }
    counters.packets &+= 1
    let sequence = packet.sequenceNumber
    let count = packet.isEndOfSession || packet.isHeartbeat ? 0 : UInt64(packet.messageCount)
    if !plausible(sequence: sequence, count: count) {
      counters.implausibleJumps &+= 1
      return .drop
    }
    if packet.isEndOfSession {
      counters.endOfSession &+= 1
      ended = true
      noteGap(upTo: sequence)
      return .drop
    }
    if packet.isHeartbeat {
      counters.heartbeats &+= 1
      noteGap(upTo: sequence)
      return .drop
    }
    let last = sequence &+ count  // one past the packet's last message
    if last <= expectedSequence {
      counters.duplicatePackets &+= 1
      counters.duplicateMessages &+= count
      if !packet.isWellFramed { counters.damagedDuplicates &+= 1 }
      return .drop
    }
    var skip = 0
    if sequence < expectedSequence {
      skip = Int(expectedSequence - sequence)
      counters.duplicateMessages &+= UInt64(skip)
    } else {
      noteGap(upTo: sequence)
    }
    deliveredUpTo = expectedSequence
    expectedSequence = last
    return .deliver(skip: skip)
  }

  /// Adopts `packetSession` (unless another was configured) without taking the sequence from the
  /// packet: the stream is expected from message 1, so a first packet past it is a gap to fill.
  /// Returns false if the tracker is already synchronized or bound to another session.
  public mutating func startFromFirstMessage(of packetSession: MoldSessionID) -> Bool {
    guard !synchronized, session == nil || session == packetSession else { return false }
    session = packetSession
    synchronized = true
    return true
  }

  /// True once the first packet has set the sequence.
  public var isSynchronized: Bool { synchronized }

  /// A heartbeat or end of session seen ahead of the expected sequence while a gap is held open:
  /// counted as such, without moving the expected sequence (the gap may still be filled).
  public mutating func noteMarkerAhead(endOfSession: Bool) {
    counters.packets &+= 1
    if endOfSession {
      counters.endOfSession &+= 1
      ended = true
    } else {
      counters.heartbeats &+= 1
    }
  }

  /// Gives up on the messages before `sequence`: counted as a gap, and the stream goes on from there.
  public mutating func skip(to sequence: UInt64) { noteGap(upTo: sequence) }

  /// Records what the block iterator found wrong in a delivered packet. `endSequence` is one past
  /// the last message the packet really held: when it held fewer than its header claimed, the
  /// expected sequence comes back to it, so a forged count cannot hide the packets that follow.
  public mutating func noteFraming(_ anomaly: MoldBlockIterator.Anomaly, endSequence: UInt64) {
    switch anomaly {
    case .none: return
    case .truncatedLength, .blockPastEnd: counters.truncatedBlocks &+= 1
    case .fewerBlocksThanCounted: counters.countMismatches &+= 1
    case .trailingBytes:
      counters.trailingBytes &+= 1
      return
    }
    if endSequence < expectedSequence { expectedSequence = max(endSequence, deliveredUpTo) }
  }

  /// False for an unconfirmed jump far ahead; remembers it so the next packet can confirm it.
  mutating func plausible(sequence: UInt64, count: UInt64) -> Bool {
    defer { synchronized = true }
    guard synchronized, sequence > expectedSequence, sequence - expectedSequence > maxForwardJump else {
      unconfirmedJumpEnd = nil
      return true
    }
    if let end = unconfirmedJumpEnd, sequence == end {
      unconfirmedJumpEnd = nil
      return true
    }
    let (end, overflow) = sequence.addingReportingOverflow(count)
    unconfirmedJumpEnd = overflow ? nil : end
    return false
  }

  mutating func noteGap(upTo sequence: UInt64) {
    if sequence > expectedSequence {
      counters.gaps &+= 1
      counters.gapMessages &+= sequence - expectedSequence
      expectedSequence = sequence
    }
  }
}
