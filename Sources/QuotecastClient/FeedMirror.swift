/// One instrument as a subscriber sees it: the published depth of each side, and its status.
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

/// Rebuilds books from packets and keeps them exact through loss and late joins.
///
/// Per channel it follows the packet sequence. A channel followed from sequence 1 needs nothing
/// more. A gap (or joining late) marks the channel's instruments stale and buffers its packets; a
/// snapshot of a stale instrument, stamped with the channel sequence it is consistent with,
/// replaces its book, the buffered packets after that sequence are applied to it, and it is exact
/// again. Duplicates are ignored. Gaps, recoveries and stale instruments are counted.
public final class FeedMirror {
  public let depth: Int
  /// The channel id snapshots arrive on (`channels` in the gateway's config), if known.
  public let snapshotChannel: UInt16?
  public private(set) var books: [UInt16: MirroredBook] = [:]
  public private(set) var packets: UInt64 = 0
  public private(set) var heartbeats: UInt64 = 0
  public private(set) var updates: UInt64 = 0
  public private(set) var gaps: UInt64 = 0
  public private(set) var duplicates: UInt64 = 0
  public private(set) var recoveries: UInt64 = 0
  public private(set) var malformed: UInt64 = 0
  /// Buffered packets dropped because a recovery took too long (the instrument stays stale).
  public private(set) var bufferOverflows: UInt64 = 0
  public let maxBufferedPackets: Int

  struct ChannelState {
    var nextSequence: UInt64
    /// Every packet since this channel lost sync, in order (copies: the datagram is gone).
    var buffered: [(sequence: UInt64, bytes: [UInt8])] = []
    /// True once followed without a gap since sequence 1 or since the last recovery of all.
    var trusted: Bool
  }

  var channels: [UInt16: ChannelState] = [:]
  /// Which channel each instrument is on (from definitions, updates and snapshots).
  var channelOf: [UInt16: UInt16] = [:]

  /// How many incremental channels the feed has (instrument `locate` is on `locate % channelCount`);
  /// lets a snapshot place an instrument before any of its incrementals arrive.
  public let channelCount: Int?

  public init(depth: Int, channelCount: Int? = nil, maxBufferedPackets: Int = 100_000) {
    self.depth = depth
    self.channelCount = channelCount
    self.snapshotChannel = channelCount.map { UInt16($0) }
    self.maxBufferedPackets = maxBufferedPackets
  }

  func channel(of locate: UInt16) -> UInt16? {
    channelOf[locate] ?? channelCount.map { UInt16(Int(locate) % $0) }
  }

  /// Instruments not (yet) exact.
  public var staleCount: Int { books.values.filter { !$0.synced }.count }

  /// Applies one packet; false if it could not be decoded.
  @discardableResult
  public func apply(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let packet = PacketView(bytes) else {
      malformed += 1
      return false
    }
    packets += 1
    let channel = packet.channel
    if channel == snapshotChannel {
      applySnapshots(packet)
      return true
    }
    if packet.updateCount == 0 {
      heartbeats += 1
      // A heartbeat carries the last sequence sent: anything after what we hold is missing.
      if let state = channels[channel], packet.sequence >= state.nextSequence { loseSync(channel) }
      return true
    }
    var state = channels[channel] ?? ChannelState(nextSequence: packet.sequence, trusted: packet.sequence == 1)
    if channels[channel] == nil && packet.sequence != 1 {
      channels[channel] = state
      loseSync(channel, countGap: false)
      state = channels[channel]!
    }
    if packet.sequence < state.nextSequence {
      duplicates += 1
      return true
    }
    if packet.sequence > state.nextSequence {
      gaps += 1
      channels[channel] = state
      loseSync(channel, countGap: false)
      state = channels[channel]!
    }
    state.nextSequence = packet.sequence &+ 1  // wraps only on a hostile sequence; never traps
    if !state.trusted {
      if state.buffered.count >= maxBufferedPackets {
        state.buffered.removeFirst()
        bufferOverflows += 1
      }
      state.buffered.append((packet.sequence, Array(bytes)))
    }
    channels[channel] = state
    applyUpdates(packet, channel: channel, onlyLocate: nil, onlySynced: !state.trusted)
    return true
  }

