// MoldUDP64 downstream packets: a 20-byte header (session 10, sequence 8, count 2) followed
// by `count` blocks of [length: UInt16][message]. Every block length is checked against the
// datagram before a byte of the block is read.

/// A MoldUDP64 session name: 10 ASCII bytes, kept as two words for cheap comparison.
public struct MoldSessionID: Hashable, Sendable, CustomStringConvertible {
  public var high: UInt64
  public var low: UInt16

  @inlinable public init(high: UInt64, low: UInt16) {
    self.high = high
    self.low = low
  }

  public init(_ text: String) {
    var bytes = Array(text.utf8.prefix(10))
    while bytes.count < 10 { bytes.append(0x20) }
    high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
    low = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
  }

  public var description: String {
    var bytes: [UInt8] = []
    for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
    bytes.append(UInt8(truncatingIfNeeded: low >> 8))
    bytes.append(UInt8(truncatingIfNeeded: low))
    return String(decoding: bytes, as: UTF8.self)
  }
}

public enum MoldUDP64 {
  @inlinable public static var headerBytes: Int { 20 }
  @inlinable public static var heartbeatCount: UInt16 { 0 }
  @inlinable public static var endOfSessionCount: UInt16 { 0xFFFF }
}

/// A view over one downstream datagram. Made only when the header is complete.
@frozen public struct MoldPacket {
  public let base: UnsafeRawPointer
  public let byteCount: Int

  @inlinable public init?(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count >= MoldUDP64.headerBytes else { return nil }
    self.base = base
    self.byteCount = bytes.count
  }

  /// Whether every block frames inside the datagram and the count matches (walks the lengths).
  @inlinable public var isWellFramed: Bool {
    var blocks = self.blocks
    while blocks.next() != nil {}
    return blocks.anomaly == .none || blocks.anomaly == .trailingBytes
  }

  @inlinable public var session: MoldSessionID {
    MoldSessionID(high: loadBigEndianUInt64(base, 0), low: loadBigEndianUInt16(base, 8))
  }
  /// Sequence number of the first message in the packet (for a heartbeat: the next expected).
  @inlinable public var sequenceNumber: UInt64 { loadBigEndianUInt64(base, 10) }
  @inlinable public var messageCount: UInt16 { loadBigEndianUInt16(base, 18) }
  @inlinable public var isHeartbeat: Bool { messageCount == MoldUDP64.heartbeatCount }
  @inlinable public var isEndOfSession: Bool { messageCount == MoldUDP64.endOfSessionCount }

  /// Iterates the message blocks, bounded by both the count and the datagram.
  /// The decode floor that benchmarks time: frames every block, checks each message's length against its type,
  /// and folds its stock locate and timestamp into a checksum (so the reads cannot be optimized away).
  @inlinable public static func decodeFloorChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    guard let packet = MoldPacket(bytes) else { return 0 }
    var checksum: UInt64 = 0
    var blocks = packet.blocks
    while let message = blocks.next() {
      guard let base = message.baseAddress, message.count > 0,
        ITCHMessageType.length(of: loadByte(base, 0)) == message.count
      else { continue }
      checksum &+= loadBigEndianUInt48(base, 5) &+ UInt64(loadBigEndianUInt16(base, 1))
    }
    return checksum
  }

  @inlinable public var blocks: MoldBlockIterator {
    MoldBlockIterator(
      cursor: base + MoldUDP64.headerBytes, end: base + byteCount,
      remaining: isEndOfSession ? 0 : Int(messageCount))
  }
}

/// Yields each block's message bytes. When it stops early, `anomaly` says why.
@frozen public struct MoldBlockIterator {
  public enum Anomaly: UInt8, Sendable {
    case none
    /// The datagram ended inside a 2-byte length field.
    case truncatedLength
    /// A block's length runs past the end of the datagram.
    case blockPastEnd
    /// The header counted more blocks than the datagram holds.
    case fewerBlocksThanCounted
    /// Bytes left over after the counted blocks.
    case trailingBytes
  }

  @usableFromInline var cursor: UnsafeRawPointer
  @usableFromInline let end: UnsafeRawPointer
  @usableFromInline var remaining: Int
  public var anomaly: Anomaly = .none

  @inlinable init(cursor: UnsafeRawPointer, end: UnsafeRawPointer, remaining: Int) {
    self.cursor = cursor
    self.end = end
    self.remaining = remaining
  }

  @inlinable public mutating func next() -> UnsafeRawBufferPointer? {
    guard remaining > 0 else {
      if cursor < end && anomaly == .none { anomaly = .trailingBytes }
      return nil
    }
    let available = end - cursor
    if available == 0 {
      anomaly = .fewerBlocksThanCounted
      remaining = 0
      return nil
    }
    guard available >= 2 else {
      anomaly = .truncatedLength
      remaining = 0
      return nil
    }
    let length = Int(loadBigEndianUInt16(cursor, 0))
    guard length <= available - 2 else {
      anomaly = .blockPastEnd
      remaining = 0
      return nil
    }
    let message = UnsafeRawBufferPointer(start: cursor + 2, count: length)
    cursor += 2 + length
    remaining -= 1
    return message
  }

