import Book
import CQuotecastSchema

/// How packets are laid out. Both write the same schema; `flatbuffers` (libflatbuffers through
/// CQuotecastSchema) is the reference, `handLaid` the measured-faster default.
public enum EncoderBackend: String, Sendable, Equatable, CaseIterable {
  case handLaid = "hand-laid"
  case flatbuffers
}

public struct EncoderConfig: Sendable, Equatable {
  public var backend = EncoderBackend.handLaid
  public var channels = 1
  /// Largest FlatBuffers packet, which is the UDP payload of one datagram.
  public var maxDatagramBytes = 1400
  /// Levels per side in a full-book snapshot.
  public var snapshotDepth = 10
  /// Finished packets waiting for the caller (bytes); the core drains after every input packet.
  public var outputArenaBytes = 4 << 20
  /// The channels this gateway instance owns (nil: every channel), and which share of them this
  /// encoder writes (see `ChannelPlan`).
  public var ownedChannels: [Int]?
  public var shardIndex = 0
  /// Every packet's `session`: the publisher's start time (Unix ns) live, 0 offline.
  public var session: UInt64 = 0
  /// What `encodeLayout` publishes on the snapshot channel (nil: no layout, as offline).
  public var layout: FeedLayoutInfo?
  public var shardCount = 1

  public init() {}

  public func problems() -> [String] {
    var problems: [String] = []
    if channels < 1 || channels > 1024 { problems.append("channels: must be 1...1024, got \(channels)") }
    if maxDatagramBytes < 512 || maxDatagramBytes > 65507 {
      problems.append("maxDatagramBytes: must be 512...65507, got \(maxDatagramBytes)")
    }
    if snapshotDepth < 1 || snapshotDepth > 1000 {
      problems.append("snapshotDepth: must be 1...1000, got \(snapshotDepth)")
    } else if UpdateEncoder.snapshotBound(depth: snapshotDepth) + QC_PACKET_OVERHEAD_MAX_BYTES
      > maxDatagramBytes
    {
      problems.append("snapshotDepth: a \(snapshotDepth)-level snapshot does not fit in \(maxDatagramBytes) bytes")
    }
    if channels >= 1 && channels <= 1024 {
      problems += ChannelPlan.problems(channels: channels, owned: ownedChannels, shardCount: shardCount)
    }
    if shardIndex < 0 || shardIndex >= shardCount { problems.append("book shard \(shardIndex) of \(shardCount)") }
    if outputArenaBytes < maxDatagramBytes * 4 {
      problems.append("outputArenaBytes: must hold at least 4 datagrams")
    }
    return problems
  }
}

public struct EncoderCounters: Equatable, Sendable {
  public var packets: UInt64 = 0
  /// Of `packets`, the empty heartbeats.
  public var heartbeats: UInt64 = 0
  public var updates: UInt64 = 0
  public var bytes: UInt64 = 0
  public init() {}
}

/// Packs book events into one FlatBuffers packet per channel. A packet closes when the next
/// update might not fit, and every open packet closes at `flush` (the end of each input packet:
/// latency first, never waiting for more). Finished packets collect in a preallocated arena
/// until the caller takes them with `forEachPacket` and `clearOutput`.
public final class UpdateEncoder {
  public let config: EncoderConfig
  /// Which channels this encoder writes, shared with the core's message routing.
  public let routing: ChannelRouting
  public var plan: ChannelPlan { routing.plan }
  /// `plan.written`, preallocated: market-wide updates go to each.
  public var writtenChannels: UnsafeMutableBufferPointer<UInt16> { routing.writtenChannels }
  let layoutStorage: LayoutStorage?
  @usableFromInline let encoders: UnsafeMutablePointer<OpaquePointer>
  @usableFromInline let laid: UnsafeMutablePointer<LaidPacketWriter>
  @usableFromInline let handLaid: Bool
  /// Next packet sequence per channel (from 1).
  @usableFromInline let nextSequence: UnsafeMutablePointer<UInt64>
  @usableFromInline let output: UnsafeMutableRawPointer
  /// (channel, offset, length) triples of finished packets.
  @usableFromInline let outputIndex: UnsafeMutablePointer<(UInt16, Int32, Int32)>
  @usableFromInline let outputIndexCapacity: Int
  @usableFromInline let state: UnsafeMutablePointer<State>
  @usableFromInline let bidLevels: UnsafeMutablePointer<PriceLevel>
  @usableFromInline let askLevels: UnsafeMutablePointer<PriceLevel>
  /// The same levels in the C layout the encoder takes (Swift's PriceLevel layout is its own).
  @usableFromInline let wireLevels: UnsafeMutablePointer<PriceLevelWire>

