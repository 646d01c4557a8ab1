import Book
import Encoding
import Glibc
import QuotecastCore
import Transport
import Yams

/// Everything `quotecast serve` runs with. Built-in defaults serve on loopback; a YAML file
/// overrides any subset. `problems()` names every bad key before anything starts.
public struct GatewayConfig: Equatable, Sendable {
  // feed
  public var inputs = [IPv4Endpoint(address: IPv4Endpoint.loopback, port: 26400)]
  public var inputInterface = IPv4Endpoint.loopback
  public var receiveBufferBytes = 8 << 20
  /// Feed datagrams are accepted only from these sources (port 0: any port); empty accepts any.
  public var sources: [IPv4Endpoint] = []
  /// How long packets after a gap wait for the missing ones (another input, or reordering).
  public var gapHoldUs = 2000
  /// The MoldUDP64 re-request server; nil: none (a gap the inputs cannot fill is given up).
  public var rerequestServer: IPv4Endpoint?
  public var rerequestAttempts = 3
  public var rerequestTimeoutMs = 50
  public var maxHeldPackets = 4096
  /// With a re-request server: started mid-session, re-request from message 1 (exact books) rather than go stale.
  public var catchUp = true
  // channels
  public var channels = 1
  /// Channel n goes to groupBase + n.
  public var groupBase = IPv4Endpoint(address: 0xEFFF_0A01, port: 31001)
  /// The channels this instance applies and publishes (nil: all). Several instances on one feed
  /// each own a disjoint share; market-wide updates go on every owned channel.
  public var ownedChannels: [Int]?
  public var outputInterface = IPv4Endpoint.loopback
  public var ttl = 1
  public var loop = true
  public var sendBufferBytes = 4 << 20
  /// GSO measured fastest on loopback, and equal to sendmmsg with one packet a channel (bench/results/send-methods-*).
  public var sendMethod = MulticastPublisher.SendMethod.gso
  public var datagramBytes = 1400
  public var depth = 10
  public var encoder = EncoderBackend.handLaid
  public var heartbeatIntervalMs = 1000
  // snapshot
  public var snapshotGroup = IPv4Endpoint(address: 0xEFFF_0B01, port: 31002)
  public var snapshotDepth = 10
  /// Every instrument is snapshotted once per cycle, spread over ticks of `snapshotTickMs`.
  public var snapshotCycleMs = 1000
  public var snapshotTickMs = 10
  // books
  public var maxLiveOrders = 1 << 21
  public var maxLevels = 1 << 19
  public var maxOrderReference: UInt64 = (1 << 32) - 1
  // ingest
  public var ingest = URingReceiver.Config()
  /// Smart batching: datagrams already waiting (the rest of a completion batch, or of the descriptor ring) run
  /// through the core before their channels' packets close, at most this many per output batch. 1 turns it off.
  public var maxBatchDatagrams = 32
  // threading
  public enum ThreadingMode: String, Sendable, CaseIterable {
    /// One thread runs each datagram through the whole pipeline (lowest latency).
    case single
    /// Ingest, book shards and publish on their own threads, joined by preallocated rings.
    case dedicated
  }
  public var mode = ThreadingMode.single
  /// single mode: the one thread's CPU.
  public var cpu: Int?
  /// dedicated mode: each thread's CPU.
  public var ingestCPU: Int?
  /// One CPU per book shard (`core_cpu: N` or `core_cpu: [N, M]`).
  public var coreCPUs: [Int] = []
  public var publishCPU: Int?
  /// dedicated mode: book threads, each owning the channels `channel % bookShards == shard`.
  public var bookShards = 1
  public var packetRingBytes = 8 << 20
  public var idle = IdleStrategy.block
  // operations
  /// A name for this gateway, published in its layout (the host name by default).
  public var instance = GatewayConfig.hostName
  public var statsIntervalMs = 10_000
  /// The read-only metrics and health endpoint; nil = off.
  public var httpEndpoint: IPv4Endpoint? = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 9464)
  /// A duty cycle longer than this counts as a stall.
  public var stallThresholdUs = 1000
  /// Time each datagram's stages into histograms (four clock reads per datagram).
  public var stageTiming = true
  // websocket: the edge for subscribers without multicast (off the hot path)
  /// Where WebSocket subscribers connect (ws://listen/feed) and the page is served; nil = off.
  public var websocketListen: IPv4Endpoint?
  public var websocketMaxConnections = 256
  /// Frames a connection may have waiting; past it they are dropped for a fresh snapshot.
  public var websocketQueueBytes = 1 << 20
  /// A connection that takes nothing this long while frames wait is closed.
  public var websocketStallTimeoutMs = 5000
  /// The sending thread's copy of every packet for the edge; full, it refuses (counted).
  public var websocketTapRingBytes = 16 << 20
  /// Each WebSocket connection's kernel send buffer.
  public var websocketSendBufferBytes = 256 << 10
  // faults (for recovery tests; never in production)
  /// Output packets never sent: "CHANNEL:FIRST-LAST" by per-channel packet count.
  public var dropOutput: MulticastPublisher.DropRange?

  public init() {}

  public var channelGroups: [IPv4Endpoint] {
    (0..<channels).map { IPv4Endpoint(address: groupBase.address &+ UInt32($0), port: groupBase.port) }
  }

  public var coreConfig: CoreConfig {
    var config = CoreConfig(
      channels: channels, depth: depth, datagramBytes: datagramBytes, snapshotDepth: snapshotDepth, encoder: encoder,
      maxLiveOrders: maxLiveOrders, maxLevels: maxLevels, maxOrderReference: maxOrderReference)
    config.encoder.ownedChannels = ownedChannels
    config.gapFill.holdNs = UInt64(max(0, gapHoldUs)) * 1000
    config.gapFill.rerequestAttempts = rerequestServer == nil ? 0 : rerequestAttempts
    config.gapFill.rerequestTimeoutNs = UInt64(max(0, rerequestTimeoutMs)) * 1_000_000
    config.gapFill.maxHeldPackets = maxHeldPackets
    config.gapFill.catchUpFromStart = catchUp && rerequestServer != nil
    config.gapFill.maxHeldPacketBytes = ingest.bufferBytes
    return config
  }

  /// The channels this instance owns, ascending.
  public var owned: [Int] { (ownedChannels ?? Array(0..<max(0, channels))).sorted() }

  /// This host's name (the default `operations.instance`).
  public static var hostName: String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "quotecast" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "quotecast" : String(name.prefix(64))
  }

  /// What this instance says of the feed on the snapshot channel.
  public func layout(session: UInt64) -> FeedLayoutInfo {
    var layout = FeedLayoutInfo()
    layout.channelCount = channels
    layout.groupBaseAddress = groupBase.address
    layout.groupBasePort = groupBase.port
    layout.snapshotAddress = snapshotGroup.address
    layout.snapshotPort = snapshotGroup.port
    layout.ownedChannels = owned
    layout.session = session
    layout.depth = depth
    layout.snapshotDepth = snapshotDepth
    layout.datagramBytes = datagramBytes
    layout.instance = instance
    return layout
  }

  /// The owned channels as ranges: "0-3, 6".
  public var ownedDescription: String { channelRangesText(owned) }

  /// How many cores run books: one in single mode.
  public var shardCount: Int { mode == .dedicated ? bookShards : 1 }

  /// Settings that leave this host: allowed, but said out loud at start.
  public var warnings: [String] {
    var warnings: [String] = []
    if let httpEndpoint, !httpEndpoint.isLoopback {
      warnings.append("operations.http \(httpEndpoint) is reachable from other hosts (read-only)")
    }
    if let websocketListen, !websocketListen.isLoopback {
      warnings.append("websocket.listen \(websocketListen) is reachable from other hosts")
    }
    if outputInterface >> 24 != 127 {
      warnings.append(
        "channels.interface \(IPv4Endpoint.format(outputInterface)) is not loopback: multicast leaves this host")
    }
    if ttl > 1 { warnings.append("channels.ttl \(ttl) lets multicast cross routers") }
    if let rerequestServer, !rerequestServer.isLoopback {
      warnings.append("feed.rerequest \(rerequestServer) is not on this host: re-requests leave it")
    }
    if let dropOutput {
      warnings.append("faults.drop_output \(dropOutput.description): output packets will be withheld")
    }
    return warnings
  }

  /// Every problem, as "key: problem".
  public func problems() -> [String] {
    var problems: [String] = []
    if inputs.isEmpty { problems.append("feed.inputs: at least one input is needed") }
    if maxBatchDatagrams < 1 || maxBatchDatagrams > 4096 {
      problems.append("ingest.max_batch_datagrams: must be 1...4096 (1: no batching), got \(maxBatchDatagrams)")
    }
    if gapHoldUs < 0 || gapHoldUs > 10_000_000 {
      problems.append("feed.gap_hold_us: must be 0...10000000, got \(gapHoldUs)")
    }
    if rerequestAttempts < 0 || rerequestAttempts > 100 {
      problems.append("feed.rerequest_attempts: must be 0...100, got \(rerequestAttempts)")
    }
    if rerequestTimeoutMs < 1 || rerequestTimeoutMs > 60_000 {
      problems.append("feed.rerequest_timeout_ms: must be 1...60000, got \(rerequestTimeoutMs)")
    }
    if maxHeldPackets < 1 || maxHeldPackets > 1 << 20 {
      problems.append("feed.max_held_packets: must be 1...1048576, got \(maxHeldPackets)")
    }
    if let rerequestServer, rerequestServer.port == 0 || rerequestServer.isMulticast {
      problems.append("feed.rerequest: must be a unicast address:port, got \(rerequestServer)")
    }
    for group in channelGroups where !group.isMulticast {
      problems.append("channels.group_base: \(group) is not a multicast group (224.0.0.0/4)")
    }
    if !snapshotGroup.isMulticast { problems.append("snapshot.group: \(snapshotGroup) is not a multicast group") }
    if ttl < 0 || ttl > 255 { problems.append("channels.ttl: must be 0...255, got \(ttl)") }
    if heartbeatIntervalMs < 1 { problems.append("channels.heartbeat_interval_ms: must be at least 1") }
    if snapshotCycleMs < 1 { problems.append("snapshot.cycle_ms: must be at least 1") }
    if snapshotTickMs < 1 || snapshotTickMs > snapshotCycleMs {
      problems.append("snapshot.tick_ms: must be 1...snapshot.cycle_ms")
    }
    let pinned: [(String, Int?)] =
      [("cpu", cpu), ("ingest_cpu", ingestCPU), ("publish_cpu", publishCPU)] + coreCPUs.map { ("core_cpu", $0) }
    for (key, cpu) in pinned {
      if let cpu, !CPUPinning.isAllowed(cpu) {
        problems.append("threading.\(key): cpu \(cpu) does not exist or is not allowed for this process")
      }
    }
    if mode == .single && (ingestCPU != nil || !coreCPUs.isEmpty || publishCPU != nil) {
      problems.append("threading.ingest_cpu/core_cpu/publish_cpu: only for mode dedicated (single uses threading.cpu)")
    }
    if bookShards < 1 || bookShards > owned.count {
      let bound = ownedChannels == nil ? "channels.count (\(channels))" : "\(owned.count) (the channels owned)"
      problems.append("threading.book_shards: must be 1...\(bound), got \(bookShards)")
    } else if mode == .single && bookShards != 1 {
      problems.append("threading.book_shards: only for mode dedicated (single runs every book on one thread)")
    }
    if !coreCPUs.isEmpty && coreCPUs.count != bookShards {
      problems.append(
        "threading.core_cpu: names \(coreCPUs.count) cpu(s) for \(bookShards) book shard(s); give one per shard")
    }
    if mode == .dedicated && cpu != nil {
      problems.append("threading.cpu: only for mode single (dedicated uses ingest_cpu, core_cpu, publish_cpu)")
    }
    if packetRingBytes < 1 << 16 || packetRingBytes & (packetRingBytes - 1) != 0 {
      problems.append("threading.packet_ring_bytes: must be a power of two of at least 65536, got \(packetRingBytes)")
    }
    if instance.isEmpty || instance.utf8.count > 64 || instance.contains("\"") || instance.contains("\\") {
      problems.append("operations.instance: must be 1...64 bytes without quotes or backslashes, got \"\(instance)\"")
    }
    if let websocketListen, websocketListen.isMulticast {
      problems.append("websocket.listen: must be a unicast address:port, got \(websocketListen)")
    }
    if websocketMaxConnections < 1 || websocketMaxConnections > 65_536 {
      problems.append("websocket.max_connections: must be 1...65536, got \(websocketMaxConnections)")
    }
    if websocketQueueBytes < 1 << 16 || websocketQueueBytes > 1 << 30 {
      problems.append("websocket.queue_bytes: must be 65536...1073741824, got \(websocketQueueBytes)")
    }
    if websocketStallTimeoutMs < 10 || websocketStallTimeoutMs > 600_000 {
      problems.append("websocket.stall_timeout_ms: must be 10...600000, got \(websocketStallTimeoutMs)")
    }
    if websocketSendBufferBytes < 4096 || websocketSendBufferBytes > 1 << 26 {
      problems.append("websocket.send_buffer_bytes: must be 4096...67108864, got \(websocketSendBufferBytes)")
    }
    if websocketTapRingBytes < 1 << 16 || websocketTapRingBytes > 1 << 30
      || websocketTapRingBytes & (websocketTapRingBytes - 1) != 0
    {
      problems.append(
        "websocket.tap_ring_bytes: must be a power of two, 65536...1073741824, got \(websocketTapRingBytes)")
    }
    if statsIntervalMs < 0 { problems.append("operations.stats_interval_ms: must be 0 (off) or more") }
    if stallThresholdUs < 1 { problems.append("operations.stall_threshold_us: must be at least 1") }
    if let dropOutput, Int(dropOutput.destination) > channels {
      problems.append(
        "faults.drop_output: channel \(dropOutput.destination) does not exist (0...\(channels), \(channels) = snapshots)"
      )
    }
    let renames = [
      "channels:": "channels.count:", "maxDatagramBytes:": "channels.datagram_bytes:",
      "snapshotDepth:": "snapshot.depth:", "publishedDepth:": "channels.depth:",
      "maxLiveOrders:": "books.max_live_orders:", "maxLevels:": "books.max_levels:",
      "maxOrderReference:": "books.max_order_reference:",
    ]
    for problem in coreConfig.problems() {
      var renamed = problem
      for (from, to) in renames where problem.hasPrefix(from) {
        renamed = to + problem.dropFirst(from.count)
      }
      problems.append(renamed)
    }
    problems += ingest.problems()
    return problems
  }
}

