import Glibc

// Preallocated pools behind the books. Each is a plain struct of pointers owned (and freed)
// by `OrderBooks`; offsets are UInt32 with 0 meaning "none", so offset 0 is never handed out.

/// One live order, stored at its reference's place in the `OrderStore` (its reference is its
/// address). 16 bytes, so a record never straddles a cache line: finding an order is one load.
@usableFromInline
struct OrderRecord {
  /// Shares remaining; 0 means no live order holds this reference.
  @usableFromInline var shares: UInt32
  @usableFromInline var price: UInt32
  @usableFromInline var locate: UInt16
  @usableFromInline var side: UInt8
  /// Where its level stood when last looked up, counted from the best (255 and up: 255). Only a
  /// hint: levels above it come and go, so a lookup checks the price there before trusting it.
  @usableFromInline var levelIndexHint: UInt8
  // Pad to 16 bytes: four records to a cache line, none across two.
  @usableFromInline var padding: UInt32 = 0

  @inlinable
  init(shares: UInt32, price: UInt32, locate: UInt16, side: UInt8, levelIndexHint: UInt8) {
    self.shares = shares
    self.price = price
    self.locate = locate
    self.side = side
    self.levelIndexHint = levelIndexHint
  }

  @inlinable static var empty: OrderRecord {
    OrderRecord(shares: 0, price: 0, locate: 0, side: 0, levelIndexHint: 0)
  }
}

/// Every live order, addressed by its reference: a directory of pages of 2^shift records.
/// References are day-unique and near-dense, so a page fills, drains as its orders die, and goes
/// back to the pool (all zero again); the directory is sized by the reference cap. No separate
/// index: the record sits where the reference points, so a lookup costs one cache miss, not two.
@usableFromInline
struct OrderStore {
  @usableFromInline let shift: UInt64
  @usableFromInline let mask: UInt64
  @usableFromInline let maxReference: UInt64
  @usableFromInline let maxLiveOrders: Int
  /// Page number + 1 for each directory entry; 0 = no page.
  @usableFromInline let directory: UnsafeMutablePointer<UInt32>
  @usableFromInline let records: UnsafeMutablePointer<OrderRecord>
  @usableFromInline let livePerPage: UnsafeMutablePointer<UInt32>
  @usableFromInline let freePages: UnsafeMutablePointer<UInt32>
  /// Each live page's directory entry, so the checks can walk live orders with their references.
  @usableFromInline let pageDirectoryIndex: UnsafeMutablePointer<UInt32>
  @usableFromInline let pageCapacity: UInt32
  @usableFromInline var freePageCount: UInt32 = 0
  @usableFromInline var freshPages: UInt32 = 0
  @usableFromInline var livePages: Int = 0
  @usableFromInline var peakLivePages: Int = 0
  @usableFromInline var liveOrders: Int = 0

  init(maxReference: UInt64, pageShift: Int, maxPages: Int, maxLiveOrders: Int) {
    shift = UInt64(pageShift)
    mask = (1 << UInt64(pageShift)) - 1
    self.maxReference = maxReference
    self.maxLiveOrders = maxLiveOrders
    let directoryCount = Int(maxReference >> UInt64(pageShift)) + 1
    directory = PoolMemory.allocate(UInt32.self, count: directoryCount)
    records = PoolMemory.allocate(OrderRecord.self, count: maxPages << pageShift)
    livePerPage = calloc(maxPages, 4)!.bindMemory(to: UInt32.self, capacity: maxPages)
    freePages = calloc(maxPages, 4)!.bindMemory(to: UInt32.self, capacity: maxPages)
    pageDirectoryIndex = calloc(maxPages, 4)!.bindMemory(to: UInt32.self, capacity: maxPages)
    pageCapacity = UInt32(maxPages)
  }

  func release() {
    PoolMemory.release(directory, count: Int(maxReference >> shift) + 1)
    PoolMemory.release(records, count: Int(pageCapacity) << Int(shift))
    free(livePerPage)
    free(freePages)
    free(pageDirectoryIndex)
  }

  /// Where the reference's record lives, if its page does. The caller has checked
  /// `reference <= maxReference`.
  @inlinable @inline(__always)
  func place(_ reference: UInt64) -> UnsafeMutablePointer<OrderRecord>? {
    let page = directory[Int(truncatingIfNeeded: reference &>> shift)]
    if page == 0 { return nil }
    return records + Int(truncatingIfNeeded: UInt64(page - 1) &<< shift | (reference & mask))
  }

  /// The live order at `reference`, or nil. The caller has checked `reference <= maxReference`.
  @inlinable @inline(__always)
  func live(_ reference: UInt64) -> UnsafeMutablePointer<OrderRecord>? {
    guard let record = place(reference), record.pointee.shares != 0 else { return nil }
    return record
  }

