import Glibc
@_exported import Book
@_exported import Encoding
@_exported import Feed
@_exported import ITCH

/// Where finished packets go: a socket, a pcap, a test's array.
public protocol PacketSink {
  /// One finished packet; its bytes stay valid until `flush` returns.
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer)
  /// The end of a batch of `send`s: a batching sink sends now.
  mutating func flush()
}

extension PacketSink {
  public mutating func flush() {}
}

public struct CoreConfig: Sendable, Equatable {
  public var books = BookConfig()
  public var encoder = EncoderConfig()

  public init() {}

  /// The settings a user chooses (CLI flags or the gateway's YAML), over the defaults.
  public init(
    channels: Int, depth: Int, datagramBytes: Int, snapshotDepth: Int, encoder backend: EncoderBackend,
    maxLiveOrders: Int, maxLevels: Int, maxOrderReference: UInt64
  ) {
    books.publishedDepth = depth
    books.maxLiveOrders = maxLiveOrders
    books.maxLevels = maxLevels
    books.maxOrderReference = maxOrderReference
    encoder.channels = channels
    encoder.maxDatagramBytes = datagramBytes
    encoder.snapshotDepth = snapshotDepth
    encoder.backend = backend
  }

  public func problems() -> [String] { books.problems() + encoder.problems() }

  /// The same settings for book shard `index` of `count` (dedicated threads mode).
  public func shard(_ index: Int, of count: Int) -> CoreConfig {
    var config = self
    config.encoder.shardIndex = index
    config.encoder.shardCount = count
    return config
  }
}

/// What a book shard does with one message.
@usableFromInline enum ShardRoute {
  case skip
  case apply
  /// A market-wide message every shard applies (each publishes it on its own channels); only
  /// shard 0 counts it.
  case applyUncounted
}

/// The whole no-I/O pipeline for one MoldUDP64 stream: session → decode → books → encode.
/// Live sockets, capture replay, fuzzing and benchmarks all call `process`.
public final class QuotecastCore {
  public let config: CoreConfig
  public let books: OrderBooks
  public let encoder: UpdateEncoder
  @usableFromInline let trackerStorage: UnsafeMutablePointer<SequenceTracker>

  public init(config: CoreConfig) {
    self.config = config
    books = OrderBooks(config: config.books)
    encoder = UpdateEncoder(config: config.encoder)
    trackerStorage = .allocate(capacity: 1)
    trackerStorage.initialize(to: SequenceTracker())
  }

  deinit {
    trackerStorage.deinitialize(count: 1)
    trackerStorage.deallocate()
  }

  public var session: SequenceTracker { trackerStorage.pointee }

  /// When set, `process` times its stages (three clock reads per datagram) into `lastStageNs`.
  public var measuresStages = false
  /// The last datagram's stage times: decode and books, encode, and the hand-off to the sink.
  public private(set) var lastStageNs: (decodeAndBooks: UInt64, encode: UInt64, send: UInt64) = (0, 0, 0)

