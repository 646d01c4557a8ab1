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

/// Copies finished packets into the packet ring for the publish thread.
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

/// A pthread running one closure, joinable.
final class WorkerThread {
  var thread = pthread_t()
  let body: () -> Void

  init(_ body: @escaping () -> Void) {
    self.body = body
    let retained = Unmanaged.passRetained(self)
    pthread_create(
      &thread, nil,
      { argument in
        let worker = Unmanaged<WorkerThread>.fromOpaque(argument!).takeRetainedValue()
        worker.body()
        return nil
      }, retained.toOpaque())
  }

  func join() { pthread_join(thread, nil) }
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
  /// Dedicated threads: ingest (this thread) → descriptor ring → core → packet ring → publish.
  /// Buffers go back to io_uring from the core thread once the core is done with them.
  func runDedicated(receiver: URingReceiver, durationNs: UInt64?) throws {
    let descriptors = SPSCRing<DatagramDescriptor>(capacity: config.ingest.bufferCount)
    let packets = PacketRing(capacity: config.packetRingBytes)
    let ingestDone = Atomic<Bool>(false)
    let coreDone = Atomic<Bool>(false)
    let idleStrategy = config.idle
    let core = self.core
    let publisher = self.publisher
    let lastSendNs = self.lastSendNs
    var threadError: Error?

    let publishThread = WorkerThread { [self] in
      if let cpu = config.publishCPU {
        do { try CPUPinning.pinCurrentThread(to: cpu) } catch { threadError = error }
      }
      while true {
        let finished = coreDone.load(ordering: .acquiring)
        let count = packets.read { channel, bytes in publisher.enqueue(destination: channel, bytes) }
        if count > 0 {
          publisher.flush()
          packets.release()
        } else if finished {
          break
        } else {
          idle(idleStrategy)
        }
      }
    }

    let coreThread = WorkerThread { [self] in
      if let cpu = config.coreCPU {
        do { try CPUPinning.pinCurrentThread(to: cpu) } catch { threadError = error }
      }
      var sink = PacketRingSink(ring: packets, lastSendNs: lastSendNs)
      var loop = TimerLoop(gateway: self)
      while true {
        let finished = ingestDone.load(ordering: .acquiring)
        let cycleStartNs = Clock.monotonicNs()
        sink.nowNs = cycleStartNs
        let measures = config.stageTiming
        let count = descriptors.drain { descriptor in
          if let payload = descriptor.payload {
            let startNs = Clock.monotonicNs()
            core.process(
              moldPacket: UnsafeRawBufferPointer(start: payload, count: Int(descriptor.length)),
              nowNs: Clock.realtimeNs(), into: &sink)
            if measures { recordStages(ingestNs: startNs &- descriptor.reapedNs) }
          }
          receiver.recycle(bufferID: descriptor.bufferID)
        }
        let nowNs = Clock.monotonicNs()
        if count > 0 {
          receiver.commitRecycled()
          noteCycle(nowNs - cycleStartNs)
        }
        loop.tick(nowNs: nowNs, into: &sink, publishIngest: false)
        publishRingFull = sink.ringFull
        if count == 0 {
          if finished { break }
          idle(idleStrategy)
        }
      }
      coreDone.store(true, ordering: .releasing)
    }

    // Ingest, on the thread that created the ring (SINGLE_ISSUER).
    if let cpu = config.ingestCPU { try CPUPinning.pinCurrentThread(to: cpu) }
    let startNs = Clock.monotonicNs()
    let waitNs: Int64? = config.idle == .block ? 10_000_000 : nil
    var nextPublishNs = startNs
    func ingestOnce(waitNs: Int64?) -> Int {
      let handled = receiver.pollKeepingBuffers(waitNs: waitNs) { _, bufferID, payload, _ in
        let descriptor = DatagramDescriptor(
          payload: payload.baseAddress, length: Int32(payload.count), bufferID: bufferID,
          reapedNs: receiver.lastReapNs)
        // Never full: the ring holds as many entries as there are buffers.
        while !descriptors.write(descriptor) { descriptors.publish() }
      }
      descriptors.publish()
      return handled
    }
    while !stopRequested.load(ordering: .acquiring) {
      let nowNs = Clock.monotonicNs()
      if let durationNs, nowNs - startNs >= durationNs { break }
      let handled = ingestOnce(waitNs: waitNs)
      if nowNs >= nextPublishNs {
        nextPublishNs = nowNs + 20_000_000
        publishIngestCounters(receiver)
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
    ingestDone.store(true, ordering: .releasing)
    coreThread.join()
    publishThread.join()
    publishCoreCounters()
    stageHistograms.publish(to: counters)
    if let threadError { throw threadError }
    log("quotecast stopped after draining \(drained) datagram(s): \(stats.line)")
  }
}
