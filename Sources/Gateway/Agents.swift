import Glibc
import Transport

/// One thread's share of the gateway's work, in Aeron's shape: the runner calls `doWork` in a loop,
/// and the runner alone decides what to do when nothing was ready (the idle strategy). An agent
/// never waits inside `doWork`, except ingest while draining on stop.
protocol GatewayAgent {
  /// Does whatever is ready; returns how much (0: nothing was). `nowNs` is monotonic and `wallNs`
  /// the wall clock stamped on packets: the runner reads both once a cycle.
  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int
  /// Nothing more will come in: for ingest, a stop was asked and the kernel is drained; for the
  /// others, their upstream agents have finished. Read before `doWork`: the runner ends after a
  /// cycle that began finished and found no work.
  var isFinished: Bool { get }
  /// The `block` idle strategy: waits until work may be ready, at most `timeoutNs`.
  mutating func awaitWork(timeoutNs: Int64)
  /// Once, after the last cycle: hands on what remains and publishes final counters.
  mutating func onClose(nowNs: UInt64, wallNs: UInt64)
  /// A cycle that did work took `cycleNs`: the agent keeps the record and publishes it with its
  /// counters. (A method, not a mutable property: a property's modify would be a coroutine call.)
  mutating func noteCycle(_ cycleNs: UInt64)
}

extension GatewayAgent {
  /// Agents that have no wake-up source of their own nap briefly.
  mutating func awaitWork(timeoutNs: Int64) {
    var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
    nanosleep(&pause, nil)
  }
}

/// Where an agent's duty cycle goes on the board.
struct DutyCounters {
  let cycles: GatewayCounter
  let stalls: GatewayCounter
  let longest: GatewayCounter
  let row: Int

  static func bookShard(_ row: Int) -> DutyCounters {
    DutyCounters(cycles: .cycles, stalls: .stalls, longest: .longestCycleNs, row: row)
  }
  static var ingest: DutyCounters {
    DutyCounters(cycles: .ingestCycles, stalls: .ingestStalls, longest: .ingestLongestCycleNs, row: 0)
  }
  static var publish: DutyCounters {
    DutyCounters(cycles: .publishCycles, stalls: .publishStalls, longest: .publishLongestCycleNs, row: 0)
  }
}

/// An agent's duty-cycle record: cycles that did work, the longest, and those over the stall
/// threshold.
struct DutyCycle {
  let stallThresholdNs: UInt64
  let counters: DutyCounters
  var cycles: UInt64 = 0
  var stalls: UInt64 = 0
  var longestNs: UInt64 = 0

  init(stallThresholdUs: Int, counters: DutyCounters) {
    stallThresholdNs = UInt64(max(0, stallThresholdUs)) * 1000
    self.counters = counters
  }

  @inline(__always)
  mutating func note(_ cycleNs: UInt64) {
    cycles &+= 1
    longestNs = max(longestNs, cycleNs)
    if cycleNs > stallThresholdNs { stalls &+= 1 }
  }

  func publish(to board: CounterBoard) {
    board.store(counters.cycles, cycles, shard: counters.row)
    board.store(counters.stalls, stalls, shard: counters.row)
    board.store(counters.longest, longestNs, shard: counters.row)
  }
}

/// Two agents on one thread, the first's work before the second's each cycle (single mode:
/// ingest, then the books that send). It idles as the first does (ingest waits in io_uring), and
/// its duty cycle is the second's.
struct CompositeAgent<First: GatewayAgent, Second: GatewayAgent>: GatewayAgent {
  var first: First
  var second: Second

  @inline(__always)
  mutating func doWork(nowNs: UInt64, wallNs: UInt64) -> Int {
    first.doWork(nowNs: nowNs, wallNs: wallNs) + second.doWork(nowNs: nowNs, wallNs: wallNs)
  }

  var isFinished: Bool { first.isFinished && second.isFinished }

  mutating func awaitWork(timeoutNs: Int64) { first.awaitWork(timeoutNs: timeoutNs) }

  mutating func onClose(nowNs: UInt64, wallNs: UInt64) {
    second.onClose(nowNs: nowNs, wallNs: wallNs)
    first.onClose(nowNs: nowNs, wallNs: wallNs)
  }

  @inline(__always)
  mutating func noteCycle(_ cycleNs: UInt64) { second.noteCycle(cycleNs) }
}

/// Drives one agent on the calling thread: pinning, the duty-cycle record, the idle strategy, and
/// the end (a cycle that began finished and found nothing), then `onClose`.
struct AgentRunner {
  let idle: IdleStrategy
  /// How long `block` waits before looking again (timers and the stop flag are checked then).
  var blockTimeoutNs: Int64 = 10_000_000
  var clock = AgentClock.system

  /// Pins the calling thread (nil: leaves it where the scheduler puts it).
  static func pin(cpu: Int?) throws {
    if let cpu { try CPUPinning.pinCurrentThread(to: cpu) }
  }

  func run<Agent: GatewayAgent>(_ agent: inout Agent) {
    while true {
      let finished = agent.isFinished
      let startNs = clock.monotonicNs()
      let work = agent.doWork(nowNs: startNs, wallNs: clock.wallNs())
      if work > 0 {
        agent.noteCycle(clock.monotonicNs() &- startNs)
        continue
      }
      if finished { break }
      switch idle {
      case .busy: break
      case .yield: sched_yield()
      case .block: agent.awaitWork(timeoutNs: blockTimeoutNs)
      }
    }
    agent.onClose(nowNs: clock.monotonicNs(), wallNs: clock.wallNs())
  }
}

/// The runner's clocks: the system's, or a test's (plain C function pointers: no context, no ARC).
struct AgentClock {
  let monotonicNs: @convention(c) () -> UInt64
  let wallNs: @convention(c) () -> UInt64

  static var system: AgentClock {
    AgentClock(monotonicNs: { Clock.monotonicNs() }, wallNs: { Clock.realtimeNs() })
  }
}
