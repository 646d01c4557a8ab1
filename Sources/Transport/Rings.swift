import Synchronization

/// A preallocated single-producer/single-consumer ring of variable-length records (packets):
/// [length: UInt32][channel: UInt16][pad: UInt16][bytes, padded to 8]. A record never wraps: when
/// it would not fit before the end, the producer writes a skip marker and starts at 0.
public final class PacketRing: @unchecked Sendable {
  let storage: UnsafeMutableRawPointer
  public let capacity: Int
  let head = Atomic<Int>(0)
  let tail = Atomic<Int>(0)
  var producerHead = 0
  var consumerTail = 0
  static let skip: UInt32 = 0xFFFF_FFFF
  /// Packets `offer` found no room for (producer-written, readable from any thread).
  public let refused = Atomic<UInt64>(0)

  public init(capacity: Int) {
    precondition(capacity >= 1 << 16 && capacity & (capacity - 1) == 0)
    self.capacity = capacity
    storage = .allocate(byteCount: capacity, alignment: 16)
  }

  deinit { storage.deallocate() }

  /// Producer: copies one packet in; false when there is no room (the caller counts a drop).
  @inline(__always)
  public func write(channel: UInt16, _ packet: UnsafeRawBufferPointer) -> Bool {
    guard let offset = reserve(channel: channel, byteCount: packet.count) else { return false }
    if packet.count > 0 { (storage + offset).copyMemory(from: packet.baseAddress!, byteCount: packet.count) }
    return true
  }

  /// Producer: copies one packet in behind an 8-byte stamp (the consumer sees the stamp as the
  /// first 8 bytes; see `stamp(of:)`): for datagrams that carry their capture time.
  @inline(__always)
  public func write(stamp: UInt64, _ packet: UnsafeRawBufferPointer) -> Bool {
    guard let offset = reserve(channel: 0, byteCount: 8 + packet.count) else { return false }
    storage.storeBytes(of: stamp, toByteOffset: offset, as: UInt64.self)
    if packet.count > 0 { (storage + offset + 8).copyMemory(from: packet.baseAddress!, byteCount: packet.count) }
    return true
  }

  /// The stamp and the packet of a record written with `write(stamp:_:)`.
  @inline(__always)
  public static func stamp(of record: UnsafeRawBufferPointer) -> (stamp: UInt64, packet: UnsafeRawBufferPointer) {
    (record.loadUnaligned(as: UInt64.self), UnsafeRawBufferPointer(rebasing: record[8...]))
  }

  /// Writes a record's header and claims its bytes; returns where they go, or nil when full.
  @inline(__always)
  func reserve(channel: UInt16, byteCount: Int) -> Int? {
    let recordBytes = (8 + byteCount + 7) & ~7
    var offset = producerHead & (capacity - 1)
    var needed = recordBytes
    let wraps = offset + recordBytes > capacity
    if wraps { needed += capacity - offset }
    if producerHead + needed - tail.load(ordering: .acquiring) > capacity { return nil }
    if wraps {
      storage.storeBytes(of: Self.skip, toByteOffset: offset, as: UInt32.self)
      producerHead += capacity - offset
      offset = 0
    }
    storage.storeBytes(of: UInt32(byteCount), toByteOffset: offset, as: UInt32.self)
    storage.storeBytes(of: channel, toByteOffset: offset + 4, as: UInt16.self)
    producerHead += recordBytes
    return offset + 8
  }

  /// Producer, for a tap that must never hold the writer up: a full ring refuses and counts.
  @inline(__always)
  public func offer(channel: UInt16, _ packet: UnsafeRawBufferPointer) {
    if !write(channel: channel, packet) { refused.add(1, ordering: .relaxed) }
  }

  @inline(__always)
  public func publish() { head.store(producerHead, ordering: .releasing) }

