import CLibURing
import Glibc

/// Receives datagrams from one or more UDP sockets with io_uring: a multishot recvmsg per socket
/// into a provided buffer ring of preallocated buffers. Completions are reaped in batches; a
/// buffer goes back to the ring only after the handler has returned (every stage is done with
/// it); a recvmsg is re-armed whenever its completion arrives without IORING_CQE_F_MORE; ENOBUFS
/// counts as back-pressure, not an error.
public final class URingReceiver {
  public struct Config: Sendable, Equatable {
    /// Buffers in the provided ring (a power of two, at most 32,768).
    public var bufferCount = 4096
    /// Bytes per buffer, including the recvmsg header the kernel writes in front of the payload.
    public var bufferBytes = 2048
    public var ringEntries: UInt32 = 256
    /// Ask for IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN; falls back with a warning.
    public var singleIssuerDeferTaskrun = true
    /// Completions taken per batch.
    public var batch = 64

    public init() {}

    public func problems() -> [String] {
      var problems: [String] = []
      if bufferCount < 2 || bufferCount > 32768 || bufferCount & (bufferCount - 1) != 0 {
        problems.append("ingest.buffer_count: must be a power of two in 2...32768, got \(bufferCount)")
      }
      if bufferBytes < 256 || bufferBytes > 65536 {
        problems.append("ingest.buffer_bytes: must be 256...65536, got \(bufferBytes)")
      }
      if ringEntries < 8 || ringEntries > 32768 || ringEntries & (ringEntries - 1) != 0 {
        problems.append("ingest.ring_entries: must be a power of two in 8...32768, got \(ringEntries)")
      }
      if batch < 1 || batch > 4096 { problems.append("ingest.batch: must be 1...4096, got \(batch)") }
      return problems
    }
  }

  public struct Counters: Equatable, Sendable {
    public var completions: UInt64 = 0
    public var datagrams: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Multishot stopped because the buffer ring was empty (back-pressure).
    public var noBuffers: UInt64 = 0
    public var rearms: UInt64 = 0
    /// Datagrams larger than a buffer (MSG_TRUNC), dropped.
    public var truncated: UInt64 = 0
    public var errors: UInt64 = 0
    /// io_uring_enter failures (not timeouts): `lastEnterError` says which errno.
    public var enterErrors: UInt64 = 0
    public init() {}
  }

  public private(set) var lastEnterError: Int32 = 0
  /// When the batch being handled was reaped (monotonic ns): the start of the ingest stage.
  public private(set) var lastReapNs: UInt64 = 0

  public let config: Config
  /// What the kernel granted, e.g. "single-issuer+defer-taskrun" or a fallback note.
  public let setupDescription: String
  public private(set) var warnings: [String] = []
  let deferTaskrun: Bool
  let ring: UnsafeMutablePointer<io_uring>
  let bufferRing: UnsafeMutablePointer<io_uring_buf_ring>
  let bufferRingBytes: Int
  let buffers: UnsafeMutableRawPointer
  let headers: UnsafeMutablePointer<msghdr>
  let sockets: [Int32]
  let cqes: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
  let needsRearm: UnsafeMutablePointer<Bool>
  let mask: Int32
  public private(set) var counters = Counters()
  /// Sockets this receiver keeps open for as long as it lives (see the UDPReceiveSocket init).
  let ownedSockets: [UDPReceiveSocket]

  /// Receives from these sockets and keeps them alive: an optimized build may otherwise end a
  /// caller's local array after its last use, closing the descriptors under the ring.
  public convenience init(sockets: [UDPReceiveSocket], config: Config = Config()) throws {
    try self.init(sockets: sockets.map(\.fd), config: config, owning: sockets)
  }

  /// Receives from descriptors the caller keeps open for the receiver's whole life.
  public convenience init(sockets: [Int32], config: Config = Config()) throws {
    try self.init(sockets: sockets, config: config, owning: [])
  }

