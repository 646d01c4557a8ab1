import Glibc

// Preallocated pools behind the books. Each is a plain struct of pointers owned (and freed)
// by `OrderBooks`; indices are UInt32 with 0 meaning "none", so slot 0 is never handed out.

@usableFromInline
struct OrderSlot {
  @usableFromInline var reference: UInt64
  @usableFromInline var shares: UInt32
  /// The order's price while live (its level is found by price); the next free slot while free.
  @usableFromInline var price: UInt32
  @usableFromInline var locate: UInt16
  @usableFromInline var side: UInt8
}

/// One price level, inline in its side's sorted array: the aggregate is on the cache line the
/// search already touched, so a change costs no second miss.
@usableFromInline
struct LevelEntry {
  /// The sort key: the price for bids, ~price for asks, so the best level sorts last.
  @usableFromInline var key: UInt32
  @usableFromInline var orders: UInt32
  /// Total shares while live; in a free block's first entry, the next free block's offset.
  @usableFromInline var shares: UInt64
}

/// One side of one book: a sorted array of `LevelEntry` in the arena, ascending by key, best at
/// the end (bids key on price, asks on ~price), so the top of book is the cheap end.
@usableFromInline
struct SideState {
  @usableFromInline var offset: UInt32 = 0
  @usableFromInline var count: UInt32 = 0
  /// log2 of the capacity; 0 means no block yet.
  @usableFromInline var capacityClass: UInt8 = 0
}

/// A free-list pool of fixed-size slots. `fresh` bumps through never-used slots so start-up
/// does not have to touch (and fault in) the whole pool.
@usableFromInline
struct SlotPool<Slot> {
  @usableFromInline let slots: UnsafeMutablePointer<Slot>
  @usableFromInline let capacity: UInt32
  @usableFromInline var fresh: UInt32 = 1
  @usableFromInline var freeHead: UInt32 = 0
  @usableFromInline var live: Int = 0

  init(capacity: Int) {
    // calloc: untouched pages stay unmapped until used.
    let raw = calloc(capacity + 1, MemoryLayout<Slot>.stride)!
    slots = raw.bindMemory(to: Slot.self, capacity: capacity + 1)
    self.capacity = UInt32(capacity)
  }

  func release() { free(slots) }
}

/// Direct index from order reference to order slot: a directory of pages of 2^shift entries.
/// References are day-unique and near-dense, so a page fills, drains as its orders die, and goes
/// back to the pool; the directory is sized by the reference cap.
@usableFromInline
struct ReferenceIndex {
  @usableFromInline let shift: UInt64
  @usableFromInline let mask: UInt64
  @usableFromInline let maxReference: UInt64
  /// Page number + 1 for each directory entry; 0 = no page.
  @usableFromInline let directory: UnsafeMutablePointer<UInt32>
  @usableFromInline let entries: UnsafeMutablePointer<UInt32>
  @usableFromInline let livePerPage: UnsafeMutablePointer<UInt32>
  @usableFromInline let freePages: UnsafeMutablePointer<UInt32>
  @usableFromInline let pageCapacity: UInt32
  @usableFromInline var freePageCount: UInt32 = 0
  @usableFromInline var freshPages: UInt32 = 0
  @usableFromInline var livePages: Int = 0

  init(maxReference: UInt64, pageShift: Int, maxPages: Int) {
    shift = UInt64(pageShift)
    mask = (1 << UInt64(pageShift)) - 1
    self.maxReference = maxReference
    let directoryCount = Int(maxReference >> UInt64(pageShift)) + 1
    directory = calloc(directoryCount, 4)!.bindMemory(to: UInt32.self, capacity: directoryCount)
    entries = calloc(maxPages << pageShift, 4)!.bindMemory(to: UInt32.self, capacity: maxPages << pageShift)
    livePerPage = calloc(maxPages, 4)!.bindMemory(to: UInt32.self, capacity: maxPages)
    freePages = calloc(maxPages, 4)!.bindMemory(to: UInt32.self, capacity: maxPages)
    pageCapacity = UInt32(maxPages)
  }