  @usableFromInline
  struct State {
    @usableFromInline var outputUsed = 0
    @usableFromInline var outputCount = 0
    var counters = EncoderCounters()
    /// The packet timestamp for packets closed during the current batch.
    @usableFromInline var nowNs: UInt64 = 0
  }

  /// An encoder for `config`, writing the channels of `routing` (built from `config` when nil).
  public init(config: EncoderConfig, routing: ChannelRouting? = nil) {
    precondition(config.problems().isEmpty, "invalid EncoderConfig: \(config.problems())")
    self.config = config
    let plan = ChannelPlan(
      channels: config.channels, owned: config.ownedChannels, shardIndex: config.shardIndex,
      shardCount: config.shardCount)
    precondition(routing.map { $0.plan == plan } ?? true, "the routing is of another plan")
    self.routing = routing ?? ChannelRouting(plan: plan)
    layoutStorage = config.layout.map(LayoutStorage.init)
    // Channels 0..<channels carry incrementals; one more, `snapshotChannel`, carries snapshots.
    encoders = .allocate(capacity: config.channels + 1)
    for channel in 0...config.channels {
      guard let encoder = qc_encoder_create(config.maxDatagramBytes * 2) else { fatalError("out of memory") }
      (encoders + channel).initialize(to: encoder)
    }
    handLaid = config.backend == .handLaid
    laid = .allocate(capacity: config.channels + 1)
    for channel in 0...config.channels {
      (laid + channel).initialize(to: LaidPacketWriter(maxDatagramBytes: config.maxDatagramBytes))
    }
    nextSequence = .allocate(capacity: config.channels + 1)
    nextSequence.initialize(repeating: 1, count: config.channels + 1)
    output = .allocate(byteCount: config.outputArenaBytes, alignment: 16)
    outputIndexCapacity = config.outputArenaBytes / 64
    outputIndex = .allocate(capacity: outputIndexCapacity)
    state = .allocate(capacity: 1)
    state.initialize(to: State())
    bidLevels = .allocate(capacity: config.snapshotDepth)
    askLevels = .allocate(capacity: config.snapshotDepth)
    wireLevels = .allocate(capacity: config.snapshotDepth * 2)
  }

  deinit {
    for channel in 0...config.channels {
      qc_encoder_destroy(encoders[channel])
      laid[channel].release()
    }
    encoders.deallocate()
    laid.deallocate()
    nextSequence.deallocate()
    output.deallocate()
    outputIndex.deallocate()
    state.deallocate()
    bidLevels.deallocate()
    askLevels.deallocate()
    wireLevels.deallocate()
  }

  public var counters: EncoderCounters { state.pointee.counters }
  /// The channel id snapshot packets carry: one past the last incremental channel.
  public var snapshotChannel: UInt16 { UInt16(routing.channelCount) }
  /// Whether this encoder writes the channel that carries `locate` (so its shard applies the instrument).
  @inlinable @inline(__always)
  public func writes(locate: UInt16) -> Bool { routing.writes(locate: locate) }
  /// The sequence number the channel's next packet will carry.
  public func nextSequence(channel: UInt16) -> UInt64 { nextSequence[Int(channel)] }

  static func snapshotBound(depth: Int) -> Int {
    QC_SNAPSHOT_UPDATE_BASE_MAX_BYTES + 2 * depth * QC_SNAPSHOT_LEVEL_BYTES
  }

  /// Room the caller must leave in the output arena before encoding one more input packet's worth.
  public var outputBytesFree: Int { config.outputArenaBytes - state.pointee.outputUsed }

  // MARK: Encoding

  /// Sets the timestamp stamped on packets closed from now on.
  @inlinable public func setClock(nowNs: UInt64) { state.pointee.nowNs = nowNs }

  /// Encodes events in order. `books` supplies nothing but is where status messages came from.
  public func encode(_ events: UnsafeBufferPointer<BookEvent>) {
    for event in events { encode(event) }
  }

