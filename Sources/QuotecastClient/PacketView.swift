// Zero-copy views of quotecast packets (schemas/quotecast.fbs). Field positions come from the
// schema: vtable slot 4 + 2 × field id; struct layouts match flatc's (checked by the tests
// against the C++ encoder and by the Python reader).

public enum FeedSide: UInt8, Sendable {
  case bid = 0
  case ask = 1
  case none = 2
}

public enum FeedLevelAction: UInt8, Sendable {
  case new = 0
  case change = 1
  case delete = 2
}

public enum FeedTradeKind: UInt8, Sendable {
  case execution = 0
  case executionWithPrice = 1
  case nonCross = 2
  case cross = 3
}

@frozen public struct LevelUpdate: Equatable, Sendable {
  public var price: UInt32
  public var orders: UInt32
  public var shares: UInt64
  public var locate: UInt16
  public var levelIndex: UInt16
  public var side: UInt8
  public var action: UInt8
  @inlinable public init(
    price: UInt32, orders: UInt32, shares: UInt64, locate: UInt16, levelIndex: UInt16, side: UInt8, action: UInt8
  ) {
    self.price = price
    self.orders = orders
    self.shares = shares
    self.locate = locate
    self.levelIndex = levelIndex
    self.side = side
    self.action = action
  }
}

@frozen public struct TradeUpdate: Equatable, Sendable {
  public var matchNumber: UInt64
  public var shares: UInt64
  public var price: UInt32
  public var locate: UInt16
  public var kind: UInt8
  public var side: UInt8
  public var crossType: UInt8
  @inlinable public init(
    matchNumber: UInt64, shares: UInt64, price: UInt32, locate: UInt16, kind: UInt8, side: UInt8, crossType: UInt8
  ) {
    self.matchNumber = matchNumber
    self.shares = shares
    self.price = price
    self.locate = locate
    self.kind = kind
    self.side = side
    self.crossType = crossType
  }
}

@frozen public struct TradingStateUpdate: Equatable, Sendable {
  public var reason: UInt32
  public var locate: UInt16
  public var state: UInt8
  @inlinable public init(reason: UInt32, locate: UInt16, state: UInt8) {
    self.reason = reason
    self.locate = locate
    self.state = state
  }
}

@frozen public struct OperationalHaltUpdate: Equatable, Sendable {
  public var locate: UInt16
  public var marketCode: UInt8
  public var action: UInt8
  @inlinable public init(locate: UInt16, marketCode: UInt8, action: UInt8) {
    self.locate = locate
    self.marketCode = marketCode
    self.action = action
  }
}

@frozen public struct RegSHOUpdate: Equatable, Sendable {
  public var locate: UInt16
  public var action: UInt8
  @inlinable public init(locate: UInt16, action: UInt8) {
    self.locate = locate
    self.action = action
  }
}

@frozen public struct LULDCollarUpdate: Equatable, Sendable {
  public var referencePrice: UInt32
  public var upperPrice: UInt32
  public var lowerPrice: UInt32
  public var collarExtension: UInt32
  public var locate: UInt16
  @inlinable public init(
    referencePrice: UInt32, upperPrice: UInt32, lowerPrice: UInt32, collarExtension: UInt32, locate: UInt16
  ) {
    self.referencePrice = referencePrice
    self.upperPrice = upperPrice
    self.lowerPrice = lowerPrice
    self.collarExtension = collarExtension
    self.locate = locate
  }
}

@frozen public struct ImbalanceUpdate: Equatable, Sendable {
  public var pairedShares: UInt64
  public var imbalanceShares: UInt64
  public var farPrice: UInt32
  public var nearPrice: UInt32
  public var referencePrice: UInt32
  public var locate: UInt16
  public var direction: UInt8
  public var crossType: UInt8
  public var priceVariation: UInt8
  @inlinable public init(
    pairedShares: UInt64, imbalanceShares: UInt64, farPrice: UInt32, nearPrice: UInt32, referencePrice: UInt32,
    locate: UInt16, direction: UInt8, crossType: UInt8, priceVariation: UInt8
  ) {
    self.pairedShares = pairedShares
    self.imbalanceShares = imbalanceShares
    self.farPrice = farPrice
    self.nearPrice = nearPrice
    self.referencePrice = referencePrice
    self.locate = locate
    self.direction = direction
    self.crossType = crossType
    self.priceVariation = priceVariation
  }
}

@frozen public struct FeedStatusUpdate: Equatable, Sendable {
  public var lostFromSequence: UInt64
  public var lostMessages: UInt64
  public var stale: Bool
  @inlinable public init(lostFromSequence: UInt64, lostMessages: UInt64, stale: Bool) {
    self.lostFromSequence = lostFromSequence
    self.lostMessages = lostMessages
    self.stale = stale
  }
}