  func release() {
    free(directory)
    free(entries)
    free(livePerPage)
    free(freePages)
  }

  /// The slot for a reference, or 0. The caller has checked `reference <= maxReference`.
  @inlinable @inline(__always)
  func lookup(_ reference: UInt64) -> UInt32 {
    let page = directory[Int(truncatingIfNeeded: reference >> shift)]
    if page == 0 { return 0 }
    return entries[Int(truncatingIfNeeded: UInt64(page - 1) << shift | (reference & mask))]
  }

  /// Makes sure the reference's page exists; false when the page pool is exhausted.
  @inlinable @inline(__always)
  mutating func reservePage(for reference: UInt64) -> Bool {
    let directoryIndex = Int(truncatingIfNeeded: reference >> shift)
    if directory[directoryIndex] != 0 { return true }
    var page: UInt32
    if freePageCount > 0 {
      freePageCount -= 1
      page = freePages[Int(freePageCount)]
    } else if freshPages < pageCapacity {
      page = freshPages
      freshPages += 1
    } else {
      return false
    }
    directory[directoryIndex] = page + 1
    livePages += 1
    return true
  }

  /// Stores a slot for a reference whose page is reserved and whose entry is empty.
  @inlinable @inline(__always)
  func insert(_ reference: UInt64, slot: UInt32) {
    let page = directory[Int(truncatingIfNeeded: reference >> shift)] - 1
    entries[Int(truncatingIfNeeded: UInt64(page) << shift | (reference & mask))] = slot
    livePerPage[Int(page)] += 1
  }

  /// Clears a live reference; a page left empty goes back to the pool (already all zero).
  @inlinable @inline(__always)
  mutating func remove(_ reference: UInt64) {
    let directoryIndex = Int(truncatingIfNeeded: reference >> shift)
    let page = directory[directoryIndex] - 1
    entries[Int(truncatingIfNeeded: UInt64(page) << shift | (reference & mask))] = 0
    livePerPage[Int(page)] -= 1
    if livePerPage[Int(page)] == 0 {
      directory[directoryIndex] = 0
      freePages[Int(freePageCount)] = page
      freePageCount += 1
      livePages -= 1
    }
  }
}

/// Blocks of 2^k level entries for the sorted level arrays, carved from one preallocated
/// arena, with a free list per size class. Offsets are entry indices; offset 0 is reserved.
@usableFromInline
struct LevelArena {
  @usableFromInline static let minimumClass: UInt8 = 3
  @usableFromInline static let maximumClass: UInt8 = 24
  @usableFromInline let entries: UnsafeMutablePointer<LevelEntry>
  @usableFromInline let capacity: Int
  @usableFromInline var bump: Int = 8
  /// Head offset of each class's free list (0 = empty); a free block's first entry links on.
  @usableFromInline let freeHeads: UnsafeMutablePointer<UInt32>

  init(capacity: Int) {
    entries = calloc(capacity, MemoryLayout<LevelEntry>.stride)!.bindMemory(to: LevelEntry.self, capacity: capacity)
    self.capacity = capacity
    freeHeads = calloc(Int(Self.maximumClass) + 1, 4)!.bindMemory(
      to: UInt32.self, capacity: Int(Self.maximumClass) + 1)
  }

  func release() {
    free(entries)
    free(freeHeads)
  }

  /// A block of 2^sizeClass entries, or nil when the arena is exhausted.
  @inlinable
  mutating func allocate(sizeClass: UInt8) -> UInt32? {
    let head = freeHeads[Int(sizeClass)]
    if head != 0 {
      freeHeads[Int(sizeClass)] = UInt32(truncatingIfNeeded: entries[Int(head)].shares)
      return head
    }
    let size = 1 << Int(sizeClass)
    guard sizeClass <= Self.maximumClass, bump + size <= capacity else { return nil }
    let offset = bump
    bump += size
    return UInt32(offset)
  }

  @inlinable
  mutating func deallocate(offset: UInt32, sizeClass: UInt8) {
    entries[Int(offset)].shares = UInt64(freeHeads[Int(sizeClass)])
    freeHeads[Int(sizeClass)] = offset
  }
}
