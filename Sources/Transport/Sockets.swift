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
  public var boundPort: UInt16 { localPort(fd) }
}

/// The local port a socket is bound to (the one the kernel chose, for port 0).
func localPort(_ fd: Int32) -> UInt16 {
  var address = sockaddr_in()
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  _ = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
  }
  return UInt16(bigEndian: address.sin_port)
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

/// A non-blocking UDP socket whose multicast leaves from `interface` (127.0.0.1 by default).
func openMulticastSendSocket(interface: UInt32, ttl: UInt8, loop: Bool, sendBufferBytes: Int) throws -> Int32 {
  let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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
  return fd
}

/// Sends packets to per-channel multicast groups (or unicast endpoints) with one `sendmmsg` per
/// batch, never blocking: a full socket buffer drops the rest of the batch and counts it, and the
/// subscribers see the sequence gap.
public final class MulticastPublisher {
  /// How a batch leaves: one `sendmmsg` call, one `io_uring_enter` carrying a sendmsg per packet, or one
  /// `sendmmsg` whose messages each carry one destination's packets, cut apart by the kernel (UDP GSO).
  public enum SendMethod: String, Sendable, CaseIterable {
    case sendmmsg
    case ioUring = "io_uring"
    /// Each destination's packets of a batch in one message with UDP_SEGMENT: all but the last are padded with
    /// zeros to the longest (FlatBuffers readers ignore trailing bytes). Where the kernel refuses GSO, the
    /// publisher counts the refusal as errors and sends by plain `sendmmsg` from then on.
    case gso
  }

  public struct Counters: Equatable, Sendable {
    public var packets: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Packets dropped because the socket buffer was full (EAGAIN/ENOBUFS).
    public var dropped: UInt64 = 0
    public var errors: UInt64 = 0
    /// Packets withheld by an injected fault (`dropRange`).
    public var faultDrops: UInt64 = 0
    /// Method `.gso`: messages sent that carried several packets, and the zero bytes that padded them.
    public var segmentedSends: UInt64 = 0
    public var paddingBytes: UInt64 = 0
    public init() {}
  }

  /// A fault to inject for recovery tests: the `first`...`last` packets (1-based, counting every
  /// packet enqueued for that destination, heartbeats included) to `destination` are never sent.
  public struct DropRange: Sendable, Equatable {
    public var destination: UInt16
    public var first: UInt64
    public var last: UInt64
    public init(destination: UInt16, first: UInt64, last: UInt64) {
      self.destination = destination
      self.first = first
      self.last = last
    }

    /// "CHANNEL:FIRST-LAST", e.g. "0:200-239".
    public init?(_ text: String) {
      let parts = text.split(separator: ":")
      guard parts.count == 2, let destination = UInt16(parts[0]) else { return nil }
      let bounds = parts[1].split(separator: "-")
      guard bounds.count == 2, let first = UInt64(bounds[0]), let last = UInt64(bounds[1]), first >= 1, first <= last
      else { return nil }
      self.init(destination: destination, first: first, last: last)
    }

    public var description: String { "\(destination):\(first)-\(last)" }
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
  public let method: SendMethod
  public let dropRange: DropRange?
  /// Packets enqueued per destination (the fault's count).
  let enqueuedPerDestination: UnsafeMutablePointer<UInt64>
  /// The io_uring send ring (method `.ioUring`): as many entries as a batch holds.
  let ring: UnsafeMutablePointer<io_uring>?
  /// Packets sent per destination index.
  public let packetsPerDestination: UnsafeMutablePointer<UInt64>
  /// Method `.gso`: one message per destination run, its iovecs (packets and padding), its control bytes.
  let segmented: SegmentedBatch?
  /// The kernel's bound on segments per GSO message (UDP_MAX_SEGMENTS is 64 on older kernels).
  public static let maxSegments = 64
  /// How much longer than the run's widest packet so far a packet may be and still join the run.
  static let maxPaddingGrowthBytes = 64
  /// Set once the kernel refused a GSO send: plain sendmmsg from then on.
  public private(set) var segmentationRefused = false

