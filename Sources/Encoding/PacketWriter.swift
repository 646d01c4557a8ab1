import Book
import CQuotecastSchema

/// How much room one update needs, in each backend's terms.
struct UpdateShape {
  let field: LaidPacketWriter.Field
  let payloadBytes: Int
  let trailingBytes: Int
  /// An upper bound on what libflatbuffers adds for it.
  let flatBufferBytes: Int

  static let level = UpdateShape(.level, payloadBytes: 24)
  static let trade = UpdateShape(.trade, payloadBytes: 32)
  static let tradeBreak = UpdateShape(.tradeBreak, payloadBytes: 8)
  static let feedStatus = UpdateShape(.feedStatus, payloadBytes: 24)
  static let definition = UpdateShape(
    .definition, payloadBytes: 4, trailingBytes: LaidPacketWriter.definitionTrailingBytes,
    flatBufferBytes: Int(QC_DEFINITION_UPDATE_MAX_BYTES))

  static func status(_ kind: BookEvent.StatusKind) -> UpdateShape {
    switch kind {
    case .tradingAction: UpdateShape(.tradingState, payloadBytes: 8)
    case .operationalHalt: UpdateShape(.operationalHalt, payloadBytes: 4)
    case .regSHO: UpdateShape(.regSHO, payloadBytes: 4)
    case .luldCollar: UpdateShape(.luldCollar, payloadBytes: 20)
    case .imbalance: UpdateShape(.imbalance, payloadBytes: 40)
    case .systemEvent: UpdateShape(.systemEvent, payloadBytes: 1)
    case .marketWideBreaker: UpdateShape(.marketWideBreaker, payloadBytes: 1)
    }
  }

  static func snapshot(depth: Int) -> UpdateShape {
    UpdateShape(
      .snapshot, payloadBytes: 4, trailingBytes: LaidPacketWriter.snapshotTrailingBytes(depth: depth),
      flatBufferBytes: UpdateEncoder.snapshotBound(depth: depth))
  }

  init(
    _ field: LaidPacketWriter.Field, payloadBytes: Int, trailingBytes: Int = 0,
    flatBufferBytes: Int = Int(QC_STRUCT_UPDATE_MAX_BYTES)
  ) {
    self.field = field
    self.payloadBytes = payloadBytes
    self.trailingBytes = trailingBytes
    self.flatBufferBytes = flatBufferBytes
  }
}

/// A full-book snapshot's fields, with its levels in the wire layout.
struct SnapshotFields {
  var upstreamSequence: UInt64
  var timestampNs: UInt64
  var locate: UInt16
  var depth: Int
  var tradingState: UInt8
  var bids: UnsafeMutablePointer<PriceLevelWire>
  var bidCount: Int
  var asks: UnsafeMutablePointer<PriceLevelWire>
  var askCount: Int
  var lastChannelSequence: UInt64
  var regSHOAction: UInt8
  var operationalHaltAction: UInt8
}

/// One backend's packet builders, one per channel. The encoder's work is generic over it and the
/// backend is chosen once per call, not per update. Adding never closes a packet: the encoder
/// asks `fits` first and closes the open packet when the update would not fit.
protocol PacketWriter {
  func pendingUpdates(_ channel: UInt16) -> Int
  func fits(_ channel: UInt16, _ shape: UpdateShape) -> Bool
  /// Writes the channel's finished packet at `destination`; its length, or nil when it needs more than `room`.
  func finish(
    _ channel: UInt16, sequence: UInt64, nowNs: UInt64, session: UInt64, into destination: UnsafeMutableRawPointer,
    room: Int
  ) -> Int?
  func reset(_ channel: UInt16)

  func addLevel(_ channel: UInt16, _ event: BookEvent)
  func addTrade(_ channel: UInt16, _ event: BookEvent)
  func addTradeBreak(_ channel: UInt16, _ event: BookEvent)
  func addStatus(_ channel: UInt16, _ kind: BookEvent.StatusKind, _ event: BookEvent)
  func addFeedStatus(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64,
    state: UInt8)
  func addDefinition(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, _ definition: InstrumentDefinition,
    locate: UInt16, ownChannel: UInt16)
  func addSnapshot(_ channel: UInt16, _ snapshot: SnapshotFields)
}

/// The hand-laid writer (the default): our own FlatBuffers layout, written in place.
struct LaidWriters: PacketWriter {
  let laid: UnsafeMutablePointer<LaidPacketWriter>

  @inline(__always) func pendingUpdates(_ channel: UInt16) -> Int { laid[Int(channel)].count }

  @inline(__always) func fits(_ channel: UInt16, _ shape: UpdateShape) -> Bool {
    laid[Int(channel)].fits(shape.field, payloadBytes: shape.payloadBytes, trailingBytes: shape.trailingBytes)
  }

  func finish(
    _ channel: UInt16, sequence: UInt64, nowNs: UInt64, session: UInt64, into destination: UnsafeMutableRawPointer,
    room: Int
  ) -> Int? {
    laid[Int(channel)].finish(
      channel: channel, sequence: sequence, timestampNs: nowNs, session: session, into: destination, room: room)
  }

