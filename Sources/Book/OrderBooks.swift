import Glibc
import ITCH

/// Every instrument's order-by-order book, indexed by stock locate, with market-by-price events
/// out. Feed it ITCH messages with `apply`; read what changed from `events`, then `clearEvents`.
///
/// Rules for odd input (each counted in `counters`):
/// - E, C, X, D on an unknown reference change nothing.
/// - E, C or X for more than the remaining shares clamp, and the order is removed.
/// - An add with zero shares or zero price is rejected; so is a bad side byte.
/// - An add onto a live reference evicts the old order first.
/// - U of an unknown reference adds nothing. U whose new order is invalid removes the original
///   and rejects the new one.
/// - E, C, X, D, U act on the locate their order was added under, whatever the header says.
/// - Books keep updating during halts; status only changes the instrument's recorded state.
/// - References above `maxOrderReference` and locates at or above `maxLocates` are rejected.
public final class OrderBooks {
  public let config: BookConfig
  @usableFromInline let state: UnsafeMutablePointer<State>
  @usableFromInline let instruments: UnsafeMutablePointer<Instrument>
  @usableFromInline let sides: UnsafeMutablePointer<SideState>
  @usableFromInline let eventBuffer: UnsafeMutablePointer<BookEvent>
  @usableFromInline let messagesByType: UnsafeMutablePointer<UInt64>
  /// Each locate's last stock directory message (39 bytes), for re-publishing its definition.
  /// Per locate: its definition, from its last stock directory message.
  @usableFromInline let definitions: UnsafeMutablePointer<InstrumentDefinition>
  @usableFromInline let depth: Int

  @usableFromInline
  struct State {
    var orders: SlotPool<OrderSlot>
    /// Levels live across every side (bounded by `BookConfig.maxLevels`).
    var liveLevels = 0
    var index: ReferenceIndex
    var arena: LevelArena
    var counters = BookCounters()
    @usableFromInline var eventCount = 0
    var eventsDropped: UInt64 = 0
    var sequence: UInt64 = 0
    var timestampNs: UInt64 = 0
  }

  /// Per-locate state other than the two sides.
  @usableFromInline
  struct Instrument {
    var symbol: UInt64 = 0
    var roundLotSize: UInt32 = 0
    var defined = false
    var tradingState: UInt8 = 0
    var regSHOAction: UInt8 = 0
    var operationalHaltAction: UInt8 = 0
    var liveOrders: UInt32 = 0
    var luldCollar: LULDCollarState?
    var imbalance: ImbalanceState?
  }

  public init(config: BookConfig = BookConfig()) {
    precondition(config.problems().isEmpty, "invalid BookConfig: \(config.problems())")
    self.config = config
    depth = config.publishedDepth
    state = .allocate(capacity: 1)
    state.initialize(
      to: State(
        orders: SlotPool(capacity: config.maxLiveOrders),
        index: ReferenceIndex(
          maxReference: config.maxOrderReference, pageShift: config.referencePageShift,
          maxPages: config.maxReferencePages),
        arena: LevelArena(capacity: config.levelArenaEntries)))
    instruments = .allocate(capacity: config.maxLocates)
    instruments.initialize(repeating: Instrument(), count: config.maxLocates)
    sides = .allocate(capacity: config.maxLocates * 2)
    sides.initialize(repeating: SideState(), count: config.maxLocates * 2)
    eventBuffer = .allocate(capacity: config.eventCapacity)
    messagesByType = .allocate(capacity: 256)
    messagesByType.initialize(repeating: 0, count: 256)
    definitions = .allocate(capacity: config.maxLocates)
  }

  deinit {
    state.pointee.orders.release()
    state.pointee.index.release()
    state.pointee.arena.release()
    state.deinitialize(count: 1)
    state.deallocate()
    instruments.deallocate()
    sides.deallocate()
    eventBuffer.deallocate()
    messagesByType.deallocate()
    definitions.deallocate()
  }

  // MARK: Reading results

  public var counters: BookCounters { state.pointee.counters }
  /// Events lost because the caller did not drain in time (should stay 0).
  public var eventsDropped: UInt64 { state.pointee.eventsDropped }
  public func messages(ofType type: UInt8) -> UInt64 { messagesByType[Int(type)] }
  public var liveOrders: Int { state.pointee.orders.live }
  public var liveLevels: Int { state.pointee.liveLevels }
  public var liveReferencePages: Int { state.pointee.index.livePages }

