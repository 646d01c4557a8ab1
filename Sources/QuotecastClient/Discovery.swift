import Glibc
import Transport

/// What a feed's snapshot channel says of it: every gateway instance's layout and, for the symbols
/// asked about, the channels that carry them.
public struct DiscoveredFeed: Sendable, Equatable {
  public var layouts: [PublisherLayout]
  /// The channel of each symbol asked about.
  public var channelOfSymbol: [String: Int]
  /// Channels no instance seen says it publishes (one may be down).
  public var unownedChannels: [Int]

  /// A subscriber for the feed found: its channels and groups, and only the symbols' channels if
  /// `base.symbols` is set. It follows the layout (see `SubscriberConfig.followsLayout`).
  public func config(base: SubscriberConfig) -> SubscriberConfig {
    var config = base
    guard let layout = layouts.first else { return config }
    config.channels = layout.channelCount
    config.groupBase = layout.groupBase
    config.snapshotGroup = layout.snapshotGroup
    config.depth = max(base.depth, layouts.map(\.depth).max() ?? 0)
    if base.symbols != nil { config.joinChannels = Set(channelOfSymbol.values).sorted() }
    config.followsLayout = true
    return config
  }

  public var description: String {
    guard let first = layouts.first else { return "no layout" }
    let owners = layouts.map { "\($0.instance) (\(ranges($0.ownedChannels)))" }.joined(separator: ", ")
    return "\(first.channelCount) channel(s) from \(first.groupBase), snapshots \(first.snapshotGroup), "
      + "schema \(first.schemaVersion), published by \(owners)"
      + (unownedChannels.isEmpty ? "" : "; no instance seen publishes \(ranges(unownedChannels))")
  }

  /// Channels as ranges: "0-3, 6".
  public func ranges(_ channels: [Int]) -> String { channelRangesText(channels) }
}

public struct DiscoveryError: Error, CustomStringConvertible {
  public let description: String
}

extension FeedSubscriber {
  /// Listens to the snapshot group until the published layouts cover every channel (and every
  /// symbol asked about has been defined), or `timeoutNs` passes. Throws if no layout came, if the
  /// instances disagree on the channels, if a symbol was never defined, or if a gateway writes a
  /// newer schema than this subscriber reads.
  public static func discover(
    snapshotGroup: IPv4Endpoint, interface: UInt32 = IPv4Endpoint.loopback, symbols: [String]? = nil,
    timeoutNs: UInt64 = 3_000_000_000
  ) throws -> DiscoveredFeed {
    let socket = try UDPReceiveSocket(endpoint: snapshotGroup, interface: interface, receiveBufferBytes: 4 << 20)
    let wanted = Set((symbols ?? []).map { $0.uppercased() })
    var layouts: [PublisherLayout] = []
    var channelOfSymbol: [String: Int] = [:]
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    defer { buffer.deallocate() }
    let deadlineNs = Clock.monotonicNs() + timeoutNs
    func unowned() -> [Int] {
      guard let count = layouts.first?.channelCount else { return [] }
      let owned = Set(layouts.flatMap(\.ownedChannels))
      return (0..<count).filter { !owned.contains($0) }
    }
    while Clock.monotonicNs() < deadlineNs {
      if !layouts.isEmpty && unowned().isEmpty && channelOfSymbol.count == wanted.count { break }
      var descriptor = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
      guard poll(&descriptor, 1, 50) > 0 else { continue }
      while true {
        let received = recv(socket.fd, buffer.baseAddress, buffer.count, 0)
        guard received > 0 else { break }
        guard let packet = PacketView(UnsafeRawBufferPointer(rebasing: buffer[0..<received])) else { continue }
        for index in 0..<packet.updateCount {
          guard let update = packet.update(at: index) else { continue }
          if let view = update.layout {
            if view.schemaVersion > feedSchemaVersion { throw NewerSchema(version: view.schemaVersion) }
            let layout = PublisherLayout(view)
            if let first = layouts.first, !first.sameChannels(as: layout) {
              throw DiscoveryError(
                description: "gateways disagree on the feed's channels: \(first.instance) publishes "
                  + "\(first.channelCount) from \(first.groupBase), \(layout.instance) \(layout.channelCount) "
                  + "from \(layout.groupBase)")
            }
            if let existing = layouts.firstIndex(where: { $0.instance == layout.instance }) {
              layouts[existing] = layout
            } else {
              layouts.append(layout)
            }
          } else if let definition = update.definition, !wanted.isEmpty {
            let symbol = definition.symbol
            if wanted.contains(symbol) { channelOfSymbol[symbol] = Int(definition.channel) }
          }
        }
      }
    }
    guard !layouts.isEmpty else {
      throw DiscoveryError(
        description: "no feed layout on \(snapshotGroup) within \(timeoutNs / 1_000_000) ms: is a gateway "
          + "publishing snapshots there (snapshot.group), on this interface?")
    }
    let missing = wanted.subtracting(channelOfSymbol.keys).sorted()
    guard missing.isEmpty else {
      throw DiscoveryError(
        description: "no instrument definition for \(missing.joined(separator: ", ")) on \(snapshotGroup) "
          + "within \(timeoutNs / 1_000_000) ms")
    }
    return DiscoveredFeed(layouts: layouts, channelOfSymbol: channelOfSymbol, unownedChannels: unowned())
  }
}