  func reset(_ channel: UInt16) { laid[Int(channel)].reset() }

  @inline(__always) func addLevel(_ channel: UInt16, _ event: BookEvent) {
    laid[Int(channel)].addLevel(
      event.upstreamSequence, event.timestampNs, locate: event.locate, side: event.side, action: event.code,
      index: event.levelIndex, price: event.price, shares: event.shares, orders: event.orders)
  }

  @inline(__always) func addTrade(_ channel: UInt16, _ event: BookEvent) {
    laid[Int(channel)].addTrade(
      event.upstreamSequence, event.timestampNs, locate: event.locate, kind: event.code, side: event.side,
      crossType: event.crossType, price: event.price, shares: event.shares, matchNumber: event.matchNumber)
  }

  func addTradeBreak(_ channel: UInt16, _ event: BookEvent) {
    laid[Int(channel)].addTradeBreak(event.upstreamSequence, event.timestampNs, matchNumber: event.matchNumber)
  }

  func addStatus(_ channel: UInt16, _ kind: BookEvent.StatusKind, _ event: BookEvent) {
    let sequence = event.upstreamSequence
    let timestampNs = event.timestampNs
    let locate = event.locate
    switch kind {
    case .tradingAction:
      laid[Int(channel)].addTradingState(
        sequence, timestampNs, locate: locate, state: event.tradingState, reason: event.tradingReason)
    case .operationalHalt:
      laid[Int(channel)].addOperationalHalt(
        sequence, timestampNs, locate: locate, marketCode: event.haltMarketCode, action: event.haltAction)
    case .regSHO:
      laid[Int(channel)].addRegSHO(sequence, timestampNs, locate: locate, action: event.regSHOAction)
    case .luldCollar:
      laid[Int(channel)].addLULDCollar(
        sequence, timestampNs, locate: locate, reference: event.collarReferencePrice, upper: event.collarUpperPrice,
        lower: event.collarLowerPrice, collarExtension: event.collarExtension)
    case .imbalance:
      laid[Int(channel)].addImbalance(
        sequence, timestampNs, locate: locate, paired: event.pairedShares, imbalance: event.imbalanceShares,
        far: event.farPrice, near: event.nearPrice, reference: event.currentReferencePrice,
        direction: event.imbalanceDirection, crossType: event.crossType, variation: event.priceVariationIndicator)
    case .systemEvent:
      laid[Int(channel)].addSystemEvent(sequence, timestampNs, code: event.systemEventCode)
    case .marketWideBreaker:
      laid[Int(channel)].addMarketWideBreaker(sequence, timestampNs, level: event.breachedLevel)
    }
  }

  func addFeedStatus(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64,
    state: UInt8
  ) {
    laid[Int(channel)].addFeedStatus(
      upstreamSequence, timestampNs, lostFrom: lostFrom, lostMessages: lostMessages, state: state)
  }

  func addDefinition(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, _ definition: InstrumentDefinition,
    locate: UInt16, ownChannel: UInt16
  ) {
    definition.withSymbolBytes { symbol in
      let fields = qc_definition_fields(
        symbol: symbol.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, symbolLength: symbol.count,
        roundLotSize: definition.roundLotSize, etpLeverageFactor: definition.etpLeverageFactor, locate: locate,
        channel: ownChannel, issueSubType: definition.issueSubType, marketCategory: definition.marketCategory,
        financialStatus: definition.financialStatus, issueClassification: definition.issueClassification,
        roundLotsOnly: definition.roundLotsOnly, authenticity: definition.authenticity,
        shortSaleThreshold: definition.shortSaleThreshold, ipoFlag: definition.ipoFlag,
        luldTier: definition.luldTier, etpFlag: definition.etpFlag, inverse: definition.inverse)
      laid[Int(channel)].addDefinition(upstreamSequence, timestampNs, fields)
    }
  }

  func addSnapshot(_ channel: UInt16, _ snapshot: SnapshotFields) {
    laid[Int(channel)].addSnapshot(
      snapshot.upstreamSequence, snapshot.timestampNs, locate: snapshot.locate, depth: UInt16(snapshot.depth),
      tradingState: snapshot.tradingState, bids: snapshot.bids, bidCount: snapshot.bidCount, asks: snapshot.asks,
      askCount: snapshot.askCount, lastChannelSequence: snapshot.lastChannelSequence,
      regSHOAction: snapshot.regSHOAction, operationalHaltAction: snapshot.operationalHaltAction)
  }
}

/// libflatbuffers through CQuotecastSchema: the reference the hand-laid writer is checked against.
struct FlatBufferWriters: PacketWriter {
  let encoders: UnsafeMutablePointer<OpaquePointer>
  let maxDatagramBytes: Int

  @inline(__always) func pendingUpdates(_ channel: UInt16) -> Int { Int(qc_encoder_count(encoders[Int(channel)])) }

