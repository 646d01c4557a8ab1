import Synth

/// A replay that cannot start as asked: the message says which option and why.
public struct ReplayError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Faults `replay --to` injects, for arbitration tests and the soak. Rates are per datagram and
/// the draw is seeded, so a run is repeatable; the counts of what was injected are exact.
public struct FaultPlan: Equatable, Sendable {
  /// Lost on line A only, on line B only (needs a line B), or on both lines: never two in a row,
  /// so each both-line loss is one retransmission.
  public var dropA = 0.0
  public var dropB = 0.0
  public var dropBoth = 0.0
  /// Sent twice on a line.
  public var duplicate = 0.0
  /// Held back on a line and sent after the line's next datagram.
  public var reorder = 0.0
  /// Cut short on line A (line B, sent after A, carries it whole; never on a datagram B drops).
  public var truncate = 0.0
  /// A delete of an order that never existed, appended to the datagram (on both lines: it is part
  /// of the feed, and every later sequence number moves up one).
  public var unknownReferences = 0.0
  /// A replayed copy sent from 127.0.0.2 (not the feed's source).
  public var foreign = 0.0
  public var seed: UInt64 = 1

  public var isEmpty: Bool {
    dropA == 0 && dropB == 0 && dropBoth == 0 && duplicate == 0 && reorder == 0 && truncate == 0
      && unknownReferences == 0 && foreign == 0
  }

  /// "kind=rate,kind=rate": drop_a, drop_b, drop_both, duplicate, reorder, truncate,
  /// unknown_reference, foreign.
  public init(_ text: String, seed: UInt64) throws {
    self.seed = seed
    for part in text.split(separator: ",") {
      let pair = part.split(separator: "=")
      guard pair.count == 2, let rate = Double(pair[1]), rate >= 0, rate <= 0.5 else {
        throw ReplayError("--faults: expected kind=rate with a rate of 0...0.5, got \(part)")
      }
      switch pair[0] {
      case "drop_a": dropA = rate
      case "drop_b": dropB = rate
      case "drop_both": dropBoth = rate
      case "duplicate": duplicate = rate
      case "reorder": reorder = rate
      case "truncate": truncate = rate
      case "unknown_reference": unknownReferences = rate
      case "foreign": foreign = rate
      default:
        throw ReplayError(
          "--faults: unknown kind \(pair[0]) (drop_a, drop_b, drop_both, duplicate, reorder, truncate, "
            + "unknown_reference, foreign)")
      }
    }
  }

  public init() {}
}

/// What was injected, exactly.
public struct FaultCounts: Codable, Equatable, Sendable {
  public var datagrams: UInt64 = 0
  /// Datagrams sent on each line (copies included), and from the foreign source.
  public var sentA: UInt64 = 0
  public var sentB: UInt64 = 0
  public var droppedA: UInt64 = 0
  public var droppedB: UInt64 = 0
  public var droppedBoth: UInt64 = 0
  /// Messages in the datagrams lost on both lines (what a gateway without retransmission loses).
  public var messagesDroppedBoth: UInt64 = 0
  public var duplicated: UInt64 = 0
  public var reordered: UInt64 = 0
  public var truncated: UInt64 = 0
  public var unknownReferences: UInt64 = 0
  public var foreign: UInt64 = 0
  public var messages: UInt64 = 0
  public var rerequestsServed: UInt64 = 0
  public var messagesRetransmitted: UInt64 = 0
  public var datagramsRetransmitted: UInt64 = 0

  public init() {}

  enum CodingKeys: String, CodingKey {
    case datagrams, messages, foreign, duplicated, reordered, truncated
    case sentA = "sent_a"
    case sentB = "sent_b"
    case droppedA = "dropped_a"
    case droppedB = "dropped_b"
    case droppedBoth = "dropped_both"
    case messagesDroppedBoth = "messages_dropped_both"
    case unknownReferences = "unknown_references"
    case rerequestsServed = "rerequests_served"
    case messagesRetransmitted = "messages_retransmitted"
    case datagramsRetransmitted = "datagrams_retransmitted"
  }
}

extension SplitMix64 {
  /// True with probability `rate` (53 random bits against it).
  public mutating func chance(_ rate: Double) -> Bool { rate > 0 && Double(next() >> 11) / Double(1 << 53) < rate }
}