public struct ConfigError: Error, CustomStringConvertible {
  public let problems: [String]
  public var description: String { "invalid configuration:\n  " + problems.joined(separator: "\n  ") }
}

extension GatewayConfig {
  /// Reads a YAML file over the defaults. Unknown keys and wrong types are errors, by key.
  public static func load(yaml text: String) throws -> GatewayConfig {
    let node: Node?
    do {
      node = try Yams.compose(yaml: text)
    } catch {
      throw ConfigError(problems: ["yaml: \(error)"])
    }
    var config = GatewayConfig()
    guard let node else { return config }
    var reader = ConfigReader()
    reader.section(
      node, "",
      keys: ["feed", "channels", "snapshot", "books", "ingest", "threading", "operations", "websocket", "faults"]
    ) {
      reader, key, value in
      switch key {
      case "feed":
        reader.section(
          value, "feed",
          keys: [
            "inputs", "interface", "receive_buffer_bytes", "sources", "gap_hold_us", "rerequest", "rerequest_attempts",
            "catch_up",
            "rerequest_timeout_ms", "max_held_packets",
          ]
        ) { reader, key, value in
          switch key {
          case "inputs":
            if let list = reader.list(value, "feed.inputs") {
              config.inputs = list.compactMap { reader.endpoint($0, "feed.inputs") }
            }
          case "sources":
            if let list = reader.list(value, "feed.sources") {
              config.sources = list.compactMap { node in
                if let address = node.scalar.flatMap({ IPv4Endpoint.parseAddress($0.string) }) {
                  return IPv4Endpoint(address: address, port: 0)
                }
                return reader.endpoint(node, "feed.sources")
              }
            }
          case "gap_hold_us": reader.int(value, "feed.gap_hold_us").map { config.gapHoldUs = $0 }
          case "rerequest":
            if value.scalar?.string == "off" {
              config.rerequestServer = nil
            } else {
              reader.endpoint(value, "feed.rerequest").map { config.rerequestServer = $0 }
            }
          case "rerequest_attempts": reader.int(value, "feed.rerequest_attempts").map { config.rerequestAttempts = $0 }
          case "rerequest_timeout_ms":
            reader.int(value, "feed.rerequest_timeout_ms").map { config.rerequestTimeoutMs = $0 }
          case "max_held_packets": reader.int(value, "feed.max_held_packets").map { config.maxHeldPackets = $0 }
          case "catch_up": reader.bool(value, "feed.catch_up").map { config.catchUp = $0 }
          case "interface": reader.address(value, "feed.interface").map { config.inputInterface = $0 }
          default: reader.int(value, "feed.receive_buffer_bytes").map { config.receiveBufferBytes = $0 }
          }
        }
      case "channels":
        reader.section(
          value, "channels",
          keys: [
            "count", "group_base", "interface", "ttl", "loop", "send_buffer_bytes", "datagram_bytes", "depth",
            "encoder", "heartbeat_interval_ms", "send_method", "owned",
          ]
        ) { reader, key, value in
          let path = "channels.\(key)"
          switch key {
          case "count": reader.int(value, path).map { config.channels = $0 }
          case "group_base": reader.endpoint(value, path).map { config.groupBase = $0 }
          case "owned":
            if value.scalar?.string == "all" {
              config.ownedChannels = nil
            } else if let items = reader.list(value, path) {
              config.ownedChannels = items.flatMap { reader.channelRange($0, path) }
            }
          case "interface": reader.address(value, path).map { config.outputInterface = $0 }
          case "ttl": reader.int(value, path).map { config.ttl = $0 }
          case "loop": reader.bool(value, path).map { config.loop = $0 }
          case "send_buffer_bytes": reader.int(value, path).map { config.sendBufferBytes = $0 }
          case "send_method":
            if let text = reader.string(value, path) {
              if let method = MulticastPublisher.SendMethod(rawValue: text) {
                config.sendMethod = method
              } else {
                reader.problems.append("\(path): must be sendmmsg, io_uring or gso, got \(text)")
              }
            }
          case "datagram_bytes": reader.int(value, path).map { config.datagramBytes = $0 }
          case "depth": reader.int(value, path).map { config.depth = $0 }
          case "encoder":
            if let text = reader.string(value, path) {
              if let backend = EncoderBackend(rawValue: text) {
                config.encoder = backend
              } else {
                reader.problems.append("\(path): must be hand-laid or flatbuffers, got \(text)")
              }
            }
          default: reader.int(value, path).map { config.heartbeatIntervalMs = $0 }
          }
        }
      case "snapshot":
        reader.section(value, "snapshot", keys: ["group", "depth", "cycle_ms", "tick_ms"]) { reader, key, value in
          let path = "snapshot.\(key)"
          switch key {
          case "group": reader.endpoint(value, path).map { config.snapshotGroup = $0 }
          case "depth": reader.int(value, path).map { config.snapshotDepth = $0 }
          case "cycle_ms": reader.int(value, path).map { config.snapshotCycleMs = $0 }
          default: reader.int(value, path).map { config.snapshotTickMs = $0 }
          }
        }
      case "books":
        reader.section(value, "books", keys: ["max_live_orders", "max_levels", "max_order_reference"]) {
          reader, key, value in
          let path = "books.\(key)"
          switch key {
          case "max_live_orders": reader.int(value, path).map { config.maxLiveOrders = $0 }
          case "max_levels": reader.int(value, path).map { config.maxLevels = $0 }
          default: reader.int(value, path).map { config.maxOrderReference = UInt64(max(0, $0)) }
          }
        }
      case "ingest":
        reader.section(
          value, "ingest",
          keys: [
            "buffer_count", "buffer_bytes", "ring_entries", "batch", "max_batch_datagrams",
            "single_issuer_defer_taskrun",
          ]
        ) { reader, key, value in
          let path = "ingest.\(key)"
          switch key {
          case "buffer_count": reader.int(value, path).map { config.ingest.bufferCount = $0 }
          case "buffer_bytes": reader.int(value, path).map { config.ingest.bufferBytes = $0 }
          case "ring_entries": reader.int(value, path).map { config.ingest.ringEntries = UInt32(clamping: $0) }
          case "batch": reader.int(value, path).map { config.ingest.batch = $0 }
          case "max_batch_datagrams": reader.int(value, path).map { config.maxBatchDatagrams = $0 }
          default: reader.bool(value, path).map { config.ingest.singleIssuerDeferTaskrun = $0 }
          }
        }
      case "threading":
        reader.section(
          value, "threading",
          keys: ["mode", "cpu", "ingest_cpu", "core_cpu", "publish_cpu", "book_shards", "packet_ring_bytes", "idle"]
        ) { reader, key, value in
          let path = "threading.\(key)"
          switch key {
          case "mode":
            if let text = reader.string(value, path) {
              if let mode = ThreadingMode(rawValue: text) {
                config.mode = mode
              } else {
                reader.problems.append("\(path): must be single or dedicated, got \(text)")
              }
            }
          case "cpu": reader.int(value, path).map { config.cpu = $0 }
          case "ingest_cpu": reader.int(value, path).map { config.ingestCPU = $0 }
          case "core_cpu":
            if value.sequence != nil {
              config.coreCPUs = (reader.list(value, path) ?? []).compactMap { reader.int($0, path) }
            } else {
              reader.int(value, path).map { config.coreCPUs = [$0] }
            }
          case "book_shards": reader.int(value, path).map { config.bookShards = $0 }
          case "publish_cpu": reader.int(value, path).map { config.publishCPU = $0 }
          case "packet_ring_bytes": reader.int(value, path).map { config.packetRingBytes = $0 }
          default:
            if let text = reader.string(value, path) {
              if let idle = IdleStrategy(rawValue: text) {
                config.idle = idle
              } else {
                reader.problems.append("\(path): must be busy, yield or block, got \(text)")
              }
            }
          }
        }
      case "websocket":
        reader.section(
          value, "websocket",
          keys: [
            "listen", "max_connections", "queue_bytes", "stall_timeout_ms", "tap_ring_bytes", "send_buffer_bytes",
          ]
        ) { reader, key, value in
          let path = "websocket.\(key)"
          switch key {
          case "listen":
            if value.scalar?.string == "off" {
              config.websocketListen = nil
            } else if value.scalar?.string == "on" {
              config.websocketListen = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 9470)
            } else {
              reader.endpoint(value, path).map { config.websocketListen = $0 }
            }
          case "max_connections": reader.int(value, path).map { config.websocketMaxConnections = $0 }
          case "queue_bytes": reader.int(value, path).map { config.websocketQueueBytes = $0 }
          case "stall_timeout_ms": reader.int(value, path).map { config.websocketStallTimeoutMs = $0 }
          case "send_buffer_bytes": reader.int(value, path).map { config.websocketSendBufferBytes = $0 }
          default: reader.int(value, path).map { config.websocketTapRingBytes = $0 }
          }
        }
      case "faults":
        reader.section(value, "faults", keys: ["drop_output"]) { reader, key, value in
          if let text = reader.string(value, "faults.drop_output") {
            if let range = MulticastPublisher.DropRange(text) {
              config.dropOutput = range
            } else {
              reader.problems.append("faults.drop_output: must be CHANNEL:FIRST-LAST (1-based packets), got \(text)")
            }
          }
        }
      default:
        reader.section(
          value, "operations", keys: ["stats_interval_ms", "http", "stall_threshold_us", "stage_timing", "instance"]
        ) {
          reader, key, value in
          let path = "operations.\(key)"
          switch key {
          case "stats_interval_ms": reader.int(value, path).map { config.statsIntervalMs = $0 }
          case "instance": reader.string(value, path).map { config.instance = $0 }
          case "stall_threshold_us": reader.int(value, path).map { config.stallThresholdUs = $0 }
          case "stage_timing": reader.bool(value, path).map { config.stageTiming = $0 }
          default:
            if value.scalar?.string == "off" {
              config.httpEndpoint = nil
            } else {
              reader.endpoint(value, path).map { config.httpEndpoint = $0 }
            }
          }
        }
      }
    }
    let problems = reader.problems + (reader.problems.isEmpty ? config.problems() : [])
    guard problems.isEmpty else { throw ConfigError(problems: problems) }
    return config
  }

  /// The effective configuration as YAML that `load` reads back unchanged.
  public var yaml: String {
    """
    feed:
      inputs: [\(inputs.map { "\"\($0)\"" }.joined(separator: ", "))]
      interface: \(IPv4Endpoint.format(inputInterface))
      receive_buffer_bytes: \(receiveBufferBytes)
      sources: [\(sources.map { $0.port == 0 ? "\"\(IPv4Endpoint.format($0.address))\"" : "\"\($0)\"" }.joined(separator: ", "))]
      gap_hold_us: \(gapHoldUs)
      rerequest: \(rerequestServer.map { "\"\($0)\"" } ?? "off")
      rerequest_attempts: \(rerequestAttempts)
      rerequest_timeout_ms: \(rerequestTimeoutMs)
      max_held_packets: \(maxHeldPackets)
      catch_up: \(catchUp)
    channels:
      count: \(channels)
      group_base: "\(groupBase)"
      owned: \(ownedChannels.map { "[\($0.map(String.init).joined(separator: ", "))]" } ?? "all")
      interface: \(IPv4Endpoint.format(outputInterface))
      ttl: \(ttl)
      loop: \(loop)
      send_buffer_bytes: \(sendBufferBytes)
      send_method: \(sendMethod.rawValue)
      datagram_bytes: \(datagramBytes)
      depth: \(depth)
      encoder: \(encoder.rawValue)
      heartbeat_interval_ms: \(heartbeatIntervalMs)
    snapshot:
      group: "\(snapshotGroup)"
      depth: \(snapshotDepth)
      cycle_ms: \(snapshotCycleMs)
      tick_ms: \(snapshotTickMs)
    books:
      max_live_orders: \(maxLiveOrders)
      max_levels: \(maxLevels)
      max_order_reference: \(maxOrderReference)
    ingest:
      buffer_count: \(ingest.bufferCount)
      buffer_bytes: \(ingest.bufferBytes)
      ring_entries: \(ingest.ringEntries)
      batch: \(ingest.batch)
      max_batch_datagrams: \(maxBatchDatagrams)
      single_issuer_defer_taskrun: \(ingest.singleIssuerDeferTaskrun)
    threading:
      mode: \(mode.rawValue)
    \(cpu.map { "  cpu: \($0)" } ?? "  # cpu: N   (single mode: pin the thread)")
    \(ingestCPU.map { "  ingest_cpu: \($0)" } ?? "  # ingest_cpu: N   (dedicated mode)")
    \(coreCPUs.isEmpty ? "  # core_cpu: N   (or [N, M]: one per book shard)" : "  core_cpu: [\(coreCPUs.map(String.init).joined(separator: ", "))]")
      book_shards: \(bookShards)
    \(publishCPU.map { "  publish_cpu: \($0)" } ?? "  # publish_cpu: N")
      packet_ring_bytes: \(packetRingBytes)
      idle: \(idle.rawValue)
    operations:
      instance: "\(instance)"
      stats_interval_ms: \(statsIntervalMs)
      http: \(httpEndpoint.map { "\"\($0)\"" } ?? "off")
      stall_threshold_us: \(stallThresholdUs)
      stage_timing: \(stageTiming)
    websocket:
      listen: \(websocketListen.map { "\"\($0)\"" } ?? "off")
      max_connections: \(websocketMaxConnections)
      queue_bytes: \(websocketQueueBytes)
      stall_timeout_ms: \(websocketStallTimeoutMs)
      tap_ring_bytes: \(websocketTapRingBytes)
      send_buffer_bytes: \(websocketSendBufferBytes)
    \(dropOutput.map { "faults:\n  drop_output: \"\($0.description)\"" } ?? "")
    """
  }
}