  @inline(__always) func fits(_ channel: UInt16, _ shape: UpdateShape) -> Bool {
    let encoder = encoders[Int(channel)]
    let count = Int(qc_encoder_count(encoder))
    let projected =
      qc_encoder_size(encoder) + shape.flatBufferBytes + 4 * (count + 1) + Int(QC_PACKET_OVERHEAD_MAX_BYTES)
    return projected <= maxDatagramBytes && count + 1 < Int(QC_MAX_UPDATES_PER_PACKET)
  }

  func finish(
    _ channel: UInt16, sequence: UInt64, nowNs: UInt64, session: UInt64, into destination: UnsafeMutableRawPointer,
    room: Int
  ) -> Int? {
    var length = 0
    let bytes = qc_encoder_finish(encoders[Int(channel)], channel, sequence, nowNs, session, &length)!
    guard length <= room else { return nil }
    destination.copyMemory(from: bytes, byteCount: length)
    return length
  }

  func reset(_ channel: UInt16) { qc_encoder_reset(encoders[Int(channel)]) }

  func addLevel(_ channel: UInt16, _ event: BookEvent) {
    qc_encoder_add_level(
      encoders[Int(channel)], event.upstreamSequence, event.timestampNs, event.locate, event.side, event.code,
      event.levelIndex, event.price, event.shares, event.orders)
  }

  func addTrade(_ channel: UInt16, _ event: BookEvent) {
    qc_encoder_add_trade(
      encoders[Int(channel)], event.upstreamSequence, event.timestampNs, event.locate, event.code, event.side,
      event.crossType, event.price, event.shares, event.matchNumber)
  }

  func addTradeBreak(_ channel: UInt16, _ event: BookEvent) {
    qc_encoder_add_trade_break(encoders[Int(channel)], event.upstreamSequence, event.timestampNs, event.matchNumber)
  }

  func addStatus(_ channel: UInt16, _ kind: BookEvent.StatusKind, _ event: BookEvent) {
    let encoder = encoders[Int(channel)]
    let sequence = event.upstreamSequence
    let timestampNs = event.timestampNs
    let locate = event.locate
    switch kind {
    case .tradingAction:
      qc_encoder_add_trading_state(encoder, sequence, timestampNs, locate, event.tradingState, event.tradingReason)
    case .operationalHalt:
      qc_encoder_add_operational_halt(
        encoder, sequence, timestampNs, locate, event.haltMarketCode, event.haltAction)
    case .regSHO:
      qc_encoder_add_reg_sho(encoder, sequence, timestampNs, locate, event.regSHOAction)
    case .luldCollar:
      qc_encoder_add_luld_collar(
        encoder, sequence, timestampNs, locate, event.collarReferencePrice, event.collarUpperPrice,
        event.collarLowerPrice, event.collarExtension)
    case .imbalance:
      qc_encoder_add_imbalance(
        encoder, sequence, timestampNs, locate, event.pairedShares, event.imbalanceShares, event.farPrice,
        event.nearPrice, event.currentReferencePrice, event.imbalanceDirection, event.crossType,
        event.priceVariationIndicator)
    case .systemEvent:
      qc_encoder_add_system_event(encoder, sequence, timestampNs, event.systemEventCode)
    case .marketWideBreaker:
      qc_encoder_add_market_wide_breaker(encoder, sequence, timestampNs, event.breachedLevel)
    }
  }

  func addFeedStatus(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64,
    state: UInt8
  ) {
    qc_encoder_add_feed_status(
      encoders[Int(channel)], upstreamSequence, timestampNs, lostFrom, lostMessages, state)
  }

  func addDefinition(
    _ channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, _ definition: InstrumentDefinition,
    locate: UInt16, ownChannel: UInt16
  ) {
    definition.withSymbolBytes { symbol in
      var fields = qc_definition(
        symbol: (symbol.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
        symbol_length: symbol.count, round_lot_size: definition.roundLotSize,
        etp_leverage_factor: definition.etpLeverageFactor, locate: locate, channel: ownChannel,
        issue_sub_type: definition.issueSubType, market_category: definition.marketCategory,
        financial_status: definition.financialStatus, issue_classification: definition.issueClassification,
        round_lots_only: definition.roundLotsOnly, authenticity: definition.authenticity,
        short_sale_threshold: definition.shortSaleThreshold, ipo_flag: definition.ipoFlag,
        luld_tier: definition.luldTier, etp_flag: definition.etpFlag, inverse: definition.inverse)
      qc_encoder_add_definition(encoders[Int(channel)], upstreamSequence, timestampNs, &fields)
    }
  }

  func addSnapshot(_ channel: UInt16, _ snapshot: SnapshotFields) {
    snapshot.bids.withMemoryRebound(to: qc_book_level.self, capacity: snapshot.depth) { bids in
      snapshot.asks.withMemoryRebound(to: qc_book_level.self, capacity: snapshot.depth) { asks in
        qc_encoder_add_snapshot(
          encoders[Int(channel)], snapshot.upstreamSequence, snapshot.timestampNs, snapshot.locate,
          UInt16(snapshot.depth), snapshot.tradingState, bids, snapshot.bidCount, asks, snapshot.askCount,
          snapshot.lastChannelSequence, snapshot.regSHOAction, snapshot.operationalHaltAction)
      }
    }
  }
}
