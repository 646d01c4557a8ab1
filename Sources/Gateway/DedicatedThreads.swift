import CQuotecastLinux
import Glibc
import QuotecastCore
import Synchronization
import Transport

/// What the ingest thread hands the core thread: a datagram still in its io_uring buffer.
struct DatagramDescriptor: BitwiseCopyable {
  /// nil marks a buffer that held nothing deliverable: recycle only.
  var payload: UnsafeRawPointer?
  var length: Int32
  var bufferID: UInt16
  /// When the ingest thread reaped it (monotonic ns).
  var reapedNs: UInt64
}

/// Copies finished packets into a book shard's packet ring for the publish thread.
struct PacketRingSink: PacketSink {
  let ring: PacketRing
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nowNs: UInt64 = 0
  var ringFull: UInt64 = 0

  @inline(__always)
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
    if ring.write(channel: channel, packet) {
      lastSendNs[Int(channel)] = nowNs
    } else {
      ringFull &+= 1
    }
  }

  @inline(__always)
  mutating func flush() { ring.publish() }
}

/// A thread's duty-cycle record: cycles that did work, the longest, and those over the stall
/// threshold (an Aeron-style agent's health, published to the board).
struct DutyCycle {
  let stallThresholdNs: UInt64
  var cycles: UInt64 = 0
  var stalls: UInt64 = 0
  var longestNs: UInt64 = 0

  @inline(__always)
  mutating func note(_ cycleNs: UInt64) {
    cycles &+= 1
    longestNs = max(longestNs, cycleNs)
    if cycleNs > stallThresholdNs { stalls &+= 1 }
  }

  func publish(to board: CounterBoard, cycles: GatewayCounter, stalls: GatewayCounter, longest: GatewayCounter) {
    board.store(cycles, self.cycles)
    board.store(stalls, self.stalls)
    board.store(longest, longestNs)
  }
}

@inline(__always)
func idle(_ strategy: IdleStrategy) {
  switch strategy {
  case .busy: break
  case .yield: sched_yield()
  case .block:
    var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
    nanosleep(&pause, nil)
  }
}

