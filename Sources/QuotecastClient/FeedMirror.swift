import Transport

/// One gateway instance's layout, as it published it on the snapshot channel.
public struct PublisherLayout: Equatable, Sendable {
  public var schemaVersion: UInt16
  public var channelCount: Int
  /// Channel n's group: this address + n, same port.
  public var groupBase: IPv4Endpoint
  public var snapshotGroup: IPv4Endpoint
  public var ownedChannels: [Int]
  public var session: UInt64
  public var depth: Int
  public var snapshotDepth: Int
  public var datagramBytes: Int
  public var instance: String

  public init(_ view: LayoutView) {
    schemaVersion = view.schemaVersion
    channelCount = Int(view.channelCount)
    let base = view.groupBase ?? (0, 0)
    groupBase = IPv4Endpoint(address: base.address, port: base.port)
    let snapshot = view.snapshotGroup ?? (0, 0)
    snapshotGroup = IPv4Endpoint(address: snapshot.address, port: snapshot.port)
    ownedChannels = view.ownedChannels
    session = view.session
    depth = Int(view.depth)
    snapshotDepth = Int(view.snapshotDepth)
    datagramBytes = Int(view.datagramBytes)
    instance = view.instance
  }

  /// Whether two layouts describe the same channels (owners may differ).
  public func sameChannels(as other: PublisherLayout) -> Bool {
    channelCount == other.channelCount && groupBase == other.groupBase && snapshotGroup == other.snapshotGroup
  }
}

/// One instrument as a subscriber sees it: the published depth of each side, and its status.
/// An owned copy (it allocates); the receiving thread reads books in place with `withBook`.
public struct MirroredBook: Equatable, Sendable {
  public var symbol = ""
  public var bids: [FeedBookLevel] = []
  public var asks: [FeedBookLevel] = []
  public var tradingState: UInt8 = 0
  public var lastTrade: TradeUpdate?
  /// False while the book cannot be trusted: after a gap, or before a late joiner's snapshot.
  public var synced = false

  public init() {}
}

/// A book read in place, valid only inside `FeedMirror.withBook`.
public struct MirroredBookView {
  public let locate: UInt16
  /// Space-free symbol bytes packed little-endian into 8 bytes (see `FeedMirror.packSymbol`).
  public let packedSymbol: UInt64
  public let bids: UnsafeBufferPointer<FeedBookLevel>
  public let asks: UnsafeBufferPointer<FeedBookLevel>
  public let tradingState: UInt8
  public let lastTrade: TradeUpdate?
  public let synced: Bool
}

/// Rebuilds books from packets and keeps them exact through loss and late joins.
///
/// Per channel it follows the packet sequence. A channel followed from sequence 1 needs nothing
/// more. A gap (or joining late) marks the channel's instruments stale and buffers its packets; a
/// snapshot of a stale instrument, stamped with the channel sequence it is consistent with,
/// replaces its book, the buffered packets after that sequence are applied to it, and it is exact
/// again. Duplicates are ignored. Gaps, recoveries and stale instruments are counted.
///
/// Storage is preallocated (`maxInstruments` books of `depth` levels a side), so applying a packet
/// allocates nothing once every instrument has been seen, unless a recovery is buffering packets.
/// Not thread-safe: one thread applies and reads (`FeedSubscriber` adds a lock for other readers).
public final class FeedMirror {
  /// Levels per side kept: at least the gateway's published depth (`channels.depth`).
  public let depth: Int
  public let maxInstruments: Int
  /// The channel id snapshots arrive on (`channels` in the gateway's config), if known.
  public let snapshotChannel: UInt16?
  /// How many incremental channels the feed has (instrument `locate` is on `locate % channelCount`);
  /// lets a snapshot place an instrument before any of its incrementals arrive.
  public let channelCount: Int?
  public let maxBufferedPackets: Int

