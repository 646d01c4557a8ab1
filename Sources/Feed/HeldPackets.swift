/// How the feed waits out a gap: for the other line (A/B), then for a retransmission.
public struct GapFillConfig: Sendable, Equatable {
  /// How long packets after a gap are held for the missing ones to arrive on another line (or
  /// out of order on this one) before re-requesting or giving up, ns. 0: never hold.
  public var holdNs: UInt64 = 0
  /// Re-requests to send before giving up (0: no retransmission server).
  public var rerequestAttempts = 0
  /// How long each re-request waits for its answer, ns.
  public var rerequestTimeoutNs: UInt64 = 50_000_000
  /// Packets that can be held while a gap is open; when full, the gap is given up at once.
  public var maxHeldPackets = 4096
  /// The largest datagram that can be held (bytes).
  public var maxHeldPacketBytes = 2048
  /// A first packet past message 1 (started or restarted mid-session) opens a gap from message 1
  /// for the re-request server to fill, so the books are rebuilt exactly instead of being stale.
  /// Only with re-requests on; the live packets meanwhile are held (`maxHeldPackets` bounds how long).
  public var catchUpFromStart = false

  public init() {}

  public var enabled: Bool { holdNs > 0 || rerequestAttempts > 0 }

  public func problems() -> [String] {
    var problems: [String] = []
    if rerequestAttempts < 0 || rerequestAttempts > 100 {
      problems.append("rerequestAttempts: must be 0...100, got \(rerequestAttempts)")
    }
    if maxHeldPackets < 1 || maxHeldPackets > 1 << 20 {
      problems.append("maxHeldPackets: must be 1...1048576, got \(maxHeldPackets)")
    }
    if maxHeldPacketBytes < 64 || maxHeldPacketBytes > 65_536 {
      problems.append("maxHeldPacketBytes: must be 64...65536, got \(maxHeldPacketBytes)")
    }
    return problems
  }
}

/// Datagrams that arrived after a gap, copied into preallocated slots and kept in sequence order
/// until the gap closes. Most arrive in order, so an insert is usually an append.
public final class HeldPackets {
  public let capacity: Int
  public let slotBytes: Int
  let arena: UnsafeMutableRawPointer
  /// Sorted by `sequence`: (sequence, slot, length).
  let entries: UnsafeMutablePointer<(sequence: UInt64, slot: Int32, length: Int32)>
  let freeSlots: UnsafeMutablePointer<Int32>
  var freeCount: Int
  /// The live entries are `entries[head..<head + count]`: taking the first is O(1).
  var head = 0
  public private(set) var count = 0

  public enum Insertion: Equatable {
    case held
    /// A packet starting at the same sequence is already held.
    case duplicate
    /// The held copy was shorter (truncated): this one replaced it.
    case replacedShorter
    case full
    case tooLarge
  }

  public init(capacity: Int, slotBytes: Int) {
    self.capacity = capacity
    self.slotBytes = slotBytes
    arena = .allocate(byteCount: capacity * slotBytes, alignment: 16)
    entries = .allocate(capacity: capacity)
    freeSlots = .allocate(capacity: capacity)
    for slot in 0..<capacity { freeSlots[slot] = Int32(capacity - 1 - slot) }
    freeCount = capacity
  }

  deinit {
    arena.deallocate()
    entries.deallocate()
    freeSlots.deallocate()
  }

  public var isEmpty: Bool { count == 0 }

  /// The lowest held sequence.
  public var firstSequence: UInt64? { count > 0 ? entries[head].sequence : nil }

  /// The lowest held packet's bytes; valid until `removeFirst`.
  public var firstBytes: UnsafeRawBufferPointer? {
    guard count > 0 else { return nil }
    let entry = entries[head]
    return UnsafeRawBufferPointer(start: arena + Int(entry.slot) * slotBytes, count: Int(entry.length))
  }

  public func insert(sequence: UInt64, _ bytes: UnsafeRawBufferPointer) -> Insertion {
    guard bytes.count <= slotBytes, let source = bytes.baseAddress else { return .tooLarge }
    var position = head + count
    while position > head && entries[position - 1].sequence > sequence { position -= 1 }
    if position > head && entries[position - 1].sequence == sequence {
      // A copy of a held packet: keep the longer (a truncated copy may have come first).
      let existing = entries[position - 1]
      if bytes.count > Int(existing.length) {
        (arena + Int(existing.slot) * slotBytes).copyMemory(from: source, byteCount: bytes.count)
        entries[position - 1].length = Int32(bytes.count)
        return .replacedShorter
      }
      return .duplicate
    }
    guard freeCount > 0 else { return .full }
    if head + count == capacity {
      // Slide the window back to the start (count < capacity here: a slot is free).
      position -= head
      (entries).update(from: entries + head, count: count)
      head = 0
    }
    freeCount -= 1
    let slot = freeSlots[freeCount]
    (arena + Int(slot) * slotBytes).copyMemory(from: source, byteCount: bytes.count)
    var index = head + count
    while index > position {
      entries[index] = entries[index - 1]
      index -= 1
    }
    entries[position] = (sequence, slot, Int32(bytes.count))
    count += 1
    return .held
  }

  public func removeFirst() {
    guard count > 0 else { return }
    freeSlots[freeCount] = entries[head].slot
    freeCount += 1
    head += 1
    count -= 1
    if count == 0 { head = 0 }
  }
}
