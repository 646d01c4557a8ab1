import ITCH

/// The books as an ITCH handler: `dispatch` checks each message's length and calls the method of
/// its type; the types that touch no book (L, V, K, N, O) are counted and nothing more.
struct BookHandler: ITCHHandler {
  /// Unmanaged, read through `_withUnsafeGuaranteedRef`: a stored class reference would cost a
  /// retain and a release per message.
  let books: Unmanaged<OrderBooks>
  let sequence: UInt64
  let counted: Bool

  @inline(__always)
  mutating func willHandle(type: UInt8, _ base: UnsafeRawPointer) {
    let (sequence, counted) = (self.sequence, self.counted)
    books._withUnsafeGuaranteedRef {
      $0.begin(type: type, sequence: sequence, timestampNs: loadBigEndianUInt48(base, 5), counted: counted)
    }
  }

  @inline(__always) mutating func addOrder(_ message: AddOrder) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func addOrderMPID(_ message: AddOrderMPID) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func orderExecuted(_ message: OrderExecuted) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func orderExecutedWithPrice(_ message: OrderExecutedWithPrice) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func orderCancel(_ message: OrderCancel) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func orderDelete(_ message: OrderDelete) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func orderReplace(_ message: OrderReplace) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func nonCrossTrade(_ message: NonCrossTrade) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func crossTrade(_ message: CrossTrade) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func brokenTrade(_ message: BrokenTrade) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func stockDirectory(_ message: StockDirectory) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func stockTradingAction(_ message: StockTradingAction) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func operationalHalt(_ message: OperationalHalt) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func regSHORestriction(_ message: RegSHORestriction) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func luldAuctionCollar(_ message: LULDAuctionCollar) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func noii(_ message: NOII) { books._withUnsafeGuaranteedRef { $0.handle(message) } }
  @inline(__always) mutating func systemEvent(_ message: SystemEvent) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
  @inline(__always) mutating func mwcbStatus(_ message: MWCBStatus) {
    books._withUnsafeGuaranteedRef { $0.handle(message) }
  }
}

// What each message does to the books (instrument state and order flow), and the events it makes.
extension OrderBooks {
  @inline(__always)
  func handle(_ message: AddOrder) {
    let locate = message.stockLocate
    addOrder(
      locate: locate, reference: message.orderReference, sideByte: message.side, shares: message.shares,
      price: message.price)
  }

  @inline(__always)
  func handle(_ message: AddOrderMPID) {
    let locate = message.stockLocate
    addOrder(
      locate: locate, reference: message.orderReference, sideByte: message.side, shares: message.shares,
      price: message.price)
  }

  @inline(__always)
  func handle(_ message: OrderExecuted) {
    let locate = message.stockLocate
    execute(
      locate: locate, reference: message.orderReference, shares: message.executedShares,
      matchNumber: message.matchNumber, price: 0, kind: .execution, printable: true)
  }

  @inline(__always)
  func handle(_ message: OrderExecutedWithPrice) {
    let locate = message.stockLocate
    execute(
      locate: locate, reference: message.orderReference, shares: message.executedShares,
      matchNumber: message.matchNumber, price: message.executionPrice, kind: .executionWithPrice,
      printable: message.printable == UInt8(ascii: "Y"))
  }

  @inline(__always)
  func handle(_ message: OrderCancel) {
    let locate = message.stockLocate
    self.cancel(locate: locate, reference: message.orderReference, shares: message.cancelledShares)
  }

  @inline(__always)
  func handle(_ message: OrderDelete) {
    let locate = message.stockLocate
    let reference = message.orderReference
    guard let record = liveOrder(reference, locate: locate) else { return }
    removeOrder(reference, record)
  }

  @inline(__always)
  func handle(_ message: OrderReplace) {
    let locate = message.stockLocate
    self.replace(
      locate: locate, original: message.originalOrderReference, new: message.newOrderReference,
      shares: message.shares, price: message.price)
  }

