import ITCH

/// Which channel carries an instrument: `locate % channels`. The rule is published in every
/// instrument definition (its `channel` field), so subscribers never have to know it.
///
/// A gateway instance owns a subset of the channels (all of them unless `channels.owned` names
/// some): several instances share one feed, each publishing its own channels. With books sharded
/// across threads, shard `shardIndex` of `shardCount` writes every `shardCount`-th owned channel
/// from the `shardIndex`-th (with every channel owned: `channel % shardCount == shardIndex`), so
/// each channel has one writer.
public struct ChannelPlan: Equatable, Sendable {
  public let channels: Int
  public let shardIndex: Int
  public let shardCount: Int
  /// The channels this instance owns, ascending.
  public let owned: [UInt16]
  /// The channels this shard writes, ascending.
  public let written: [UInt16]

  public init(channels: Int, owned: [Int]? = nil, shardIndex: Int = 0, shardCount: Int = 1) {
    let problems = Self.problems(channels: channels, owned: owned, shardCount: shardCount)
    precondition(problems.isEmpty, "invalid channel plan: \(problems)")
    precondition(shardIndex >= 0 && shardIndex < shardCount)
    self.channels = channels
    self.shardIndex = shardIndex
    self.shardCount = shardCount
    let ownedChannels = (owned ?? Array(0..<channels)).sorted().map { UInt16($0) }
    self.owned = ownedChannels
    written = stride(from: shardIndex, to: ownedChannels.count, by: shardCount).map { ownedChannels[$0] }
    isPartial = written.count < channels
  }

  /// What is wrong with a plan, in the config's words.
  public static func problems(channels: Int, owned: [Int]?, shardCount: Int) -> [String] {
    guard channels >= 1 && channels <= 1024 else { return ["channels.count: must be 1...1024, got \(channels)"] }
    var problems: [String] = []
    let ownedCount = owned?.count ?? channels
    if let owned {
      if owned.isEmpty { problems.append("channels.owned: names no channel") }
      for channel in owned where channel < 0 || channel >= channels {
        problems.append("channels.owned: channel \(channel) does not exist (0...\(channels - 1))")
      }
      if Set(owned).count != owned.count { problems.append("channels.owned: names a channel twice") }
    }
    if shardCount < 1 || shardCount > max(1, ownedCount) {
      problems.append("threading.book_shards: must be 1...\(ownedCount) (the channels owned), got \(shardCount)")
    }
    return problems
  }

  /// Whether another shard or another instance writes some channel, so messages must be routed.
  public let isPartial: Bool

  @inlinable @inline(__always)
  public func channel(for locate: UInt16) -> UInt16 { UInt16(truncatingIfNeeded: Int(locate) % channels) }

  /// Whether this shard writes `channel` (a search: not for the hot path, which reads `UpdateEncoder.writes`).
  public func writes(channel: Int) -> Bool { written.contains(UInt16(truncatingIfNeeded: channel)) }
}

/// What a book shard does with one message.
@frozen public enum ShardRoute: Equatable, Sendable {
  case skip
  case apply
  /// A market-wide message every shard applies (each publishes it on its own channels); only
  /// shard 0 counts it.
  case applyUncounted
}

/// A channel plan as the hot path reads it, in preallocated tables: which channel an instrument
/// is on, whether this shard writes it, and so which messages its books apply. The core routes
/// messages with it and the encoder writes the same channels.
public final class ChannelRouting {
  public let plan: ChannelPlan
  @usableFromInline let channels: Int
  /// ⌈2⁶⁴ / channels⌉ (0 for one channel): `locate % channels` by two multiplications instead of a
  /// division on every update (Lemire, Kaser and Kurz's "fastmod", exact for 32-bit operands).
  @usableFromInline let reciprocal: UInt64
  /// `channels` as the multiplier, converted once.
  @usableFromInline let channelCount64: UInt64
  /// One channel (the default): every instrument's channel is 0, with no multiplication ahead of
  /// the encoder's first load of that channel's packet.
  @usableFromInline let isSingleChannel: Bool
  @usableFromInline let isPrimaryShard: Bool
  /// Whether another shard or instance writes some channel, so messages must be routed.
  public let isPartial: Bool
  /// Per channel (the snapshot channel last): whether this shard writes it.
  @usableFromInline let writesChannel: UnsafeMutablePointer<Bool>
  /// `plan.written`, preallocated: market-wide updates go to each.
  public let writtenChannels: UnsafeMutableBufferPointer<UInt16>

  public init(plan: ChannelPlan) {
    self.plan = plan
    channels = plan.channels
    reciprocal = (UInt64.max / UInt64(max(1, plan.channels))) &+ 1
    channelCount64 = UInt64(max(1, plan.channels))
    isSingleChannel = plan.channels == 1
    isPrimaryShard = plan.shardIndex == 0
    isPartial = plan.isPartial
    writesChannel = .allocate(capacity: plan.channels + 1)
    writesChannel.initialize(repeating: false, count: plan.channels + 1)
    for channel in plan.written { writesChannel[Int(channel)] = true }
    writesChannel[plan.channels] = true
    writtenChannels = .allocate(capacity: plan.written.count)
    _ = writtenChannels.initialize(from: plan.written)
  }

  deinit {
    writesChannel.deallocate()
    writtenChannels.deallocate()
  }

  /// The incremental channels' count (the snapshot channel's id).
  @inlinable public var channelCount: Int { channels }

  @inlinable @inline(__always)
  public func channel(for locate: UInt16) -> UInt16 {
    if isSingleChannel { return 0 }
    return UInt16(truncatingIfNeeded: (reciprocal &* UInt64(locate)).multipliedFullWidth(by: channelCount64).high)
  }

  /// Whether this shard writes the channel that carries `locate` (so its books apply the instrument).
  @inlinable @inline(__always)
  public func writes(locate: UInt16) -> Bool { writesChannel[Int(channel(for: locate))] }

  /// Which messages this shard applies: the messages of instruments on the channels it writes;
  /// system events, circuit breakers and trade breaks (which go to every channel) in every shard;
  /// anything else without an instrument (and anything too short to name one) in shard 0 only.
  /// Another gateway instance, owning other channels, routes the same way on its own.
  @inlinable @inline(__always)
  public func route(_ message: UnsafeRawBufferPointer) -> ShardRoute {
    guard message.count >= 3, let base = message.baseAddress else { return isPrimaryShard ? .apply : .skip }
    let type = loadByte(base, 0)
    if type == SystemEvent.type || type == MWCBStatus.type || type == BrokenTrade.type {
      return isPrimaryShard ? .apply : .applyUncounted
    }
    let locate = loadBigEndianUInt16(base, 1)
    if locate == 0 { return isPrimaryShard ? .apply : .skip }
    return writes(locate: locate) ? .apply : .skip
  }
}