@frozen public struct FeedBookLevel: Equatable, Sendable {
  public var price: UInt32
  public var orders: UInt32
  public var shares: UInt64
  @inlinable public init(price: UInt32, orders: UInt32, shares: UInt64) {
    self.price = price
    self.orders = orders
    self.shares = shares
  }
}

/// A packet: channel, per-channel sequence, timestamp and its updates.
@frozen public struct PacketView {
  @usableFromInline let root: FlatTable

  /// Nil unless the bytes hold a quotecast packet root (identifier "QCF1") inside the buffer.
  @inlinable
  public init?(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count >= 8,
      loadLittleEndian(base, 4, as: UInt32.self) == 0x3146_4351  // "QCF1"
    else { return nil }
    let rootPosition = Int(loadLittleEndian(base, 0, as: UInt32.self))
    guard let root = FlatTable(base: base, byteCount: bytes.count, position: rootPosition) else { return nil }
    self.root = root
  }

  @inlinable public var channel: UInt16 { root.scalar(4, UInt16.self) }
  @inlinable public var sequence: UInt64 { root.scalar(6, UInt64.self) }
  @inlinable public var timestampNs: UInt64 { root.scalar(8, UInt64.self) }
  /// The publisher's session: a new one starts every channel's sequence again from 1.
  @inlinable public var session: UInt64 { root.scalar(12, UInt64.self) }
  @inlinable public var updateCount: Int { root.vector(10, elementBytes: 4)?.count ?? 0 }

  /// The update at `index`, or nil if it is out of range or malformed.
  @inlinable
  public func update(at index: Int) -> UpdateView? {
    guard let (start, count) = root.vector(10, elementBytes: 4), index >= 0, index < count else { return nil }
    let slot = start + index * 4
    let target = slot + Int(loadLittleEndian(root.base, slot, as: UInt32.self))
    guard let table = FlatTable(base: root.base, byteCount: root.byteCount, position: target) else { return nil }
    return UpdateView(table: table)
  }
}

/// One update: exactly one payload accessor returns non-nil on a well-formed packet.
@frozen public struct UpdateView {
  @usableFromInline let table: FlatTable

  @inlinable init(table: FlatTable) { self.table = table }

  @inlinable public var upstreamSequence: UInt64 { table.scalar(4, UInt64.self) }
  @inlinable public var timestampNs: UInt64 { table.scalar(6, UInt64.self) }

  @inlinable
  public var level: LevelUpdate? {
    guard let at = table.structField(8, size: 24) else { return nil }
    let b = table.base
    return LevelUpdate(
      price: loadLittleEndian(b, at, as: UInt32.self), orders: loadLittleEndian(b, at + 4, as: UInt32.self),
      shares: loadLittleEndian(b, at + 8, as: UInt64.self), locate: loadLittleEndian(b, at + 16, as: UInt16.self),
      levelIndex: loadLittleEndian(b, at + 18, as: UInt16.self), side: b.load(fromByteOffset: at + 20, as: UInt8.self),
      action: b.load(fromByteOffset: at + 21, as: UInt8.self))
  }

  @inlinable
  public var trade: TradeUpdate? {
    guard let at = table.structField(10, size: 32) else { return nil }
    let b = table.base
    return TradeUpdate(
      matchNumber: loadLittleEndian(b, at, as: UInt64.self), shares: loadLittleEndian(b, at + 8, as: UInt64.self),
      price: loadLittleEndian(b, at + 16, as: UInt32.self), locate: loadLittleEndian(b, at + 20, as: UInt16.self),
      kind: b.load(fromByteOffset: at + 22, as: UInt8.self), side: b.load(fromByteOffset: at + 23, as: UInt8.self),
      crossType: b.load(fromByteOffset: at + 24, as: UInt8.self))
  }

  /// The broken trade's match number.
  @inlinable
  public var tradeBreak: UInt64? {
    guard let at = table.structField(12, size: 8) else { return nil }
    return loadLittleEndian(table.base, at, as: UInt64.self)
  }

  @inlinable
  public var tradingState: TradingStateUpdate? {
    guard let at = table.structField(14, size: 8) else { return nil }
    let b = table.base
    return TradingStateUpdate(
      reason: loadLittleEndian(b, at, as: UInt32.self), locate: loadLittleEndian(b, at + 4, as: UInt16.self),
      state: b.load(fromByteOffset: at + 6, as: UInt8.self))
  }

  @inlinable
  public var operationalHalt: OperationalHaltUpdate? {
    guard let at = table.structField(16, size: 4) else { return nil }
    let b = table.base
    return OperationalHaltUpdate(
      locate: loadLittleEndian(b, at, as: UInt16.self), marketCode: b.load(fromByteOffset: at + 2, as: UInt8.self),
      action: b.load(fromByteOffset: at + 3, as: UInt8.self))
  }

