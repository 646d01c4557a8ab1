import CLibURing
import Glibc

/// An IPv4 address and UDP port, host byte order.
public struct IPv4Endpoint: Hashable, Sendable, CustomStringConvertible {
  public var address: UInt32
  public var port: UInt16

  public init(address: UInt32, port: UInt16) {
    self.address = address
    self.port = port
  }

  public static let loopback: UInt32 = 0x7F00_0001

  /// Parses "a.b.c.d" into a host-order address.
  public static func parseAddress(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var value: UInt32 = 0
    for part in parts {
      guard !part.isEmpty, part.count <= 3, let byte = UInt8(part) else { return nil }
      value = value << 8 | UInt32(byte)
    }
    return value
  }

  /// Parses "a.b.c.d:port".
  public init?(_ text: String) {
    guard let colon = text.lastIndex(of: ":"), let address = Self.parseAddress(String(text[..<colon])),
      let port = UInt16(text[text.index(after: colon)...]), port != 0
    else { return nil }
    self.init(address: address, port: port)
  }

  public static func format(_ address: UInt32) -> String {
    "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
  }

  public var description: String { "\(Self.format(address)):\(port)" }

  public var isMulticast: Bool { address >> 28 == 0xE }
  public var isLoopback: Bool { address >> 24 == 127 }

  public var socketAddress: sockaddr_in {
    var socketAddress = sockaddr_in()
    socketAddress.sin_family = sa_family_t(AF_INET)
    socketAddress.sin_port = port.bigEndian
    socketAddress.sin_addr.s_addr = address.bigEndian
    return socketAddress
  }

  init(_ socketAddress: sockaddr_in) {
    address = UInt32(bigEndian: socketAddress.sin_addr.s_addr)
    port = UInt16(bigEndian: socketAddress.sin_port)
  }
}

public struct TransportError: Error, CustomStringConvertible, Equatable {
  public let description: String

  public init(_ description: String) { self.description = description }

  static func system(_ call: String, _ code: Int32 = errno) -> TransportError {
    TransportError("\(call) failed: \(String(cString: strerror(code))) (errno \(code))")
  }
}

/// Channel numbers as ranges, for logs and messages: [0, 1, 2, 3, 6] is "0-3, 6".
public func channelRangesText(_ channels: [Int]) -> String {
  var parts: [String] = []
  var index = 0
  while index < channels.count {
    var end = index
    while end + 1 < channels.count && channels[end + 1] == channels[end] + 1 { end += 1 }
    parts.append(end == index ? "\(channels[index])" : "\(channels[index])-\(channels[end])")
    index = end + 1
  }
  return parts.joined(separator: ", ")
}