  public func encode(_ event: BookEvent) {
    let sequence = event.upstreamSequence
    let timestampNs = event.timestampNs
    switch event.kind {
    case .level:
      let channel = routing.channel(for: event.locate)
      if handLaid {
        let writer = reserveLaid(channel: channel, .level, payloadBytes: 24)
        writer.pointee.addLevel(
          sequence, timestampNs, locate: event.locate, side: event.side, action: event.code, index: event.levelIndex,
          price: event.price, shares: event.shares, orders: event.orders)
      } else {
        qc_encoder_add_level(
          reserve(channel: channel, bytes: QC_STRUCT_UPDATE_MAX_BYTES), sequence, timestampNs, event.locate,
          event.side, event.code, event.levelIndex, event.price, event.shares, event.orders)
      }
    case .trade:
      let channel = routing.channel(for: event.locate)
      if handLaid {
        let writer = reserveLaid(channel: channel, .trade, payloadBytes: 32)
        writer.pointee.addTrade(
          sequence, timestampNs, locate: event.locate, kind: event.code, side: event.side, crossType: event.crossType,
          price: event.price, shares: event.shares, matchNumber: event.matchNumber)
      } else {
        qc_encoder_add_trade(
          reserve(channel: channel, bytes: QC_STRUCT_UPDATE_MAX_BYTES), sequence, timestampNs, event.locate,
          event.code, event.side, event.crossType, event.price, event.shares, event.matchNumber)
      }
    case .tradeBreak:
      // A break names only a match number: every channel this encoder writes gets it.
      for channel in writtenChannels {
        if handLaid {
          reserveLaid(channel: channel, .tradeBreak, payloadBytes: 8).pointee.addTradeBreak(
            sequence, timestampNs, matchNumber: event.matchNumber)
        } else {
          qc_encoder_add_trade_break(
            reserve(channel: channel, bytes: QC_STRUCT_UPDATE_MAX_BYTES), sequence, timestampNs, event.matchNumber)
        }
      }
    case .status:
      encodeStatus(event)
    case .definition:
      encodeDefinition(event)
    }
  }

  func encodeStatus(_ event: BookEvent) {
    guard let status = event.statusKind else { return }
    let sequence = event.upstreamSequence
    let timestampNs = event.timestampNs
    let locate = event.locate
    let channel = routing.channel(for: locate)
    let bound = QC_STRUCT_UPDATE_MAX_BYTES
    switch status {
    case .tradingAction:
      if handLaid {
        reserveLaid(channel: channel, .tradingState, payloadBytes: 8).pointee.addTradingState(
          sequence, timestampNs, locate: locate, state: event.tradingState, reason: event.tradingReason)
      } else {
        qc_encoder_add_trading_state(
          reserve(channel: channel, bytes: bound), sequence, timestampNs, locate, event.tradingState,
          event.tradingReason)
      }
    case .operationalHalt:
      if handLaid {
        reserveLaid(channel: channel, .operationalHalt, payloadBytes: 4).pointee.addOperationalHalt(
          sequence, timestampNs, locate: locate, marketCode: event.haltMarketCode, action: event.haltAction)
      } else {
        qc_encoder_add_operational_halt(
          reserve(channel: channel, bytes: bound), sequence, timestampNs, locate, event.haltMarketCode,
          event.haltAction)
      }
    case .regSHO:
      if handLaid {
        reserveLaid(channel: channel, .regSHO, payloadBytes: 4).pointee.addRegSHO(
          sequence, timestampNs, locate: locate, action: event.regSHOAction)
      } else {
        qc_encoder_add_reg_sho(
          reserve(channel: channel, bytes: bound), sequence, timestampNs, locate, event.regSHOAction)
      }
    case .luldCollar:
      if handLaid {
        reserveLaid(channel: channel, .luldCollar, payloadBytes: 20).pointee.addLULDCollar(
          sequence, timestampNs, locate: locate, reference: event.collarReferencePrice,
          upper: event.collarUpperPrice, lower: event.collarLowerPrice, collarExtension: event.collarExtension)
      } else {
        qc_encoder_add_luld_collar(
          reserve(channel: channel, bytes: bound), sequence, timestampNs, locate, event.collarReferencePrice,
          event.collarUpperPrice, event.collarLowerPrice, event.collarExtension)
      }
    case .imbalance:
      if handLaid {
        reserveLaid(channel: channel, .imbalance, payloadBytes: 40).pointee.addImbalance(
          sequence, timestampNs, locate: locate, paired: event.pairedShares, imbalance: event.imbalanceShares,
          far: event.farPrice, near: event.nearPrice, reference: event.currentReferencePrice,
          direction: event.imbalanceDirection, crossType: event.crossType, variation: event.priceVariationIndicator)
      } else {
        qc_encoder_add_imbalance(
          reserve(channel: channel, bytes: bound), sequence, timestampNs, locate, event.pairedShares,
          event.imbalanceShares, event.farPrice, event.nearPrice, event.currentReferencePrice,
          event.imbalanceDirection, event.crossType, event.priceVariationIndicator)
      }
    case .systemEvent:
      // Market-wide: every channel this encoder writes.
      for channel in writtenChannels {
        if handLaid {
          reserveLaid(channel: channel, .systemEvent, payloadBytes: 1).pointee.addSystemEvent(
            sequence, timestampNs, code: event.systemEventCode)
        } else {
          qc_encoder_add_system_event(
            reserve(channel: channel, bytes: bound), sequence, timestampNs, event.systemEventCode)
        }
      }
    case .marketWideBreaker:
      for channel in writtenChannels {
        if handLaid {
          reserveLaid(channel: channel, .marketWideBreaker, payloadBytes: 1).pointee.addMarketWideBreaker(
            sequence, timestampNs, level: event.breachedLevel)
        } else {
          qc_encoder_add_market_wide_breaker(
            reserve(channel: channel, bytes: bound), sequence, timestampNs, event.breachedLevel)
        }
      }
    }
  }

