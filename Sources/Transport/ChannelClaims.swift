import CQuotecastLinux
import Glibc

/// One publisher per multicast channel per host: a gateway claims each channel it owns by
/// listening on an abstract Unix socket named for the channel's group, so a second gateway on
/// the same host (network namespace) that claims it fails to start, told who holds it. The kernel
/// frees the names when the process exits, so a crash leaves no stale lock behind. Gateways on
/// other hosts cannot be seen this way; their channel sets must be kept disjoint by configuration.
public final class ChannelClaims {
  public struct Conflict: Error, CustomStringConvertible {
    public let channel: Int
    public let group: IPv4Endpoint
    /// The process holding the claim, if it could be asked.
    public let holderPid: Int32?
    public var description: String {
      "channels.owned: channel \(channel) (\(group)) is already published by another quotecast on this host"
        + (holderPid.map { " (pid \($0))" } ?? "") + "; give each instance a disjoint set of channels"
    }
  }

  public struct Failure: Error, CustomStringConvertible {
    public let channel: Int
    public let errorNumber: Int32
    public var description: String {
      "channels.owned: could not claim channel \(channel): \(String(cString: strerror(errorNumber)))"
    }
  }

  let descriptors: [Int32]

  /// The abstract socket name a channel's group is claimed under.
  public static func name(of group: IPv4Endpoint) -> String { "quotecast/channel/\(group)" }

  /// Claims every channel, or none: on a conflict the claims already taken are let go.
  public init(_ channels: [(channel: Int, group: IPv4Endpoint)]) throws {
    var descriptors: [Int32] = []
    for (channel, group) in channels {
      let name = Self.name(of: group)
      let result = qc_claim_abstract_name(name)
      guard result >= 0 else {
        for descriptor in descriptors { close(descriptor) }
        if -result == EADDRINUSE {
          let holder = qc_abstract_name_holder(name)
          throw Conflict(channel: channel, group: group, holderPid: holder > 0 ? holder : nil)
        }
        throw Failure(channel: channel, errorNumber: -result)
      }
      descriptors.append(result)
    }
    self.descriptors = descriptors
  }

  deinit {
    for descriptor in descriptors { close(descriptor) }
  }
}
