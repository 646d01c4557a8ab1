/// A consumer of ITCH 5.0 messages: one method per message type, each given a view that
/// `dispatch` made only after checking the frame's length. A handler implements the types it
/// cares about; the rest do nothing. Dispatch is generic, so it specializes to a plain switch.
public protocol ITCHHandler {
  /// Before the typed method, once the length is checked: the message's type byte and its start.
  mutating func willHandle(type: UInt8, _ base: UnsafeRawPointer)
  mutating func systemEvent(_ message: SystemEvent)
  mutating func stockDirectory(_ message: StockDirectory)
  mutating func stockTradingAction(_ message: StockTradingAction)
  mutating func regSHORestriction(_ message: RegSHORestriction)
  mutating func marketParticipantPosition(_ message: MarketParticipantPosition)
  mutating func mwcbDeclineLevel(_ message: MWCBDeclineLevel)
  mutating func mwcbStatus(_ message: MWCBStatus)
  mutating func ipoQuotingPeriodUpdate(_ message: IPOQuotingPeriodUpdate)
  mutating func luldAuctionCollar(_ message: LULDAuctionCollar)
  mutating func operationalHalt(_ message: OperationalHalt)
  mutating func addOrder(_ message: AddOrder)
  mutating func addOrderMPID(_ message: AddOrderMPID)
  mutating func orderExecuted(_ message: OrderExecuted)
  mutating func orderExecutedWithPrice(_ message: OrderExecutedWithPrice)
  mutating func orderCancel(_ message: OrderCancel)
  mutating func orderDelete(_ message: OrderDelete)
  mutating func orderReplace(_ message: OrderReplace)
  mutating func nonCrossTrade(_ message: NonCrossTrade)
  mutating func crossTrade(_ message: CrossTrade)
  mutating func brokenTrade(_ message: BrokenTrade)
  mutating func noii(_ message: NOII)
  mutating func retailPriceImprovement(_ message: RetailPriceImprovement)
  mutating func directListingPriceDiscovery(_ message: DirectListingPriceDiscovery)
}

extension ITCHHandler {
  @inlinable public mutating func willHandle(type: UInt8, _ base: UnsafeRawPointer) {}
  @inlinable public mutating func systemEvent(_ message: SystemEvent) {}
  @inlinable public mutating func stockDirectory(_ message: StockDirectory) {}
  @inlinable public mutating func stockTradingAction(_ message: StockTradingAction) {}
  @inlinable public mutating func regSHORestriction(_ message: RegSHORestriction) {}
  @inlinable public mutating func marketParticipantPosition(_ message: MarketParticipantPosition) {}
  @inlinable public mutating func mwcbDeclineLevel(_ message: MWCBDeclineLevel) {}
  @inlinable public mutating func mwcbStatus(_ message: MWCBStatus) {}
  @inlinable public mutating func ipoQuotingPeriodUpdate(_ message: IPOQuotingPeriodUpdate) {}
  @inlinable public mutating func luldAuctionCollar(_ message: LULDAuctionCollar) {}
  @inlinable public mutating func operationalHalt(_ message: OperationalHalt) {}
  @inlinable public mutating func addOrder(_ message: AddOrder) {}
  @inlinable public mutating func addOrderMPID(_ message: AddOrderMPID) {}
  @inlinable public mutating func orderExecuted(_ message: OrderExecuted) {}
  @inlinable public mutating func orderExecutedWithPrice(_ message: OrderExecutedWithPrice) {}
  @inlinable public mutating func orderCancel(_ message: OrderCancel) {}
  @inlinable public mutating func orderDelete(_ message: OrderDelete) {}
  @inlinable public mutating func orderReplace(_ message: OrderReplace) {}
  @inlinable public mutating func nonCrossTrade(_ message: NonCrossTrade) {}
  @inlinable public mutating func crossTrade(_ message: CrossTrade) {}
  @inlinable public mutating func brokenTrade(_ message: BrokenTrade) {}
  @inlinable public mutating func noii(_ message: NOII) {}
  @inlinable public mutating func retailPriceImprovement(_ message: RetailPriceImprovement) {}
  @inlinable public mutating func directListingPriceDiscovery(_ message: DirectListingPriceDiscovery) {}
}

/// What `dispatch` did with one message.
@frozen public enum ITCHDispatch: Equatable, Sendable {
  /// The handler got a view of it.
  case dispatched(type: UInt8)
  /// Empty, or its length is not its type's: the handler never sees it.
  case badLength
  /// A type ITCH 5.0 does not define: skipped by its length prefix.
  case unknownType
}

/// Hands one message (without its length prefix) to `handler` as the view of its type, once its
/// length is exactly that type's; otherwise says why not and reads nothing past the type byte.
@inlinable @inline(__always)
public func dispatch<Handler: ITCHHandler>(_ message: UnsafeRawBufferPointer, to handler: inout Handler)
  -> ITCHDispatch
{
  guard let base = message.baseAddress, message.count > 0 else { return .badLength }
  let type = loadByte(base, 0)
  let expected = ITCHMessageType.length(of: type)
  if expected == 0 { return .unknownType }
  if expected != message.count { return .badLength }
  handler.willHandle(type: type, base)
  switch type {
  case AddOrder.type: handler.addOrder(AddOrder(base))
  case OrderDelete.type: handler.orderDelete(OrderDelete(base))
  case OrderReplace.type: handler.orderReplace(OrderReplace(base))
  case OrderExecuted.type: handler.orderExecuted(OrderExecuted(base))
  case OrderCancel.type: handler.orderCancel(OrderCancel(base))
  case AddOrderMPID.type: handler.addOrderMPID(AddOrderMPID(base))
  case OrderExecutedWithPrice.type: handler.orderExecutedWithPrice(OrderExecutedWithPrice(base))
  case NonCrossTrade.type: handler.nonCrossTrade(NonCrossTrade(base))
  case CrossTrade.type: handler.crossTrade(CrossTrade(base))
  case BrokenTrade.type: handler.brokenTrade(BrokenTrade(base))
  case NOII.type: handler.noii(NOII(base))
  case SystemEvent.type: handler.systemEvent(SystemEvent(base))
  case StockDirectory.type: handler.stockDirectory(StockDirectory(base))
  case StockTradingAction.type: handler.stockTradingAction(StockTradingAction(base))
  case RegSHORestriction.type: handler.regSHORestriction(RegSHORestriction(base))
  case MarketParticipantPosition.type: handler.marketParticipantPosition(MarketParticipantPosition(base))
  case MWCBDeclineLevel.type: handler.mwcbDeclineLevel(MWCBDeclineLevel(base))
  case MWCBStatus.type: handler.mwcbStatus(MWCBStatus(base))
  case IPOQuotingPeriodUpdate.type: handler.ipoQuotingPeriodUpdate(IPOQuotingPeriodUpdate(base))
  case LULDAuctionCollar.type: handler.luldAuctionCollar(LULDAuctionCollar(base))
  case OperationalHalt.type: handler.operationalHalt(OperationalHalt(base))
  case RetailPriceImprovement.type: handler.retailPriceImprovement(RetailPriceImprovement(base))
  case DirectListingPriceDiscovery.type: handler.directListingPriceDiscovery(DirectListingPriceDiscovery(base))
  default: return .unknownType  // unreachable: every type with a length has a case
  }
  return .dispatched(type: type)
}