  /// Events produced since the last `clearEvents`, in order.
  @inlinable public var events: UnsafeBufferPointer<BookEvent> {
    UnsafeBufferPointer(start: eventBuffer, count: state.pointee.eventCount)
  }
  @inlinable public var pendingEvents: Int { state.pointee.eventCount }
  /// Room left before the caller must drain; one message produces at most `maxEventsPerMessage`.
  @inlinable public var eventRoom: Int { config.eventCapacity - state.pointee.eventCount }
  @inlinable public static var maxEventsPerMessage: Int { 8 }
  @inlinable public func clearEvents() { state.pointee.eventCount = 0 }

  /// The instrument's definition, from its last stock directory message (valid while the books
  /// live), if it has one.
  public func definition(locate: UInt16) -> UnsafePointer<InstrumentDefinition>? {
    guard Int(locate) < config.maxLocates, instruments[Int(locate)].defined else { return nil }
    return UnsafePointer(definitions + Int(locate))
  }

  public func symbol(locate: UInt16) -> Symbol? {
    guard Int(locate) < config.maxLocates, instruments[Int(locate)].defined else { return nil }
    return Symbol(packed: instruments[Int(locate)].symbol)
  }

  /// The locate a stock directory message assigned to `symbol` (a scan: not for the hot path).
  public func locate(of symbol: Symbol) -> UInt16? {
    for locate in 0..<config.maxLocates
    where instruments[locate].defined && instruments[locate].symbol == symbol.packed {
      return UInt16(locate)
    }
    return nil
  }

  /// Every locate that has a definition or a live order.
  public var activeLocates: [UInt16] {
    (0..<config.maxLocates).compactMap { locate in
      let bids = sides[locate * 2].count
      let asks = sides[locate * 2 + 1].count
      return instruments[locate].defined || bids > 0 || asks > 0 ? UInt16(locate) : nil
    }
  }

  /// How many locates have a definition or a live order (a scan: once per snapshot tick at most).
  public var activeCount: Int {
    var count = 0
    for locate in 0..<config.maxLocates where isActive(locate: UInt16(locate)) { count += 1 }
    return count
  }

  /// True if the locate has a definition or a live order (no allocation, for snapshot cycles).
  @inlinable public func isActive(locate: UInt16) -> Bool {
    guard Int(locate) < config.maxLocates else { return false }
    return instrumentDefined(locate) || sides[Int(locate) * 2].count > 0 || sides[Int(locate) * 2 + 1].count > 0
  }

  @usableFromInline func instrumentDefined(_ locate: UInt16) -> Bool { instruments[Int(locate)].defined }

