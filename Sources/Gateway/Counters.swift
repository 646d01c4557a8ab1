import Synchronization
import Book
import QuotecastCore

/// Gateway counters with stable ids. The gateway thread publishes them with relaxed atomic stores
/// every few milliseconds, off the per-packet path; readers (the metrics endpoint, tests) load them
/// from any thread without a lock.
public enum GatewayCounter: Int, CaseIterable, Sendable {
  case datagramsIn = 0
  case bytesIn
  case messages
  case packetsOut
  case bytesOut
  case heartbeats
  case sendDrops
  case sendErrors
  case gaps
  case gapMessages
  case duplicatePackets
  case duplicateMessages
  case unknownSession
  case implausibleJumps
  case truncatedBlocks
  case countMismatches
  case shortPackets
  case noBuffers
  case truncatedDatagrams
  case ingestErrors
  case enterErrors
  case bookAnomalies
  case eventsDropped
  case liveOrders
  case liveLevels
  case cycles
  /// Duty cycles that took longer than the stall threshold.
  case stalls
  case longestCycleNs
  /// Heap allocations by the gateway thread since it started (UInt64.max when not measured).
  case threadAllocations
  /// Packets the core could not hand to the publish thread (dedicated mode).
  case publishRingFull
  /// Dedicated mode: the ingest and publish threads' own duty cycles (the book threads' are above).
  case ingestCycles
  case ingestStalls
  case ingestLongestCycleNs
  case publishCycles
  case publishStalls
  case publishLongestCycleNs
  /// Output packets withheld by `faults.drop_output`.
  case faultDrops
  /// Feed datagrams from a source not in `feed.sources`.
  case sourceRejected
  /// Gaps closed by held packets (the other input, reordering, or a retransmission).
  case gapsFilled
  /// Gaps given up on: the feed is stale.
  case gapsAbandoned
  case rerequests
  case heldPackets
  case heldDuplicates
  /// Held packets replaced by a longer copy (the first had been cut short).
  case truncatedCopiesReplaced
  /// Duplicate copies that were cut short or corrupted (the good copy won).
  case damagedDuplicates
  /// Upstream messages lost for good this session.
  case lostMessages
  /// 1 once a gap could not be recovered: every book may be wrong.
  case feedStale
  /// Smart batching: output batches closed, the datagrams they carried, those of more than one datagram, and
  /// the largest (datagrams per batch = batchedDatagrams / batches).
  case batches
  case batchedDatagrams
  case multiDatagramBatches
  case largestBatch
  /// `send_method: gso`: messages that carried several packets, and the zero bytes that padded them.
  case segmentedSends
  case paddingBytesOut
  /// Started mid-session and re-requested the session from message 1 (`feed.catch_up`).
  case catchUps
  /// Heap allocations by the ingest thread and the publish thread since they started (dedicated mode; in single
  /// mode ingest runs on the book thread, counted in `threadAllocations`). UInt64.max when not measured.
  case ingestThreadAllocations
  case publishThreadAllocations

  /// The Prometheus name.
  public var metricName: String {
    switch self {
    case .datagramsIn: "quotecast_datagrams_in_total"
    case .bytesIn: "quotecast_bytes_in_total"
    case .messages: "quotecast_messages_total"
    case .packetsOut: "quotecast_packets_out_total"
    case .bytesOut: "quotecast_bytes_out_total"
    case .heartbeats: "quotecast_heartbeats_total"
    case .sendDrops: "quotecast_send_drops_total"
    case .sendErrors: "quotecast_send_errors_total"
    case .gaps: "quotecast_gaps_total"
    case .gapMessages: "quotecast_gap_messages_total"
    case .duplicatePackets: "quotecast_duplicate_packets_total"
    case .duplicateMessages: "quotecast_duplicate_messages_total"
    case .unknownSession: "quotecast_unknown_session_packets_total"
    case .implausibleJumps: "quotecast_implausible_sequence_jumps_total"
    case .truncatedBlocks: "quotecast_truncated_blocks_total"
    case .countMismatches: "quotecast_count_mismatches_total"
    case .shortPackets: "quotecast_short_packets_total"
    case .noBuffers: "quotecast_ingest_enobufs_total"
    case .truncatedDatagrams: "quotecast_ingest_truncated_datagrams_total"
    case .ingestErrors: "quotecast_ingest_errors_total"
    case .enterErrors: "quotecast_io_uring_enter_errors_total"
    case .bookAnomalies: "quotecast_book_anomalies_total"
    case .eventsDropped: "quotecast_events_dropped_total"
    case .liveOrders: "quotecast_live_orders"
    case .liveLevels: "quotecast_live_price_levels"
    case .cycles: "quotecast_duty_cycles_total"
    case .stalls: "quotecast_duty_cycle_stalls_total"
    case .longestCycleNs: "quotecast_longest_duty_cycle_nanoseconds"
    case .threadAllocations: "quotecast_gateway_thread_allocations"
    case .publishRingFull: "quotecast_publish_ring_full_total"
    case .ingestCycles: "quotecast_ingest_duty_cycles_total"
    case .ingestStalls: "quotecast_ingest_duty_cycle_stalls_total"
    case .ingestLongestCycleNs: "quotecast_ingest_longest_duty_cycle_nanoseconds"
    case .publishCycles: "quotecast_publish_duty_cycles_total"
    case .publishStalls: "quotecast_publish_duty_cycle_stalls_total"
    case .publishLongestCycleNs: "quotecast_publish_longest_duty_cycle_nanoseconds"
    case .faultDrops: "quotecast_fault_dropped_packets_total"
    case .sourceRejected: "quotecast_source_rejected_datagrams_total"
    case .gapsFilled: "quotecast_gaps_filled_total"
    case .gapsAbandoned: "quotecast_gaps_abandoned_total"
    case .rerequests: "quotecast_rerequests_total"
    case .heldPackets: "quotecast_held_packets_total"
    case .heldDuplicates: "quotecast_held_duplicates_total"
    case .truncatedCopiesReplaced: "quotecast_truncated_copies_replaced_total"
    case .damagedDuplicates: "quotecast_damaged_duplicates_total"
    case .lostMessages: "quotecast_lost_messages_total"
    case .feedStale: "quotecast_feed_stale"
    case .batches: "quotecast_batches_total"
    case .batchedDatagrams: "quotecast_batched_datagrams_total"
    case .multiDatagramBatches: "quotecast_multi_datagram_batches_total"
    case .largestBatch: "quotecast_largest_batch_datagrams"
    case .segmentedSends: "quotecast_segmented_sends_total"
    case .paddingBytesOut: "quotecast_padding_bytes_out_total"
    case .catchUps: "quotecast_catch_ups_total"
    case .ingestThreadAllocations: "quotecast_ingest_thread_allocations"
    case .publishThreadAllocations: "quotecast_publish_thread_allocations"
    }
  }

