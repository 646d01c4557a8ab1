import CQuotecastSchema

/// What one gateway instance publishes of the feed, sent on the snapshot channel as a `FeedLayout`
/// (see quotecast.fbs) so subscribers can find the channels themselves.
public struct FeedLayoutInfo: Equatable, Sendable {
  /// The schema version this build writes.
  public static let currentSchemaVersion = UInt16(QC_SCHEMA_VERSION)

  public var schemaVersion = FeedLayoutInfo.currentSchemaVersion
  public var channelCount = 1
  /// Channel n's group is `groupBaseAddress + n` on `groupBasePort` (IPv4 host order).
  public var groupBaseAddress: UInt32 = 0
  public var groupBasePort: UInt16 = 0
  public var snapshotAddress: UInt32 = 0
  public var snapshotPort: UInt16 = 0
  /// The channels this instance publishes.
  public var ownedChannels: [Int] = []
  public var session: UInt64 = 0
  public var depth = 10
  public var snapshotDepth = 10
  public var datagramBytes = 1400
  public var instance = ""

  public init() {}

  /// The `owned` bitmask: bit n % 8 of byte n / 8 for channel n.
  public var ownedMask: [UInt8] {
    var mask = [UInt8](repeating: 0, count: (channelCount + 7) / 8)
    for channel in ownedChannels where channel >= 0 && channel < channelCount {
      mask[channel / 8] |= 1 << UInt8(channel % 8)
    }
    return mask
  }
}

/// The layout's variable parts, copied once into memory the encoder owns, so publishing it every
/// snapshot cycle allocates nothing.
final class LayoutStorage {
  let info: FeedLayoutInfo
  let owned: UnsafeMutableBufferPointer<UInt8>
  let ownedBytes: Int
  let instance: UnsafeMutableBufferPointer<CChar>
  let instanceLength: Int

  init(_ info: FeedLayoutInfo) {
    self.info = info
    let mask = info.ownedMask
    ownedBytes = mask.count
    owned = .allocate(capacity: mask.count + 1)
    _ = owned.initialize(from: mask + [0])
    let name = Array(info.instance.utf8.prefix(255)).map { CChar(bitPattern: $0) }
    instanceLength = name.count
    instance = .allocate(capacity: name.count + 1)
    _ = instance.initialize(from: name + [0])
  }

  deinit {
    owned.deallocate()
    instance.deallocate()
  }

  func withLayout<Result>(_ body: (UnsafePointer<qc_layout>) -> Result) -> Result {
    var layout = qc_layout(
      schema_version: info.schemaVersion, channel_count: UInt16(truncatingIfNeeded: info.channelCount),
      group_base_address: info.groupBaseAddress, group_base_port: info.groupBasePort,
      snapshot_address: info.snapshotAddress, snapshot_port: info.snapshotPort,
      owned: UnsafePointer(owned.baseAddress), owned_bytes: ownedBytes, session: info.session,
      depth: UInt16(truncatingIfNeeded: info.depth), snapshot_depth: UInt16(truncatingIfNeeded: info.snapshotDepth),
      datagram_bytes: UInt16(truncatingIfNeeded: info.datagramBytes), instance: UnsafePointer(instance.baseAddress),
      instance_length: instanceLength)
    return body(&layout)
  }
}
