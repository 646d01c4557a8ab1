import CLibURing
import CQuotecastLinux
import Glibc

/// A UDP socket for the feed: bound to a port, joined to a multicast group on an interface when
/// the address is a group, non-blocking.
public final class UDPReceiveSocket {
  public let fd: Int32
  public let endpoint: IPv4Endpoint

  /// - Parameters:
  ///   - endpoint: a unicast address to bind (127.0.0.1 by default) or a multicast group to join.
  ///   - interface: where to join a group (127.0.0.1 by default).
  public init(endpoint: IPv4Endpoint, interface: UInt32 = IPv4Endpoint.loopback, receiveBufferBytes: Int = 8 << 20)
    throws
  {
    self.endpoint = endpoint
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TransportError.system("socket") }
    do {
      try setOption(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1))
      try setBufferSize(fd, SO_RCVBUF, force: SO_RCVBUFFORCE, bytes: receiveBufferBytes)
      // Bind the group itself for multicast so only that group's datagrams arrive here.
      var bound = endpoint.socketAddress
      let result = withUnsafePointer(to: &bound) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      guard result == 0 else { throw TransportError.system("bind \(endpoint)") }
      if endpoint.isMulticast {
        var request = ip_mreq()
        request.imr_multiaddr.s_addr = endpoint.address.bigEndian
        request.imr_interface.s_addr = interface.bigEndian
        try setOption(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, request)
      }
    } catch {
      close(fd)
      throw error
    }
  }

  deinit { close(fd) }

  /// The receive buffer the kernel granted, in bytes (as the kernel reports it).
  public var receiveBufferBytes: Int { bufferBytes(fd, SO_RCVBUF) }

  /// The port actually bound (useful with port 0 in tests).
  public var boundPort: UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
  }
}

/// The kernel silently caps SO_RCVBUF/SO_SNDBUF at net.core.rmem_max/wmem_max; with CAP_NET_ADMIN
/// the *FORCE variants get the size asked for. Without it the capped size stays (see `bufferBytes`).
func setBufferSize(_ fd: Int32, _ option: Int32, force: Int32, bytes: Int) throws {
  try setOption(fd, SOL_SOCKET, option, Int32(clamping: bytes))
  _ = try? setOption(fd, SOL_SOCKET, force, Int32(clamping: bytes))
}

/// The buffer size the kernel actually granted (it reports double the usable bytes).
func bufferBytes(_ fd: Int32, _ option: Int32) -> Int {
  var value: Int32 = 0
  var length = socklen_t(MemoryLayout<Int32>.size)
  getsockopt(fd, SOL_SOCKET, option, &value, &length)
  return Int(value)
}

func setOption<T: BitwiseCopyable>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T) throws {
  let result = withUnsafeBytes(of: value) { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
  guard result == 0 else {
    throw TransportError.system("setsockopt(\(level), \(name))")
  }
}

/// Sends packets to per-channel multicast groups (or unicast endpoints) with one `sendmmsg` per
/// batch, never blocking: a full socket buffer drops the rest of the batch and counts it, and the
/// subscribers see the sequence gap.
public final class MulticastPublisher {
  public struct Counters: Equatable, Sendable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Packets dropped because the socket buffer was full (EAGAIN/ENOBUFS).
    public var dropped: UInt64 = 0
    public var errors: UInt64 = 0
    public init() {}
  }

  public let fd: Int32
  public let destinations: [IPv4Endpoint]
  let addresses: UnsafeMutablePointer<sockaddr_in>
  let messages: UnsafeMutablePointer<qc_mmsghdr>
  let vectors: UnsafeMutablePointer<iovec>
  let channelsOfPending: UnsafeMutablePointer<UInt16>
  public let batchCapacity: Int
  var pending = 0
  public private(set) var counters = Counters()
  /// Packets sent per destination index.
  public let packetsPerDestination: UnsafeMutablePointer<UInt64>

  /// - Parameters:
  ///   - destinations: index = channel id.
  ///   - interface: the interface multicast leaves from (IP_MULTICAST_IF), 127.0.0.1 by default.
  public init(
    destinations: [IPv4Endpoint], interface: UInt32 = IPv4Endpoint.loopback, ttl: UInt8 = 1, loop: Bool = true,
    sendBufferBytes: Int = 4 << 20, batchCapacity: Int = 256
  ) throws {
    self.destinations = destinations
    self.batchCapacity = batchCapacity
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TransportError.system("socket") }
    do {
      try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, in_addr(s_addr: interface.bigEndian))
      try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, UInt8(ttl))
      try setOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, UInt8(loop ? 1 : 0))
      try setBufferSize(fd, SO_SNDBUF, force: SO_SNDBUFFORCE, bytes: sendBufferBytes)
    } catch {
      close(fd)
      throw error
    }
    addresses = .allocate(capacity: max(1, destinations.count))
    for (index, destination) in destinations.enumerated() {
      (addresses + index).initialize(to: destination.socketAddress)
    }
    messages = .allocate(capacity: batchCapacity)
    messages.initialize(repeating: qc_mmsghdr(), count: batchCapacity)
    vectors = .allocate(capacity: batchCapacity)
    vectors.initialize(repeating: iovec(), count: batchCapacity)
    channelsOfPending = .allocate(capacity: batchCapacity)
    packetsPerDestination = .allocate(capacity: max(1, destinations.count))
    packetsPerDestination.initialize(repeating: 0, count: max(1, destinations.count))
  }

  deinit {
    close(fd)
    addresses.deallocate()
    messages.deallocate()
    vectors.deallocate()
    channelsOfPending.deallocate()
    packetsPerDestination.deallocate()
  }

  /// Queues one packet; its bytes must stay valid until `flush`. Flushes first when full.
  @inline(__always)
  public func enqueue(destination: UInt16, _ packet: UnsafeRawBufferPointer) {
    if pending == batchCapacity { flush() }
    let index = pending
    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packet.baseAddress), iov_len: packet.count)
    messages[index].msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + Int(destination))
    messages[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
    messages[index].msg_hdr.msg_iov = vectors + index
    messages[index].msg_hdr.msg_iovlen = 1
    messages[index].msg_hdr.msg_control = nil
    messages[index].msg_hdr.msg_controllen = 0
    messages[index].msg_hdr.msg_flags = 0
    channelsOfPending[index] = destination
    pending += 1
  }

  /// Sends everything queued with as few `sendmmsg` calls as the kernel allows, never blocking.
  public func flush() {
    var sent = 0
    while sent < pending {
      let result = qc_sendmmsg(fd, messages + sent, UInt32(pending - sent), Int32(MSG_DONTWAIT))
      if result > 0 {
        for index in sent..<sent + Int(result) {
          counters.packets &+= 1
          counters.bytes &+= UInt64(vectors[index].iov_len)
          packetsPerDestination[Int(channelsOfPending[index])] &+= 1
        }
        sent += Int(result)
        continue
      }
      let code = errno
      if code == EINTR { continue }
      // The first unsent packet is dropped; the rest get another try.
      if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS {
        counters.dropped &+= 1
      } else {
        counters.errors &+= 1
      }
      sent += 1
    }
    pending = 0
  }
}