  /// - Parameters:
  ///   - destinations: index = channel id.
  ///   - interface: the interface multicast leaves from (IP_MULTICAST_IF), 127.0.0.1 by default.
  public init(
    destinations: [IPv4Endpoint], interface: UInt32 = IPv4Endpoint.loopback, ttl: UInt8 = 1, loop: Bool = true,
    sendBufferBytes: Int = 4 << 20, batchCapacity: Int = 256, method: SendMethod = .sendmmsg,
    dropRange: DropRange? = nil
  ) throws {
    self.dropRange = dropRange
    self.destinations = destinations
    self.batchCapacity = batchCapacity
    self.method = method
    fd = try openMulticastSendSocket(interface: interface, ttl: ttl, loop: loop, sendBufferBytes: sendBufferBytes)
    if method == .ioUring {
      // A plain ring: the publisher may be built on one thread and send from another.
      let ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
      ring.initialize(to: io_uring())
      let result = io_uring_queue_init(UInt32(batchCapacity), ring, 0)
      guard result == 0 else {
        ring.deallocate()
        close(fd)
        throw TransportError.system("io_uring_queue_init (send ring)", -result)
      }
      self.ring = ring
    } else {
      ring = nil
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
    enqueuedPerDestination = .allocate(capacity: max(1, destinations.count))
    enqueuedPerDestination.initialize(repeating: 0, count: max(1, destinations.count))
    segmented = method == .gso ? SegmentedBatch(capacity: batchCapacity) : nil
  }

  deinit {
    if let ring {
      io_uring_queue_exit(ring)
      ring.deallocate()
    }
    close(fd)
    addresses.deallocate()
    messages.deallocate()
    vectors.deallocate()
    channelsOfPending.deallocate()
    packetsPerDestination.deallocate()
    enqueuedPerDestination.deallocate()
    segmented?.release()
  }

  /// Queues one packet; its bytes must stay valid until `flush`. Flushes first when full.
  @inline(__always)
  public func enqueue(destination: UInt16, _ packet: UnsafeRawBufferPointer) {
    if let dropRange, destination == dropRange.destination {
      let ordinal = enqueuedPerDestination[Int(destination)] &+ 1
      enqueuedPerDestination[Int(destination)] = ordinal
      if ordinal >= dropRange.first && ordinal <= dropRange.last {
        counters.faultDrops &+= 1
        return
      }
    }
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

  /// Sends everything queued, never blocking: with as few `sendmmsg` calls as the kernel allows,
  /// or with one `io_uring_enter` that submits every send and waits for their completions (a
  /// non-blocking UDP send completes inline, so the wait is the submission itself).
  public func flush() {
    guard pending > 0 else { return }
    if let ring {
      flushThroughRing(ring)
      return
    }
    if let segmented, !segmentationRefused {
      flushSegmented(segmented)
      return
    }
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

  /// One `sendmmsg` of one message per run of a destination's packets (at most 64, and one IPv4 datagram's
  /// worth), each cut into its packets by UDP_SEGMENT. A destination's packets keep their order.
  func flushSegmented(_ batch: SegmentedBatch) {
    batch.taken.update(repeating: false, count: pending)
    var messageCount = 0
    var vectorCount = 0
    for first in 0..<pending where !batch.taken[first] {
      let destination = channelsOfPending[first]
      // The run: this destination's packets from `first` on, within the segment bounds.
      var segmentBytes = 0
      var runCount = 0
      for index in first..<pending where !batch.taken[index] && channelsOfPending[index] == destination {
        let widest = max(segmentBytes, vectors[index].iov_len)
        // A packet much longer than the run so far starts the next run rather than padding all before it.
        guard runCount < Self.maxSegments, (runCount + 1) * widest <= 65_507,
          runCount == 0 || widest <= segmentBytes + Self.maxPaddingGrowthBytes
        else { break }
        segmentBytes = widest
        batch.runs[runCount] = index
        runCount += 1
      }
      let message = batch.messages + messageCount
      message.pointee.msg_hdr = msghdr()
      message.pointee.msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + Int(destination))
      message.pointee.msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
      message.pointee.msg_hdr.msg_iov = batch.vectors + vectorCount
      var payloadBytes = 0
      var paddingBytes = 0
      for position in 0..<runCount {
        let index = batch.runs[position]
        batch.taken[index] = true
        batch.vectors[vectorCount] = vectors[index]
        vectorCount += 1
        payloadBytes += vectors[index].iov_len
        let padding = segmentBytes - vectors[index].iov_len
        if position < runCount - 1 && padding > 0 {
          batch.vectors[vectorCount] = iovec(iov_base: batch.zeros, iov_len: padding)
          vectorCount += 1
          paddingBytes += padding
        }
      }
      message.pointee.msg_hdr.msg_iovlen = vectorCount - (message.pointee.msg_hdr.msg_iov - batch.vectors)
      if runCount > 1 {
        qc_set_udp_segment(
          &message.pointee.msg_hdr, batch.control + messageCount * batch.controlBytes, UInt16(segmentBytes))
      }
      batch.segments[messageCount] = runCount
      batch.payloadBytes[messageCount] = payloadBytes
      batch.paddingBytes[messageCount] = paddingBytes
      batch.destinations[messageCount] = destination
      messageCount += 1
    }
    var sent = 0
    while sent < messageCount {
      let result = qc_sendmmsg(fd, batch.messages + sent, UInt32(messageCount - sent), Int32(MSG_DONTWAIT))
      if result > 0 {
        for message in sent..<sent + Int(result) {
          counters.packets &+= UInt64(batch.segments[message])
          counters.bytes &+= UInt64(batch.payloadBytes[message])
          if batch.segments[message] > 1 {
            counters.segmentedSends &+= 1
            counters.paddingBytes &+= UInt64(batch.paddingBytes[message])
          }
          packetsPerDestination[Int(batch.destinations[message])] &+= UInt64(batch.segments[message])
        }
        sent += Int(result)
        continue
      }
      let code = errno
      if code == EINTR { continue }
      if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS {
        counters.dropped &+= UInt64(batch.segments[sent])
      } else {
        counters.errors &+= UInt64(batch.segments[sent])
        // A device without segmentation offload: later batches go by plain sendmmsg.
        if batch.segments[sent] > 1 && (code == EIO || code == EINVAL) { segmentationRefused = true }
      }
      sent += 1
    }
    pending = 0
  }

  func flushThroughRing(_ ring: UnsafeMutablePointer<io_uring>) {
    for index in 0..<pending {
      // Never fails: the ring has an entry per batch slot and every flush reaps what it submits.
      _ = qc_prep_sendmsg(ring, fd, &messages[index].msg_hdr, UInt32(MSG_DONTWAIT), UInt64(index))
    }
    let submitted = min(pending, max(0, Int(io_uring_submit_and_wait(ring, UInt32(pending)))))
    // What the kernel did not take is an error, not a wait.
    counters.errors &+= UInt64(pending - submitted)
    var reaped = 0
    while reaped < submitted {
      var completion: UnsafeMutablePointer<io_uring_cqe>?
      guard io_uring_wait_cqe(ring, &completion) == 0, let completion else { break }
      let index = Int(completion.pointee.user_data)
      let result = completion.pointee.res
      io_uring_cqe_seen(ring, completion)
      reaped += 1
      if result >= 0 {
        counters.packets &+= 1
        counters.bytes &+= UInt64(vectors[index].iov_len)
        packetsPerDestination[Int(channelsOfPending[index])] &+= 1
      } else if result == -EAGAIN || result == -ENOBUFS {
        counters.dropped &+= 1
      } else {
        counters.errors &+= 1
      }
    }
    pending = 0
  }
}

/// The preallocated scratch of a GSO flush: at most one message and two iovecs per packet. Plain pointers (a
/// struct, not a class), so the flush does no reference counting; the publisher frees them.
struct SegmentedBatch {
  let messages: UnsafeMutablePointer<qc_mmsghdr>
  let vectors: UnsafeMutablePointer<iovec>
  let control: UnsafeMutableRawPointer
  let controlBytes = Int(qc_udp_segment_control_bytes())
  let taken: UnsafeMutablePointer<Bool>
  let runs: UnsafeMutablePointer<Int>
  let segments: UnsafeMutablePointer<Int>
  let payloadBytes: UnsafeMutablePointer<Int>
  let paddingBytes: UnsafeMutablePointer<Int>
  let destinations: UnsafeMutablePointer<UInt16>
  /// What padding points at: never written.
  let zeros: UnsafeMutableRawPointer

  init(capacity: Int) {
    messages = .allocate(capacity: capacity)
    messages.initialize(repeating: qc_mmsghdr(), count: capacity)
    vectors = .allocate(capacity: 2 * capacity)
    vectors.initialize(repeating: iovec(), count: 2 * capacity)
    control = .allocate(byteCount: capacity * controlBytes, alignment: 8)
    taken = .allocate(capacity: capacity)
    taken.initialize(repeating: false, count: capacity)
    runs = .allocate(capacity: capacity)
    segments = .allocate(capacity: capacity)
    payloadBytes = .allocate(capacity: capacity)
    paddingBytes = .allocate(capacity: capacity)
    destinations = .allocate(capacity: capacity)
    zeros = .allocate(byteCount: 65_536, alignment: 8)
    zeros.initializeMemory(as: UInt8.self, repeating: 0, count: 65_536)
  }

  func release() {
    messages.deallocate()
    vectors.deallocate()
    control.deallocate()
    taken.deallocate()
    runs.deallocate()
    segments.deallocate()
    payloadBytes.deallocate()
    paddingBytes.deallocate()
    destinations.deallocate()
    zeros.deallocate()
  }
}

/// Sends MoldUDP64 re-requests to the configured server from the socket whose answers ingest reads
/// like any feed datagram.
public struct RerequestSender: Sendable {
  public let fd: Int32
  public let server: IPv4Endpoint

  public init(fd: Int32, server: IPv4Endpoint) {
    self.fd = fd
    self.server = server
  }

  /// Sends the request's 20 bytes without waiting (a full socket drops it; the gap filler asks again).
  public func send(request bytes: UnsafeRawBufferPointer) {
    var address = server.socketAddress
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
  }
}