  func encodeDefinition(_ event: BookEvent) {
    guard let definition = event.definition else { return }
    encodeDefinition(
      definition.pointee, locate: event.locate, upstreamSequence: event.upstreamSequence,
      timestampNs: event.timestampNs, into: routing.channel(for: event.locate))
  }

  /// Encodes an instrument definition into `target` (its own channel, or the snapshot channel);
  /// the definition always names the instrument's own channel.
  public func encodeDefinition(
    _ definition: InstrumentDefinition, locate: UInt16, upstreamSequence: UInt64, timestampNs: UInt64,
    into target: UInt16
  ) {
    let channel = routing.channel(for: locate)
    definition.withSymbolBytes { symbol in
      let symbolBytes = symbol.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
      if handLaid {
        let fields = qc_definition_fields(
          symbol: symbolBytes, symbolLength: symbol.count, roundLotSize: definition.roundLotSize,
          etpLeverageFactor: definition.etpLeverageFactor, locate: locate, channel: channel,
          issueSubType: definition.issueSubType, marketCategory: definition.marketCategory,
          financialStatus: definition.financialStatus, issueClassification: definition.issueClassification,
          roundLotsOnly: definition.roundLotsOnly, authenticity: definition.authenticity,
          shortSaleThreshold: definition.shortSaleThreshold, ipoFlag: definition.ipoFlag,
          luldTier: definition.luldTier, etpFlag: definition.etpFlag, inverse: definition.inverse)
        reserveLaid(
          channel: target, .definition, payloadBytes: 4, trailingBytes: LaidPacketWriter.definitionTrailingBytes
        ).pointee.addDefinition(upstreamSequence, timestampNs, fields)
        return
      }
      var fields = qc_definition(
        symbol: symbolBytes.assumingMemoryBound(to: CChar.self), symbol_length: symbol.count,
        round_lot_size: definition.roundLotSize, etp_leverage_factor: definition.etpLeverageFactor, locate: locate,
        channel: channel, issue_sub_type: definition.issueSubType, market_category: definition.marketCategory,
        financial_status: definition.financialStatus, issue_classification: definition.issueClassification,
        round_lots_only: definition.roundLotsOnly, authenticity: definition.authenticity,
        short_sale_threshold: definition.shortSaleThreshold, ipo_flag: definition.ipoFlag,
        luld_tier: definition.luldTier, etp_flag: definition.etpFlag, inverse: definition.inverse)
      let encoder = reserve(channel: target, bytes: QC_DEFINITION_UPDATE_MAX_BYTES)
      qc_encoder_add_definition(encoder, upstreamSequence, timestampNs, &fields)
    }
  }