  @inlinable
  public var regSHO: RegSHOUpdate? {
    guard let at = table.structField(18, size: 4) else { return nil }
    return RegSHOUpdate(
      locate: loadLittleEndian(table.base, at, as: UInt16.self),
      action: table.base.load(fromByteOffset: at + 2, as: UInt8.self))
  }

  @inlinable
  public var luldCollar: LULDCollarUpdate? {
    guard let at = table.structField(20, size: 20) else { return nil }
    let b = table.base
    return LULDCollarUpdate(
      referencePrice: loadLittleEndian(b, at, as: UInt32.self),
      upperPrice: loadLittleEndian(b, at + 4, as: UInt32.self),
      lowerPrice: loadLittleEndian(b, at + 8, as: UInt32.self),
      collarExtension: loadLittleEndian(b, at + 12, as: UInt32.self),
      locate: loadLittleEndian(b, at + 16, as: UInt16.self))
  }

  @inlinable
  public var imbalance: ImbalanceUpdate? {
    guard let at = table.structField(22, size: 40) else { return nil }
    let b = table.base
    return ImbalanceUpdate(
      pairedShares: loadLittleEndian(b, at, as: UInt64.self),
      imbalanceShares: loadLittleEndian(b, at + 8, as: UInt64.self),
      farPrice: loadLittleEndian(b, at + 16, as: UInt32.self),
      nearPrice: loadLittleEndian(b, at + 20, as: UInt32.self),
      referencePrice: loadLittleEndian(b, at + 24, as: UInt32.self),
      locate: loadLittleEndian(b, at + 28, as: UInt16.self),
      direction: b.load(fromByteOffset: at + 30, as: UInt8.self),
      crossType: b.load(fromByteOffset: at + 31, as: UInt8.self),
      priceVariation: b.load(fromByteOffset: at + 32, as: UInt8.self))
  }

  /// The system event code (ASCII).
  @inlinable
  public var systemEvent: UInt8? {
    guard let at = table.structField(24, size: 1) else { return nil }
    return table.base.load(fromByteOffset: at, as: UInt8.self)
  }

  /// The breached market-wide circuit breaker level (ASCII).
  @inlinable
  public var marketWideBreaker: UInt8? {
    guard let at = table.structField(26, size: 1) else { return nil }
    return table.base.load(fromByteOffset: at, as: UInt8.self)
  }

  @inlinable public var definition: DefinitionView? { table.table(28).map(DefinitionView.init) }
  @inlinable public var snapshot: SnapshotView? { table.table(30).map(SnapshotView.init) }
  /// A gateway instance's layout (snapshot channel only).
  @inlinable public var layout: LayoutView? { table.table(34).map(LayoutView.init) }

  /// The feed's health: an unrecovered upstream gap makes it stale.
  @inlinable
  public var feedStatus: FeedStatusUpdate? {
    guard let at = table.structField(32, size: 24) else { return nil }
    let b = table.base
    return FeedStatusUpdate(
      lostFromSequence: loadLittleEndian(b, at, as: UInt64.self),
      lostMessages: loadLittleEndian(b, at + 8, as: UInt64.self),
      stale: b.load(fromByteOffset: at + 16, as: UInt8.self) != 0)
  }

  /// The instrument the update concerns; nil for market-wide updates (system events, circuit
  /// breakers, trade breaks) and malformed ones.
  @inlinable
  public var locate: UInt16? {
    if let level { return level.locate }
    if let trade { return trade.locate }
    if let tradingState { return tradingState.locate }
    if let definition { return definition.locate }
    if let imbalance { return imbalance.locate }
    if let luldCollar { return luldCollar.locate }
    if let regSHO { return regSHO.locate }
    if let operationalHalt { return operationalHalt.locate }
    if let snapshot { return snapshot.locate }
    return nil
  }
}

@frozen public struct DefinitionView {
  @usableFromInline let table: FlatTable
  @inlinable init(_ table: FlatTable) { self.table = table }

