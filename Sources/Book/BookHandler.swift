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
    let add = message
    addOrder(
      locate: locate, reference: add.orderReference, sideByte: add.side, shares: add.shares, price: add.price)
  }

  @inline(__always)
  func handle(_ message: AddOrderMPID) {
    let locate = message.stockLocate
    let add = message
    addOrder(
      locate: locate, reference: add.orderReference, sideByte: add.side, shares: add.shares, price: add.price)
  }

  @inline(__always)
  func handle(_ message: OrderExecuted) {
    let locate = message.stockLocate
    let execution = message
    execute(
      locate: locate, reference: execution.orderReference, shares: execution.executedShares,
      matchNumber: execution.matchNumber, price: 0, kind: .execution, printable: true)
  }

  @inline(__always)
  func handle(_ message: OrderExecutedWithPrice) {
    let locate = message.stockLocate
    let execution = message
    execute(
      locate: locate, reference: execution.orderReference, shares: execution.executedShares,
      matchNumber: execution.matchNumber, price: execution.executionPrice, kind: .executionWithPrice,
      printable: execution.printable == UInt8(ascii: "Y"))
  }

  @inline(__always)
  func handle(_ message: OrderCancel) {
    let locate = message.stockLocate
    let cancel = message
    self.cancel(locate: locate, reference: cancel.orderReference, shares: cancel.cancelledShares)
  }

  @inline(__always)
  func handle(_ message: OrderDelete) {
    let locate = message.stockLocate
    let reference = message.orderReference
    guard let slot = liveSlot(reference, locate: locate) else { return }
    removeOrder(slot)
  }

  @inline(__always)
  func handle(_ message: OrderReplace) {
    let locate = message.stockLocate
    let replace = message
    self.replace(
      locate: locate, original: replace.originalOrderReference, new: replace.newOrderReference,
      shares: replace.shares, price: replace.price)
  }

  @inline(__always)
  func handle(_ message: NonCrossTrade) {
    let locate = message.stockLocate
    let trade = message
    guard checkLocate(locate) else { return }
    var event = newEvent(.trade, locate: locate)
    event.code = BookEvent.TradeKind.nonCross.rawValue
    event.side = sideValue(trade.side)
    event.price = trade.price
    event.shares = UInt64(trade.shares)
    event.matchNumber = trade.matchNumber
    emit(event)
  }

  @inline(__always)
  func handle(_ message: CrossTrade) {
    let locate = message.stockLocate
    let cross = message
    guard checkLocate(locate) else { return }
    var event = newEvent(.trade, locate: locate)
    event.code = BookEvent.TradeKind.cross.rawValue
    event.price = cross.crossPrice
    event.shares = cross.shares
    event.matchNumber = cross.matchNumber
    event.crossType = cross.crossType
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
    let directory = message
    instruments[Int(locate)].symbol = directory.stock.packed
    instruments[Int(locate)].roundLotSize = directory.roundLotSize
    instruments[Int(locate)].defined = true
    (definitions + Int(locate)).initialize(to: InstrumentDefinition(directory))
    var event = newEvent(.definition, locate: locate)
    event.code = StockDirectory.type
    event.definition = UnsafePointer(definitions + Int(locate))
    emit(event)
  }

  @inline(__always)
  func handle(_ message: StockTradingAction) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    let action = message
    instruments[Int(locate)].tradingState = action.tradingState
    var event = newStatus(.tradingAction, locate: locate)
    event.tradingState = action.tradingState
    event.tradingReason = action.reason
    emit(event)
  }

  @inline(__always)
  func handle(_ message: OperationalHalt) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    let halt = message
    instruments[Int(locate)].operationalHaltAction = halt.haltAction
    var event = newStatus(.operationalHalt, locate: locate)
    event.haltMarketCode = halt.marketCode
    event.haltAction = halt.haltAction
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
    let collar = message
    instruments[Int(locate)].luldCollar = LULDCollarState(
      referencePrice: collar.referencePrice, upperPrice: collar.upperPrice, lowerPrice: collar.lowerPrice,
      collarExtension: collar.collarExtension)
    var event = newStatus(.luldCollar, locate: locate)
    event.collarReferencePrice = collar.referencePrice
    event.collarUpperPrice = collar.upperPrice
    event.collarLowerPrice = collar.lowerPrice
    event.collarExtension = collar.collarExtension
    emit(event)
  }

  @inline(__always)
  func handle(_ message: NOII) {
    let locate = message.stockLocate
    guard checkLocate(locate) else { return }
    let noii = message
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
  }

  @inline(__always)
  func handle(_ message: SystemEvent) {
    let locate = message.stockLocate
    var event = newStatus(.systemEvent, locate: 0)
    event.systemEventCode = message.eventCode
    emit(event)
  }

  @inline(__always)
  func handle(_ message: MWCBStatus) {
    let locate = message.stockLocate
    var event = newStatus(.marketWideBreaker, locate: 0)
    event.breachedLevel = message.breachedLevel
    emit(event)
  }
}
