import ArgumentParser
import Edge
import Foundation
import Gateway
import Logging
import Replay
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Run the gateway: MoldUDP64/ITCH in over UDP (io_uring), FlatBuffers out on multicast.",
    discussion: """
      With no --config, built-in defaults serve on loopback: feed in on 127.0.0.1:26400, channel n out on \
      239.255.10.(n+1):31001 and snapshots on 239.255.11.1:31002, via 127.0.0.1. `--print-config` shows every \
      setting as YAML that --config reads back. SIGINT or SIGTERM drains and stops.
      """)

  @Option(help: "A YAML file of settings over the defaults (see --print-config).")
  var config: String?

  @Flag(help: "Print the effective configuration as YAML and exit.")
  var printConfig = false

  @Option(help: "Stop by itself after this many seconds.")
  var duration: Double?

  @Option(help: "On exit, write every book (to the published depth) as JSON to this file, as `replay --books-json`.")
  var booksJSON: String?

  @Option(help: "On exit, write every counter (by its Prometheus name) as JSON to this file.")
  var countersJSON: String?

  func run() async throws {
    let settings: GatewayConfig
    do {
      if let config {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        settings = try GatewayConfig.load(yaml: text)
      } else {
        settings = GatewayConfig()
      }
    } catch let error as ConfigError {
      FileHandle.standardError.write(Data("quotecast: \(config ?? "defaults"): \(error)\n".utf8))
      throw ExitCode(2)
    } catch {
      FileHandle.standardError.write(
        Data("quotecast: cannot read \(config ?? ""): \(error.localizedDescription)\n".utf8))
      throw ExitCode(2)
    }
    if printConfig {
      print(settings.yaml, terminator: "")
      return
    }
    if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
    LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    let logger = Logger(label: "quotecast")
    let edge = settings.websocket.listen.map { listen in
      var edgeConfig = EdgeConfig()
      edgeConfig.listen = listen
      edgeConfig.channels = settings.channels.count
      edgeConfig.depth = settings.channels.depth
      edgeConfig.maxConnections = settings.websocket.maxConnections
      edgeConfig.queueBytes = settings.websocket.queueBytes
      edgeConfig.stallTimeoutMs = settings.websocket.stallTimeoutMs
      edgeConfig.tapRingBytes = settings.websocket.tapRingBytes
      edgeConfig.sendBufferBytes = settings.websocket.sendBufferBytes
      edgeConfig.idlePolicy = settings.websocket.schedIdle
      return EdgeServer(hub: EdgeHub(config: edgeConfig) { logger.info("\($0)") }, logger: logger)
    }
    let gateway: Gateway
    do {
      let hub = edge?.hub
      gateway = try Gateway(
        config: settings, tap: hub?.tap, extraMetrics: hub.map { hub in ExtraMetrics { hub.metricsText() } }
      ) {
        logger.info("\($0)")
      }
    } catch {
      FileHandle.standardError.write(Data("quotecast: cannot start: \(error)\n".utf8))
      throw ExitCode(2)
    }
    let service = GatewayService(gateway: gateway, durationNs: duration.map { UInt64($0 * 1e9) })
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
    ]
    if let edge {
      edge.hub.start()
      services.append(.init(service: edge.service))
      logger.info("quotecast: WebSocket subscribers on ws://\(settings.websocket.listen!)/feed")
    }
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    edge?.hub.stop()
    await edge?.shutdown()
    // The gateway has drained and stopped: its books and counters are final.
    if let booksJSON {
      try replayOption { try writeBooksJSON(gateway.cores, depth: settings.channels.depth, path: booksJSON) }
    }
    if let countersJSON {
      let board = gateway.counters
      let fields = GatewayCounter.allCases.map { "\"\($0.metricName)\":\(board.load($0))" }
      try ("{" + fields.joined(separator: ",") + "}\n").write(toFile: countersJSON, atomically: true, encoding: .utf8)
    }
  }
}

/// The gateway as a swift-service-lifecycle service: a graceful shutdown (SIGTERM, SIGINT) asks
/// the gateway to stop, and it drains what already arrived before `run` returns.
struct GatewayService: Service {
  let gateway: Gateway
  let durationNs: UInt64?

  func run() async throws {
    let gateway = self.gateway
    try await withGracefulShutdownHandler {
      try await gateway.runOnOwnThread(durationNs: durationNs)
    } onGracefulShutdown: {
      gateway.requestStop()
    }
  }
}