  public private(set) var packets: UInt64 = 0
  public private(set) var heartbeats: UInt64 = 0
  public private(set) var updates: UInt64 = 0
  public private(set) var gaps: UInt64 = 0
  public private(set) var duplicates: UInt64 = 0
  public private(set) var recoveries: UInt64 = 0
  public private(set) var malformed: UInt64 = 0
  /// Buffered packets dropped because a recovery took too long (the instrument stays stale).
  public private(set) var bufferOverflows: UInt64 = 0
  /// Buffered packets re-applied to a recovered instrument, bridging its snapshot to the present.
  public private(set) var bridgedPackets: UInt64 = 0
  /// A gateway lost upstream messages it could not recover: the books on its channels may be
  /// wrong (`isUpstreamStale(channel:)` says which). Set by a FeedStatus update (incremental or
  /// snapshot channel); it stays until the publisher's session does.
  public var feedStale: Bool { staleChannelCount > 0 }
  /// Channels whose publisher said its upstream feed lost messages for good.
  public private(set) var staleChannelCount = 0
  public private(set) var upstreamLostMessages: UInt64 = 0
  /// Channels whose publisher started a new session (a restarted gateway): their sequences began
  /// again, so their instruments were resynchronized from snapshots of the new session.
  public private(set) var publisherRestarts: UInt64 = 0
  /// Every gateway instance's latest layout (one per instance name), from the snapshot channel.
  public private(set) var layouts: [PublisherLayout] = []
  /// Counts new layouts (an instance started, restarted or changed), for a subscriber to notice.
  public private(set) var layoutChanges: UInt64 = 0
  /// A layout of a schema newer than this reader's (`feedSchemaVersion`) arrived: packets may
  /// hold what this reader would misread, so a subscriber must stop.
  public private(set) var newerSchemaVersion: UInt16?
  /// Updates for instruments beyond `maxInstruments`, dropped.
  public private(set) var instrumentOverflows: UInt64 = 0

  struct Instrument {
    var locate: UInt16
    var packedSymbol: UInt64 = 0
    var bidCount = 0
    var askCount = 0
    var tradingState: UInt8 = 0
    var synced = false
    var channel: UInt16 = FeedMirror.noChannel
    var lastTrade: TradeUpdate?
  }

  struct ChannelState {
    var seen = false
    /// The publisher session the sequence belongs to.
    var session: UInt64 = 0
    var nextSequence: UInt64 = 0
    /// True once followed without a gap since sequence 1 or since the last recovery of all.
    var trusted = false
    /// Every packet since this channel lost sync, in order (copies: the datagram is gone).
    var buffered: [(sequence: UInt64, bytes: [UInt8])] = []
    /// Its publisher lost upstream messages for good (this session).
    var upstreamStale = false
  }

  static let noChannel = UInt16.max
  static let maxChannels = 1025
  /// locate → index into `instruments`, or -1.
  let slotOfLocate: UnsafeMutablePointer<Int32>
  let instruments: UnsafeMutablePointer<Instrument>
  /// Per instrument: `depth` bids, then `depth` asks.
  let levels: UnsafeMutablePointer<FeedBookLevel>
  public private(set) var instrumentCount = 0
  let channels: UnsafeMutablePointer<ChannelState>

  public init(
    depth: Int = 10, channelCount: Int? = nil, maxInstruments: Int = 16_384, maxBufferedPackets: Int = 100_000
  ) {
    precondition(depth >= 1 && maxInstruments >= 1 && maxInstruments <= 65_536)
    self.depth = depth
    self.maxInstruments = maxInstruments
    self.channelCount = channelCount
    self.snapshotChannel = channelCount.map { UInt16($0) }
    self.maxBufferedPackets = maxBufferedPackets
    slotOfLocate = .allocate(capacity: 65_536)
    slotOfLocate.initialize(repeating: -1, count: 65_536)
    instruments = .allocate(capacity: maxInstruments)
    levels = .allocate(capacity: maxInstruments * 2 * depth)
    channels = .allocate(capacity: Self.maxChannels)
    channels.initialize(repeating: ChannelState(), count: Self.maxChannels)
  }

  deinit {
    slotOfLocate.deallocate()
    instruments.deinitialize(count: instrumentCount)
    instruments.deallocate()
    levels.deallocate()
    channels.deinitialize(count: Self.maxChannels)
    channels.deallocate()
  }

  // MARK: Reading

  /// Instruments not (yet) exact.
  public var staleCount: Int {
    var stale = 0
    for slot in 0..<instrumentCount where !instruments[slot].synced { stale += 1 }
    return stale
  }

  /// Every instrument seen, in the order first seen.
  public var locates: [UInt16] { (0..<instrumentCount).map { instruments[$0].locate } }