  @inlinable public var locate: UInt16 { table.scalar(4, UInt16.self) }
  /// The symbol's bytes (trailing spaces trimmed), or empty.
  @inlinable public var symbolBytes: UnsafeRawBufferPointer {
    table.string(6) ?? UnsafeRawBufferPointer(start: nil, count: 0)
  }
  public var symbol: String { String(decoding: symbolBytes, as: UTF8.self) }
  @inlinable public var channel: UInt16 { table.scalar(8, UInt16.self) }
  @inlinable public var roundLotSize: UInt32 { table.scalar(10, UInt32.self) }
  @inlinable public var marketCategory: UInt8 { table.scalar(12, UInt8.self) }
  @inlinable public var financialStatus: UInt8 { table.scalar(14, UInt8.self) }
  @inlinable public var issueClassification: UInt8 { table.scalar(16, UInt8.self) }
  @inlinable public var roundLotsOnly: UInt8 { table.scalar(18, UInt8.self) }
  @inlinable public var issueSubType: UInt16 { table.scalar(20, UInt16.self) }
  @inlinable public var authenticity: UInt8 { table.scalar(22, UInt8.self) }
  @inlinable public var shortSaleThreshold: UInt8 { table.scalar(24, UInt8.self) }
  @inlinable public var ipoFlag: UInt8 { table.scalar(26, UInt8.self) }
  @inlinable public var luldTier: UInt8 { table.scalar(28, UInt8.self) }
  @inlinable public var etpFlag: UInt8 { table.scalar(30, UInt8.self) }
  @inlinable public var etpLeverageFactor: UInt32 { table.scalar(32, UInt32.self) }
  @inlinable public var inverse: UInt8 { table.scalar(34, UInt8.self) }
}

/// The schema version this reader understands (FeedLayout.schema_version): a layout of a newer
/// one means the packets may hold what this reader would misread.
public let feedSchemaVersion: UInt16 = 1

/// What one gateway instance says of the feed (`FeedLayout` in quotecast.fbs).
@frozen public struct LayoutView {
  @usableFromInline let table: FlatTable
  @inlinable init(_ table: FlatTable) { self.table = table }

  @inlinable public var schemaVersion: UInt16 { table.scalar(4, UInt16.self) }
  @inlinable public var channelCount: UInt16 { table.scalar(6, UInt16.self) }
  /// Channel n's group: this address + n, on this port (IPv4 host order).
  public var groupBase: (address: UInt32, port: UInt16)? { group(8) }
  public var snapshotGroup: (address: UInt32, port: UInt16)? { group(10) }
  @inlinable public var session: UInt64 { table.scalar(14, UInt64.self) }
  @inlinable public var depth: UInt16 { table.scalar(16, UInt16.self) }
  @inlinable public var snapshotDepth: UInt16 { table.scalar(18, UInt16.self) }
  @inlinable public var datagramBytes: UInt16 { table.scalar(20, UInt16.self) }
  public var instance: String {
    String(decoding: table.string(22) ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self)
  }

  /// Whether this instance publishes `channel`.
  public func owns(channel: Int) -> Bool {
    guard channel >= 0, let (start, count) = table.vector(12, elementBytes: 1), channel / 8 < count else {
      return false
    }
    return table.base.load(fromByteOffset: start + channel / 8, as: UInt8.self) & (1 << UInt8(channel % 8)) != 0
  }

  public var ownedChannels: [Int] { (0..<Int(channelCount)).filter(owns(channel:)) }

  func group(_ vtableOffset: Int) -> (address: UInt32, port: UInt16)? {
    guard let at = table.structField(vtableOffset, size: 8) else { return nil }
    return (loadLittleEndian(table.base, at, as: UInt32.self), loadLittleEndian(table.base, at + 4, as: UInt16.self))
  }
}

@frozen public struct SnapshotView {
  @usableFromInline let table: FlatTable
  @inlinable init(_ table: FlatTable) { self.table = table }

  @inlinable public var locate: UInt16 { table.scalar(4, UInt16.self) }
  @inlinable public var depth: UInt16 { table.scalar(6, UInt16.self) }
  @inlinable public var tradingState: UInt8 { table.scalar(8, UInt8.self) }
  @inlinable public var lastChannelSequence: UInt64 { table.scalar(14, UInt64.self) }
  @inlinable public var regSHOAction: UInt8 { table.scalar(16, UInt8.self) }
  @inlinable public var operationalHaltAction: UInt8 { table.scalar(18, UInt8.self) }
  @inlinable public var bidCount: Int { table.vector(10, elementBytes: 16)?.count ?? 0 }
  @inlinable public var askCount: Int { table.vector(12, elementBytes: 16)?.count ?? 0 }
  @inlinable public func bid(_ index: Int) -> FeedBookLevel? { level(10, index) }
  @inlinable public func ask(_ index: Int) -> FeedBookLevel? { level(12, index) }

  @inlinable
  func level(_ vtableOffset: Int, _ index: Int) -> FeedBookLevel? {
    guard let (start, count) = table.vector(vtableOffset, elementBytes: 16), index >= 0, index < count else {
      return nil
    }
    let at = start + index * 16
    let b = table.base
    return FeedBookLevel(
      price: loadLittleEndian(b, at, as: UInt32.self), orders: loadLittleEndian(b, at + 4, as: UInt32.self),
      shares: loadLittleEndian(b, at + 8, as: UInt64.self))
  }
}
