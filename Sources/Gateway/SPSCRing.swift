import Synchronization

/// A preallocated single-producer/single-consumer ring of fixed-size entries that knows about
/// batches: the producer claims and writes several entries, then publishes them with one store;
/// the consumer reads everything available, then releases it with one store (LMAX style).
public final class SPSCRing<Entry: BitwiseCopyable>: @unchecked Sendable {
  let entries: UnsafeMutablePointer<Entry>
  public let capacity: Int
  let mask: Int
  /// Next position the producer writes (published to the consumer).
  let head = Atomic<Int>(0)
  /// Next position the consumer reads (published to the producer).
  let tail = Atomic<Int>(0)
  // Each side's private cursor and cached view of the other side.
  var producerHead = 0
  var producerCachedTail = 0
  var consumerTail = 0
  var consumerCachedHead = 0

  public init(capacity: Int) {
    precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
    self.capacity = capacity
    mask = capacity - 1
    entries = .allocate(capacity: capacity)
  }

  deinit { entries.deallocate() }

  /// Producer: writes one entry without publishing it; false when full.
  @inline(__always)
  public func write(_ entry: Entry) -> Bool {
    if producerHead - producerCachedTail == capacity {
      producerCachedTail = tail.load(ordering: .acquiring)
      if producerHead - producerCachedTail == capacity { return false }
    }
    entries[producerHead & mask] = entry
    producerHead += 1
    return true
  }

  /// Producer: makes every written entry visible to the consumer.
  @inline(__always)
  public func publish() { head.store(producerHead, ordering: .releasing) }

  /// Consumer: hands every available entry to `body` in order, then releases them all at once.
  @inline(__always)
  @discardableResult
  public func drain(_ body: (Entry) -> Void) -> Int {
    if consumerTail == consumerCachedHead {
      consumerCachedHead = head.load(ordering: .acquiring)
      if consumerTail == consumerCachedHead { return 0 }
    }
    let count = consumerCachedHead - consumerTail
    for position in consumerTail..<consumerCachedHead { body(entries[position & mask]) }
    consumerTail = consumerCachedHead
    tail.store(consumerTail, ordering: .releasing)
    return count
  }

  /// Entries written and not yet drained (approximate from another thread).
  public var depth: Int { head.load(ordering: .relaxed) - tail.load(ordering: .relaxed) }
}

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

  public init(capacity: Int) {
    precondition(capacity >= 1 << 16 && capacity & (capacity - 1) == 0)
    self.capacity = capacity
    storage = .allocate(byteCount: capacity, alignment: 16)
  }

  deinit { storage.deallocate() }

  /// Producer: copies one packet in; false when there is no room (the caller counts a drop).
  @inline(__always)
  public func write(channel: UInt16, _ packet: UnsafeRawBufferPointer) -> Bool {
    let recordBytes = (8 + packet.count + 7) & ~7
    var offset = producerHead & (capacity - 1)
    var needed = recordBytes
    let wraps = offset + recordBytes > capacity
    if wraps { needed += capacity - offset }
    if producerHead + needed - tail.load(ordering: .acquiring) > capacity { return false }
    if wraps {
      storage.storeBytes(of: Self.skip, toByteOffset: offset, as: UInt32.self)
      producerHead += capacity - offset
      offset = 0
    }
    storage.storeBytes(of: UInt32(packet.count), toByteOffset: offset, as: UInt32.self)
    storage.storeBytes(of: channel, toByteOffset: offset + 4, as: UInt16.self)
    if packet.count > 0 { (storage + offset + 8).copyMemory(from: packet.baseAddress!, byteCount: packet.count) }
    producerHead += recordBytes
    return true
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
