/// The multicast layout every part of quotecast shares: channel n on the base group's address plus
/// n (same port), and a snapshot group. The gateway, the subscriber and replay read their defaults
/// and the `base + n` rule here.
public enum ChannelGroups {
  /// 239.255.10.1:31001, so channel n is 239.255.10.(n+1):31001.
  public static let defaultBase = IPv4Endpoint(address: 0xEFFF_0A01, port: 31_001)
  /// 239.255.11.1:31002.
  public static let defaultSnapshot = IPv4Endpoint(address: 0xEFFF_0B01, port: 31_002)

  /// Channel `channel`'s group.
  public static func group(_ channel: Int, base: IPv4Endpoint = defaultBase) -> IPv4Endpoint {
    IPv4Endpoint(address: base.address &+ UInt32(truncatingIfNeeded: channel), port: base.port)
  }

  /// The groups of channels 0..<count.
  public static func groups(count: Int, base: IPv4Endpoint = defaultBase) -> [IPv4Endpoint] {
    (0..<max(0, count)).map { group($0, base: base) }
  }
}
