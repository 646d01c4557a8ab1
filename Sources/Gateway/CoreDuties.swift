import Feed
import QuotecastCore

/// The timed duties of the thread that owns a core: the gap filler's tick (its re-request is
/// returned for the caller to send), a heartbeat on each written channel idle for the interval, and
/// the snapshot cycle (this instance's layout at the start of every cycle, then a slice of the
/// instruments each tick, so every instrument goes once a cycle). It reads no clock and owns no
/// socket: the gateway passes the monotonic and the wall time and its sink; tests pass their own.
public struct CoreDuties {
  public let heartbeatNs: UInt64
  public let snapshotTickNs: UInt64
  public let ticksPerCycle: Int
  /// When each channel (the snapshot channel last) last sent, monotonic ns: the sink writes it.
  let lastSendNs: UnsafeMutablePointer<UInt64>
  var nextSnapshotNs: UInt64
  var tick = 0
  var perTick = 1
  /// Where the next snapshot slice starts, in locate order.
  public private(set) var snapshotPosition = 0

  public init(
    heartbeatIntervalMs: Int, snapshotCycleMs: Int, snapshotTickMs: Int, startNs: UInt64,
    lastSendNs: UnsafeMutablePointer<UInt64>
  ) {
    heartbeatNs = UInt64(heartbeatIntervalMs) * 1_000_000
    snapshotTickNs = UInt64(snapshotTickMs) * 1_000_000
    ticksPerCycle = max(1, snapshotCycleMs / max(1, snapshotTickMs))
    nextSnapshotNs = startNs + snapshotTickNs
    self.lastSendNs = lastSendNs
  }

  /// Does what is due at `nowNs` (monotonic); packets are stamped with `wallNs`.
  @inline(__always)
  public mutating func run<Sink: PacketSink>(
    core: QuotecastCore, nowNs: UInt64, wallNs: UInt64, into sink: inout Sink
  ) -> RerequestAction? {
    let request = core.tick(nowNs: wallNs, into: &sink)
    for channel in core.encoder.writtenChannels where nowNs &- lastSendNs[Int(channel)] >= heartbeatNs {
      core.heartbeat(channel: channel, nowNs: wallNs, into: &sink)
    }
    if nowNs >= nextSnapshotNs {
      nextSnapshotNs = nowNs + snapshotTickNs
      // Recount the instruments once per cycle (a scan of every locate), not on every tick.
      if tick % ticksPerCycle == 0 {
        perTick = (max(1, core.books.activeCount) + ticksPerCycle - 1) / ticksPerCycle
        core.publishLayout(nowNs: wallNs, into: &sink)
      }
      tick += 1
      snapshotPosition = core.publishSnapshotSlice(
        channel: core.encoder.snapshotChannel, start: snapshotPosition, count: perTick, nowNs: wallNs, into: &sink)
    }
    return request
  }
}
