import Histogram

/// Per-stage latency of the gateway's own work, per datagram: ingest (from the io_uring batch being
/// reaped to the core starting on it, including ring queueing in dedicated mode), decode and books,
/// encode, and send (the hand-off: sendmmsg in single mode, the packet ring in dedicated mode).
/// Recorded by the core thread into preallocated HdrHistograms; published as quantiles each second.
public enum Stage: Int, CaseIterable, Sendable {
  case ingest = 0
  case decodeAndBooks
  case encode
  case send

  public var name: String {
    switch self {
    case .ingest: "ingest"
    case .decodeAndBooks: "decode_books"
    case .encode: "encode"
    case .send: "send"
    }
  }
}

/// The quantiles published per stage; 1.0 is the maximum.
public let stageQuantiles: [Double] = [0.5, 0.99, 0.999, 1.0]

struct StageHistograms {
  var histograms: [Histogram<UInt64>] = Stage.allCases.map { _ in
    Histogram<UInt64>(
      lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
  }

  @inline(__always)
  mutating func record(_ stage: Stage, _ nanoseconds: UInt64) {
    _ = histograms[stage.rawValue].record(min(nanoseconds, 60_000_000_000))
  }

  /// Stores every stage's quantiles on the board (off the per-packet path).
  func publish(to board: CounterBoard) {
    for stage in 0..<Stage.allCases.count {
      for quantile in 0..<stageQuantiles.count {
        let value =
          stageQuantiles[quantile] >= 1
          ? histograms[stage].maxRecorded : histograms[stage].valueAtPercentile(stageQuantiles[quantile] * 100)
        board.storeStage(stage, quantile: quantile, histograms[stage].totalCount == 0 ? 0 : value)
      }
    }
  }
}
