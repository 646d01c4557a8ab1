import CQuotecastSchema
import QuotecastClient

/// Re-encodes the updates of a packet that a subscriber wants (by instrument; updates without one,
/// market-wide, always pass) into a packet with the same channel, sequence, timestamp and session.
/// Through libflatbuffers: the edge is off the hot path.
final class PacketFilter {
  let encoder: OpaquePointer

  init(maxBytes: Int) {
    guard let encoder = qc_encoder_create(max(4096, maxBytes * 2)) else { fatalError("out of memory") }
    self.encoder = encoder
  }

  deinit { qc_encoder_destroy(encoder) }

  enum Result {
    case none
    /// Every update passes: send the packet as it is.
    case all
    /// Some do: these bytes, valid until the next call.
    case some(UnsafeRawBufferPointer)
  }

  func filter(_ packet: PacketView, wants: (UInt16) -> Bool) -> Result {
    let count = packet.updateCount
    var kept = 0
    for index in 0..<count {
      guard let update = packet.update(at: index) else { continue }
      if update.locate.map(wants) ?? true { kept += 1 }
    }
    if kept == 0 { return .none }
    if kept == count { return .all }
    qc_encoder_reset(encoder)
    for index in 0..<count {
      guard let update = packet.update(at: index), update.locate.map(wants) ?? true else { continue }
      add(update)
    }
    var length = 0
    guard
      let bytes = qc_encoder_finish(
        encoder, packet.channel, packet.sequence, packet.timestampNs, packet.session, &length)
    else { return .none }
    return .some(UnsafeRawBufferPointer(start: bytes, count: length))
  }

  func add(_ update: UpdateView) {
    let sequence = update.upstreamSequence
    let timestampNs = update.timestampNs
    if let level = update.level {
      qc_encoder_add_level(
        encoder, sequence, timestampNs, level.locate, level.side, level.action, level.levelIndex, level.price,
        level.shares, level.orders)
    } else if let trade = update.trade {
      qc_encoder_add_trade(
        encoder, sequence, timestampNs, trade.locate, trade.kind, trade.side, trade.crossType, trade.price,
        trade.shares, trade.matchNumber)
    } else if let match = update.tradeBreak {
      qc_encoder_add_trade_break(encoder, sequence, timestampNs, match)
    } else if let state = update.tradingState {
      qc_encoder_add_trading_state(encoder, sequence, timestampNs, state.locate, state.state, state.reason)
    } else if let halt = update.operationalHalt {
      qc_encoder_add_operational_halt(encoder, sequence, timestampNs, halt.locate, halt.marketCode, halt.action)
    } else if let regSHO = update.regSHO {
      qc_encoder_add_reg_sho(encoder, sequence, timestampNs, regSHO.locate, regSHO.action)
    } else if let collar = update.luldCollar {
      qc_encoder_add_luld_collar(
        encoder, sequence, timestampNs, collar.locate, collar.referencePrice, collar.upperPrice, collar.lowerPrice,
        collar.collarExtension)
    } else if let imbalance = update.imbalance {
      qc_encoder_add_imbalance(
        encoder, sequence, timestampNs, imbalance.locate, imbalance.pairedShares, imbalance.imbalanceShares,
        imbalance.farPrice, imbalance.nearPrice, imbalance.referencePrice, imbalance.direction,
        imbalance.crossType, imbalance.priceVariation)
    } else if let code = update.systemEvent {
      qc_encoder_add_system_event(encoder, sequence, timestampNs, code)
    } else if let level = update.marketWideBreaker {
      qc_encoder_add_market_wide_breaker(encoder, sequence, timestampNs, level)
    } else if let status = update.feedStatus {
      qc_encoder_add_feed_status(
        encoder, sequence, timestampNs, status.lostFromSequence, status.lostMessages, status.stale ? 1 : 0)
    } else if let definition = update.definition {
      DefinitionRecord(definition).withDefinition { qc_encoder_add_definition(encoder, sequence, timestampNs, $0) }
    }
  }
}

/// An instrument definition kept by the edge (the symbol copied out of its datagram), to send
/// with a subscriber's snapshots.
struct DefinitionRecord {
  var symbol: [UInt8]
  var fields: qc_definition

  init(_ view: DefinitionView) {
    symbol = Array(view.symbolBytes) + [0]  // never empty, so its buffer has an address
    fields = qc_definition(
      symbol: nil, symbol_length: 0, round_lot_size: view.roundLotSize, etp_leverage_factor: view.etpLeverageFactor,
      locate: view.locate, channel: view.channel, issue_sub_type: view.issueSubType,
      market_category: view.marketCategory, financial_status: view.financialStatus,
      issue_classification: view.issueClassification, round_lots_only: view.roundLotsOnly,
      authenticity: view.authenticity, short_sale_threshold: view.shortSaleThreshold, ipo_flag: view.ipoFlag,
      luld_tier: view.luldTier, etp_flag: view.etpFlag, inverse: view.inverse)
  }

  var symbolText: String { String(decoding: symbol.dropLast(), as: UTF8.self) }

  func withDefinition<Result>(_ body: (UnsafePointer<qc_definition>) -> Result) -> Result {
    symbol.withUnsafeBufferPointer { characters in
      characters.withMemoryRebound(to: CChar.self) { name in
        var fields = self.fields
        fields.symbol = name.baseAddress
        fields.symbol_length = name.count - 1
        return body(&fields)
      }
    }
  }
}