  /// Marks the channel's instruments stale and starts buffering its packets.
  func loseSync(_ channel: UInt16, countGap: Bool = true) {
    if countGap { gaps += 1 }
    channels[channel]?.trusted = false
    channels[channel]?.buffered.removeAll(keepingCapacity: true)
    for (locate, owner) in channelOf where owner == channel { books[locate]?.synced = false }
  }

  /// Applies a packet's updates. `onlySynced`: skip instruments that are waiting for a snapshot.
  func applyUpdates(_ packet: PacketView, channel: UInt16, onlyLocate: UInt16?, onlySynced: Bool) {
    let trusted = channels[channel]?.trusted ?? false
    for index in 0..<packet.updateCount {
      guard let update = packet.update(at: index) else {
        malformed += 1
        continue
      }
      if onlyLocate == nil { updates += 1 }
      let locate: UInt16
      if let level = update.level {
        locate = level.locate
      } else if let trade = update.trade {
        locate = trade.locate
      } else if let state = update.tradingState {
        locate = state.locate
      } else if let definition = update.definition {
        locate = definition.locate
      } else {
        continue
      }
      if let onlyLocate, locate != onlyLocate { continue }
      channelOf[locate] = channel
      var book = books[locate] ?? MirroredBook()
      if books[locate] == nil { book.synced = trusted }
      if onlySynced && !book.synced && update.definition == nil {
        books[locate] = book  // known, and stale until its snapshot
        continue
      }
      if let level = update.level {
        apply(level, to: &book)
      } else if let trade = update.trade {
        book.lastTrade = trade
      } else if let state = update.tradingState {
        book.tradingState = state.state
      } else if let definition = update.definition {
        book.symbol = definition.symbol
      }
      books[locate] = book
    }
  }

  func applySnapshots(_ packet: PacketView) {
    for index in 0..<packet.updateCount {
      guard let update = packet.update(at: index) else {
        malformed += 1
        continue
      }
      if let definition = update.definition {
        // Definitions cycle with the snapshots: a late joiner learns symbols and channels here.
        books[definition.locate, default: MirroredBook()].symbol = definition.symbol
        channelOf[definition.locate] = definition.channel
        continue
      }
      guard let snapshot = update.snapshot else { continue }
      let locate = snapshot.locate
      guard let channel = channel(of: locate), let state = channels[channel] else { continue }
      channelOf[locate] = channel
      var book = books[locate] ?? MirroredBook()
      guard !book.synced else { continue }
      // The buffer must bridge the snapshot to the present: it must hold every packet after it.
      let after = snapshot.lastChannelSequence
      let firstBuffered = state.buffered.first?.sequence ?? state.nextSequence
      // (after < nextSequence first: it keeps after + 1 from overflowing on a hostile snapshot.)
      guard after < state.nextSequence, after + 1 >= firstBuffered else { continue }
      book.bids = (0..<min(snapshot.bidCount, depth)).compactMap { snapshot.bid($0) }
      book.asks = (0..<min(snapshot.askCount, depth)).compactMap { snapshot.ask($0) }
      book.tradingState = snapshot.tradingState
      book.synced = true
      books[locate] = book
      for (sequence, bytes) in state.buffered where sequence > after {
        bytes.withUnsafeBytes { raw in
          if let replay = PacketView(raw) {
            applyUpdates(replay, channel: channel, onlyLocate: locate, onlySynced: false)
          }
        }
      }
      recoveries += 1
      // Once every instrument of the channel is exact again, stop buffering.
      if !channelOf.contains(where: { $0.value == channel && books[$0.key]?.synced == false }) {
        channels[channel]?.trusted = true
        channels[channel]?.buffered.removeAll(keepingCapacity: true)
      }
    }
  }

  func apply(_ level: LevelUpdate, to book: inout MirroredBook) {
    let value = FeedBookLevel(price: level.price, orders: level.orders, shares: level.shares)
    let index = Int(level.levelIndex)
    func update(_ side: inout [FeedBookLevel]) {
      switch level.action {
      case FeedLevelAction.new.rawValue:
        guard index <= side.count else { return malformed += 1 }
        side.insert(value, at: index)
        if side.count > depth { side.removeLast() }
      case FeedLevelAction.change.rawValue:
        guard index < side.count else { return malformed += 1 }
        side[index] = value
      default:
        guard index < side.count else { return malformed += 1 }
        side.remove(at: index)
      }
    }
    if level.side == FeedSide.bid.rawValue { update(&book.bids) } else { update(&book.asks) }
  }
}