  /// Reads one book in place, without copying or allocating; nil if the instrument is unknown.
  @inline(__always)
  public func withBook<Result>(locate: UInt16, _ body: (MirroredBookView) -> Result) -> Result? {
    let slot = Int(slotOfLocate[Int(locate)])
    guard slot >= 0 else { return nil }
    let instrument = instruments[slot]
    let base = levels + slot * 2 * depth
    return body(
      MirroredBookView(
        locate: locate, packedSymbol: instrument.packedSymbol,
        bids: UnsafeBufferPointer(start: base, count: instrument.bidCount),
        asks: UnsafeBufferPointer(start: base + depth, count: instrument.askCount),
        tradingState: instrument.tradingState, lastTrade: instrument.lastTrade, synced: instrument.synced))
  }

  /// An owned copy of one book.
  public func book(locate: UInt16) -> MirroredBook? {
    withBook(locate: locate) { view in
      var book = MirroredBook()
      book.symbol = Self.unpackSymbol(view.packedSymbol)
      book.bids = Array(view.bids)
      book.asks = Array(view.asks)
      book.tradingState = view.tradingState
      book.lastTrade = view.lastTrade
      book.synced = view.synced
      return book
    }
  }

  /// The instrument with this symbol, if a definition named it.
  public func locate(ofSymbol symbol: String) -> UInt16? {
    let packed = Self.packSymbol(symbol)
    for slot in 0..<instrumentCount where instruments[slot].packedSymbol == packed { return instruments[slot].locate }
    return nil
  }

  public func book(symbol: String) -> MirroredBook? { locate(ofSymbol: symbol).flatMap { book(locate: $0) } }

  /// The packed symbol of an instrument (0 until its definition arrives): compare with `packSymbol`.
  @inline(__always)
  public func packedSymbol(locate: UInt16) -> UInt64 {
    let slot = Int(slotOfLocate[Int(locate)])
    return slot >= 0 ? instruments[slot].packedSymbol : 0
  }

  /// Every book, copied (for tools and tests; allocates).
  public var books: [UInt16: MirroredBook] {
    var books: [UInt16: MirroredBook] = [:]
    for slot in 0..<instrumentCount {
      let locate = instruments[slot].locate
      books[locate] = book(locate: locate)
    }
    return books
  }

  /// Up to 8 symbol bytes, trailing spaces dropped, packed little-endian: a symbol compares as
  /// one integer on the receiving thread.
  public static func packSymbol(_ symbol: String) -> UInt64 {
    var packed: UInt64 = 0
    for (index, byte) in symbol.utf8.prefix(8).enumerated() where byte != UInt8(ascii: " ") {
      packed |= UInt64(byte) << (8 * UInt64(index))
    }
    return packed
  }

  @inline(__always)
  static func packSymbol(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var packed: UInt64 = 0
    var index = 0
    while index < min(8, bytes.count) {
      let byte = bytes[index]
      if byte != UInt8(ascii: " ") { packed |= UInt64(byte) << (8 * UInt64(index)) }
      index += 1
    }
    return packed
  }