  /// The number of counted blocks not yet yielded.
  @inlinable public var blocksRemaining: Int { remaining }
}

/// Iterates `[length: UInt16][message]` frames held in memory (day-file framing). A frame
/// whose length runs past the buffer stops iteration and sets `truncated`.
@frozen public struct DayFrameIterator {
  @usableFromInline var cursor: UnsafeRawPointer
  @usableFromInline let end: UnsafeRawPointer
  public var truncated = false
  public var endOfSession = false

  @inlinable public init(_ bytes: UnsafeRawBufferPointer) {
    let start = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    cursor = start
    end = start + bytes.count
  }

  @inlinable public mutating func next() -> UnsafeRawBufferPointer? {
    let available = end - cursor
    guard available > 0, !endOfSession else { return nil }
    guard available >= 2 else {
      truncated = true
      cursor = end
      return nil
    }
    let length = Int(loadBigEndianUInt16(cursor, 0))
    if length == 0 {
      endOfSession = true
      return nil
    }
    guard length <= available - 2 else {
      truncated = true
      cursor = end
      return nil
    }
    let message = UnsafeRawBufferPointer(start: cursor + 2, count: length)
    cursor += 2 + length
    return message
  }
}

/// Packs messages into MoldUDP64 datagrams no larger than `maxDatagramBytes`, into one
/// preallocated buffer. Used by the synthetic generator, day-file replay and the replayer,
/// so every path frames a day the same way.
public struct MoldPacketizer: ~Copyable {
  public let session: MoldSessionID
  public let maxDatagramBytes: Int
  public let maxMessagesPerPacket: Int
  /// Sequence number the next message will get (MoldUDP64 sequences start at 1).
  public private(set) var nextSequence: UInt64
  @usableFromInline let buffer: UnsafeMutableRawPointer
  @usableFromInline var used: Int
  @usableFromInline var count: Int

  public init(
    session: MoldSessionID, maxDatagramBytes: Int = 1400, maxMessagesPerPacket: Int = 64, firstSequence: UInt64 = 1
  ) {
    precondition(maxDatagramBytes >= MoldUDP64.headerBytes + 2 + 64, "datagram too small for one ITCH message")
    self.session = session
    self.maxDatagramBytes = maxDatagramBytes
    self.maxMessagesPerPacket = max(1, min(maxMessagesPerPacket, 0xFFFE))
    self.nextSequence = firstSequence
    buffer = UnsafeMutableRawPointer.allocate(byteCount: maxDatagramBytes, alignment: 16)
    used = MoldUDP64.headerBytes
    count = 0
  }

  deinit { buffer.deallocate() }

  public var pendingMessages: Int { count }

  /// True if `messageBytes` more would not fit in the open packet.
  @inlinable public func wouldOverflow(messageBytes: Int) -> Bool {
    count >= maxMessagesPerPacket || used + 2 + messageBytes > maxDatagramBytes
  }

  /// The longest message an empty packet can carry.
  public var maxMessageBytes: Int { maxDatagramBytes - MoldUDP64.headerBytes - 2 }

  /// Adds one message, first handing the open packet to `emit` if the message would not fit in it. Returns false,
  /// adding nothing, for a message longer than `maxMessageBytes`: no datagram can carry it, whatever the input.
  @discardableResult
  public mutating func add(_ message: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) throws -> Void)
    rethrows -> Bool
  {
    guard message.count <= maxMessageBytes else { return false }
    if wouldOverflow(messageBytes: message.count) { try flush(emit) }
    append(message)
    return true
  }

  /// Appends one message; the caller flushes first when `wouldOverflow` says so. Input of unknown length goes
  /// through `add`, which never breaks this contract.
  public mutating func append(_ message: UnsafeRawBufferPointer) {
    precondition(!wouldOverflow(messageBytes: message.count))
    storeBigEndian(UInt16(message.count), buffer, used)
    if message.count > 0 { (buffer + used + 2).copyMemory(from: message.baseAddress!, byteCount: message.count) }
    used += 2 + message.count
    count += 1
  }

  /// Closes the open packet (if it holds any message) and hands its bytes to `body`.
  public mutating func flush(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    guard count > 0 else { return }
    writeHeader(sequence: nextSequence, count: UInt16(count))
    try body(UnsafeRawBufferPointer(start: buffer, count: used))
    nextSequence += UInt64(count)
    used = MoldUDP64.headerBytes
    count = 0
  }

  /// A heartbeat (count 0) or end-of-session (count 0xFFFF) datagram carrying the next sequence.
  public mutating func control(endOfSession: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    precondition(count == 0, "flush before a control packet")
    writeHeader(sequence: nextSequence, count: endOfSession ? MoldUDP64.endOfSessionCount : MoldUDP64.heartbeatCount)
    try body(UnsafeRawBufferPointer(start: buffer, count: MoldUDP64.headerBytes))
  }

  private func writeHeader(sequence: UInt64, count: UInt16) {
    storeBigEndian(session.high, buffer, 0)
    storeBigEndian(session.low, buffer, 8)
    storeBigEndian(sequence, buffer, 10)
    storeBigEndian(count, buffer, 18)
  }
}
