import Histogram

/// Per-stage latency of the gateway's own work, per datagram: ingest (from the io_uring batch being
/// reaped to the core starting on it, including ring queueing in dedicated mode), decode and books,
/// encode, and send (the hand-off: sendmmsg in single mode, the packet ring in dedicated mode).
/// Recorded by the core thread into preallocated HdrHistograms; published as quantiles each second.
public enum Stage: Int, CaseIterable, Sendable {
  /// `allCases.count` without building the array (this runs on the core thread).
  public static var count: Int { 4 }

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
public let stageQuantiles: [Double] = (0..<stageQuantileCount).map(stageQuantile)
public let stageQuantileCount = 4

/// A switch, not the array: the core thread must not touch a lazily initialized global.
@inline(__always)
public func stageQuantile(_ index: Int) -> Double {
  switch index {
  case 0: 0.5
  case 1: 0.99
  case 2: 0.999
  default: 1.0
  }
}

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
  func publish(to board: CounterBoard, shard: Int) {
    for stage in 0..<Stage.count {
      for quantile in 0..<stageQuantileCount {
        let value =
          stageQuantile(quantile) >= 1
          ? histograms[stage].maxRecorded : histograms[stage].valueAtPercentile(stageQuantile(quantile) * 100)
        board.storeStage(stage, quantile: quantile, histograms[stage].totalCount == 0 ? 0 : value, shard: shard)
      }
    }
  }
}
