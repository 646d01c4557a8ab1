import ITCH

// Orders and the price levels they make: adds, executions, cancels, replaces and deletes, each
// level change becoming a level event within the published depth.
extension OrderBooks {
  // MARK: Order flow

  @inline(__always)
  func sideValue(_ byte: UInt8) -> UInt8 {
    byte == UInt8(ascii: "B") ? 0 : byte == UInt8(ascii: "S") ? 1 : 2
  }

  @inline(__always)
  func checkLocate(_ locate: UInt16) -> Bool {
    if Int(locate) < config.maxLocates { return true }
    state.pointee.counters.locateBeyondCap &+= 1
    return false
  }

  /// The live order at a reference, counting an unknown one.
  @inline(__always)
  func liveOrder(_ reference: UInt64, locate: UInt16) -> UnsafeMutablePointer<OrderRecord>? {
    guard reference <= state.pointee.orders.maxReference, let order = state.pointee.orders.live(reference) else {
      state.pointee.counters.unknownReference &+= 1
      return nil
    }
    if order.pointee.locate != locate { state.pointee.counters.locateMismatches &+= 1 }
    return order
  }

  func addOrder(locate: UInt16, reference: UInt64, sideByte: UInt8, shares: UInt32, price: UInt32) {
    guard checkLocate(locate) else { return }
    let side = sideValue(sideByte)
    guard side != 2 else {
      state.pointee.counters.badSide &+= 1
      return
    }
    guard shares > 0 else {
      state.pointee.counters.zeroShareAdds &+= 1
      return
    }
    guard price > 0 else {
      state.pointee.counters.zeroPriceAdds &+= 1
      return
    }
    guard reference <= state.pointee.orders.maxReference else {
      state.pointee.counters.referenceBeyondCap &+= 1
      return
    }
    if let existing = state.pointee.orders.live(reference) {
      state.pointee.counters.addsOnLiveReference &+= 1
      removeOrder(reference, existing)
    }
    guard state.pointee.orders.reservePage(for: reference) else {
      state.pointee.counters.referencePagesExhausted &+= 1
      return
    }
    guard state.pointee.orders.liveOrders < state.pointee.orders.maxLiveOrders else {
      state.pointee.counters.orderCapacityExhausted &+= 1
      return
    }
    guard let index = addToLevel(locate: locate, side: side, price: price, shares: shares) else {
      state.pointee.counters.levelCapacityExhausted &+= 1
      return
    }
    state.pointee.orders.insert(
      reference,
      OrderRecord(
        shares: shares, price: price, locate: locate, side: side,
        levelIndexHint: UInt8(truncatingIfNeeded: min(index, 255))))
  }

  func execute(
    locate: UInt16, reference: UInt64, shares: UInt32, matchNumber: UInt64, price: UInt32,
    kind: BookEvent.TradeKind, printable: Bool
  ) {
    guard let record = liveOrder(reference, locate: locate) else { return }
    let order = record.pointee
    var executed = shares
    if executed > order.shares {
      state.pointee.counters.clampedExecutions &+= 1
      executed = order.shares
    }
    if printable {
      var event = newEvent(.trade, locate: order.locate)
      event.code = kind.rawValue
      event.side = order.side
      event.price = kind == .execution ? order.price : price
      event.shares = UInt64(executed)
      event.matchNumber = matchNumber
      emit(event)
    }
    reduce(reference, record, by: executed)
  }

  func cancel(locate: UInt16, reference: UInt64, shares: UInt32) {
    guard let record = liveOrder(reference, locate: locate) else { return }
    var cancelled = shares
    let remaining = record.pointee.shares
    if cancelled > remaining {
      state.pointee.counters.clampedCancels &+= 1
      cancelled = remaining
    }
    reduce(reference, record, by: cancelled)
  }

