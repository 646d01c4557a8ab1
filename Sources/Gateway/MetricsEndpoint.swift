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

/// A read-only HTTP endpoint for operators: `GET /metrics` (Prometheus text, through swift-metrics
/// and swift-prometheus) and `GET /health`. It runs on its own thread, one short connection at a
/// time, bounded in request size and time; it never touches the hot path, only the CounterBoard.
public final class MetricsEndpoint: @unchecked Sendable {
  public let endpoint: IPv4Endpoint
  let listener: Int32
  let board: CounterBoard
  let registry = PrometheusCollectorRegistry()
  let factory: PrometheusMetricsFactory
  var counters: [GatewayCounter: CoreMetrics.Counter] = [:]
  var gauges: [GatewayCounter: CoreMetrics.Gauge] = [:]
  var messageCounters: [UInt8: CoreMetrics.Counter] = [:]
  var stageGauges: [[CoreMetrics.Gauge]] = []
  var reported: [Int: UInt64] = [:]
  let running = SharedFlag()
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
    listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard listener >= 0 else { throw TransportError("metrics endpoint: socket failed (errno \(errno))") }
    var one: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    // A short accept timeout lets the thread notice `stop`.
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = endpoint.port.bigEndian
    address.sin_addr.s_addr = endpoint.address.bigEndian
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(listener, 16) == 0 else {
      let code = errno
      close(listener)
      throw TransportError("metrics endpoint: cannot listen on \(endpoint): \(String(cString: strerror(code)))")
    }
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

  deinit { close(listener) }

  /// The port actually bound (for port 0).
  public var port: UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
    }
    return UInt16(bigEndian: address.sin_port)
  }

  public func start() {
    running.set()
    WorkerThread.detached { [self] in serve() }
  }

  public func stop() { running.clear() }

  func serve() {
    while running.isSet {
      let connection = accept(listener, nil, nil)
      if connection < 0 { continue }
      handle(connection)
      close(connection)
    }
  }

  func handle(_ connection: Int32) {
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var request = [UInt8](repeating: 0, count: 8192)
    var received = 0
    // Read until the end of the headers, or the buffer is full, or the client stalls.
    while received < request.count {
      let count = request.withUnsafeMutableBytes {
        recv(connection, $0.baseAddress! + received, $0.count - received, 0)
      }
      if count <= 0 { break }
      received += count
      if request[0..<received].withUnsafeBufferPointer({ Self.containsHeaderEnd($0) }) { break }
    }
    let line = String(decoding: request[0..<received].prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
    let parts = line.split(separator: " ")
    let status: String
    var contentType = "text/plain; charset=utf-8"
    let body: String
    if parts.count >= 2 && parts[0] != "GET" {
      (status, body) = ("405 Method Not Allowed", "read-only: GET /metrics or GET /health\n")
    } else if parts.count >= 2 && parts[1] == "/metrics" {
      status = "200 OK"
      contentType = "text/plain; version=0.0.4; charset=utf-8"
      body = metricsText()
    } else if parts.count >= 2 && parts[1] == "/health" {
      status = "200 OK"
      contentType = "application/json"
      body = health()
    } else {
      (status, body) = ("404 Not Found", "GET /metrics or GET /health\n")
    }
    let response = Array(
      "HTTP/1.0 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        .utf8)
    var sent = 0
    while sent < response.count {
      let count = response.withUnsafeBytes {
        send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
      }
      if count <= 0 { break }
      sent += count
    }
  }

  static func containsHeaderEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 4 else { return false }
    for index in 3..<bytes.count
    where bytes[index - 3] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 1] == 0x0D && bytes[index] == 0x0A {
      return true
    }
    return false
  }

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
