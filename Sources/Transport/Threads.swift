import CQuotecastLinux
import Glibc
import Synchronization

public enum CPUPinning {
  /// Pins the calling thread to `cpu`, or explains why it cannot.
  public static func pinCurrentThread(to cpu: Int) throws {
    guard qc_cpu_allowed(Int32(cpu)) == 1 else {
      throw TransportError("cpu \(cpu) does not exist or is not allowed for this process")
    }
    let result = qc_pin_current_thread(Int32(cpu))
    guard result == 0 else { throw TransportError.system("pthread_setaffinity_np(\(cpu))", result) }
  }

  public static func isAllowed(_ cpu: Int) -> Bool { qc_cpu_allowed(Int32(cpu)) == 1 }

  /// Puts the calling thread under SCHED_IDLE: it gets a core only when nothing else wants one, so
  /// it can never delay the hot path's threads (nor, on a busy machine, count on running soon).
  public static func setCurrentThreadIdlePolicy() throws {
    let result = qc_set_current_thread_idle_policy()
    guard result == 0 else { throw TransportError.system("sched_setscheduler(SCHED_IDLE)", -result) }
  }

  /// Gives the calling thread a nice value (higher: yields the CPU to the hot path's threads).
  public static func setCurrentThreadNice(_ nice: Int) throws {
    let result = qc_set_current_thread_nice(Int32(nice))
    guard result == 0 else { throw TransportError.system("setpriority(\(nice))", -result) }
  }
}

/// A pthread running one closure: joined, or detached to end on its own. (A plain pthread, not
/// Foundation's Thread: the pipeline's threads are pinned and must not touch Foundation.)
public final class WorkerThread: @unchecked Sendable {
  var thread = pthread_t()
  let body: () -> Void

  public init(_ body: @escaping () -> Void) {
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

  public func join() { pthread_join(thread, nil) }

  public func detach() { pthread_detach(thread) }

  /// Runs `body` on a detached thread.
  public static func detached(_ body: @escaping () -> Void) { WorkerThread(body).detach() }
}

/// What a thread does when a duty cycle found no work.
public enum IdleStrategy: String, Sendable, CaseIterable, Codable {
  /// Spin: the lowest latency, a whole core.
  case busy
  /// Spin, yielding the CPU between polls.
  case yield
  /// Block in io_uring until work arrives (or a short timeout passes, to check for shutdown).
  case block
}

/// Monotonic and wall-clock nanoseconds.
public enum Clock {
  @inline(__always)
  public static func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
  }

  @inline(__always)
  public static func realtimeNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
  }
}

/// One thread sets it, others read it: a stop request, a "finished" signal, a "running" guard.
/// Writes release and reads acquire, so what the setter wrote before is visible after `isSet`.
public final class SharedFlag: Sendable {
  let raised: Atomic<Bool>

  public init(_ isSet: Bool = false) { raised = Atomic(isSet) }

  @inline(__always) public var isSet: Bool { raised.load(ordering: .acquiring) }
  public func set() { raised.store(true, ordering: .releasing) }
  public func clear() { raised.store(false, ordering: .releasing) }
  /// Sets it, and says whether this call did (false: it was already set).
  public func claim() -> Bool { !raised.exchange(true, ordering: .acquiringAndReleasing) }
}

/// Counts down from the number of parties; done once each has counted down (a stage whose
/// upstream is several threads ends after the last). Count-downs release and reads acquire.
public final class SharedCountdown: Sendable {
  let remaining: Atomic<Int>

  public init(_ parties: Int) { remaining = Atomic(parties) }

  public func countDown() { remaining.subtract(1, ordering: .releasing) }
  @inline(__always) public var isDone: Bool { remaining.load(ordering: .acquiring) <= 0 }
}

/// The first error any of several threads hit, for the thread that joins them.
public final class SharedError: Sendable {
  let lock = Mutex<Error?>(nil)

  public init() {}

  public func record(_ error: Error) { lock.withLock { if $0 == nil { $0 = error } } }
  public var first: Error? { lock.withLock { $0 } }

  /// Pins the calling worker thread and runs `body`; a thread that cannot be pinned still runs (the
  /// others may wait on it), and the error is kept for the joining thread to throw.
  public func pinning(cpu: Int?, _ body: () -> Void) {
    if let cpu {
      do { try CPUPinning.pinCurrentThread(to: cpu) } catch { record(error) }
    }
    body()
  }
}