  public var isGauge: Bool {
    self == .liveOrders || self == .liveLevels || self == .longestCycleNs || self == .threadAllocations
      || self == .ingestLongestCycleNs || self == .publishLongestCycleNs || self == .feedStale
      || self == .largestBatch || self == .ingestThreadAllocations || self == .publishThreadAllocations
  }
}

/// Each book shard's thread stores into its own row of slots (no two writers share a slot);
/// readers see the sum over rows (the maximum, for the longest cycle and stage latencies).
public final class CounterBoard: @unchecked Sendable {
  public let shards: Int
  /// Counters per row (`allCases.count`, computed once: it builds an array).
  let rowWidth = GatewayCounter.allCases.count
  let slots: UnsafeMutablePointer<Atomic<UInt64>>
  let messageSlots: UnsafeMutablePointer<Atomic<UInt64>>
  let stageSlots: UnsafeMutablePointer<Atomic<UInt64>>
  static let stageRow = 64

  public init(shards: Int = 1) {
    self.shards = max(1, shards)
    let rows = self.shards
    stageSlots = .allocate(capacity: Self.stageRow * rows)
    for slot in 0..<Self.stageRow * rows { (stageSlots + slot).initialize(to: Atomic(0)) }
    slots = .allocate(capacity: GatewayCounter.allCases.count * rows)
    for slot in 0..<GatewayCounter.allCases.count * rows { (slots + slot).initialize(to: Atomic(0)) }
    messageSlots = .allocate(capacity: 256 * rows)
    for slot in 0..<256 * rows { (messageSlots + slot).initialize(to: Atomic(0)) }
  }

  deinit {
    slots.deallocate()
    messageSlots.deallocate()
    stageSlots.deallocate()
  }

  @inline(__always)
  func store(_ counter: GatewayCounter, _ value: UInt64, shard: Int = 0) {
    (slots + shard * rowWidth + counter.rawValue).pointee.store(
      value, ordering: .relaxed)
  }

  public func load(_ counter: GatewayCounter) -> UInt64 {
    var total: UInt64 = 0
    for shard in 0..<shards {
      let value = (slots + shard * rowWidth + counter.rawValue).pointee.load(
        ordering: .relaxed)
      switch counter {
      case .longestCycleNs, .ingestLongestCycleNs, .publishLongestCycleNs, .largestBatch: total = max(total, value)
      case .threadAllocations: total = value == .max || total == .max ? .max : total &+ value
      default: total &+= value
      }
    }
    return total
  }

  /// Messages decoded of one ITCH type.
  public func messages(ofType type: UInt8) -> UInt64 {
    var total: UInt64 = 0
    for shard in 0..<shards {
      total &+= (messageSlots + shard * 256 + Int(type)).pointee.load(ordering: .relaxed)
    }
    return total
  }

  /// A stage's latency quantile in ns (index into `stageQuantiles`): the worst shard's.
  public func stageLatencyNs(_ stage: Int, quantile: Int) -> UInt64 {
    var worst: UInt64 = 0
    for shard in 0..<shards {
      worst = max(
        worst,
        (stageSlots + shard * Self.stageRow + stage * 8 + quantile).pointee.load(ordering: .relaxed))
    }
    return worst
  }

  func storeStage(_ stage: Int, quantile: Int, _ value: UInt64, shard: Int) {
    (stageSlots + shard * Self.stageRow + stage * 8 + quantile).pointee.store(value, ordering: .relaxed)
  }

  func storeMessages(ofType type: UInt8, _ value: UInt64, shard: Int) {
    (messageSlots + shard * 256 + Int(type)).pointee.store(value, ordering: .relaxed)
  }
}
