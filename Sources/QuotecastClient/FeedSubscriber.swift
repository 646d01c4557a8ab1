import Glibc
import Synchronization
import Transport

/// Where a gateway publishes, and how to receive it. The defaults match `quotecast serve`'s.
public struct SubscriberConfig: Sendable, Equatable {
  /// The gateway's `channels.count`.
  public var channels = 1
  /// The gateway's `channels.group_base`: channel n is this address + n.
  public var groupBase = ChannelGroups.defaultBase
  /// The gateway's `snapshot.group`; nil to follow incrementals only (no recovery).
  public var snapshotGroup: IPv4Endpoint? = ChannelGroups.defaultSnapshot
  /// The interface to join on (IPv4, host order): loopback by default.
  public var interface = IPv4Endpoint.loopback
  /// Levels per side kept: at least the gateway's `channels.depth`.
  public var depth = 10
  /// Deliver only these symbols' updates (market-wide updates always pass); nil for all.
  public var symbols: [String]?
  /// Pin the receiving thread to this CPU.
  public var cpu: Int?
  public var receiveBufferBytes = 8 << 20
  /// io_uring provided buffers (a power of two) and their size.
  public var bufferCount = 4096
  public var bufferBytes = 2048
  public var maxInstruments = 16_384
  /// Join only these channels (nil: all of them), e.g. the channels of `symbols` found by `discover`.
  public var joinChannels: [Int]?
  /// Built from the gateways' published layout (`FeedSubscriber.discover`): `run` throws
  /// `LayoutChanged` when a gateway publishes other channels, so the caller can discover again.
  public var followsLayout = false

  public init() {}

  /// The channels joined.
  public var joinedChannels: [Int] { joinChannels ?? Array(0..<max(0, channels)) }

  public var channelGroups: [IPv4Endpoint] {
    joinedChannels.map { ChannelGroups.group($0, base: groupBase) }
  }

  public func problems() -> [String] {
    var problems: [String] = []
    if channels < 1 || channels > 1024 { problems.append("channels: must be 1...1024, got \(channels)") }
    if !groupBase.isMulticast { problems.append("group base \(groupBase) is not a multicast group") }
    if let snapshotGroup, !snapshotGroup.isMulticast {
      problems.append("snapshot group \(snapshotGroup) is not a multicast group")
    }
    if depth < 1 || depth > 1000 { problems.append("depth: must be 1...1000, got \(depth)") }
    for channel in joinChannels ?? [] where channel < 0 || channel >= channels {
      problems.append("channel \(channel) does not exist (0...\(channels - 1))")
    }
    if let cpu, !CPUPinning.isAllowed(cpu) { problems.append("cpu \(cpu) does not exist or is not allowed") }
    if bufferCount < 2 || bufferCount & (bufferCount - 1) != 0 || bufferCount > 32_768 {
      problems.append("bufferCount: must be a power of two up to 32768, got \(bufferCount)")
    }
    if maxInstruments < 1 || maxInstruments > 65_536 {
      problems.append("maxInstruments: must be 1...65536, got \(maxInstruments)")
    }
    for symbol in symbols ?? [] where symbol.isEmpty || symbol.utf8.count > 8 {
      problems.append("symbol \"\(symbol)\": must be 1...8 characters")
    }
    return problems
  }
}

/// One update as the callback sees it, on the receiving thread: zero-copy views into the datagram,
/// valid only during the call. `mirror` already holds the update's whole packet.
public struct FeedEvent {
  public let packet: PacketView
  public let update: UpdateView
  /// The instrument, or nil for market-wide updates (system events, circuit breakers, trade breaks).
  public let locate: UInt16?
  /// The books, read in place (`mirror.withBook`) without copying.
  public let mirror: FeedMirror

  /// True while the instrument's book waits for a snapshot after a gap or a late join, and for
  /// every book of a gateway that has said its upstream feed lost messages for good (a market-wide
  /// update: any gateway).
  public var isStale: Bool {
    guard let locate else { return mirror.feedStale }
    return !mirror.isSynced(locate: locate) || mirror.isUpstreamStale(locate: locate)
  }
}

/// Counters a subscriber keeps; read from any thread.
public struct SubscriberStats: Sendable, Equatable {
  public var packets: UInt64
  public var updates: UInt64
  public var heartbeats: UInt64
  public var gaps: UInt64
  public var duplicates: UInt64
  public var recoveries: UInt64
  public var malformed: UInt64
  public var staleInstruments: Int
  public var instruments: Int
  /// The gateway lost upstream messages for good: every book may be wrong.
  public var feedStale: Bool
  public var upstreamLostMessages: UInt64
  public var noBuffers: UInt64
}

