import CLibURing
import CQuotecastLinux
import Glibc

/// io_uring `SEND_ZC` from one registered buffer to one destination (a connected socket): each send
/// completes twice, once with its result and once when the kernel lets go of the bytes. On
/// loopback the kernel must copy anyway, and each notification says whether it did.
public final class ZeroCopyRingSender {
  public let fd: Int32
  public let destination: IPv4Endpoint
  let ring: UnsafeMutablePointer<io_uring>
  /// The registered buffer (index 0) every packet is sent from.
  public let buffer: UnsafeMutableRawBufferPointer
  public let batchCapacity: Int
  var pending = 0
  let offsets: UnsafeMutablePointer<Int>
  let lengths: UnsafeMutablePointer<Int>
  public private(set) var counters = MulticastPublisher.Counters()
  /// Notifications that reported a copy instead of zero-copy.
  public private(set) var copiedNotifications: UInt64 = 0
  public private(set) var notifications: UInt64 = 0

  /// Fails where the kernel lacks SEND_ZC or fixed buffers, with the errno in the message.
  public init(
    destination: IPv4Endpoint, bufferBytes: Int, batchCapacity: Int, interface: UInt32 = IPv4Endpoint.loopback,
    sendBufferBytes: Int = 8 << 20
  ) throws {
    self.destination = destination
    self.batchCapacity = batchCapacity
    let socketFD = try openMulticastSendSocket(
      interface: interface, ttl: 1, loop: true, sendBufferBytes: sendBufferBytes)
    var address = destination.socketAddress
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(socketFD)
      throw TransportError.system("connect \(destination)")
    }
    fd = socketFD
    ring = .allocate(capacity: 1)
    ring.initialize(to: io_uring())
    // Two completions per send: the result and the notification.
    var parameters = io_uring_params()
    parameters.flags = IORING_SETUP_CQSIZE
    parameters.cq_entries = UInt32(4 * batchCapacity)
    let result = io_uring_queue_init_params(UInt32(batchCapacity), ring, &parameters)
    guard result == 0 else {
      ring.deallocate()
      close(fd)
      throw TransportError.system("io_uring_queue_init (SEND_ZC ring)", -result)
    }
    buffer = .allocate(byteCount: bufferBytes, alignment: 4096)
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    var vector = iovec(iov_base: buffer.baseAddress, iov_len: bufferBytes)
    let registered = io_uring_register_buffers(ring, &vector, 1)
    offsets = .allocate(capacity: batchCapacity)
    lengths = .allocate(capacity: batchCapacity)
    // Every property is set by now, so a throw here runs deinit, which frees them all.
    guard registered == 0 else { throw TransportError.system("io_uring_register_buffers", -registered) }
  }

  deinit {
    io_uring_queue_exit(ring)
    ring.deallocate()
    buffer.deallocate()
    offsets.deallocate()
    lengths.deallocate()
    close(fd)
  }

  /// Queues the `length` bytes at `offset` in the registered buffer; flushes first when full.
  public func enqueue(offset: Int, length: Int) {
    precondition(offset >= 0 && length > 0 && offset + length <= buffer.count, "inside the registered buffer")
    if pending == batchCapacity { flush() }
    offsets[pending] = offset
    lengths[pending] = length
    pending += 1
  }

  /// Submits every queued send in one `io_uring_enter` and reaps both completions of each, so the
  /// buffer is free again on return. Returns the first errno that was not back-pressure, or 0.
  @discardableResult
  public func flush() -> Int32 {
    guard pending > 0 else { return 0 }
    for index in 0..<pending {
      _ = qc_prep_send_zc_fixed(ring, fd, buffer.baseAddress! + offsets[index], lengths[index], 0, UInt64(index))
    }
    let submitted = min(pending, max(0, Int(io_uring_submit_and_wait(ring, UInt32(pending)))))
    counters.errors &+= UInt64(pending - submitted)
    var failure: Int32 = 0
    var awaitingResults = submitted
    var awaitingNotifications = 0
    while awaitingResults > 0 || awaitingNotifications > 0 {
      var completion: UnsafeMutablePointer<io_uring_cqe>?
      guard io_uring_wait_cqe(ring, &completion) == 0, let completion else { break }
      let flags = completion.pointee.flags
      let result = completion.pointee.res
      let index = Int(completion.pointee.user_data)
      if flags & QC_CQE_F_NOTIF != 0 {
        awaitingNotifications -= 1
        notifications &+= 1
        if qc_notif_copied(completion) != 0 { copiedNotifications &+= 1 }
      } else {
        awaitingResults -= 1
        if flags & QC_CQE_F_MORE != 0 { awaitingNotifications += 1 }
        if result >= 0 {
          counters.packets &+= 1
          counters.bytes &+= UInt64(lengths[index])
        } else if result == -EAGAIN || result == -ENOBUFS {
          counters.dropped &+= 1
        } else {
          counters.errors &+= 1
          if failure == 0 { failure = -result }
        }
      }
      io_uring_cqe_seen(ring, completion)
    }
    pending = 0
    return failure
  }
}