  init(sockets: [Int32], config: Config, owning: [UDPReceiveSocket]) throws {
    ownedSockets = owning
    let problems = config.problems()
    guard problems.isEmpty else { throw TransportError(problems.joined(separator: "; ")) }
    self.config = config
    self.sockets = sockets
    ring = .allocate(capacity: 1)
    ring.initialize(to: io_uring())
    var params = io_uring_params()
    var description = "default"
    var deferTaskrun = false
    if config.singleIssuerDeferTaskrun {
      params.flags = QC_SETUP_SINGLE_ISSUER | QC_SETUP_DEFER_TASKRUN
      let result = io_uring_queue_init_params(config.ringEntries, ring, &params)
      if result == 0 {
        description = "single-issuer+defer-taskrun"
        deferTaskrun = true
      } else if result == -EINVAL {
        warnings.append("kernel refused IORING_SETUP_SINGLE_ISSUER|DEFER_TASKRUN; using a plain ring")
        params = io_uring_params()
        let plain = io_uring_queue_init_params(config.ringEntries, ring, &params)
        guard plain == 0 else { ring.deallocate(); throw TransportError.system("io_uring_queue_init", -plain) }
      } else {
        ring.deallocate()
        throw TransportError.system("io_uring_queue_init_params", -result)
      }
    } else {
      let result = io_uring_queue_init_params(config.ringEntries, ring, &params)
      guard result == 0 else { ring.deallocate(); throw TransportError.system("io_uring_queue_init", -result) }
    }
    self.deferTaskrun = deferTaskrun
    setupDescription = description

    // The provided buffer ring: liburing 2.3 has no io_uring_setup_buf_ring, so mmap and register.
    bufferRingBytes = config.bufferCount * MemoryLayout<io_uring_buf>.stride
    guard
      let mapped = mmap(nil, bufferRingBytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0),
      mapped != MAP_FAILED
    else {
      io_uring_queue_exit(ring)
      ring.deallocate()
      throw TransportError.system("mmap (buffer ring)")
    }
    bufferRing = mapped.bindMemory(to: io_uring_buf_ring.self, capacity: 1)
    var registration = io_uring_buf_reg()
    registration.ring_addr = UInt64(UInt(bitPattern: mapped))
    registration.ring_entries = UInt32(config.bufferCount)
    registration.bgid = 0
    let registered = io_uring_register_buf_ring(ring, &registration, 0)
    guard registered == 0 else {
      munmap(mapped, bufferRingBytes)
      io_uring_queue_exit(ring)
      ring.deallocate()
      throw TransportError(
        "this kernel has no io_uring provided buffer rings (io_uring_register_buf_ring: "
          + "\(String(cString: strerror(-registered)))); quotecast needs Linux 5.19 or later")
    }
    buffers = .allocate(byteCount: config.bufferCount * config.bufferBytes, alignment: 4096)
    mask = io_uring_buf_ring_mask(UInt32(config.bufferCount))
    io_uring_buf_ring_init(bufferRing)
    for id in 0..<config.bufferCount {
      io_uring_buf_ring_add(
        bufferRing, buffers + id * config.bufferBytes, UInt32(config.bufferBytes), UInt16(id), mask, Int32(id))
    }
    io_uring_buf_ring_advance(bufferRing, Int32(config.bufferCount))

    headers = .allocate(capacity: max(1, sockets.count))
    headers.initialize(repeating: msghdr(), count: max(1, sockets.count))
    for index in 0..<sockets.count {
      // Multishot recvmsg reads only the lengths: it asks for the source address, no control data.
      headers[index].msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
      headers[index].msg_controllen = 0
    }
    cqes = .allocate(capacity: config.batch)
    needsRearm = .allocate(capacity: max(1, sockets.count))
    needsRearm.initialize(repeating: false, count: max(1, sockets.count))
    for index in 0..<sockets.count { try arm(index) }
    io_uring_submit(ring)
  }

  deinit {
    io_uring_queue_exit(ring)
    munmap(bufferRing, bufferRingBytes)
    ring.deallocate()
    buffers.deallocate()
    headers.deallocate()
    cqes.deallocate()
    needsRearm.deallocate()
  }

  func arm(_ index: Int) throws {
    let result = qc_arm_recvmsg_multishot(ring, sockets[index], headers + index, 0, UInt64(index))
    guard result == 0 else { throw TransportError.system("arming recvmsg", -result) }
  }

  /// Like `poll`, but the handler owns each buffer until `recycle(bufferID:)` gives it back, which
  /// may happen on one other thread (the single producer of buffer-ring entries in this mode). A
  /// buffer that held nothing deliverable arrives with an empty payload (nil base): recycle it too.
  @inline(__always)
  public func pollKeepingBuffers(
    waitNs: Int64? = nil, enterKernel: Bool = true,
    _ handler: (Int, UInt16, UnsafeRawBufferPointer, IPv4Endpoint) -> Void
  ) -> Int {
    keepBuffers = true
    defer { keepBuffers = false }
    var handled = 0
    _ = poll(waitNs: waitNs, enterKernel: enterKernel) { socket, payload, source in
      handler(socket, currentBufferID, payload, source)
      if payload.baseAddress != nil { handled += 1 }
    }
    return handled
  }

  /// Returns a buffer taken by `pollKeepingBuffers`; call `commitRecycled` after a batch.
  @inline(__always)
  public func recycle(bufferID: UInt16) {
    io_uring_buf_ring_add(
      bufferRing, buffers + Int(bufferID) * config.bufferBytes, UInt32(config.bufferBytes), bufferID, mask,
      pendingRecycles)
    pendingRecycles += 1
  }

  /// Makes recycled buffers visible to the kernel with one release store.
  @inline(__always)
  public func commitRecycled() {
    if pendingRecycles > 0 {
      io_uring_buf_ring_advance(bufferRing, pendingRecycles)
      pendingRecycles = 0
    }
  }

  /// Completions posted and not yet reaped (a look at the ring, no system call): input already waiting.
  @inline(__always)
  public var completionsReady: Int { Int(io_uring_cq_ready(ring)) }