  /// Makes sure the reference's page exists; false when the page pool is exhausted.
  @inlinable @inline(__always)
  mutating func reservePage(for reference: UInt64) -> Bool {
    let directoryIndex = Int(truncatingIfNeeded: reference &>> shift)
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
    pageDirectoryIndex[Int(page)] = UInt32(truncatingIfNeeded: directoryIndex)
    livePages += 1
    if livePages > peakLivePages { peakLivePages = livePages }
    return true
  }

  /// Stores a new order at a reference whose page is reserved and which holds no live order.
  @inlinable @inline(__always)
  mutating func insert(_ reference: UInt64, _ record: OrderRecord) {
    let page = directory[Int(truncatingIfNeeded: reference &>> shift)] - 1
    records[Int(truncatingIfNeeded: UInt64(page) &<< shift | (reference & mask))] = record
    livePerPage[Int(page)] += 1
    liveOrders += 1
  }

  /// Clears a live order; a page left empty goes back to the pool (already all zero).
  @inlinable @inline(__always)
  mutating func remove(_ reference: UInt64) {
    let directoryIndex = Int(truncatingIfNeeded: reference &>> shift)
    let page = directory[directoryIndex] - 1
    records[Int(truncatingIfNeeded: UInt64(page) &<< shift | (reference & mask))] = .empty
    liveOrders -= 1
    livePerPage[Int(page)] -= 1
    if livePerPage[Int(page)] == 0 {
      directory[directoryIndex] = 0
      freePages[Int(freePageCount)] = page
      freePageCount += 1
      livePages -= 1
    }
  }

  /// Starts loading the record of `reference` (if its page exists) without waiting for it.
  @inlinable @inline(__always)
  func prefetch(_ reference: UInt64) {
    guard reference <= maxReference, let record = place(reference) else { return }
    prefetchForWrite(record)
  }

  /// Every live order with its reference (a walk over the live pages: for the checks only).
  func forEachLive(_ body: (UInt64, OrderRecord) -> Void) {
    for page in 0..<Int(freshPages) where livePerPage[page] > 0 {
      let base = UInt64(pageDirectoryIndex[page]) << shift
      for offset in 0...Int(mask) where records[page << Int(shift) + offset].shares != 0 {
        body(base | UInt64(offset), records[page << Int(shift) + offset])
      }
    }
  }
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
    entries = PoolMemory.allocate(LevelEntry.self, count: capacity)
    self.capacity = capacity
    freeHeads = calloc(Int(Self.maximumClass) + 1, 4)!.bindMemory(
      to: UInt32.self, capacity: Int(Self.maximumClass) + 1)
  }

  func release() {
    PoolMemory.release(entries, count: capacity)
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

/// Zeroed memory for the big pools, mapped lazily (untouched pages cost nothing) and, unless told
/// otherwise, marked for transparent huge pages: the order and level pools are reached at random,
/// and with 4 KiB pages nearly every such touch also misses the TLB. Only for types whose all-zero
/// bytes are a valid value (plain integers and Bools).
@usableFromInline
enum PoolMemory {
  static func allocate<T>(_ type: T.Type, count: Int, hugePages: Bool = true) -> UnsafeMutablePointer<T> {
    let bytes = max(count * MemoryLayout<T>.stride, 1)
    let hugePage = 2 << 20
    guard bytes >= hugePage else {
      return calloc(count, MemoryLayout<T>.stride)!.bindMemory(to: T.self, capacity: count)
    }
    let length = (bytes + hugePage - 1) & ~(hugePage - 1)
    let raw = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    guard let raw, raw != MAP_FAILED else { fatalError("mmap of \(length) bytes for a book pool failed") }
    if hugePages { _ = madvise(raw, length, MADV_HUGEPAGE) }
    return raw.bindMemory(to: T.self, capacity: count)
  }

  static func release<T>(_ pointer: UnsafeMutablePointer<T>, count: Int) {
    let bytes = max(count * MemoryLayout<T>.stride, 1)
    let hugePage = 2 << 20
    guard bytes >= hugePage else {
      free(pointer)
      return
    }
    munmap(pointer, (bytes + hugePage - 1) & ~(hugePage - 1))
  }
}

/// Starts loading the cache line at `address` for writing, without waiting for it.
@inlinable @inline(__always)
func prefetchForWrite(_ address: UnsafeMutableRawPointer) {
  llvmPrefetch(address, 1, 3, 1)  // write, keep in all cache levels, data cache
}

/// LLVM's prefetch intrinsic, called directly: a C header's inline function was not inlined into
/// the core's specialized code, so every prefetch cost a call.
@usableFromInline @_silgen_name("llvm.prefetch.p0")
func llvmPrefetch(_ address: UnsafeRawPointer, _ readWrite: Int32, _ locality: Int32, _ cacheType: Int32)
