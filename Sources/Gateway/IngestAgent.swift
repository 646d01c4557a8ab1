import CQuotecastLinux
import Transport

/// What ingest hands the books: a datagram still in its io_uring buffer.
struct DatagramDescriptor: BitwiseCopyable {
  /// nil marks a buffer that held nothing deliverable: recycle only.
  var payload: UnsafeRawPointer?
  var length: Int32
  var bufferID: UInt16
  /// When ingest reaped it (monotonic ns).
  var reapedNs: UInt64
}

/// `feed.sources` plus the re-request server, copied once so the per-datagram check reads plain
/// memory (no array, no retain). Empty accepts every source; port 0 accepts any port.
struct SourceFilter {
  let allowed: UnsafeMutableBufferPointer<IPv4Endpoint>

  init(_ endpoints: [IPv4Endpoint]) {
    allowed = .allocate(capacity: endpoints.count)
    _ = allowed.initialize(from: endpoints)
  }

  func deallocate() { allowed.deallocate() }

  @inline(__always)
  func accepts(_ source: IPv4Endpoint) -> Bool {
    let count = allowed.count
    if count == 0 { return true }
    var index = 0
    while index < count {
      let endpoint = allowed[index]
      if endpoint.address == source.address && (endpoint.port == 0 || endpoint.port == source.port) { return true }
      index += 1
    }
    return false
  }
}

/// Reaps datagrams from io_uring into the descriptor ring, and gives each buffer back to the kernel
/// once every book agent is past it. On stop (or at the deadline) it drains what the kernel already
/// holds, then marks ingest done for the agents downstream.
struct IngestAgent: GatewayAgent {
  let receiver: URingReceiver
  let descriptors: BroadcastRing<DatagramDescriptor>
  let sources: SourceFilter
  let stopRequested: SharedFlag
  /// Set once drained: the book agents finish after it.
  let done: SharedFlag
  let deadlineNs: UInt64
  /// At most this many datagrams are reaped in one cycle (smart batching's bound).
  let maxBatch: Int
  let board: CounterBoard
  var duty: DutyCycle
  var sourceRejected: UInt64 = 0
  var draining = false
  var drained = 0
  var nextPublishNs: UInt64 = 0

  @inline(__always)
  mutating func noteCycle(_ cycleNs: UInt64) { duty.note(cycleNs) }

  var isFinished: Bool { done.isSet }

  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int {
    if done.isSet { return 0 }
    if !draining && (stopRequested.isSet || nowNs >= deadlineNs) { draining = true }
    reclaimFinished()
    var handled: Int
    if draining {
      // Datagrams still on their way get a millisecond; then nothing more is taken.
      handled = reap(waitNs: 1_000_000, enterKernel: true)
      drained += handled
      if handled == 0 { done.set() }
    } else {
      // Completions already posted need no system call; take every one waiting, up to the bound.
      handled = reap(waitNs: nil, enterKernel: receiver.completionsReady == 0)
      while handled > 0 && handled < maxBatch && receiver.completionsReady > 0 {
        handled += reap(waitNs: nil, enterKernel: false)
      }
    }
    if nowNs >= nextPublishNs {
      nextPublishNs = nowNs &+ 20_000_000
      publishCounters()
    }
    return handled
  }

  mutating func awaitWork(timeoutNs: Int64) {
    reclaimFinished()
    receiver.wait(timeoutNs: timeoutNs)
  }

  mutating func onClose(nowNs: UInt64, wallNs: UInt64) {
    done.set()
    publishCounters()
  }

  /// Gives back every buffer all book agents are done with; after the last agent ends, all of them.
  @inline(__always)
  func reclaimFinished() {
    let receiver = self.receiver
    if descriptors.reclaim({ receiver.recycle(bufferID: $0.bufferID) }) > 0 { receiver.commitRecycled() }
  }

  @inline(__always)
  mutating func reap(waitNs: Int64?, enterKernel: Bool) -> Int {
    let descriptors = self.descriptors
    let receiver = self.receiver
    let sources = self.sources
    var rejected: UInt64 = 0
    let handled = receiver.pollKeepingBuffers(waitNs: waitNs, enterKernel: enterKernel) {
      _, bufferID, payload, source in
      var accepted = payload.baseAddress
      if accepted != nil && !sources.accepts(source) {
        rejected &+= 1
        accepted = nil  // the buffer goes straight back
      }
      let descriptor = DatagramDescriptor(
        payload: accepted, length: Int32(payload.count), bufferID: bufferID, reapedNs: receiver.lastReapNs)
      // Never full on one thread (the ring holds as many entries as there are buffers); with book
      // threads, full only while they still hold the oldest buffers: give back what they finished.
      while !descriptors.write(descriptor) {
        descriptors.publish()
        if descriptors.reclaim({ receiver.recycle(bufferID: $0.bufferID) }) > 0 { receiver.commitRecycled() }
      }
    }
    sourceRejected &+= rejected
    descriptors.publish()
    return handled
  }

  func publishCounters() {
    let ingest = receiver.counters
    board.store(.datagramsIn, ingest.datagrams)
    board.store(.bytesIn, ingest.bytes)
    board.store(.noBuffers, ingest.noBuffers)
    board.store(.truncatedDatagrams, ingest.truncated)
    board.store(.ingestErrors, ingest.errors)
    board.store(.enterErrors, ingest.enterErrors)
    board.store(.sourceRejected, sourceRejected)
    board.store(.ingestThreadAllocations, qc_thread_allocations())
    duty.publish(to: board)
  }
}