  @inline(__always)
  func handle(_ message: NonCrossTrade) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    var event = newEvent(.trade, locate: locate)
    event.code = BookEvent.TradeKind.nonCross.rawValue
    event.side = sideValue(message.side)
    event.price = message.price
    event.shares = UInt64(message.shares)
    event.matchNumber = message.matchNumber
    emit(event)
  }

  @inline(__always)
  func handle(_ message: CrossTrade) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    var event = newEvent(.trade, locate: locate)
    event.code = BookEvent.TradeKind.cross.rawValue
    event.price = message.crossPrice
    event.shares = message.shares
    event.matchNumber = message.matchNumber
    event.crossType = message.crossType
    emit(event)
  }

  @inline(__always)
  func handle(_ message: BrokenTrade) {
    let locate = message.stockLocate
    var event = newEvent(.tradeBreak, locate: locate)
    event.matchNumber = message.matchNumber
    emit(event)
  }

  @inline(__always)
  func handle(_ message: StockDirectory) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    instruments[Int(locate)].symbol = message.stock.packed
    instruments[Int(locate)].roundLotSize = message.roundLotSize
    instruments[Int(locate)].defined = true
    (definitions + Int(locate)).initialize(to: InstrumentDefinition(message))
    var event = newEvent(.definition, locate: locate)
    event.code = StockDirectory.type
    event.definition = UnsafePointer(definitions + Int(locate))
    emit(event)
  }

  @inline(__always)
  func handle(_ message: StockTradingAction) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    instruments[Int(locate)].tradingState = message.tradingState
    var event = newStatus(.tradingAction, locate: locate)
    event.tradingState = message.tradingState
    event.tradingReason = message.reason
    emit(event)
  }

  @inline(__always)
  func handle(_ message: OperationalHalt) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    instruments[Int(locate)].operationalHaltAction = message.haltAction
    var event = newStatus(.operationalHalt, locate: locate)
    event.haltMarketCode = message.marketCode
    event.haltAction = message.haltAction
    emit(event)
  }

  @inline(__always)
  func handle(_ message: RegSHORestriction) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    let action = message.action
    instruments[Int(locate)].regSHOAction = action
    var event = newStatus(.regSHO, locate: locate)
    event.regSHOAction = action
    emit(event)
  }

  @inline(__always)
  func handle(_ message: LULDAuctionCollar) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    instruments[Int(locate)].luldCollar = LULDCollarState(
      referencePrice: message.referencePrice, upperPrice: message.upperPrice, lowerPrice: message.lowerPrice,
      collarExtension: message.collarExtension)
    var event = newStatus(.luldCollar, locate: locate)
    event.collarReferencePrice = message.referencePrice
    event.collarUpperPrice = message.upperPrice
    event.collarLowerPrice = message.lowerPrice
    event.collarExtension = message.collarExtension
    emit(event)
  }

  @inline(__always)
  func handle(_ message: NOII) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    instruments[Int(locate)].imbalance = ImbalanceState(
      pairedShares: message.pairedShares, imbalanceShares: message.imbalanceShares,
      direction: message.imbalanceDirection,
      farPrice: message.farPrice, nearPrice: message.nearPrice, referencePrice: message.currentReferencePrice,
      crossType: message.crossType)
    var event = newStatus(.imbalance, locate: locate)
    event.pairedShares = message.pairedShares
    event.imbalanceShares = message.imbalanceShares
    event.farPrice = message.farPrice
    event.nearPrice = message.nearPrice
    event.currentReferencePrice = message.currentReferencePrice
    event.imbalanceDirection = message.imbalanceDirection
    event.crossType = message.crossType
    event.priceVariationIndicator = message.priceVariationIndicator
    emit(event)
  }

  @inline(__always)
  func handle(_ message: SystemEvent) {
    var event = newStatus(.systemEvent, locate: 0)
    event.systemEventCode = message.eventCode
    emit(event)
  }

  @inline(__always)
  func handle(_ message: MWCBStatus) {
    var event = newStatus(.marketWideBreaker, locate: 0)
    event.breachedLevel = message.breachedLevel
    emit(event)
  }
}