  /// Encodes a full-book snapshot of one instrument into `channel` (its own, or a snapshot channel).
  public func encodeSnapshot(
    of books: OrderBooks, locate: UInt16, into channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64,
    lastChannelSequence: UInt64
  ) {
    let depth = config.snapshotDepth
    let bidCount = books.topLevels(locate: locate, side: .bid, depth: depth, into: bidLevels)
    let askCount = books.topLevels(locate: locate, side: .ask, depth: depth, into: askLevels)
    let wireBids = wireLevels
    let wireAsks = wireLevels + depth
    for index in 0..<bidCount {
      wireBids[index] = PriceLevelWire(
        price: bidLevels[index].price, orders: bidLevels[index].orders, shares: bidLevels[index].shares)
    }
    for index in 0..<askCount {
      wireAsks[index] = PriceLevelWire(
        price: askLevels[index].price, orders: askLevels[index].orders, shares: askLevels[index].shares)
    }
    let tradingState = books.tradingState(locate: locate)
    let regSHOAction = books.regSHOAction(locate: locate)
    let haltAction = books.operationalHaltAction(locate: locate)
    if handLaid {
      reserveLaid(
        channel: channel, .snapshot, payloadBytes: 4,
        trailingBytes: LaidPacketWriter.snapshotTrailingBytes(depth: depth)
      ).pointee.addSnapshot(
        upstreamSequence, timestampNs, locate: locate, depth: UInt16(depth), tradingState: tradingState,
        bids: wireBids, bidCount: bidCount, asks: wireAsks, askCount: askCount,
        lastChannelSequence: lastChannelSequence, regSHOAction: regSHOAction, operationalHaltAction: haltAction)
      return
    }
    let encoder = reserve(channel: channel, bytes: Self.snapshotBound(depth: depth))
    wireLevels.withMemoryRebound(to: qc_book_level.self, capacity: depth * 2) { levels in
      qc_encoder_add_snapshot(
        encoder, upstreamSequence, timestampNs, locate, UInt16(depth), tradingState, levels, bidCount,
        levels + depth, askCount, lastChannelSequence, regSHOAction, haltAction)
    }
  }

  /// The feed's health (see FeedStatus in the schema) on `channel`.
  public func encodeFeedStatus(
    channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64,
    stale: Bool
  ) {
    if handLaid {
      reserveLaid(channel: channel, .feedStatus, payloadBytes: 24).pointee.addFeedStatus(
        upstreamSequence, timestampNs, lostFrom: lostFrom, lostMessages: lostMessages, state: stale ? 1 : 0)
    } else {
      qc_encoder_add_feed_status(
        reserve(channel: channel, bytes: QC_STRUCT_UPDATE_MAX_BYTES), upstreamSequence, timestampNs, lostFrom,
        lostMessages, stale ? 1 : 0)
    }
  }

  /// The channel's hand-laid writer with room for one more update; closes the open packet first if needed.
  @inline(__always)
  func reserveLaid(
    channel: UInt16, _ field: LaidPacketWriter.Field, payloadBytes: Int, trailingBytes: Int = 0
  ) -> UnsafeMutablePointer<LaidPacketWriter> {
    let writer = laid + Int(channel)
    if writer.pointee.count > 0
      && !writer.pointee.fits(field, payloadBytes: payloadBytes, trailingBytes: trailingBytes)
    {
      close(channel: channel)
    }
    return writer
  }

  /// The channel's encoder with room for `bytes` more; closes the open packet first if needed.
  @inline(__always)
  func reserve(channel: UInt16, bytes: Int) -> OpaquePointer {
    let encoder = encoders[Int(channel)]
    let count = Int(qc_encoder_count(encoder))
    if count > 0 {
      let projected =
        qc_encoder_size(encoder) + bytes + 4 * (count + 1) + QC_PACKET_OVERHEAD_MAX_BYTES
      if projected > config.maxDatagramBytes || count + 1 >= QC_MAX_UPDATES_PER_PACKET {
        close(channel: channel)
      }
    }
    return encoder
  }

  /// Closes every channel's open packet (the end of an input packet).
  public func flush() {
    for channel in 0...routing.channelCount where updatesPending(channel: UInt16(channel)) > 0 {
      close(channel: UInt16(channel))
    }
  }

