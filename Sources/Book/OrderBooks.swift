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
    @usableFromInline var orders: OrderStore
    /// Levels live across every side (bounded by `BookConfig.maxLevels`).
    var liveLevels = 0
    var arena: LevelArena
    var counters = BookCounters()
    @usableFromInline var eventCount = 0
    var eventsDropped: UInt64 = 0
    var sequence: UInt64 = 0
    var timestampNs: UInt64 = 0
  }

  /// Per-locate state other than the two sides. All zero bytes is the empty instrument (no
  /// optionals stored), so the table starts as untouched zero pages, not 65,536 written entries.
  @usableFromInline
  struct Instrument {
    var symbol: UInt64
    var roundLotSize: UInt32
    var defined: Bool
    var tradingState: UInt8
    var regSHOAction: UInt8
    var operationalHaltAction: UInt8
    var hasLULDCollar: Bool
    var hasImbalance: Bool
    var lastLULDCollar: LULDCollarState
    var lastImbalance: ImbalanceState

    var luldCollar: LULDCollarState? {
      get { hasLULDCollar ? lastLULDCollar : nil }
      set {
        hasLULDCollar = newValue != nil
        if let newValue { lastLULDCollar = newValue }
      }
    }
    var imbalance: ImbalanceState? {
      get { hasImbalance ? lastImbalance : nil }
      set {
        hasImbalance = newValue != nil
        if let newValue { lastImbalance = newValue }
      }
    }
  }

  public init(config: BookConfig = BookConfig()) {
    precondition(config.problems().isEmpty, "invalid BookConfig: \(config.problems())")
    self.config = config
    depth = config.publishedDepth
    state = .allocate(capacity: 1)
    state.initialize(
      to: State(
        orders: OrderStore(
          maxReference: config.maxOrderReference, pageShift: config.referencePageShift,
          maxPages: config.maxReferencePages, maxLiveOrders: config.maxLiveOrders),
        arena: LevelArena(capacity: config.levelArenaEntries)))
    // Both tables are valid as zero bytes (an empty instrument, an empty side): mapped, not written.
    instruments = PoolMemory.allocate(Instrument.self, count: config.maxLocates, hugePages: false)
    sides = PoolMemory.allocate(SideState.self, count: config.maxLocates * 2, hugePages: false)
    eventBuffer = .allocate(capacity: config.eventCapacity)
    messagesByType = .allocate(capacity: 256)
    messagesByType.initialize(repeating: 0, count: 256)
    definitions = .allocate(capacity: config.maxLocates)
  }

  deinit {
    state.pointee.orders.release()
    state.pointee.arena.release()
    state.deinitialize(count: 1)
    state.deallocate()
    PoolMemory.release(instruments, count: config.maxLocates)
    PoolMemory.release(sides, count: config.maxLocates * 2)
    eventBuffer.deallocate()
    messagesByType.deallocate()
    definitions.deallocate()
  }

  // MARK: Reading results

  public var counters: BookCounters { state.pointee.counters }
  /// Events lost because the caller did not drain in time (should stay 0).
  public var eventsDropped: UInt64 { state.pointee.eventsDropped }
  public func messages(ofType type: UInt8) -> UInt64 { messagesByType[Int(type)] }
  public var liveOrders: Int { state.pointee.orders.liveOrders }
  public var liveLevels: Int { state.pointee.liveLevels }
  public var liveReferencePages: Int { state.pointee.orders.livePages }
  /// The most order-store pages live at once so far (each holds 2^referencePageShift records).
  public var peakReferencePages: Int { state.pointee.orders.peakLivePages }

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
    var handler = BookHandler(books: Unmanaged.passUnretained(self), sequence: sequence, counted: counted)
    switch dispatch(message, to: &handler) {
    case .dispatched: break
    // An uncounted (market-wide, another shard's) message is not counted as an anomaly either.
    case .badLength: if counted { state.pointee.counters.badMessageLength &+= 1 }
    case .unknownType: if counted { state.pointee.counters.unknownMessageType &+= 1 }
    }
  }

  /// Starts loading the order record `message` will touch, without waiting for it. The core
  /// calls this a few messages ahead of `apply`, so the loads of several messages overlap instead
  /// of each waiting its turn. Reads only bytes inside `message`.
  @inlinable @inline(__always)
  public func prefetchOrder(_ message: UnsafeRawBufferPointer) {
    // Every order message (A, F, E, C, X, D, U) carries its (original) reference at offset 11.
    guard message.count >= 19, let base = message.baseAddress else { return }
    switch base.load(as: UInt8.self) {
    case 0x41, 0x46, 0x45, 0x43, 0x58, 0x44, 0x55:
      state.pointee.orders.prefetch(loadBigEndianUInt64(base, 11))
    default:
      break
    }
  }

  /// A message of `type` passed its length check: counted, and its events carry `sequence` and its time.
  @inline(__always)
  func begin(type: UInt8, sequence: UInt64, timestampNs: UInt64, counted: Bool) {
    if counted {
      state.pointee.counters.messages &+= 1
      messagesByType[Int(type)] &+= 1
    }
    state.pointee.sequence = sequence
    state.pointee.timestampNs = timestampNs
  }

  // MARK: Checking

  /// Structural invariants, as readable problems (empty when all hold): each side strictly
  /// sorted, every level's shares and order count equal to its live orders', every live order
  /// reachable by its reference.
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
    orders.forEachLive { reference, order in
      liveOrders += 1
      shareSums[levelKey(Int(order.locate), Int(order.side), order.price), default: 0] += UInt64(order.shares)
      orderCounts[levelKey(Int(order.locate), Int(order.side), order.price), default: 0] += 1
      if orders.live(reference)?.pointee.price != order.price {
        problems.append("order \(reference) not reachable through the order store's directory")
      }
    }
    if liveOrders != orders.liveOrders {
      problems.append("live order count \(orders.liveOrders) != \(liveOrders) found")
    }
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