/// Walks YAML mappings, collecting problems by dotted key instead of stopping at the first.
struct ConfigReader {
  var problems: [String] = []

  mutating func section(
    _ node: Node, _ path: String, keys: Set<String>, _ body: (inout ConfigReader, String, Node) -> Void
  ) {
    guard let mapping = node.mapping else {
      problems.append("\(path.isEmpty ? "top level" : path): must be a mapping")
      return
    }
    for (keyNode, value) in mapping {
      guard let key = keyNode.string else {
        problems.append("\(path.isEmpty ? "top level" : path): keys must be strings")
        continue
      }
      let full = path.isEmpty ? key : "\(path).\(key)"
      guard keys.contains(key) else {
        problems.append("\(full): unknown key (expected one of \(keys.sorted().joined(separator: ", ")))")
        continue
      }
      body(&self, key, value)
    }
  }

  mutating func int(_ node: Node, _ path: String) -> Int? {
    if let text = node.scalar?.string, let value = Int(text.replacingUnderscores()) { return value }
    problems.append("\(path): must be an integer, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }

  /// A channel number, or a range "FIRST-LAST".
  mutating func channelRange(_ node: Node, _ path: String) -> [Int] {
    if let text = node.scalar?.string {
      if let value = Int(text) { return [value] }
      let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 2, let first = Int(bounds[0]), let last = Int(bounds[1]), first <= last, last - first < 1024 {
        return Array(first...last)
      }
    }
    problems.append(
      "\(path): each item is a channel number or FIRST-LAST, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return []
  }

  mutating func bool(_ node: Node, _ path: String) -> Bool? {
    switch node.scalar?.string {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default:
      problems.append("\(path): must be true or false, got \(node.scalar?.string ?? "a \(node.kindName)")")
      return nil
    }
  }

  mutating func string(_ node: Node, _ path: String) -> String? {
    if let text = node.scalar?.string { return text }
    problems.append("\(path): must be a string")
    return nil
  }

  mutating func list(_ node: Node, _ path: String) -> [Node]? {
    if let sequence = node.sequence { return Array(sequence) }
    problems.append("\(path): must be a list")
    return nil
  }

  mutating func endpoint(_ node: Node, _ path: String) -> IPv4Endpoint? {
    if let text = node.scalar?.string, let endpoint = IPv4Endpoint(text) { return endpoint }
    problems.append("\(path): must be an IPv4 address:port, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }

  mutating func address(_ node: Node, _ path: String) -> UInt32? {
    if let text = node.scalar?.string, let address = IPv4Endpoint.parseAddress(text) { return address }
    problems.append("\(path): must be an IPv4 address, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }
}

extension Node {
  var kindName: String {
    switch self {
    case .mapping: "mapping"
    case .sequence: "list"
    default: "scalar"
    }
  }
}

extension String {
  func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