/// Joins a gateway's channel groups and its snapshot group, receives with io_uring, checks each
/// channel's sequence, and keeps a mirrored book per instrument that recovers from gaps and late
/// joins through the snapshot channel.
///
/// Two ways to consume it:
/// - `run(onUpdate:)` calls back on the receiving thread (the caller's, pinned if `cpu` is set)
///   for every update, with zero-copy views and no allocation per packet in steady state;
/// - `updates()` is an `AsyncSequence` of owned `FeedUpdate`s, received on a thread of its own.
///
/// `book(symbol:)`, `book(locate:)` and `stats` work from any thread at any time: the receiving
/// thread applies each packet under an uncontended lock, and readers take the same lock.
public final class FeedSubscriber: @unchecked Sendable {
  public let config: SubscriberConfig
  let sockets: [UDPReceiveSocket]
  let mirror: FeedMirror
  let lock = Mutex<Void>(())
  let stopRequested = SharedFlag()
  let running = SharedFlag()
  /// Packed symbols of `config.symbols`, sorted (empty: no filter).
  let wanted: [UInt64]
  var noBuffers: UInt64 = 0

  /// Joins the groups now (so nothing sent after `init` returns is missed by the kernel).
  public init(config: SubscriberConfig) throws {
    let problems = config.problems()
    guard problems.isEmpty else { throw TransportError(problems.joined(separator: "; ")) }
    self.config = config
    let groups = config.channelGroups + (config.snapshotGroup.map { [$0] } ?? [])
    sockets = try groups.map {
      try UDPReceiveSocket(endpoint: $0, interface: config.interface, receiveBufferBytes: config.receiveBufferBytes)
    }
    mirror = FeedMirror(
      depth: config.depth, channelCount: config.channels, maxInstruments: config.maxInstruments)
    wanted = (config.symbols ?? []).map { FeedMirror.packSymbol($0.uppercased()) }.sorted()
  }

  /// A gateway published channels other than the ones this subscriber joined (`followsLayout`).
  public struct LayoutChanged: Error, CustomStringConvertible {
    public let layout: PublisherLayout
    public var description: String {
      "the feed's layout changed: \(layout.instance) now publishes \(layout.channelCount) channel(s) from "
        + "\(layout.groupBase), snapshots \(layout.snapshotGroup)"
    }
  }

  /// The gateway writes a newer schema than this subscriber reads: it stops rather than misread.
  public struct NewerSchema: Error, CustomStringConvertible {
    public let version: UInt16
    public var description: String {
      "the gateway publishes schema version \(version); this subscriber reads version \(feedSchemaVersion) "
        + "and stops rather than misread it: upgrade the subscriber"
    }
  }

  /// Asks `run` (or the `updates()` thread) to return after its current poll.
  public func stop() { stopRequested.set() }

  /// Whether updates for this instrument pass the symbol filter. Until its definition arrives an
  /// instrument's symbol is unknown, and it does not pass a filter.
  @inline(__always)
  func passes(_ locate: UInt16?) -> Bool {
    guard !wanted.isEmpty, let locate else { return true }
    let symbol = mirror.packedSymbol(locate: locate)
    var index = 0
    while index < wanted.count {
      if wanted[index] == symbol { return true }
      index += 1
    }
    return false
  }

  /// Receives on the calling thread until `stop()` or `durationNs`, calling `onUpdate` for every
  /// new incremental update that passes the symbol filter, after its packet is applied to the
  /// mirror. Duplicates, heartbeats and snapshots are consumed, not delivered. `onPoll` runs
  /// after every poll (at least every 20 ms), for periodic work such as redrawing.
  public func run(
    durationNs: UInt64? = nil, onUpdate: (FeedEvent) -> Void, onPoll: ((FeedMirror) -> Void)? = nil
  ) throws {
    guard running.claim() else {
      throw TransportError("this subscriber is already running")
    }
    defer { running.clear() }
    if let cpu = config.cpu { try CPUPinning.pinCurrentThread(to: cpu) }
    var receiverConfig = URingReceiver.Config()
    receiverConfig.bufferCount = config.bufferCount
    receiverConfig.bufferBytes = config.bufferBytes
    // Created here: a SINGLE_ISSUER ring belongs to the thread that polls it.
    let receiver = try URingReceiver(sockets: sockets, config: receiverConfig)
    let mirror = self.mirror
    let startNs = Clock.monotonicNs()
    var layoutChanges: UInt64 = 0
    while !stopRequested.isSet {
      if let durationNs, Clock.monotonicNs() - startNs >= durationNs { break }
      _ = receiver.poll(waitNs: 20_000_000) { _, payload, _ in
        guard let packet = PacketView(payload) else {
          lock.withLock { _ in _ = mirror.receive(payload) }
          return
        }
        let disposition = lock.withLock { _ in mirror.receive(packet, payload) }
        guard disposition == .applied else { return }
        var index = 0
        let count = packet.updateCount
        while index < count {
          if let update = packet.update(at: index) {
            let locate = update.locate
            if passes(locate) { onUpdate(FeedEvent(packet: packet, update: update, locate: locate, mirror: mirror)) }
          }
          index += 1
        }
      }
      let noBuffers = receiver.counters.noBuffers
      lock.withLock { _ in self.noBuffers = noBuffers }
      if let version = mirror.newerSchemaVersion { throw NewerSchema(version: version) }
      if mirror.layoutChanges != layoutChanges {
        layoutChanges = mirror.layoutChanges
        if config.followsLayout, let moved = mirror.layouts.first(where: { !matches($0) }) {
          throw LayoutChanged(layout: moved)
        }
      }
      onPoll?(mirror)
    }
  }