  public static func unpackSymbol(_ packed: UInt64) -> String {
    var bytes: [UInt8] = []
    var rest = packed
    while rest != 0 {
      bytes.append(UInt8(truncatingIfNeeded: rest))
      rest >>= 8
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  // MARK: Applying

  /// The instrument's slot, taking a free one the first time; nil when all are taken.
  @inline(__always)
  func slot(for locate: UInt16) -> Int? {
    let existing = Int(slotOfLocate[Int(locate)])
    if existing >= 0 { return existing }
    guard instrumentCount < maxInstruments else {
      instrumentOverflows &+= 1
      return nil
    }
    let slot = instrumentCount
    (instruments + slot).initialize(to: Instrument(locate: locate))
    slotOfLocate[Int(locate)] = Int32(slot)
    instrumentCount += 1
    return slot
  }

  func channel(of locate: UInt16) -> UInt16? {
    let slot = Int(slotOfLocate[Int(locate)])
    if slot >= 0 && instruments[slot].channel != Self.noChannel { return instruments[slot].channel }
    return channelCount.map { UInt16(Int(locate) % $0) }
  }

  /// What became of a packet.
  public enum Disposition: Equatable, Sendable {
    /// Incremental updates, applied (or buffered for instruments waiting for a snapshot).
    case applied
    case duplicate
    case heartbeat
    /// Snapshot-channel definitions and snapshots, used for recovery.
    case snapshots
    case malformed
  }

  /// Applies one packet; false if it could not be decoded.
  @discardableResult
  public func apply(_ bytes: UnsafeRawBufferPointer) -> Bool { receive(bytes) != .malformed }

  /// Applies one packet and says what it was.
  public func receive(_ bytes: UnsafeRawBufferPointer) -> Disposition {
    guard let packet = PacketView(bytes) else {
      malformed &+= 1
      return .malformed
    }
    return receive(packet, bytes)
  }

  /// The same, for a packet already viewed (`bytes` are its datagram, kept if a recovery buffers it).
  public func receive(_ packet: PacketView, _ bytes: UnsafeRawBufferPointer) -> Disposition {
    packets &+= 1
    let channel = packet.channel
    // A layout travels alone in its packet; it is recognised on any channel id, since after a
    // change of layout the snapshot channel's id may be one this mirror does not expect.
    if channel == snapshotChannel || (packet.updateCount == 1 && packet.update(at: 0)?.layout != nil) {
      applySnapshots(packet)
      return .snapshots
    }
    guard Int(channel) < Self.maxChannels else {
      malformed &+= 1
      return .malformed
    }
    let state = channels + Int(channel)
    if state.pointee.seen && packet.session != state.pointee.session {
      // The publisher restarted: its sequences begin again, and nothing it sent before is a base for
      // what it sends now. The channel's instruments wait for snapshots of the new session.
      publisherRestarts &+= 1
      loseSync(channel, countGap: false)
      // What the old session lost is not the new one's: a restarted gateway says again if it is stale.
      markUpstreamStale(channel, false)
      state.pointee.session = packet.session
      state.pointee.nextSequence = packet.updateCount == 0 ? packet.sequence &+ 1 : packet.sequence
      if packet.updateCount == 0 {
        heartbeats &+= 1
        return .heartbeat
      }
    }
    if !state.pointee.seen { state.pointee.session = packet.session }
    if packet.updateCount == 0 {
      heartbeats &+= 1
      // A heartbeat carries the last sequence sent: anything after what we hold is missing. The
      // stream goes on after it, so a snapshot stamped with that sequence can recover the channel.
      if !state.pointee.seen {
        // Joining an idle channel: nothing to rebuild from but its snapshots.
        state.pointee.seen = true
        state.pointee.nextSequence = packet.sequence &+ 1
        state.pointee.trusted = packet.sequence == 0
        if packet.sequence != 0 { loseSync(channel, countGap: false) }
      } else if packet.sequence >= state.pointee.nextSequence {
        loseSync(channel)
        state.pointee.nextSequence = packet.sequence &+ 1
      }
      return .heartbeat
    }
    if !state.pointee.seen {
      state.pointee.seen = true
      state.pointee.nextSequence = packet.sequence
      state.pointee.trusted = packet.sequence == 1
      if packet.sequence != 1 { loseSync(channel, countGap: false) }
    }
    if packet.sequence < state.pointee.nextSequence {
      duplicates &+= 1
      return .duplicate
    }
    if packet.sequence > state.pointee.nextSequence {
      gaps &+= 1
      loseSync(channel, countGap: false)
    }
    state.pointee.nextSequence = packet.sequence &+ 1  // wraps only on a hostile sequence; never traps
    let trusted = state.pointee.trusted
    if !trusted {
      if state.pointee.buffered.count >= maxBufferedPackets {
        state.pointee.buffered.removeFirst()
        bufferOverflows &+= 1
      }
      state.pointee.buffered.append((packet.sequence, Array(bytes)))
    }
    applyUpdates(packet, channel: channel, onlyLocate: nil, onlySynced: !trusted)
    return .applied
  }

  /// Keeps one layout per instance; the same session again (every cycle) costs no allocation.
  func noteLayout(_ view: LayoutView) {
    if view.schemaVersion > feedSchemaVersion {
      newerSchemaVersion = max(newerSchemaVersion ?? 0, view.schemaVersion)
      return
    }
    let session = view.session
    if layouts.contains(where: { $0.session == session }) { return }
    let layout = PublisherLayout(view)
    if let index = layouts.firstIndex(where: { $0.instance == layout.instance }) {
      layouts[index] = layout
    } else {
      layouts.append(layout)
    }
    layoutChanges &+= 1
  }

  /// A stale status on an incremental channel is that channel's; on the snapshot channel it is
  /// the channels of the instance whose session sent it (every channel, if its layout is unknown).
  func noteFeedStatus(_ status: FeedStatusUpdate, incrementalChannel: UInt16?, session: UInt64) {
    upstreamLostMessages = max(upstreamLostMessages, status.lostMessages)
    guard status.stale else { return }
    if let channel = incrementalChannel {
      markUpstreamStale(channel, true)
    } else if let layout = layouts.first(where: { $0.session == session }) {
      for owned in layout.ownedChannels where owned < Self.maxChannels { markUpstreamStale(UInt16(owned), true) }
    } else {
      for channel in 0..<(channelCount ?? Self.maxChannels - 1) { markUpstreamStale(UInt16(channel), true) }
    }
  }

  func markUpstreamStale(_ channel: UInt16, _ stale: Bool) {
    let state = channels + Int(channel)
    guard state.pointee.upstreamStale != stale else { return }
    state.pointee.upstreamStale = stale
    staleChannelCount += stale ? 1 : -1
  }

  /// Whether the gateway writing `channel` lost upstream messages for good: its books may be wrong.
  public func isUpstreamStale(channel: UInt16) -> Bool {
    Int(channel) < Self.maxChannels && channels[Int(channel)].upstreamStale
  }

  /// The same for the channel an instrument is on (every channel's, if the channel is not known).
  public func isUpstreamStale(locate: UInt16) -> Bool {
    guard let channel = channel(of: locate) else { return feedStale }
    return isUpstreamStale(channel: channel)
  }

  /// The last packet sequence seen on `channel` (0 before any).
  public func lastSequence(channel: UInt16) -> UInt64 {
    guard Int(channel) < Self.maxChannels, channels[Int(channel)].seen else { return 0 }
    return channels[Int(channel)].nextSequence &- 1
  }

  /// Whether an instrument's book is exact now (false if unknown).
  @inline(__always)
  public func isSynced(locate: UInt16) -> Bool {
    let slot = Int(slotOfLocate[Int(locate)])
    return slot >= 0 && instruments[slot].synced
  }

  /// Marks the channel's instruments stale and starts buffering its packets.
  func loseSync(_ channel: UInt16, countGap: Bool = true) {
    if countGap { gaps &+= 1 }
    channels[Int(channel)].trusted = false
    channels[Int(channel)].buffered.removeAll(keepingCapacity: true)
    for slot in 0..<instrumentCount where instruments[slot].channel == channel { instruments[slot].synced = false }
  }

  /// Applies a packet's updates. `onlySynced`: skip instruments that are waiting for a snapshot.
  func applyUpdates(_ packet: PacketView, channel: UInt16, onlyLocate: UInt16?, onlySynced: Bool) {
    let trusted = channels[Int(channel)].trusted
    for index in 0..<packet.updateCount {
      guard let update = packet.update(at: index) else {
        malformed &+= 1
        continue
      }
      if onlyLocate == nil { updates &+= 1 }
      guard let locate = update.locate else {
        if let status = update.feedStatus {
          noteFeedStatus(status, incrementalChannel: channel, session: packet.session)
        }
        continue
      }
      if let onlyLocate, locate != onlyLocate { continue }
      let isNew = slotOfLocate[Int(locate)] < 0
      guard let slot = slot(for: locate) else { continue }
      let instrument = instruments + slot
      instrument.pointee.channel = channel
      if isNew { instrument.pointee.synced = trusted }
      let definition = update.definition
      if onlySynced && !instrument.pointee.synced && definition == nil { continue }  // stale until its snapshot
      if let level = update.level {
        apply(level, slot: slot)
      } else if let trade = update.trade {
        instrument.pointee.lastTrade = trade
      } else if let state = update.tradingState {
        instrument.pointee.tradingState = state.state
      } else if let definition {
        instrument.pointee.packedSymbol = Self.packSymbol(definition.symbolBytes)
      }
    }
  }

  func applySnapshots(_ packet: PacketView) {
    for index in 0..<packet.updateCount {
      guard let update = packet.update(at: index) else {
        malformed &+= 1
        continue
      }
      if let status = update.feedStatus {
        noteFeedStatus(status, incrementalChannel: nil, session: packet.session)
        continue
      }
      if let layout = update.layout {
        noteLayout(layout)
        continue
      }
      if let definition = update.definition {
        // Definitions cycle with the snapshots: a late joiner learns symbols and channels here.
        guard let slot = slot(for: definition.locate) else { continue }
        instruments[slot].packedSymbol = Self.packSymbol(definition.symbolBytes)
        instruments[slot].channel = definition.channel
        continue
      }
      guard let snapshot = update.snapshot else { continue }
      let locate = snapshot.locate
      // Only a snapshot of the session the channel is in: its sequence numbers mean nothing in another.
      guard let channel = channel(of: locate), Int(channel) < Self.maxChannels, channels[Int(channel)].seen,
        channels[Int(channel)].session == packet.session
      else {
        continue
      }
      guard let slot = slot(for: locate) else { continue }
      let instrument = instruments + slot
      instrument.pointee.channel = channel
      guard !instrument.pointee.synced else { continue }
      let state = channels + Int(channel)
      // The buffer must bridge the snapshot to the present: it must hold every packet after it.
      let after = snapshot.lastChannelSequence
      let firstBuffered = state.pointee.buffered.first?.sequence ?? state.pointee.nextSequence
      // (after < nextSequence first: it keeps after + 1 from overflowing on a hostile snapshot.)
      guard after < state.pointee.nextSequence, after + 1 >= firstBuffered else { continue }
      let base = levels + slot * 2 * depth
      var count = 0
      while count < min(snapshot.bidCount, depth), let level = snapshot.bid(count) {
        base[count] = level
        count += 1
      }
      instrument.pointee.bidCount = count
      count = 0
      while count < min(snapshot.askCount, depth), let level = snapshot.ask(count) {
        base[depth + count] = level
        count += 1
      }
      instrument.pointee.askCount = count
      instrument.pointee.tradingState = snapshot.tradingState
      instrument.pointee.synced = true
      for (sequence, bytes) in state.pointee.buffered where sequence > after {
        bridgedPackets &+= 1
        bytes.withUnsafeBytes { raw in
          if let replay = PacketView(raw) {
            applyUpdates(replay, channel: channel, onlyLocate: locate, onlySynced: false)
          }
        }
      }
      recoveries &+= 1
      // Once every instrument of the channel is exact again, stop buffering.
      var allSynced = true
      for other in 0..<instrumentCount where instruments[other].channel == channel && !instruments[other].synced {
        allSynced = false
        break
      }
      if allSynced {
        state.pointee.trusted = true
        state.pointee.buffered.removeAll(keepingCapacity: true)
      }
    }
  }

  @inline(__always)
  func apply(_ level: LevelUpdate, slot: Int) {
    let isBid = level.side == FeedSide.bid.rawValue
    let side = levels + slot * 2 * depth + (isBid ? 0 : depth)
    var count = isBid ? instruments[slot].bidCount : instruments[slot].askCount
    let index = Int(level.levelIndex)
    let value = FeedBookLevel(price: level.price, orders: level.orders, shares: level.shares)
    switch level.action {
    case FeedLevelAction.new.rawValue:
      guard index <= count, index < depth else { return malformed &+= 1 }
      // Shift the worse levels down one; the worst falls off at full depth.
      let moving = min(count, depth - 1) - index
      if moving > 0 { shift(side + index, to: side + index + 1, count: moving) }
      side[index] = value
      count = min(count + 1, depth)
    case FeedLevelAction.change.rawValue:
      guard index < count else { return malformed &+= 1 }
      side[index] = value
    default:
      guard index < count else { return malformed &+= 1 }
      let moving = count - index - 1
      if moving > 0 { shift(side + index + 1, to: side + index, count: moving) }
      count -= 1
    }
    if isBid { instruments[slot].bidCount = count } else { instruments[slot].askCount = count }
  }

  /// memmove: the ranges overlap.
  @inline(__always)
  func shift(_ from: UnsafeMutablePointer<FeedBookLevel>, to: UnsafeMutablePointer<FeedBookLevel>, count: Int) {
    UnsafeMutableRawPointer(to).copyMemory(
      from: UnsafeRawPointer(from), byteCount: count * MemoryLayout<FeedBookLevel>.stride)
  }
}