  @inline(__always)
  static func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
  }

  /// Runs one MoldUDP64 datagram through the pipeline and hands every packet it produced to
  /// `sink` before returning: a packet never waits for the next input.
  public func process<Sink: PacketSink>(moldPacket bytes: UnsafeRawBufferPointer, nowNs: UInt64, into sink: inout Sink)
  {
    let packet = MoldPacket(bytes)
    let startNs = measuresStages ? Self.monotonicNs() : 0
    guard case .deliver(let skip) = trackerStorage.pointee.admit(packet), let packet else { return }
    encoder.setClock(nowNs: nowNs)
    var blocks = packet.blocks
    var sequence = packet.sequenceNumber
    var toSkip = skip
    let sharded = encoder.plan.shardCount > 1
    while let message = blocks.next() {
      if toSkip > 0 {
        toSkip -= 1
      } else {
        let route = sharded ? self.route(message) : .apply
        if route != .skip {
          books.apply(message, sequence: sequence, counted: route == .apply)
          if books.eventRoom < OrderBooks.maxEventsPerMessage { drainEvents(into: &sink) }
        }
      }
      sequence &+= 1
    }
    trackerStorage.pointee.noteFraming(blocks.anomaly, endSequence: sequence)
    let booksDoneNs = measuresStages ? Self.monotonicNs() : 0
    drainEvents(into: &sink)
    encoder.flush()
    let encodedNs = measuresStages ? Self.monotonicNs() : 0
    drainOutput(into: &sink)
    if measuresStages {
      lastStageNs = (booksDoneNs - startNs, encodedNs - booksDoneNs, Self.monotonicNs() - encodedNs)
    }
  }

  /// Which messages this book shard applies: its own instruments' messages; system events,
  /// circuit breakers and trade breaks (which go to every channel) in every shard; anything else
  /// without an instrument (and anything too short to name one) in shard 0 only.
  @inline(__always)
  func route(_ message: UnsafeRawBufferPointer) -> ShardRoute {
    let plan = encoder.plan
    guard message.count >= 3, let base = message.baseAddress else { return plan.shardIndex == 0 ? .apply : .skip }
    let type = loadByte(base, 0)
    if type == SystemEvent.type || type == MWCBStatus.type || type == BrokenTrade.type {
      return plan.shardIndex == 0 ? .apply : .applyUncounted
    }
    let locate = loadBigEndianUInt16(base, 1)
    if locate == 0 { return plan.shardIndex == 0 ? .apply : .skip }
    return plan.owns(locate: locate) ? .apply : .skip
  }

  /// Session, decode and books only: events are discarded (for `book` and for benchmarks).
  public func applyToBooks(moldPacket bytes: UnsafeRawBufferPointer) {
    let packet = MoldPacket(bytes)
    guard case .deliver(let skip) = trackerStorage.pointee.admit(packet), let packet else { return }
    var blocks = packet.blocks
    var sequence = packet.sequenceNumber
    var toSkip = skip
    let sharded = encoder.plan.shardCount > 1
    while let message = blocks.next() {
      if toSkip > 0 {
        toSkip -= 1
      } else {
        let route = sharded ? self.route(message) : .apply
        if route != .skip { books.apply(message, sequence: sequence, counted: route == .apply) }
        books.clearEvents()
      }
      sequence &+= 1
    }
    trackerStorage.pointee.noteFraming(blocks.anomaly, endSequence: sequence)
  }

  /// Publishes every active instrument's definition and full-book snapshot on `channel` (the end
  /// of a replay, or a snapshot cycle), each snapshot stamped with its own channel's last sequence.
  public func publishSnapshots<Sink: PacketSink>(
    channel: UInt16, upstreamSequence: UInt64, nowNs: UInt64, into sink: inout Sink
  ) {
    encoder.setClock(nowNs: nowNs)
    for locate in books.activeLocates {
      let ownChannel = encoder.plan.channel(for: locate)
      if let directory = books.directoryMessage(locate: locate) {
        encoder.encodeDefinition(
          message: directory, locate: locate, upstreamSequence: upstreamSequence, timestampNs: nowNs, into: channel)
      }
      encoder.encodeSnapshot(
        of: books, locate: locate, into: channel, upstreamSequence: upstreamSequence, timestampNs: nowNs,
        lastChannelSequence: encoder.nextSequence(channel: ownChannel) - 1)
      if encoder.outputBytesFree < config.encoder.maxDatagramBytes * 4 { drainOutput(into: &sink) }
    }
    encoder.flush()
    drainOutput(into: &sink)
  }

  @inline(__always)
  func drainEvents<Sink: PacketSink>(into sink: inout Sink) {
    // Each event adds at most one bounded update, so a datagram's worth of room per event suffices.
    if encoder.outputBytesFree < (books.pendingEvents + 1) * 256 + config.encoder.maxDatagramBytes * 2 {
      drainOutput(into: &sink)
    }
    encoder.encode(books.events)
    books.clearEvents()
  }

  /// Heartbeats every channel in `channels` (the gateway calls this for idle channels).
  public func heartbeat<Sink: PacketSink>(channel: UInt16, nowNs: UInt64, into sink: inout Sink) {
    encoder.setClock(nowNs: nowNs)
    encoder.heartbeat(channel: channel)
    drainOutput(into: &sink)
  }

  /// Publishes snapshots of `count` instruments starting at position `start` of the active list,
  /// on `channel`; returns the position to start from next time (wrapping).
  public func publishSnapshotSlice<Sink: PacketSink>(
    channel: UInt16, start: Int, count: Int, nowNs: UInt64, into sink: inout Sink
  ) -> Int {
    encoder.setClock(nowNs: nowNs)
    let upstream = trackerStorage.pointee.expectedSequence - 1
    var position = start
    var published = 0
    let maxLocates = config.books.maxLocates
    var scanned = 0
    // Walk locates in order, skipping empty ones, without allocating.
    while published < count && scanned < maxLocates {
      let locate = UInt16(position % maxLocates)
      position = (position + 1) % maxLocates
      scanned += 1
      guard books.isActive(locate: locate) else { continue }
      let ownChannel = encoder.plan.channel(for: locate)
      // The definition first, so a late joiner learns the instrument with its book.
      if let directory = books.directoryMessage(locate: locate) {
        encoder.encodeDefinition(
          message: directory, locate: locate, upstreamSequence: upstream, timestampNs: nowNs, into: channel)
      }
      encoder.encodeSnapshot(
        of: books, locate: locate, into: channel, upstreamSequence: upstream, timestampNs: nowNs,
        lastChannelSequence: encoder.nextSequence(channel: ownChannel) - 1)
      published += 1
      if encoder.outputBytesFree < config.encoder.maxDatagramBytes * 4 { drainOutput(into: &sink) }
    }
    encoder.flush()
    drainOutput(into: &sink)
    return position
  }

  @inline(__always)
  func drainOutput<Sink: PacketSink>(into sink: inout Sink) {
    encoder.forEachPacket { channel, packet in sink.send(channel: channel, packet: packet) }
    sink.flush()
    encoder.clearOutput()
  }
}
