import Feed
import Glibc
import QuotecastCore
import Transport

/// A book agent's timed duties: gap ticks, heartbeats and the snapshot cycle (`CoreDuties`), counter
/// publication every 20 ms, stage quantiles every second, and for shard 0 the anomaly log and the
/// stats line. Times come from the caller.
struct ShardTimers {
  let shard: BookShard
  let board: CounterBoard
  let log: (String) -> Void
  /// Shard 0 alone asks the re-request server (the answers reach every shard); nil: no server.
  let rerequests: RerequestSender?
  var duties: CoreDuties
  let statsNs: UInt64
  var nextStatsNs: UInt64
  var nextPublishNs: UInt64
  var nextStagesNs: UInt64
  var nextAnomalyLogNs: UInt64 = 0
  var anomalies = AnomalyLog()

  init(
    shard: BookShard, config: GatewayConfig, board: CounterBoard, rerequests: RerequestSender?, startNs: UInt64,
    log: @escaping (String) -> Void
  ) {
    self.shard = shard
    self.board = board
    self.log = log
    self.rerequests = shard.index == 0 ? rerequests : nil
    for channel in 0..<shard.channelSlots { shard.lastSendNs[channel] = startNs }
    duties = CoreDuties(
      heartbeatIntervalMs: config.channels.heartbeatIntervalMs, snapshotCycleMs: config.snapshot.cycleMs,
      snapshotTickMs: config.snapshot.tickMs, startNs: startNs, lastSendNs: shard.lastSendNs)
    statsNs = UInt64(config.operations.statsIntervalMs) * 1_000_000
    nextStatsNs = startNs + statsNs
    nextPublishNs = startNs
    nextStagesNs = startNs + 1_000_000_000
  }

  @inline(__always)
  mutating func tick<Sink: GatewaySink>(nowNs: UInt64, wallNs: UInt64, duty: DutyCycle, into sink: inout Sink) {
    // Gap filling: every shard keeps its own hold and gives up on its own.
    if let request = duties.run(core: shard.core, nowNs: nowNs, wallNs: wallNs, into: &sink) {
      if let rerequests { request.withRequestBytes { rerequests.send(request: $0) } }
    }
    if nowNs >= nextPublishNs {
      nextPublishNs = nowNs + 20_000_000
      publishCounters(duty: duty, sink: sink)
    }
    if nowNs >= nextStagesNs {
      nextStagesNs = nowNs + 1_000_000_000
      shard.stageHistograms.publish(to: board, shard: shard.index)
    }
    guard shard.index == 0 else { return }
    if nowNs >= nextAnomalyLogNs {
      nextAnomalyLogNs = nowNs + 1_000_000_000
      anomalies.logChanges(board, log: log)
    }
    if statsNs > 0 && nowNs >= nextStatsNs {
      nextStatsNs = nowNs + statsNs
      log("stats: \(GatewayStats(board: board).line)")
    }
  }

  func publishCounters<Sink: GatewaySink>(duty: DutyCycle, sink: Sink) {
    shard.publishCounters(to: board)
    sink.publishCounters(to: board, row: shard.index)
    duty.publish(to: board)
  }
}

/// Bad input is counted per datagram and logged here at most once a second: one line with what
/// changed since the last, so a hostile or broken feed cannot flood the log.
struct AnomalyLog {
  /// A switch, not an array literal: this runs on the book thread.
  static func counter(_ index: Int) -> GatewayCounter? {
    switch index {
    case 0: .gaps
    case 1: .gapsAbandoned
    case 2: .lostMessages
    case 3: .shortPackets
    case 4: .unknownSession
    case 5: .implausibleJumps
    case 6: .truncatedBlocks
    case 7: .countMismatches
    case 8: .sourceRejected
    case 9: .bookAnomalies
    case 10: .noBuffers
    case 11: .sendDrops
    case 12: .truncatedDatagrams
    // Includes a GSO send the kernel refused (the publisher then sends by plain sendmmsg).
    case 13: .sendErrors
    default: nil
    }
  }
  static var watched: Int { 14 }
  var last = (0..<AnomalyLog.watched).map { _ in UInt64(0) }
  var reportedStale = false

  mutating func logChanges(_ board: CounterBoard, log: (String) -> Void) {
    var changed = false
    for index in 0..<Self.watched where board.load(Self.counter(index)!) != last[index] { changed = true }
    if changed {
      var parts: [String] = []
      for index in 0..<Self.watched {
        let counter = Self.counter(index)!
        let value = board.load(counter)
        if value != last[index] { parts.append("\(counter.metricName) +\(value &- last[index])") }
        last[index] = value
      }
      log("anomalies in the last second (counted, dropped): " + parts.joined(separator: ", "))
    }
    if !reportedStale && board.load(.feedStale) != 0 {
      reportedStale = true
      log(
        "FEED STALE: \(board.load(.lostMessages)) upstream message(s) could not be recovered; every book may be "
          + "wrong, and subscribers are told so")
    }
  }
}