  public func tradingState(locate: UInt16) -> UInt8 {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].tradingState : 0
  }
  public func regSHOAction(locate: UInt16) -> UInt8 {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].regSHOAction : 0
  }
  public func operationalHaltAction(locate: UInt16) -> UInt8 {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].operationalHaltAction : 0
  }
  /// The latest LULD auction collar (J) for the instrument, if any.
  public func luldCollar(locate: UInt16) -> LULDCollarState? {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].luldCollar : nil
  }
  /// The latest net order imbalance indicator (I) for the instrument, if any.
  public func imbalance(locate: UInt16) -> ImbalanceState? {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].imbalance : nil
  }
  public func roundLotSize(locate: UInt16) -> UInt32 {
    Int(locate) < config.maxLocates ? instruments[Int(locate)].roundLotSize : 0
  }
  public func levelCount(locate: UInt16, side: BookSide) -> Int {
    guard Int(locate) < config.maxLocates, side != .none else { return 0 }
    return Int(sides[Int(locate) * 2 + Int(side.rawValue)].count)
  }

  /// Writes up to `depth` levels of one side, best first, without allocating. Returns the count.
  public func topLevels(locate: UInt16, side: BookSide, depth: Int, into output: UnsafeMutablePointer<PriceLevel>)
    -> Int
  {
    guard Int(locate) < config.maxLocates, side != .none else { return 0 }
    let sideState = sides[Int(locate) * 2 + Int(side.rawValue)]
    let entries = state.pointee.arena.entries + Int(sideState.offset)
    let count = Int(sideState.count)
    var written = 0
    while written < depth && written < count {
      let level = entries[count - 1 - written]
      output[written] = PriceLevel(
        price: Self.price(side: side.rawValue, key: level.key), shares: level.shares, orders: level.orders)
      written += 1
    }
    return written
  }

  /// One side, best first (allocates: for tests and tools).
  public func levels(locate: UInt16, side: BookSide, depth: Int = .max) -> [PriceLevel] {
    let count = min(depth, levelCount(locate: locate, side: side))
    return [PriceLevel](unsafeUninitializedCapacity: count) { buffer, initialized in
      initialized = topLevels(locate: locate, side: side, depth: count, into: buffer.baseAddress!)
    }
  }

  // MARK: Applying messages

  /// Applies one ITCH message (without its length prefix). `sequence` is the upstream sequence
  /// number every resulting event carries. The caller keeps `eventRoom >= maxEventsPerMessage`.
  /// `counted: false` applies a market-wide message that another book shard already counts.
  public func apply(_ message: UnsafeRawBufferPointer, sequence: UInt64, counted: Bool = true) {
    // An uncounted (market-wide, another shard's) message is not counted as an anomaly either.
    guard let base = message.baseAddress, message.count > 0 else {
      if counted { state.pointee.counters.badMessageLength &+= 1 }
      return
    }
    let type = loadByte(base, 0)
    let expected = ITCHMessageType.length(of: type)
    if expected == 0 {
      if counted { state.pointee.counters.unknownMessageType &+= 1 }
      return
    }
    if expected != message.count {
      if counted { state.pointee.counters.badMessageLength &+= 1 }
      return
    }
    if counted {
      state.pointee.counters.messages &+= 1
      messagesByType[Int(type)] &+= 1
    }
    state.pointee.sequence = sequence
    state.pointee.timestampNs = loadBigEndianUInt48(base, 5)
    let locate = loadBigEndianUInt16(base, 1)

    switch type {
    case AddOrder.type:
      let add = AddOrder(base)
      addOrder(
        locate: locate, reference: add.orderReference, sideByte: add.side, shares: add.shares, price: add.price)
    case AddOrderMPID.type:
      let add = AddOrderMPID(base)
      addOrder(
        locate: locate, reference: add.orderReference, sideByte: add.side, shares: add.shares, price: add.price)
    case OrderExecuted.type:
      let execution = OrderExecuted(base)
      execute(
        locate: locate, reference: execution.orderReference, shares: execution.executedShares,
        matchNumber: execution.matchNumber, price: 0, kind: .execution, printable: true)
    case OrderExecutedWithPrice.type:
      let execution = OrderExecutedWithPrice(base)
      execute(
        locate: locate, reference: execution.orderReference, shares: execution.executedShares,
        matchNumber: execution.matchNumber, price: execution.executionPrice, kind: .executionWithPrice,
        printable: execution.printable == UInt8(ascii: "Y"))
    case OrderCancel.type:
      let cancel = OrderCancel(base)
      self.cancel(locate: locate, reference: cancel.orderReference, shares: cancel.cancelledShares)
    case OrderDelete.type:
      let reference = OrderDelete(base).orderReference
      guard let slot = liveSlot(reference, locate: locate) else { return }
      removeOrder(slot)
    case OrderReplace.type:
      let replace = OrderReplace(base)
      self.replace(
        locate: locate, original: replace.originalOrderReference, new: replace.newOrderReference,
        shares: replace.shares, price: replace.price)
    case NonCrossTrade.type:
      let trade = NonCrossTrade(base)
      guard checkLocate(locate) else { return }
      var event = newEvent(.trade, locate: locate)
      event.code = BookEvent.TradeKind.nonCross.rawValue
      event.side = sideValue(trade.side)
      event.price = trade.price
      event.shares = UInt64(trade.shares)
      event.matchNumber = trade.matchNumber
      emit(event)
    case CrossTrade.type:
      let cross = CrossTrade(base)
      guard checkLocate(locate) else { return }
      var event = newEvent(.trade, locate: locate)
      event.code = BookEvent.TradeKind.cross.rawValue
      event.price = cross.crossPrice
      event.shares = cross.shares
      event.matchNumber = cross.matchNumber
      event.crossType = cross.crossType
      emit(event)
    case BrokenTrade.type:
      var event = newEvent(.tradeBreak, locate: locate)
      event.matchNumber = BrokenTrade(base).matchNumber
      emit(event)
    case StockDirectory.type:
      guard checkLocate(locate) else { return }
      let directory = StockDirectory(base)
      instruments[Int(locate)].symbol = directory.stock.packed
      instruments[Int(locate)].roundLotSize = directory.roundLotSize
      instruments[Int(locate)].defined = true
      (definitions + Int(locate)).initialize(to: InstrumentDefinition(directory))
      var event = newEvent(.definition, locate: locate)
      event.code = type
      event.definition = UnsafePointer(definitions + Int(locate))
      emit(event)
    case StockTradingAction.type:
      guard checkLocate(locate) else { return }
      let action = StockTradingAction(base)
      instruments[Int(locate)].tradingState = action.tradingState
      var event = newStatus(.tradingAction, locate: locate)
      event.tradingState = action.tradingState
      event.tradingReason = action.reason
      emit(event)
    case OperationalHalt.type:
      guard checkLocate(locate) else { return }
      let halt = OperationalHalt(base)
      instruments[Int(locate)].operationalHaltAction = halt.haltAction
      var event = newStatus(.operationalHalt, locate: locate)
      event.haltMarketCode = halt.marketCode
      event.haltAction = halt.haltAction
      emit(event)
    case RegSHORestriction.type:
      guard checkLocate(locate) else { return }
      let action = RegSHORestriction(base).action
      instruments[Int(locate)].regSHOAction = action
      var event = newStatus(.regSHO, locate: locate)
      event.regSHOAction = action
      emit(event)
    case LULDAuctionCollar.type:
      guard checkLocate(locate) else { return }
      let collar = LULDAuctionCollar(base)
      instruments[Int(locate)].luldCollar = LULDCollarState(
        referencePrice: collar.referencePrice, upperPrice: collar.upperPrice, lowerPrice: collar.lowerPrice,
        collarExtension: collar.collarExtension)
      var event = newStatus(.luldCollar, locate: locate)
      event.collarReferencePrice = collar.referencePrice
      event.collarUpperPrice = collar.upperPrice
      event.collarLowerPrice = collar.lowerPrice
      event.collarExtension = collar.collarExtension
      emit(event)
    case NOII.type:
      guard checkLocate(locate) else { return }
      let noii = NOII(base)
      instruments[Int(locate)].imbalance = ImbalanceState(
        pairedShares: noii.pairedShares, imbalanceShares: noii.imbalanceShares, direction: noii.imbalanceDirection,
        farPrice: noii.farPrice, nearPrice: noii.nearPrice, referencePrice: noii.currentReferencePrice,
        crossType: noii.crossType)
      var event = newStatus(.imbalance, locate: locate)
      event.pairedShares = noii.pairedShares
      event.imbalanceShares = noii.imbalanceShares
      event.farPrice = noii.farPrice
      event.nearPrice = noii.nearPrice
      event.currentReferencePrice = noii.currentReferencePrice
      event.imbalanceDirection = noii.imbalanceDirection
      event.crossType = noii.crossType
      event.priceVariationIndicator = noii.priceVariationIndicator
      emit(event)
    case SystemEvent.type:
      var event = newStatus(.systemEvent, locate: 0)
      event.systemEventCode = SystemEvent(base).eventCode
      emit(event)
    case MWCBStatus.type:
      var event = newStatus(.marketWideBreaker, locate: 0)
      event.breachedLevel = MWCBStatus(base).breachedLevel
      emit(event)
    default:
      // L, V, K, N, O: counted, no effect on books or subscribers.
      break
    }
  }

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

  /// The live slot for a reference, counting an unknown one.
  @inline(__always)
  func liveSlot(_ reference: UInt64, locate: UInt16) -> UInt32? {
    guard reference <= state.pointee.index.maxReference else {
      state.pointee.counters.unknownReference &+= 1
      return nil
    }
    let slot = state.pointee.index.lookup(reference)
    guard slot != 0 else {
      state.pointee.counters.unknownReference &+= 1
      return nil
    }
    if state.pointee.orders.slots[Int(slot)].locate != locate { state.pointee.counters.locateMismatches &+= 1 }
    return slot
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
    guard reference <= state.pointee.index.maxReference else {
      state.pointee.counters.referenceBeyondCap &+= 1
      return
    }
    let existing = state.pointee.index.lookup(reference)
    if existing != 0 {
      state.pointee.counters.addsOnLiveReference &+= 1
      removeOrder(existing)
    }
    guard state.pointee.index.reservePage(for: reference) else {
      state.pointee.counters.referencePagesExhausted &+= 1
      return
    }
    guard let slot = allocateOrder() else {
      state.pointee.counters.orderCapacityExhausted &+= 1
      return
    }
    guard addToLevel(locate: locate, side: side, price: price, shares: shares) else {
      freeOrder(slot)
      state.pointee.counters.levelCapacityExhausted &+= 1
      return
    }
    state.pointee.orders.slots[Int(slot)] = OrderSlot(
      reference: reference, shares: shares, price: price, locate: locate, side: side)
    state.pointee.index.insert(reference, slot: slot)
    instruments[Int(locate)].liveOrders &+= 1
  }

  func execute(
    locate: UInt16, reference: UInt64, shares: UInt32, matchNumber: UInt64, price: UInt32,
    kind: BookEvent.TradeKind, printable: Bool
  ) {
    guard let slot = liveSlot(reference, locate: locate) else { return }
    let order = state.pointee.orders.slots[Int(slot)]
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
    reduce(slot, by: executed)
  }

  func cancel(locate: UInt16, reference: UInt64, shares: UInt32) {
    guard let slot = liveSlot(reference, locate: locate) else { return }
    var cancelled = shares
    let remaining = state.pointee.orders.slots[Int(slot)].shares
    if cancelled > remaining {
      state.pointee.counters.clampedCancels &+= 1
      cancelled = remaining
    }
    reduce(slot, by: cancelled)
  }

  func replace(locate: UInt16, original: UInt64, new newReference: UInt64, shares: UInt32, price: UInt32) {
    guard original <= state.pointee.index.maxReference, state.pointee.index.lookup(original) != 0 else {
      state.pointee.counters.unknownReplaceReference &+= 1
      return
    }
    guard let slot = liveSlot(original, locate: locate) else { return }
    let order = state.pointee.orders.slots[Int(slot)]
    // Same price, valid new order: adjust in place (one Change instead of Delete + New).
    if price == order.price, shares > 0,
      newReference <= state.pointee.index.maxReference,
      newReference == original || state.pointee.index.lookup(newReference) == 0,
      state.pointee.index.reservePage(for: newReference)
    {
      let (entries, count, position) = level(locate: order.locate, side: order.side, price: order.price)
      entries[position].shares = entries[position].shares - UInt64(order.shares) + UInt64(shares)
      state.pointee.orders.slots[Int(slot)].shares = shares
      if newReference != original {
        state.pointee.orders.slots[Int(slot)].reference = newReference
        state.pointee.index.insert(newReference, slot: slot)
        state.pointee.index.remove(original)
      }
      emitChange(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
      return
    }
    removeOrder(slot)
    addOrder(
      locate: order.locate, reference: newReference, sideByte: order.side == 0 ? UInt8(ascii: "B") : UInt8(ascii: "S"),
      shares: shares, price: price)
  }

  /// Takes `shares` off a live order, removing it when none remain.
  @inline(__always)
  func reduce(_ slot: UInt32, by shares: UInt32) {
    let order = state.pointee.orders.slots[Int(slot)]
    if shares >= order.shares {
      removeOrder(slot)
      return
    }
    state.pointee.orders.slots[Int(slot)].shares = order.shares - shares
    let (entries, count, position) = level(locate: order.locate, side: order.side, price: order.price)
    entries[position].shares -= UInt64(shares)
    emitChange(locate: order.locate, side: order.side, entries: entries, count: count, position: position)
  }

  func removeOrder(_ slot: UInt32) {
    let order = state.pointee.orders.slots[Int(slot)]
    state.pointee.index.remove(order.reference)
    freeOrder(slot)
    instruments[Int(order.locate)].liveOrders &-= 1
    let (entries, count, position) = level(locate: order.locate, side: order.side, price: order.price)
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

  /// First position whose key is >= `key`. Scans the top of book first (most activity is
  /// there), then binary-searches the rest.
  @inline(__always)
  static func lowerBound(_ entries: UnsafeMutablePointer<LevelEntry>, count: Int, key: UInt32) -> Int {
    var upper = count
    var scanned = 0
    while upper > 0 && scanned < 8 {
      if entries[upper - 1].key < key { return upper }
      upper -= 1
      scanned += 1
    }
    var lower = 0
    while lower < upper {
      let middle = (lower + upper) >> 1
      if entries[middle].key < key { lower = middle + 1 } else { upper = middle }
    }
    return lower
  }

  /// The level of a live order: its side's entries, their count, and the level's position. A live
  /// order's level always exists (every add puts one there, and it goes only with its last order).
  @inline(__always)
  func level(locate: UInt16, side: UInt8, price: UInt32) -> (UnsafeMutablePointer<LevelEntry>, Int, Int) {
    let sideState = sides[Int(locate) &* 2 &+ Int(side)]
    let entries = state.pointee.arena.entries + Int(sideState.offset)
    let count = Int(sideState.count)
    return (entries, count, Self.lowerBound(entries, count: count, key: Self.key(side: side, price: price)))
  }

  /// Adds shares and an order at `price`, creating the level if needed. False when a pool is full.
  func addToLevel(locate: UInt16, side: UInt8, price: UInt32, shares: UInt32) -> Bool {
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
      return true
    }
    guard state.pointee.liveLevels < config.maxLevels else { return false }
    if sideState.capacityClass == 0 || count == 1 << Int(sideState.capacityClass) {
      let newClass = sideState.capacityClass == 0 ? LevelArena.minimumClass : sideState.capacityClass + 1
      guard newClass <= LevelArena.maximumClass, let offset = state.pointee.arena.allocate(sizeClass: newClass) else {
        return false
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
    return true
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

  // MARK: Pools

  @inline(__always)
  func allocateOrder() -> UInt32? {
    let head = state.pointee.orders.freeHead
    if head != 0 {
      state.pointee.orders.freeHead = state.pointee.orders.slots[Int(head)].price
      state.pointee.orders.live += 1
      return head
    }
    let fresh = state.pointee.orders.fresh
    guard fresh <= state.pointee.orders.capacity else { return nil }
    state.pointee.orders.fresh = fresh + 1
    state.pointee.orders.live += 1
    return fresh
  }

  @inline(__always)
  func freeOrder(_ slot: UInt32) {
    state.pointee.orders.slots[Int(slot)].shares = 0
    state.pointee.orders.slots[Int(slot)].price = state.pointee.orders.freeHead
    state.pointee.orders.freeHead = slot
    state.pointee.orders.live -= 1
  }

  // MARK: Checking

  /// Structural invariants, as readable problems (empty when all hold): each side strictly
  /// sorted, every level's shares and order count equal to its live orders', every live order
  /// reachable through the reference index.
  public func invariantViolations() -> [String] {
    var problems: [String] = []
    // Keyed by locate, side and price.
    func levelKey(_ locate: Int, _ side: Int, _ price: UInt32) -> UInt64 {
      UInt64(locate) << 40 | UInt64(side) << 32 | UInt64(price)
    }
    var shareSums: [UInt64: UInt64] = [:]
    var orderCounts: [UInt64: UInt32] = [:]
    let orders = state.pointee.orders
    var liveOrders = 0
    for slot in 1..<Int(orders.fresh) where orders.slots[slot].shares > 0 {
      let order = orders.slots[slot]
      liveOrders += 1
      shareSums[levelKey(Int(order.locate), Int(order.side), order.price), default: 0] += UInt64(order.shares)
      orderCounts[levelKey(Int(order.locate), Int(order.side), order.price), default: 0] += 1
      if state.pointee.index.lookup(order.reference) != UInt32(slot) {
        problems.append("order \(order.reference) not reachable through the reference index")
      }
    }
    if liveOrders != orders.live { problems.append("live order count \(orders.live) != \(liveOrders) found") }
    var levelsSeen = 0
    for locate in 0..<config.maxLocates {
      for side in 0..<2 {
        let sideState = sides[locate * 2 + side]
        let entries = state.pointee.arena.entries + Int(sideState.offset)
        for position in 0..<Int(sideState.count) {
          levelsSeen += 1
          let level = entries[position]
          let price = Self.price(side: UInt8(side), key: level.key)
          if position > 0 && entries[position - 1].key >= level.key {
            problems.append("locate \(locate) side \(side): levels not strictly sorted at \(position)")
          }
          let key = levelKey(locate, side, price)
          if shareSums[key, default: 0] != level.shares || orderCounts[key, default: 0] != level.orders {
            problems.append(
              "locate \(locate) side \(side) price \(price): level says \(level.shares)/\(level.orders), "
                + "orders say \(shareSums[key, default: 0])/\(orderCounts[key, default: 0])")
          }
          if level.orders == 0 { problems.append("locate \(locate) side \(side) price \(price): a level of no orders") }
        }
      }
    }
    if levelsSeen != state.pointee.liveLevels {
      problems.append("live level count \(state.pointee.liveLevels) != \(levelsSeen) found")
    }
    return problems
  }
}