  /// Whether a published layout describes the channels this subscriber joined.
  func matches(_ layout: PublisherLayout) -> Bool {
    layout.channelCount == config.channels && layout.groupBase == config.groupBase
      && layout.snapshotGroup == config.snapshotGroup
  }

  /// Updates as an `AsyncSequence`, received on a thread of its own (pinned if `cpu` is set). The
  /// stream ends when `stop()` is called or the consumer stops iterating; if more than
  /// `bufferingNewest` updates wait unconsumed, the oldest are dropped.
  public func updates(bufferingNewest: Int = 1 << 20) -> AsyncStream<FeedUpdate> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: FeedUpdate.self, bufferingPolicy: .bufferingNewest(bufferingNewest))
    continuation.onTermination = { [weak self] _ in self?.stop() }
    WorkerThread.detached { [self] in
      do {
        try run(onUpdate: { continuation.yield(FeedUpdate($0)) })
      } catch {
        // The stream simply ends; `run`'s errors are configuration errors found by `init` first.
      }
      continuation.finish()
    }
    return stream
  }

  /// A copy of one book, from any thread.
  public func book(symbol: String) -> MirroredBook? { lock.withLock { _ in mirror.book(symbol: symbol) } }

  public func book(locate: UInt16) -> MirroredBook? { lock.withLock { _ in mirror.book(locate: locate) } }

  /// Runs `body` with the mirror locked, from any thread (not from inside `onUpdate`: the
  /// callback already has `event.mirror`).
  public func withMirror<Result>(_ body: (FeedMirror) -> Result) -> Result { lock.withLock { _ in body(mirror) } }

  public var stats: SubscriberStats {
    lock.withLock { _ in
      SubscriberStats(
        packets: mirror.packets, updates: mirror.updates, heartbeats: mirror.heartbeats, gaps: mirror.gaps,
        duplicates: mirror.duplicates, recoveries: mirror.recoveries, malformed: mirror.malformed,
        staleInstruments: mirror.staleCount, instruments: mirror.instrumentCount, feedStale: mirror.feedStale,
        upstreamLostMessages: mirror.upstreamLostMessages, noBuffers: noBuffers)
    }
  }
}

/// One update, owned: what `FeedSubscriber.updates()` yields.
public struct FeedUpdate: Sendable, Equatable {
  public enum Payload: Sendable, Equatable {
    case level(LevelUpdate)
    case trade(TradeUpdate)
    case tradeBreak(matchNumber: UInt64)
    case tradingState(TradingStateUpdate)
    case operationalHalt(OperationalHaltUpdate)
    case regSHO(RegSHOUpdate)
    case luldCollar(LULDCollarUpdate)
    case imbalance(ImbalanceUpdate)
    case systemEvent(code: UInt8)
    case marketWideBreaker(level: UInt8)
    case definition(symbol: String, channel: UInt16, roundLotSize: UInt32)
    case feedStatus(FeedStatusUpdate)
    case unknown
  }

  public var channel: UInt16
  public var sequence: UInt64
  public var upstreamSequence: UInt64
  public var timestampNs: UInt64
  public var locate: UInt16?
  /// The instrument's symbol ("" until its definition arrives, or for market-wide updates).
  public var symbol: String
  /// True while the instrument's book waits for a snapshot.
  public var isStale: Bool
  public var payload: Payload

  public init(_ event: FeedEvent) {
    let update = event.update
    channel = event.packet.channel
    sequence = event.packet.sequence
    upstreamSequence = update.upstreamSequence
    timestampNs = update.timestampNs
    locate = event.locate
    symbol = event.locate.map { FeedMirror.unpackSymbol(event.mirror.packedSymbol(locate: $0)) } ?? ""
    isStale = event.isStale
    if let level = update.level {
      payload = .level(level)
    } else if let trade = update.trade {
      payload = .trade(trade)
    } else if let match = update.tradeBreak {
      payload = .tradeBreak(matchNumber: match)
    } else if let state = update.tradingState {
      payload = .tradingState(state)
    } else if let halt = update.operationalHalt {
      payload = .operationalHalt(halt)
    } else if let regSHO = update.regSHO {
      payload = .regSHO(regSHO)
    } else if let collar = update.luldCollar {
      payload = .luldCollar(collar)
    } else if let imbalance = update.imbalance {
      payload = .imbalance(imbalance)
    } else if let code = update.systemEvent {
      payload = .systemEvent(code: code)
    } else if let level = update.marketWideBreaker {
      payload = .marketWideBreaker(level: level)
    } else if let definition = update.definition {
      payload = .definition(
        symbol: definition.symbol, channel: definition.channel, roundLotSize: definition.roundLotSize)
    } else if let status = update.feedStatus {
      payload = .feedStatus(status)
    } else {
      payload = .unknown
    }
  }
}
