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

  /// Whether a snapshot of `depth` levels a side fits in one datagram of `datagramBytes`.
  public static func snapshotFits(depth: Int, datagramBytes: Int) -> Bool {
    UpdateEncoder.snapshotBound(depth: depth) + Int(QC_PACKET_OVERHEAD_MAX_BYTES) <= datagramBytes
  }

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
  /// `flush`'s scratch: the channels with open packets, as `updates << 16 | (0xFFFF - channel)`, largest first.
  let flushOrder: UnsafeMutablePointer<Int>

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
    flushOrder = .allocate(capacity: config.channels + 1)
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
    flushOrder.deallocate()
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

  /// The hand-laid writers and the libflatbuffers ones, over this encoder's per-channel storage.
  var laidWriters: LaidWriters { LaidWriters(laid: laid) }
  var flatBufferWriters: FlatBufferWriters {
    FlatBufferWriters(encoders: encoders, maxDatagramBytes: config.maxDatagramBytes)
  }

  /// Encodes events in order, through the backend chosen once here.
  public func encode(_ events: UnsafeBufferPointer<BookEvent>) {
    if handLaid { encode(events, laidWriters) } else { encode(events, flatBufferWriters) }
  }

  public func encode(_ event: BookEvent) {
    if handLaid { encode(event, laidWriters) } else { encode(event, flatBufferWriters) }
  }

  @inline(__always)
  func encode<Writer: PacketWriter>(_ events: UnsafeBufferPointer<BookEvent>, _ writer: Writer) {
    for event in events { encode(event, writer) }
  }

  @inline(__always)
  func encode<Writer: PacketWriter>(_ event: BookEvent, _ writer: Writer) {
    switch event.kind {
    case .level:
      let channel = routing.channel(for: event.locate)
      makeRoom(channel, .level, writer)
      writer.addLevel(channel, event)
    case .trade:
      let channel = routing.channel(for: event.locate)
      makeRoom(channel, .trade, writer)
      writer.addTrade(channel, event)
    case .tradeBreak:
      // A break names only a match number: every channel this encoder writes gets it.
      for channel in writtenChannels {
        makeRoom(channel, .tradeBreak, writer)
        writer.addTradeBreak(channel, event)
      }
    case .status:
      guard let kind = event.statusKind else { return }
      let shape = UpdateShape.status(kind)
      if kind == .systemEvent || kind == .marketWideBreaker {
        // Market-wide: every channel this encoder writes.
        for channel in writtenChannels {
          makeRoom(channel, shape, writer)
          writer.addStatus(channel, kind, event)
        }
      } else {
        let channel = routing.channel(for: event.locate)
        makeRoom(channel, shape, writer)
        writer.addStatus(channel, kind, event)
      }
    case .definition:
      guard let definition = event.definition else { return }
      encodeDefinition(
        definition.pointee, locate: event.locate, upstreamSequence: event.upstreamSequence,
        timestampNs: event.timestampNs, into: routing.channel(for: event.locate), writer)
    }
  }

  /// Closes the channel's open packet when one more update of `shape` would not fit it.
  @inline(__always)
  func makeRoom<Writer: PacketWriter>(_ channel: UInt16, _ shape: UpdateShape, _ writer: Writer) {
    if writer.pendingUpdates(channel) > 0 && !writer.fits(channel, shape) { close(channel: channel, writer) }
  }

  /// Encodes an instrument definition into `target` (its own channel, or the snapshot channel);
  /// the definition always names the instrument's own channel.
  public func encodeDefinition(
    _ definition: InstrumentDefinition, locate: UInt16, upstreamSequence: UInt64, timestampNs: UInt64,
    into target: UInt16
  ) {
    if handLaid {
      encodeDefinition(
        definition, locate: locate, upstreamSequence: upstreamSequence, timestampNs: timestampNs, into: target,
        laidWriters)
    } else {
      encodeDefinition(
        definition, locate: locate, upstreamSequence: upstreamSequence, timestampNs: timestampNs, into: target,
        flatBufferWriters)
    }
  }

  func encodeDefinition<Writer: PacketWriter>(
    _ definition: InstrumentDefinition, locate: UInt16, upstreamSequence: UInt64, timestampNs: UInt64,
    into target: UInt16, _ writer: Writer
  ) {
    makeRoom(target, .definition, writer)
    writer.addDefinition(
      target, upstreamSequence: upstreamSequence, timestampNs: timestampNs, definition, locate: locate,
      ownChannel: routing.channel(for: locate))
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
    let snapshot = SnapshotFields(
      upstreamSequence: upstreamSequence, timestampNs: timestampNs, locate: locate, depth: depth,
      tradingState: books.tradingState(locate: locate), bids: wireBids, bidCount: bidCount, asks: wireAsks,
      askCount: askCount, lastChannelSequence: lastChannelSequence, regSHOAction: books.regSHOAction(locate: locate),
      operationalHaltAction: books.operationalHaltAction(locate: locate))
    if handLaid {
      makeRoom(channel, .snapshot(depth: depth), laidWriters)
      laidWriters.addSnapshot(channel, snapshot)
    } else {
      makeRoom(channel, .snapshot(depth: depth), flatBufferWriters)
      flatBufferWriters.addSnapshot(channel, snapshot)
    }
  }

  /// The feed's health (see FeedStatus in the schema) on `channel`.
  public func encodeFeedStatus(
    channel: UInt16, upstreamSequence: UInt64, timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64,
    stale: Bool
  ) {
    if handLaid {
      encodeFeedStatus(channel, upstreamSequence, timestampNs, lostFrom, lostMessages, stale, laidWriters)
    } else {
      encodeFeedStatus(channel, upstreamSequence, timestampNs, lostFrom, lostMessages, stale, flatBufferWriters)
    }
  }

  func encodeFeedStatus<Writer: PacketWriter>(
    _ channel: UInt16, _ upstreamSequence: UInt64, _ timestampNs: UInt64, _ lostFrom: UInt64,
    _ lostMessages: UInt64, _ stale: Bool, _ writer: Writer
  ) {
    makeRoom(channel, .feedStatus, writer)
    writer.addFeedStatus(
      channel, upstreamSequence: upstreamSequence, timestampNs: timestampNs, lostFrom: lostFrom,
      lostMessages: lostMessages, state: stale ? 1 : 0)
  }

  /// Closes every channel's open packet (the end of an input packet).
  public func flush() {
    if handLaid { flush(laidWriters) } else { flush(flatBufferWriters) }
  }

  /// The packets that carry the most updates close first: the sender sends in this order, and each
  /// packet waits for those before it (on loopback, for their delivery), so the updates' mean latency
  /// is lowest this way. Ties keep channel order; the snapshot channel closes last. Past
  /// `orderedFlushLimit` open packets (a backlog over many channels) they close in channel order,
  /// so the ordering's cost stays bounded.
  func flush<Writer: PacketWriter>(_ writer: Writer) {
    var open = 0
    for channel in 0..<routing.channelCount {
      let updates = writer.pendingUpdates(UInt16(channel))
      guard updates > 0 else { continue }
      open += 1
      guard open <= Self.orderedFlushLimit else { continue }
      let key = (updates << 16) | (0xFFFF - channel)
      var position = open - 1
      while position > 0 && flushOrder[position - 1] < key {
        flushOrder[position] = flushOrder[position - 1]
        position -= 1
      }
      flushOrder[position] = key
    }
    if open > Self.orderedFlushLimit {
      for channel in 0..<routing.channelCount where writer.pendingUpdates(UInt16(channel)) > 0 {
        close(channel: UInt16(channel), writer)
      }
    } else {
      for position in 0..<open { close(channel: UInt16(0xFFFF - (flushOrder[position] & 0xFFFF)), writer) }
    }
    if writer.pendingUpdates(snapshotChannel) > 0 { close(channel: snapshotChannel, writer) }
  }

  static var orderedFlushLimit: Int { 32 }

  /// A heartbeat on an idle channel: a packet with no updates whose sequence is the channel's
  /// last (0 before the first), so it uses no sequence number and a subscriber can spot a gap.
  /// Any open updates are closed into a normal packet first.
  public func heartbeat(channel: UInt16) {
    if handLaid { heartbeat(channel, laidWriters) } else { heartbeat(channel, flatBufferWriters) }
  }

  func heartbeat<Writer: PacketWriter>(_ channel: UInt16, _ writer: Writer) {
    if writer.pendingUpdates(channel) > 0 { close(channel: channel, writer) }
    close(channel: channel, writer, heartbeat: true)
  }

  @inline(__always)
  func updatesPending(channel: UInt16) -> Int {
    handLaid ? laidWriters.pendingUpdates(channel) : flatBufferWriters.pendingUpdates(channel)
  }

  /// Whether `encodeLayout` has a layout to publish.
  public var hasLayout: Bool { layoutStorage != nil }

  /// The layout, in a packet of its own on the snapshot channel (rare and variable-sized, so always
  /// through libflatbuffers; the open snapshot packet closes first). Allocates nothing once warm.
  public func encodeLayout(upstreamSequence: UInt64, timestampNs: UInt64) {
    guard let layoutStorage else { return }
    let channel = snapshotChannel
    if handLaid { flushChannel(channel, laidWriters) } else { flushChannel(channel, flatBufferWriters) }
    let encoder = encoders[Int(channel)]
    layoutStorage.withLayout { qc_encoder_add_layout(encoder, upstreamSequence, timestampNs, $0) }
    close(channel: channel, flatBufferWriters)
  }

  func flushChannel<Writer: PacketWriter>(_ channel: UInt16, _ writer: Writer) {
    if writer.pendingUpdates(channel) > 0 { close(channel: channel, writer) }
  }

  /// Finishes the channel's open packet into the output arena, and numbers it (a heartbeat reuses the last number).
  func close<Writer: PacketWriter>(channel: UInt16, _ writer: Writer, heartbeat: Bool = false) {
    let updates = writer.pendingUpdates(channel)
    let sequence = heartbeat ? nextSequence[Int(channel)] - 1 : nextSequence[Int(channel)]
    let offset = (state.pointee.outputUsed + 7) & ~7
    // The packet is finished straight into the output arena (no copy through a packet buffer).
    guard state.pointee.outputCount < outputIndexCapacity && offset <= config.outputArenaBytes,
      let length = writer.finish(
        channel, sequence: sequence, nowNs: state.pointee.nowNs, session: config.session, into: output + offset,
        room: config.outputArenaBytes - offset)
    else {
      preconditionFailure("output arena overflow: the caller must drain before outputBytesFree runs out")
    }
    outputIndex[state.pointee.outputCount] = (channel, Int32(offset), Int32(length))
    state.pointee.outputCount += 1
    state.pointee.outputUsed = offset + length
    if heartbeat {
      state.pointee.counters.heartbeats &+= 1
    } else {
      nextSequence[Int(channel)] = sequence + 1
    }
    state.pointee.counters.packets &+= 1
    state.pointee.counters.updates &+= UInt64(updates)
    state.pointee.counters.bytes &+= UInt64(length)
    writer.reset(channel)
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