  func replace(locate: UInt16, original: UInt64, new newReference: UInt64, shares: UInt32, price: UInt32) {
    guard original <= state.pointee.orders.maxReference, state.pointee.orders.live(original) != nil else {
      state.pointee.counters.unknownReplaceReference &+= 1
      return
    }
    guard let record = liveOrder(original, locate: locate) else { return }
    let order = record.pointee
    // Same price, valid new order: adjust in place (one Change instead of Delete + New).
    if price == order.price, shares > 0,
      newReference <= state.pointee.orders.maxReference,
      newReference == original || state.pointee.orders.live(newReference) == nil,
      state.pointee.orders.reservePage(for: newReference)
    {
      let (entries, count, position) = level(of: record)
      entries[position].shares = entries[position].shares - UInt64(order.shares) + UInt64(shares)
      if newReference == original {
        record.pointee.shares = shares
      } else {
        var moved = record.pointee
        moved.shares = shares
        state.pointee.orders.insert(newReference, moved)
        state.pointee.orders.remove(original)
      }
      emitChange(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
      return
    }
    removeOrder(original, record)
    addOrder(
      locate: order.locate, reference: newReference, sideByte: order.side == 0 ? UInt8(ascii: "B") : UInt8(ascii: "S"),
      shares: shares, price: price)
  }

  /// Takes `shares` off a live order, removing it when none remain.
  @inline(__always)
  func reduce(_ reference: UInt64, _ record: UnsafeMutablePointer<OrderRecord>, by shares: UInt32) {
    let order = record.pointee
    if shares >= order.shares {
      removeOrder(reference, record)
      return
    }
    let (entries, count, position) = level(of: record)
    record.pointee.shares = order.shares - shares
    entries[position].shares -= UInt64(shares)
    emitChange(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
  }

  func removeOrder(_ reference: UInt64, _ record: UnsafeMutablePointer<OrderRecord>) {
    let (entries, count, position) = level(of: record)
    let order = record.pointee
    state.pointee.orders.remove(reference)
    entries[position].shares -= UInt64(order.shares)
    entries[position].orders -= 1
    if entries[position].orders == 0 {
      removeLevel(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
    } else {
      emitChange(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
    }
  }

  // MARK: Levels

  @inline(__always)
  static func key(side: UInt8, price: UInt32) -> UInt32 { side == 0 ? price : ~price }

  @inline(__always)
  static func price(side: UInt8, key: UInt32) -> UInt32 { side == 0 ? key : ~key }

  /// First position whose key is >= `key`. Counts the top of book first (most activity is
  /// there), then searches the rest; both without data-dependent branches, since where a level
  /// sits is as good as random to the branch predictor.
  @inline(__always)
  static func lowerBound(_ entries: UnsafeMutablePointer<LevelEntry>, count: Int, key: UInt32) -> Int {
    // The sorted array's last entries are the best levels: how many of the top 8 sort at or
    // above `key` says where it goes, unless all of them do.
    let scanned = min(count, 8)
    var atOrAbove = 0
    for offset in 1...8 where offset <= scanned {
      atOrAbove &+= entries[count &- offset].key >= key ? 1 : 0
    }
    if atOrAbove < scanned { return count &- atOrAbove }
    // Deeper: a branch-free binary search over the rest.
    var base = 0
    var length = count &- scanned
    if length == 0 { return 0 }
    while length > 1 {
      let half = length >> 1
      base = entries[base &+ half &- 1].key < key ? base &+ half : base
      length &-= half
    }
    return entries[base].key < key ? base &+ 1 : base
  }

  /// The level of a live order: its side's entries, their count, and the level's position. A live
  /// order's level always exists (every add puts one there, and it goes only with its last order).
  /// The order's hint is tried first (a side's keys are unique, so a matching key is its level);
  /// a search corrects it.
  @inline(__always)
  func level(of record: UnsafeMutablePointer<OrderRecord>) -> (UnsafeMutablePointer<LevelEntry>, Int, Int) {
    let order = record.pointee
    let sideState = sides[Int(order.locate) &* 2 &+ Int(order.side)]
    let entries = state.pointee.arena.entries + Int(sideState.offset)
    let count = Int(sideState.count)
    let key = Self.key(side: order.side, price: order.price)
    let hinted = count &- 1 &- Int(order.levelIndexHint)
    if hinted >= 0 && entries[hinted].key == key { return (entries, count, hinted) }
    let position = Self.lowerBound(entries, count: count, key: key)
    record.pointee.levelIndexHint = UInt8(truncatingIfNeeded: min(count &- 1 &- position, 255))
    return (entries, count, position)
  }

  /// Adds shares and an order at `price`, creating the level if needed. Returns the level's index
  /// from the best, or nil when a pool is full.
  func addToLevel(locate: UInt16, side: UInt8, price: UInt32, shares: UInt32) -> Int? {
    let sideIndex = Int(locate) &* 2 &+ Int(side)
    let key = Self.key(side: side, price: price)
    var sideState = sides[sideIndex]
    var entries = state.pointee.arena.entries + Int(sideState.offset)
    let count = Int(sideState.count)
    let position = Self.lowerBound(entries, count: count, key: key)
    if position < count && entries[position].key == key {
      entries[position].shares &+= UInt64(shares)
      entries[position].orders &+= 1
      let index = count - 1 - position
      if index < depth { emitLevel(.change, locate: locate, side: side, index: index, entry: entries[position]) }
      return index
    }
    guard state.pointee.liveLevels < config.maxLevels else { return nil }
    if sideState.capacityClass == 0 || count == 1 << Int(sideState.capacityClass) {
      let newClass = sideState.capacityClass == 0 ? LevelArena.minimumClass : sideState.capacityClass + 1
      guard newClass <= LevelArena.maximumClass, let offset = state.pointee.arena.allocate(sizeClass: newClass) else {
        return nil
      }
      let newEntries = state.pointee.arena.entries + Int(offset)
      if count > 0 {
        newEntries.update(from: entries, count: count)
        state.pointee.arena.deallocate(offset: sideState.offset, sizeClass: sideState.capacityClass)
      }
      sideState.offset = offset
      sideState.capacityClass = newClass
      entries = newEntries
    }
    state.pointee.liveLevels += 1
    if position < count { (entries + position + 1).update(from: entries + position, count: count - position) }
    entries[position] = LevelEntry(key: key, orders: 1, shares: UInt64(shares))
    sideState.count += 1
    sides[sideIndex] = sideState
    let index = count - position
    if index < depth { emitLevel(.new, locate: locate, side: side, index: index, entry: entries[position]) }
    return index
  }

  func removeLevel(locate: UInt16, side: UInt8, entries: UnsafeMutablePointer<LevelEntry>, count: Int, position: Int) {
    let sideIndex = Int(locate) &* 2 &+ Int(side)
    var sideState = sides[sideIndex]
    let index = count - 1 - position
    if position + 1 < count { (entries + position).update(from: entries + position + 1, count: count - position - 1) }
    sideState.count -= 1
    let remaining = count - 1
    state.pointee.liveLevels -= 1
    if index < depth {
      var event = newEvent(.level, locate: locate)
      event.code = BookEvent.LevelAction.delete.rawValue
      event.side = side
      event.levelIndex = UInt16(index)
      emit(event)
      // The level that now enters the published depth from below.
      if remaining >= depth {
        emitLevel(.new, locate: locate, side: side, index: depth - 1, entry: entries[remaining - depth])
      }
    }
    if remaining == 0 {
      state.pointee.arena.deallocate(offset: sideState.offset, sizeClass: sideState.capacityClass)
      sideState = SideState()
    }
    sides[sideIndex] = sideState
  }

  @inline(__always)
  func emitChange(locate: UInt16, side: UInt8, entries: UnsafeMutablePointer<LevelEntry>, count: Int, position: Int) {
    let index = count - 1 - position
    if index < depth { emitLevel(.change, locate: locate, side: side, index: index, entry: entries[position]) }
  }

  @inline(__always)
  func emitLevel(_ action: BookEvent.LevelAction, locate: UInt16, side: UInt8, index: Int, entry: LevelEntry) {
    var event = newEvent(.level, locate: locate)
    event.code = action.rawValue
    event.side = side
    event.levelIndex = UInt16(truncatingIfNeeded: index)
    event.price = Self.price(side: side, key: entry.key)
    event.shares = entry.shares
    event.orders = entry.orders
    emit(event)
  }

  @inline(__always)
  func newStatus(_ status: BookEvent.StatusKind, locate: UInt16) -> BookEvent {
    var event = newEvent(.status, locate: locate)
    event.code = status.rawValue
    return event
  }

  @inline(__always)
  func newEvent(_ kind: BookEvent.Kind, locate: UInt16) -> BookEvent {
    BookEvent(
      kind: kind, upstreamSequence: state.pointee.sequence, timestampNs: state.pointee.timestampNs, locate: locate)
  }

  @inline(__always)
  func emit(_ event: BookEvent) {
    let count = state.pointee.eventCount
    guard count < config.eventCapacity else {
      state.pointee.eventsDropped &+= 1
      return
    }
    eventBuffer[count] = event
    state.pointee.eventCount = count + 1
  }
}