  /// Blocks until a completion is posted or `timeoutNs` passes, reaping nothing (`poll` takes them).
  public func wait(timeoutNs: Int64) {
    guard completionsReady == 0 else { return }
    var timeout = __kernel_timespec(tv_sec: timeoutNs / 1_000_000_000, tv_nsec: timeoutNs % 1_000_000_000)
    var cqe: UnsafeMutablePointer<io_uring_cqe>?
    noteEnter(io_uring_submit_and_wait_timeout(ring, &cqe, 1, &timeout, nil))
  }

  @inline(__always)
  func noteEnter(_ entered: Int32) {
    if entered < 0 && entered != -ETIME && entered != -EINTR && entered != -EAGAIN && entered != -EBUSY {
      // For example -EEXIST: a SINGLE_ISSUER ring polled from a thread other than its creator.
      counters.enterErrors &+= 1
      lastEnterError = -entered
    }
  }

  var keepBuffers = false
  var currentBufferID: UInt16 = 0
  var pendingRecycles: Int32 = 0

  /// Reaps up to one batch of completions and hands each datagram, with the index of its socket
  /// and its source, to `handler`. With `waitNs`, blocks until a completion arrives or the time
  /// passes; without, only looks. Returns the number of datagrams handled.
  @inline(__always)
  public func poll(
    waitNs: Int64? = nil, enterKernel: Bool = true, _ handler: (Int, UnsafeRawBufferPointer, IPv4Endpoint) -> Void
  ) -> Int {
    var entered: Int32 = 0
    if !enterKernel {
      // Only what the kernel already posted: no system call.
    } else if let waitNs {
      var timeout = __kernel_timespec(tv_sec: waitNs / 1_000_000_000, tv_nsec: waitNs % 1_000_000_000)
      var cqe: UnsafeMutablePointer<io_uring_cqe>?
      entered = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &timeout, nil)
    } else if deferTaskrun {
      // With DEFER_TASKRUN completions are posted only when this thread enters the kernel.
      entered = io_uring_submit_and_get_events(ring)
    }
    noteEnter(entered)
    let ready = Int(io_uring_peek_batch_cqe(ring, cqes, UInt32(config.batch)))
    guard ready > 0 else { return 0 }
    lastReapNs = Clock.monotonicNs()
    var handled = 0
    var recycled: Int32 = 0
    for slot in 0..<ready {
      let cqe = cqes[slot]!
      let socketIndex = Int(truncatingIfNeeded: cqe.pointee.user_data)
      let result = cqe.pointee.res
      let flags = cqe.pointee.flags
      counters.completions &+= 1
      if flags & QC_CQE_F_MORE == 0, socketIndex < sockets.count { needsRearm[socketIndex] = true }
      if result < 0 {
        if result == -ENOBUFS { counters.noBuffers &+= 1 } else { counters.errors &+= 1 }
        continue
      }
      guard flags & QC_CQE_F_BUFFER != 0, socketIndex < sockets.count else { continue }
      let id = Int(qc_cqe_buffer_id(cqe))
      let buffer = buffers + id * config.bufferBytes
      let header = headers + socketIndex
      var delivered = false
      if let out = io_uring_recvmsg_validate(buffer, result, header) {
        if out.pointee.flags & UInt32(MSG_TRUNC) != 0 {
          counters.truncated &+= 1
        } else {
          let payload = io_uring_recvmsg_payload(out, header)!
          let length = Int(io_uring_recvmsg_payload_length(out, result, header))
          var source = IPv4Endpoint(address: 0, port: 0)
          if out.pointee.namelen >= UInt32(MemoryLayout<sockaddr_in>.size) {
            source = IPv4Endpoint(io_uring_recvmsg_name(out)!.loadUnaligned(as: sockaddr_in.self))
          }
          counters.datagrams &+= 1
          counters.bytes &+= UInt64(length)
          currentBufferID = UInt16(id)
          handler(socketIndex, UnsafeRawBufferPointer(start: payload, count: length), source)
          handled += 1
          delivered = true
        }
      } else {
        counters.errors &+= 1
      }
      if keepBuffers {
        // One producer of buffer-ring entries: an undelivered buffer goes to the taker as an
        // empty marker (nil base) so it is the one that recycles it.
        if !delivered {
          currentBufferID = UInt16(id)
          handler(socketIndex, UnsafeRawBufferPointer(start: nil, count: 0), IPv4Endpoint(address: 0, port: 0))
        }
        continue
      }
      io_uring_buf_ring_add(bufferRing, buffer, UInt32(config.bufferBytes), UInt16(id), mask, recycled)
      recycled += 1
    }
    if recycled > 0 { io_uring_buf_ring_advance(bufferRing, recycled) }
    io_uring_cq_advance(ring, UInt32(ready))
    for index in 0..<sockets.count where needsRearm[index] {
      needsRearm[index] = false
      if (try? arm(index)) != nil { counters.rearms &+= 1 }
    }
    return handled
  }
}
