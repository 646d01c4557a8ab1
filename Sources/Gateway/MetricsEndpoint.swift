import CoreMetrics
import Glibc
import ITCH
import Prometheus
import Transport

/// More Prometheus text for /metrics, rendered on the endpoint's thread when scraped.
public struct ExtraMetrics: Sendable {
  public let render: @Sendable () -> String
  public init(_ render: @escaping @Sendable () -> String) { self.render = render }
}

/// The operators' endpoint: `GET /metrics` (Prometheus text, through swift-metrics and
/// swift-prometheus) and `GET /health`, on Transport's read-only HTTP server (its own thread, one
/// short connection at a time); it never touches the hot path, only the CounterBoard.
public final class MetricsEndpoint: @unchecked Sendable {
  public let endpoint: IPv4Endpoint
  let server: ReadOnlyHTTPServer
  let board: CounterBoard
  let registry = PrometheusCollectorRegistry()
  let factory: PrometheusMetricsFactory
  var counters: [GatewayCounter: CoreMetrics.Counter] = [:]
  var gauges: [GatewayCounter: CoreMetrics.Gauge] = [:]
  var messageCounters: [UInt8: CoreMetrics.Counter] = [:]
  var stageGauges: [[CoreMetrics.Gauge]] = []
  var reported: [Int: UInt64] = [:]
  let health: @Sendable () -> String
  /// More Prometheus text appended to /metrics (the WebSocket edge's), rendered on this thread.
  public let extraMetrics: (@Sendable () -> String)?

  /// Binds at once, so a taken port fails at start-up, before the gateway runs.
  /// `layout` names the channels this instance owns (constant gauges, 1 per owned channel) out of `channelCount`.
  public init(
    endpoint: IPv4Endpoint, board: CounterBoard, channelCount: Int = 0,
    ownedChannels: [(channel: Int, group: IPv4Endpoint)] = [], extraMetrics: (@Sendable () -> String)? = nil,
    health: @escaping @Sendable () -> String
  ) throws {
    self.extraMetrics = extraMetrics
    self.endpoint = endpoint
    self.board = board
    self.health = health
    factory = PrometheusMetricsFactory(registry: registry)
    server = try ReadOnlyHTTPServer(endpoint: endpoint, name: "metrics endpoint")
    for counter in GatewayCounter.allCases {
      if counter.isGauge {
        gauges[counter] = CoreMetrics.Gauge(label: counter.metricName, factory: factory)
      } else {
        counters[counter] = CoreMetrics.Counter(label: counter.metricName, factory: factory)
      }
    }
    stageGauges = Stage.allCases.map { stage in
      stageQuantiles.map { quantile in
        CoreMetrics.Gauge(
          label: "quotecast_stage_latency_nanoseconds",
          dimensions: [("stage", stage.name), ("quantile", quantile >= 1 ? "1" : String(quantile))], factory: factory)
      }
    }
    if channelCount > 0 {
      CoreMetrics.Gauge(label: "quotecast_channels", factory: factory).record(Double(channelCount))
    }
    for (channel, group) in ownedChannels {
      CoreMetrics.Gauge(
        label: "quotecast_channel_owned", dimensions: [("channel", String(channel)), ("group", group.description)],
        factory: factory
      ).record(1)
    }
    for type in ITCHMessageType.all {
      messageCounters[type] = CoreMetrics.Counter(
        label: "quotecast_messages_by_type_total", dimensions: [("type", String(Character(Unicode.Scalar(type))))],
        factory: factory)
    }
  }

  /// The port actually bound (for port 0).
  public var port: UInt16 { server.port }

  public func start() {
    server.start(usage: "GET /metrics or GET /health\n") { [self] path in
      switch path {
      case "/metrics": .init(contentType: "text/plain; version=0.0.4; charset=utf-8", body: metricsText())
      case "/health": .init(contentType: "application/json", body: health())
      default: nil
      }
    }
  }

  public func stop() { server.stop() }

  /// Brings the Prometheus metrics up to the board's values, then renders them.
  func metricsText() -> String {
    for counter in GatewayCounter.allCases {
      let value = board.load(counter)
      if let gauge = gauges[counter] {
        gauge.record(Double(value))
      } else if let metric = counters[counter] {
        let previous = reported[counter.rawValue, default: 0]
        if value > previous { metric.increment(by: Int64(value - previous)) }
        reported[counter.rawValue] = value
      }
    }
    for (type, metric) in messageCounters {
      let value = board.messages(ofType: type)
      let previous = reported[1000 + Int(type), default: 0]
      if value > previous { metric.increment(by: Int64(value - previous)) }
      reported[1000 + Int(type)] = value
    }
    for stage in 0..<stageGauges.count {
      for quantile in 0..<stageGauges[stage].count {
        stageGauges[stage][quantile].record(Double(board.stageLatencyNs(stage, quantile: quantile)))
      }
    }
    return registry.emitToString() + (extraMetrics?() ?? "")
  }
}
