import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOPosix
import QuotecastClient
import ServiceLifecycle
import Synchronization
import Transport

/// The WebSocket edge's server: `ws://HOST:PORT/feed` for subscribers, and a small page at `/`
/// (a live depth ladder and the feed's health) that reads the same WebSocket.
///
/// The protocol: on connect the server sends one text frame, `{"type":"hello","channels":N,
/// "snapshot_channel":N,"depth":D,"schema_version":V}`. The client sends a text frame
/// `{"subscribe":["AAPL","MSFT"]}` or `{"subscribe":"all"}` (again to change it). The server then
/// sends binary frames, each one FlatBuffers `Packet` of quotecast.fbs: first, on the snapshot
/// channel, each chosen instrument's definition and book; then the gateway's packets, with only
/// the chosen instruments' updates (and every market-wide one). Packets with nothing for the
/// client are not sent, so channel sequences skip; the stream is ordered and lossless, and when
/// a client falls behind by more than its queue, it is sent fresh snapshots instead (a snapshot
/// replaces the book).
public final class EdgeServer: Sendable {
  public let hub: EdgeHub
  let application: Application<RouterResponder<BasicRequestContext>>
  let boundPortStorage = PortBox()
  /// One event loop, its thread at the edge's priority (SCHED_IDLE by default).
  let eventLoopGroup: MultiThreadedEventLoopGroup

  public init(hub: EdgeHub, logger: Logger) {
    self.hub = hub
    eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let config = hub.config
    eventLoopGroup.next().execute { config.lowerCurrentThreadPriority(log: hub.log) }
    let router = Router()
    let web = Bundle.module.url(forResource: "Web", withExtension: nil)
    router.get("/") { _, _ in Self.file(web, "index.html") }
    router.get("/static/**") { request, _ in
      Self.file(web, String(request.uri.path.dropFirst("/static/".count)))
    }
    let hello =
      "{\"type\":\"hello\",\"channels\":\(hub.config.channels),\"snapshot_channel\":\(hub.config.channels),"
      + "\"depth\":\(hub.config.depth),\"schema_version\":\(feedSchemaVersion)}"
    let portStorage = boundPortStorage
    application = Application(
      router: router,
      server: .http1WebSocketUpgrade(
        configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30))))
      ) { request, channel, _ in
        guard request.path == "/feed" else { return .dontUpgrade }
        _ = channel.setOption(
          ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(hub.config.sendBufferBytes))
        let remote = channel.remoteAddress?.description ?? "?"
        return .upgrade([:]) { inbound, outbound, _ in
          guard let connection = hub.open(remote: remote, closeChannel: { channel.close(promise: nil) }) else {
            try await outbound.close(.policyViolation, reason: "too many connections")
            return
          }
          defer { hub.remove(connection) }
          try await outbound.write(.text(hello))
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
              for try await message in inbound.messages(maxSize: 1 << 16) {
                guard case .text(let text) = message else { continue }
                if let (all, symbols) = Self.parseSubscription(text) {
                  connection.subscribe(all: all, symbols: symbols)
                } else {
                  try await outbound.write(
                    .text(
                      "{\"type\":\"error\",\"message\":\"send {\\\"subscribe\\\":[\\\"SYMBOL\\\",...]} or {\\\"subscribe\\\":\\\"all\\\"}\"}"
                    ))
                }
              }
              connection.close(reason: nil)
            }
            group.addTask {
              for await _ in connection.doorbell {
                // Progress is each frame written: a slow reader is not a stalled one.
                for frame in connection.take() {
                  try await outbound.write(.binary(ByteBuffer(bytes: frame)))
                  connection.noteSent(1, nowNs: Clock.monotonicNs())
                }
              }
            }
            try await group.next()
            group.cancelAll()
          }
        }
      },
      configuration: .init(
        address: .hostname(IPv4Endpoint.format(hub.config.listen.address), port: Int(hub.config.listen.port))),
      onServerRunning: { channel in portStorage.port.store(channel.localAddress?.port ?? 0, ordering: .releasing) },
      eventLoopGroupProvider: .shared(eventLoopGroup), logger: logger)
  }

  /// The port the server listens on, once running (0 before).
  public var boundPort: Int { boundPortStorage.port.load(ordering: .acquiring) }

  /// The server as a service-lifecycle service (graceful shutdown stops it).
  public var service: any Service { application }

  /// After the service has stopped: ends the event loop's thread.
  public func shutdown() async {
    try? await eventLoopGroup.shutdownGracefully()
  }

  /// A file of the page (`Web/`), by its path; a module import without an extension is its `.js`.
  static func file(_ root: URL?, _ path: String) -> Response {
    var path = path
    if !path.contains(".") { path += ".js" }
    let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8"]
    guard let root, !path.contains(".."), let type = types[String(path.split(separator: ".").last ?? "")],
      let data = FileManager.default.contents(atPath: root.appendingPathComponent(path).path)
    else { return Response(status: .notFound) }
    return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }

  /// `{"subscribe":"all"}` or `{"subscribe":["AAPL",...]}`.
  static func parseSubscription(_ text: String) -> (all: Bool, symbols: Set<String>)? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
      let subscribe = object["subscribe"]
    else { return nil }
    if let word = subscribe as? String, word == "all" { return (true, []) }
    guard let list = subscribe as? [String], list.count <= 10_000, list.allSatisfy({ $0.utf8.count <= 8 }) else {
      return nil
    }
    return (false, Set(list.map { $0.uppercased() }))
  }
}

final class PortBox: Sendable {
  let port = Atomic<Int>(0)
}