extension Gateway {
  /// Dedicated threads: ingest (this thread) → descriptor broadcast ring → one thread per book
  /// shard → a packet ring per shard → publish. Every shard reads every datagram and applies the
  /// messages of its own instruments; each channel has exactly one writing shard. The ingest
  /// thread gives a buffer back to io_uring once every shard is done with it.
  func runDedicated(receiver: URingReceiver, durationNs: UInt64?) throws {
    let shardCount = shards.count
    let descriptors = BroadcastRing<DatagramDescriptor>(capacity: config.ingest.bufferCount, consumers: shardCount)
    let packetRings = (0..<shardCount).map { _ in PacketRing(capacity: config.packetRingBytes) }
    let ingestDone = SharedFlag()
    let shardsRunning = Atomic<Int>(shardCount)
    let idleStrategy = config.idle
    let publisher = self.publisher
    let tap = self.tap
    let threadErrors = ThreadErrors()

    let publishThread = WorkerThread { [self] in
      if let cpu = config.publishCPU {
        do { try CPUPinning.pinCurrentThread(to: cpu) } catch { threadErrors.record(error) }
      }
      let rings = UnsafeMutablePointer<PacketRing>.allocate(capacity: shardCount)
      rings.initialize(from: packetRings, count: shardCount)
      defer { rings.deinitialize(count: shardCount).deallocate() }
      var nextPublishNs: UInt64 = 0
      var duty = DutyCycle(stallThresholdNs: UInt64(config.stallThresholdUs) * 1000)
      while true {
        let finished = shardsRunning.load(ordering: .acquiring) == 0
        let cycleStartNs = Clock.monotonicNs()
        // Smart batching: every shard's waiting packets go out in one flush (one sendmmsg), and each ring's space
        // is released only after the flush, since the queued sends point into it.
        var count = 0
        for index in 0..<shardCount {
          count += rings[index].read { channel, bytes in
            publisher.enqueue(destination: channel, bytes)
            tap?.offer(channel: channel, bytes)
          }
        }
        if count > 0 {
          publisher.flush()
          tap?.publish()
          for index in 0..<shardCount { rings[index].release() }
        }
        let nowNs = Clock.monotonicNs()
        if count > 0 { duty.note(nowNs - cycleStartNs) }
        if nowNs >= nextPublishNs {
          nextPublishNs = nowNs + 20_000_000
          publishSendCounters()
          duty.publish(to: counters, cycles: .publishCycles, stalls: .publishStalls, longest: .publishLongestCycleNs)
        }
        if count == 0 {
          if finished { break }
          idle(idleStrategy)
        }
      }
      publishSendCounters()
      duty.publish(to: counters, cycles: .publishCycles, stalls: .publishStalls, longest: .publishLongestCycleNs)
    }

    let shardThreads = shards.map { shard in
      WorkerThread { [self] in
        if !config.coreCPUs.isEmpty {
          do { try CPUPinning.pinCurrentThread(to: config.coreCPUs[shard.index]) } catch { threadErrors.record(error) }
        }
        let core = shard.core
        var reader = BroadcastRing<DatagramDescriptor>.Reader(ring: descriptors, consumer: shard.index)
        var sink = PacketRingSink(ring: packetRings[shard.index], lastSendNs: shard.lastSendNs)
        var loop = TimerLoop(gateway: self, shard: shard)
        let measures = config.stageTiming
        let maxBatch = config.maxBatchDatagrams
        while true {
          let finished = ingestDone.isSet
          let cycleStartNs = Clock.monotonicNs()
          sink.nowNs = cycleStartNs
          // Smart batching: the datagrams waiting in the ring share their channels' packets, up to the bound.
          core.openBatch()
          let count = reader.drain { descriptor in
            guard let payload = descriptor.payload else { return }
            let startNs = Clock.monotonicNs()
            core.process(
              moldPacket: UnsafeRawBufferPointer(start: payload, count: Int(descriptor.length)),
              nowNs: Clock.realtimeNs(), into: &sink)
            if measures && core.lastProcessDelivered { recordStages(shard, ingestNs: startNs &- descriptor.reapedNs) }
            if core.datagramsInBatch >= maxBatch {
              closeBatch(shard, into: &sink, measures: measures)
              core.openBatch()
            }
          }
          closeBatch(shard, into: &sink, measures: measures)
          let nowNs = Clock.monotonicNs()
          if count > 0 { noteCycle(shard, nowNs - cycleStartNs) }
          loop.tick(nowNs: nowNs, into: &sink, ownsIngestAndSend: false)
          shard.publishRingFull = sink.ringFull
          if count == 0 {
            if finished { break }
            idle(idleStrategy)
          }
        }
        // A gap still open can no longer be filled: what is held goes out, and the rest is lost.
        core.finishGaps(nowNs: Clock.realtimeNs(), into: &sink)
        sink.flush()
        shard.publishRingFull = sink.ringFull
        publishCoreCounters(shard)
        shard.stageHistograms.publish(to: counters, shard: shard.index)
        shardsRunning.subtract(1, ordering: .releasing)
      }
    }

    // Ingest, on the thread that created the ring (SINGLE_ISSUER).
    if let cpu = config.ingestCPU {
      do {
        try CPUPinning.pinCurrentThread(to: cpu)
      } catch {
        // The other threads are running: stop them before giving up.
        ingestDone.set()
        for thread in shardThreads { thread.join() }
        publishThread.join()
        throw error
      }
    }
    let startNs = Clock.monotonicNs()
    let waitNs: Int64? = config.idle == .block ? 10_000_000 : nil
    var nextPublishNs = startNs
    func recycleFinished() {
      if descriptors.reclaim({ receiver.recycle(bufferID: $0.bufferID) }) > 0 { receiver.commitRecycled() }
    }
    func ingestOnce(waitNs: Int64?) -> Int {
      recycleFinished()
      let handled = receiver.pollKeepingBuffers(waitNs: waitNs) { _, bufferID, payload, source in
        var accepted = payload.baseAddress
        if accepted != nil && !accepts(source: source) {
          sourceRejected &+= 1
          accepted = nil  // the buffer goes straight back
        }
        let descriptor = DatagramDescriptor(
          payload: accepted, length: Int32(payload.count), bufferID: bufferID, reapedNs: receiver.lastReapNs)
        // Full only while shards still hold the oldest buffers: give back what they finished.
        while !descriptors.write(descriptor) {
          descriptors.publish()
          recycleFinished()
        }
      }
      descriptors.publish()
      return handled
    }
    var duty = DutyCycle(stallThresholdNs: UInt64(config.stallThresholdUs) * 1000)
    while !stopRequested.isSet {
      let nowNs = Clock.monotonicNs()
      if let durationNs, nowNs - startNs >= durationNs { break }
      let handled = ingestOnce(waitNs: waitNs)
      // The blocking wait is idle time: time from the reap that found work to the hand-off.
      if handled > 0 { duty.note(Clock.monotonicNs() - max(nowNs, receiver.lastReapNs)) }
      if nowNs >= nextPublishNs {
        nextPublishNs = nowNs + 20_000_000
        publishIngestCounters(receiver)
        duty.publish(to: counters, cycles: .ingestCycles, stalls: .ingestStalls, longest: .ingestLongestCycleNs)
      }
      if handled == 0 && config.idle == .yield { sched_yield() }
    }
    var drained = 0
    while true {
      let handled = ingestOnce(waitNs: 1_000_000)
      if handled == 0 { break }
      drained += handled
    }
    publishIngestCounters(receiver)
    duty.publish(to: counters, cycles: .ingestCycles, stalls: .ingestStalls, longest: .ingestLongestCycleNs)
    ingestDone.set()
    for thread in shardThreads { thread.join() }
    publishThread.join()
    recycleFinished()
    if let error = threadErrors.first { throw error }
    log("quotecast stopped after draining \(drained) datagram(s): \(stats.line)")
  }
}

/// The first error any worker thread hit (pinning), for the thread that joins them.
final class ThreadErrors: @unchecked Sendable {
  let lock = Mutex<Error?>(nil)
  func record(_ error: Error) { lock.withLock { if $0 == nil { $0 = error } } }
  var first: Error? { lock.withLock { $0 } }
}