  /// A heartbeat on an idle channel: a packet with no updates whose sequence is the channel's
  /// last (0 before the first), so it uses no sequence number and a subscriber can spot a gap.
  /// Any open updates are closed into a normal packet first.
  public func heartbeat(channel: UInt16) {
    if updatesPending(channel: channel) > 0 { close(channel: channel) }
    close(channel: channel, heartbeat: true)
  }

  @inline(__always)
  func updatesPending(channel: UInt16) -> Int {
    handLaid ? laid[Int(channel)].count : Int(qc_encoder_count(encoders[Int(channel)]))
  }

  /// Whether `encodeLayout` has a layout to publish.
  public var hasLayout: Bool { layoutStorage != nil }

  /// The layout, in a packet of its own on the snapshot channel (rare and variable-sized, so always
  /// through libflatbuffers; the open snapshot packet closes first). Allocates nothing once warm.
  public func encodeLayout(upstreamSequence: UInt64, timestampNs: UInt64) {
    guard let layoutStorage else { return }
    let channel = snapshotChannel
    if updatesPending(channel: channel) > 0 { close(channel: channel) }
    let encoder = encoders[Int(channel)]
    layoutStorage.withLayout { qc_encoder_add_layout(encoder, upstreamSequence, timestampNs, $0) }
    close(channel: channel, throughLibflatbuffers: true)
  }

  func close(channel: UInt16, heartbeat: Bool = false, throughLibflatbuffers: Bool = false) {
    let handLaid = self.handLaid && !throughLibflatbuffers
    let updates = handLaid ? laid[Int(channel)].count : Int(qc_encoder_count(encoders[Int(channel)]))
    let sequence = heartbeat ? nextSequence[Int(channel)] - 1 : nextSequence[Int(channel)]
    var length = 0
    let bytes: UnsafeRawPointer
    if handLaid {
      let finished = laid[Int(channel)].finish(
        channel: channel, sequence: sequence, timestampNs: state.pointee.nowNs, session: config.session)
      bytes = finished.baseAddress!
      length = finished.count
    } else {
      bytes = UnsafeRawPointer(
        qc_encoder_finish(encoders[Int(channel)], channel, sequence, state.pointee.nowNs, config.session, &length)!)
    }
    let offset = (state.pointee.outputUsed + 7) & ~7
    if offset + length <= config.outputArenaBytes && state.pointee.outputCount < outputIndexCapacity {
      (output + offset).copyMemory(from: bytes, byteCount: length)
      outputIndex[state.pointee.outputCount] = (channel, Int32(offset), Int32(length))
      state.pointee.outputCount += 1
      state.pointee.outputUsed = offset + length
    } else {
      preconditionFailure("output arena overflow: the caller must drain before outputBytesFree runs out")
    }
    if heartbeat {
      state.pointee.counters.heartbeats &+= 1
    } else {
      nextSequence[Int(channel)] = sequence + 1
    }
    state.pointee.counters.packets &+= 1
    state.pointee.counters.updates &+= UInt64(updates)
    state.pointee.counters.bytes &+= UInt64(length)
    if handLaid { laid[Int(channel)].reset() } else { qc_encoder_reset(encoders[Int(channel)]) }
  }

  // MARK: Output

  @inlinable public var pendingPackets: Int { state.pointee.outputCount }

  /// Hands each finished packet, in the order closed, to `body`.
  @inlinable
  public func forEachPacket(_ body: (UInt16, UnsafeRawBufferPointer) throws -> Void) rethrows {
    for index in 0..<state.pointee.outputCount {
      let (channel, offset, length) = outputIndex[index]
      try body(channel, UnsafeRawBufferPointer(start: output + Int(offset), count: Int(length)))
    }
  }

  @inlinable public func clearOutput() {
    state.pointee.outputCount = 0
    state.pointee.outputUsed = 0
  }
}

/// Checks bytes with the FlatBuffers C++ Verifier (structure and file identifier).
public func verifyPacket(_ bytes: UnsafeRawBufferPointer) -> Bool {
  guard let base = bytes.baseAddress else { return false }
  return qc_verify_packet(base.assumingMemoryBound(to: UInt8.self), bytes.count) == 1
}