  /// Consumer: hands every available packet to `body`; they stay valid until `release`.
  @inline(__always)
  public func read(_ body: (UInt16, UnsafeRawBufferPointer) -> Void) -> Int {
    let available = head.load(ordering: .acquiring)
    var count = 0
    while consumerTail < available {
      let offset = consumerTail & (capacity - 1)
      let length = storage.load(fromByteOffset: offset, as: UInt32.self)
      if length == Self.skip {
        consumerTail += capacity - offset
        continue
      }
      let channel = storage.load(fromByteOffset: offset + 4, as: UInt16.self)
      body(channel, UnsafeRawBufferPointer(start: storage + offset + 8, count: Int(length)))
      consumerTail += (8 + Int(length) + 7) & ~7
      count += 1
    }
    return count
  }

  /// Consumer: gives back everything read so far.
  @inline(__always)
  public func release() { tail.store(consumerTail, ordering: .releasing) }
}

/// A preallocated ring with one producer and several consumers that each see every entry, in
/// order (a Disruptor-style broadcast). Each consumer publishes how far it has read; the producer
/// reclaims an entry only once every consumer is past it, so it can free what the entry names.
public final class BroadcastRing<Entry: BitwiseCopyable>: @unchecked Sendable {
  let entries: UnsafeMutablePointer<Entry>
  public let capacity: Int
  let mask: Int
  public let consumers: Int
  let head = Atomic<Int>(0)
  /// Each consumer's next position to read, one per 128 bytes so consumers never share a line.
  let cursors: UnsafeMutablePointer<Atomic<Int>>
  static var cursorStride: Int { 16 }
  var producerHead = 0
  var reclaimed = 0

  public init(capacity: Int, consumers: Int) {
    precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
    precondition(consumers >= 1)
    self.capacity = capacity
    self.consumers = consumers
    mask = capacity - 1
    entries = .allocate(capacity: capacity)
    cursors = .allocate(capacity: consumers * Self.cursorStride)
    for consumer in 0..<consumers { (cursors + consumer * Self.cursorStride).initialize(to: Atomic(0)) }
  }

  deinit {
    entries.deallocate()
    cursors.deallocate()
  }

  @inline(__always)
  func cursor(_ consumer: Int) -> UnsafeMutablePointer<Atomic<Int>> { cursors + consumer * Self.cursorStride }

  /// Producer: writes one entry without publishing it; false while the oldest unreclaimed entry
  /// occupies the slot (call `reclaim` and retry).
  @inline(__always)
  public func write(_ entry: Entry) -> Bool {
    if producerHead - reclaimed == capacity { return false }
    entries[producerHead & mask] = entry
    producerHead += 1
    return true
  }

  /// Producer: makes every written entry visible to the consumers.
  @inline(__always)
  public func publish() { head.store(producerHead, ordering: .releasing) }

  /// Producer: hands `body` every entry all consumers are done with, oldest first; returns how many.
  @inline(__always)
  @discardableResult
  public func reclaim(_ body: (Entry) -> Void) -> Int {
    var done = producerHead
    for consumer in 0..<consumers { done = min(done, cursor(consumer).pointee.load(ordering: .acquiring)) }
    let count = done - reclaimed
    while reclaimed < done {
      body(entries[reclaimed & mask])
      reclaimed += 1
    }
    return count
  }

  /// Entries written and not yet reclaimed (producer side).
  public var unreclaimed: Int { producerHead - reclaimed }

  /// One consumer's view; owned by that consumer's thread.
  public struct Reader {
    let ring: BroadcastRing
    public let consumer: Int
    var position = 0
    var cachedHead = 0

    public init(ring: BroadcastRing, consumer: Int) {
      precondition(consumer >= 0 && consumer < ring.consumers)
      self.ring = ring
      self.consumer = consumer
    }

    /// Hands every available entry to `body` in order, then marks them read with one store.
    @inline(__always)
    @discardableResult
    public mutating func drain(_ body: (Entry) -> Void) -> Int {
      if position == cachedHead {
        cachedHead = ring.head.load(ordering: .acquiring)
        if position == cachedHead { return 0 }
      }
      let count = cachedHead - position
      while position < cachedHead {
        body(ring.entries[position & ring.mask])
        position += 1
      }
      ring.cursor(consumer).pointee.store(position, ordering: .releasing)
      return count
    }
  }
}
