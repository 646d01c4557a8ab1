import Book
import Encoding
import Glibc
import QuotecastCore
import Transport
import Yams

/// Everything `quotecast serve` runs with, in the sections of its YAML file. Built-in defaults serve
/// on loopback; a file overrides any subset. Each section's key table reads, prints and checks its
/// keys; `problems()` adds the rules that span sections and names every bad key before anything starts.
public struct GatewayConfig: Equatable, Sendable {
  public var feed = FeedSection()
  public var channels = ChannelsSection()
  public var snapshot = SnapshotSection()
  public var books = BooksSection()
  public var ingest = IngestSection()
  public var threading = ThreadingSection()
  public var operations = OperationsSection()
  public var websocket = WebSocketSection()
  public var faults = FaultsSection()

  public init() {}
}

/// `feed`: where the ITCH feed comes in, and what is done about gaps.
public struct FeedSection: ConfigSection {
  public var inputs = [IPv4Endpoint(address: IPv4Endpoint.loopback, port: 26400)]
  public var interface = IPv4Endpoint.loopback
  public var receiveBufferBytes = 8 << 20
  /// Feed datagrams are accepted only from these sources (port 0: any port); empty accepts any.
  public var sources: [IPv4Endpoint] = []
  /// How long packets after a gap wait for the missing ones (another input, or reordering).
  public var gapHoldUs = 2000
  /// The MoldUDP64 re-request server; nil: none (a gap the inputs cannot fill is given up).
  public var rerequest: IPv4Endpoint?
  public var rerequestAttempts = 3
  public var rerequestTimeoutMs = 50
  public var maxHeldPackets = 4096
  /// With a re-request server: started mid-session, re-request from message 1 (exact books) rather than go stale.
  public var catchUp = true

  public init() {}
  static let name = "feed"
  static let keys: [ConfigKey<FeedSection>] = [
    ConfigKey(
      name: "inputs",
      read: { reader, node, path, section in
        if let list = reader.list(node, path) { section.inputs = list.compactMap { reader.endpoint($0, path) } }
      }, value: { "[\($0.inputs.map { "\"\($0)\"" }.joined(separator: ", "))]" },
      check: { $0.inputs.isEmpty ? "at least one input is needed" : nil }),
    .address("interface", \.interface),
    .int("receive_buffer_bytes", \.receiveBufferBytes),
    ConfigKey(
      name: "sources",
      read: { reader, node, path, section in
        guard let list = reader.list(node, path) else { return }
        section.sources = list.compactMap { node in
          if let address = node.scalar.flatMap({ IPv4Endpoint.parseAddress($0.string) }) {
            return IPv4Endpoint(address: address, port: 0)
          }
          return reader.endpoint(node, path)
        }
      },
      value: { section in
        let items = section.sources.map { $0.port == 0 ? "\"\(IPv4Endpoint.format($0.address))\"" : "\"\($0)\"" }
        return "[\(items.joined(separator: ", "))]"
      }),
    .int("gap_hold_us", \.gapHoldUs, 0...10_000_000),
    .optionalEndpoint("rerequest", \.rerequest) {
      $0.port == 0 || $0.isMulticast ? "must be a unicast address:port, got \($0)" : nil
    },
    .int("rerequest_attempts", \.rerequestAttempts, 0...100),
    .int("rerequest_timeout_ms", \.rerequestTimeoutMs, 1...60_000),
    .int("max_held_packets", \.maxHeldPackets, 1...(1 << 20)),
    .bool("catch_up", \.catchUp),
  ]
}

/// `channels`: the multicast channels instruments are published on.
public struct ChannelsSection: ConfigSection {
  public var count = 1
  /// Channel n goes to groupBase + n.
  public var groupBase = ChannelGroups.defaultBase
  /// The channels this instance applies and publishes (nil: all). Several instances on one feed
  /// each own a disjoint share; market-wide updates go on every owned channel.
  public var owned: [Int]?
  public var interface = IPv4Endpoint.loopback
  public var ttl = 1
  public var loop = true
  public var sendBufferBytes = 4 << 20
  /// GSO measured fastest on loopback, and equal to sendmmsg with one packet a channel (bench/results/send-methods-*).
  public var sendMethod = MulticastPublisher.SendMethod.gso
  public var datagramBytes = 1400
  public var depth = 10
  public var encoder = EncoderBackend.handLaid
  public var heartbeatIntervalMs = 1000

  public init() {}
  static let name = "channels"
  static let keys: [ConfigKey<ChannelsSection>] = [
    .int("count", \.count, 1...1024),
    .endpoint("group_base", \.groupBase),
    ConfigKey(
      name: "owned",
      read: { reader, node, path, section in
        if node.scalar?.string == "all" {
          section.owned = nil
        } else if let items = reader.list(node, path) {
          section.owned = items.flatMap { reader.channelRange($0, path) }
        }
      }, value: { $0.owned.map { "[\($0.map(String.init).joined(separator: ", "))]" } ?? "all" }),
    .address("interface", \.interface),
    .int("ttl", \.ttl, 0...255),
    .bool("loop", \.loop),
    .int("send_buffer_bytes", \.sendBufferBytes),
    .choice("send_method", \.sendMethod),
    .int("datagram_bytes", \.datagramBytes, 512...65507),
    .int("depth", \.depth, 1...1000),
    .choice("encoder", \.encoder),
    .int("heartbeat_interval_ms", \.heartbeatIntervalMs) { $0 < 1 ? "must be at least 1" : nil },
  ]

  /// Channel n's group: the base address plus n, on the base's port.
  public var groups: [IPv4Endpoint] { ChannelGroups.groups(count: count, base: groupBase) }
}

/// `snapshot`: the snapshot channel, which cycles through every instrument.
public struct SnapshotSection: ConfigSection {
  public var group = ChannelGroups.defaultSnapshot
  public var depth = 10
  /// Every instrument is snapshotted once per cycle, spread over ticks of `tickMs`.
  public var cycleMs = 1000
  public var tickMs = 10

  public init() {}
  static let name = "snapshot"
  static let keys: [ConfigKey<SnapshotSection>] = [
    .endpoint("group", \.group) { $0.isMulticast ? nil : "\($0) is not a multicast group" },
    .int("depth", \.depth, 1...1000),
    .int("cycle_ms", \.cycleMs) { $0 < 1 ? "must be at least 1" : nil },
    ConfigKey(
      name: "tick_ms", read: { reader, node, path, section in reader.int(node, path).map { section.tickMs = $0 } },
      value: { "\($0.tickMs)" },
      check: { $0.tickMs < 1 || $0.tickMs > $0.cycleMs ? "must be 1...snapshot.cycle_ms" : nil }),
  ]
}

/// `books`: the limits every book structure is preallocated for.
public struct BooksSection: ConfigSection {
  public var maxLiveOrders = 1 << 21
  public var maxLevels = 1 << 19
  public var maxOrderReference: UInt64 = (1 << 32) - 1
  /// Pages of the order store (256 references, 4 KiB each) that may be live at once.
  public var maxOrderPages = 1 << 16

  public init() {}
  static let name = "books"
  static let keys: [ConfigKey<BooksSection>] = [
    .int("max_live_orders", \.maxLiveOrders) { $0 < 1 || $0 >= Int(UInt32.max) ? "must be 1..<2^32, got \($0)" : nil },
    .int("max_levels", \.maxLevels) { $0 < 1 || $0 >= Int(UInt32.max) ? "must be 1..<2^32, got \($0)" : nil },
    .int("max_order_reference", \.maxOrderReference) { rangeProblem($0, 1...(1 << 40)) },
    .int("max_order_pages", \.maxOrderPages) { $0 < 1 || $0 >= 1 << 24 ? "must be 1..<2^24, got \($0)" : nil },
  ]
}

/// `ingest`: the io_uring ring, its provided buffers, and smart batching's bound.
public struct IngestSection: ConfigSection {
  public var receiver = URingReceiver.Config()
  /// Smart batching: datagrams already waiting (the rest of a completion batch, or of the descriptor ring) run
  /// through the core before their channels' packets close, at most this many per output batch. 1 turns it off.
  public var maxBatchDatagrams = 32

  public init() {}
  static let name = "ingest"
  static let keys: [ConfigKey<IngestSection>] = [
    .int("buffer_count", \.receiver.bufferCount) { powerOfTwoProblem($0, 2...32768) },
    .int("buffer_bytes", \.receiver.bufferBytes, 256...65536),
    .int("ring_entries", \.receiver.ringEntries) { powerOfTwoProblem(Int($0), 8...32768) },
    .int("batch", \.receiver.batch, 1...4096),
    .int("max_batch_datagrams", \.maxBatchDatagrams, 1...4096, " (1: no batching)"),
    .bool("single_issuer_defer_taskrun", \.receiver.singleIssuerDeferTaskrun),
  ]
}

/// `threading`: one thread for everything, or dedicated ingest, book and publish threads.
public struct ThreadingSection: ConfigSection {
  public enum Mode: String, Sendable, CaseIterable {
    /// One thread runs each datagram through the whole pipeline (lowest latency).
    case single
    /// Ingest, book shards and publish on their own threads, joined by preallocated rings.
    case dedicated
  }
  public var mode = Mode.single
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

  public init() {}
  static let name = "threading"
  static let keys: [ConfigKey<ThreadingSection>] = [
    .choice("mode", \.mode),
    .optionalInt("cpu", \.cpu, unsetHint: "N   (single mode: pin the thread)"),
    .optionalInt("ingest_cpu", \.ingestCPU, unsetHint: "N   (dedicated mode)"),
    ConfigKey(
      name: "core_cpu",
      read: { reader, node, path, section in
        if node.sequence != nil {
          section.coreCPUs = (reader.list(node, path) ?? []).compactMap { reader.int($0, path) }
        } else {
          reader.int(node, path).map { section.coreCPUs = [$0] }
        }
      }, value: { $0.coreCPUs.isEmpty ? nil : "[\($0.coreCPUs.map(String.init).joined(separator: ", "))]" },
      unsetHint: "N   (or [N, M]: one per book shard)"),
    .int("book_shards", \.bookShards),
    .optionalInt("publish_cpu", \.publishCPU, unsetHint: "N"),
    .int("packet_ring_bytes", \.packetRingBytes) {
      $0 < 1 << 16 || $0 & ($0 - 1) != 0 ? "must be a power of two of at least 65536, got \($0)" : nil
    },
    .choice("idle", \.idle),
  ]

  /// How many threads run books: one in single mode.
  public var shardCount: Int { mode == .dedicated ? bookShards : 1 }
}

/// `operations`: the name, the stats line, the metrics endpoint and the stall threshold.
public struct OperationsSection: ConfigSection {
  /// A name for this gateway, published in its layout (the host name by default).
  public var instance = OperationsSection.hostName
  public var statsIntervalMs = 10_000
  /// The read-only metrics and health endpoint; nil = off.
  public var http: IPv4Endpoint? = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 9464)
  /// A duty cycle longer than this counts as a stall.
  public var stallThresholdUs = 1000
  /// Time each datagram's stages into histograms (four clock reads per datagram).
  public var stageTiming = true

  public init() {}
  static let name = "operations"
  static let keys: [ConfigKey<OperationsSection>] = [
    .string("instance", \.instance) {
      $0.isEmpty || $0.utf8.count > 64 || $0.contains("\"") || $0.contains("\\")
        ? "must be 1...64 bytes without quotes or backslashes, got \"\($0)\"" : nil
    },
    .int("stats_interval_ms", \.statsIntervalMs) { $0 < 0 ? "must be 0 (off) or more" : nil },
    .optionalEndpoint("http", \.http),
    .int("stall_threshold_us", \.stallThresholdUs) { $0 < 1 ? "must be at least 1" : nil },
    .bool("stage_timing", \.stageTiming),
  ]

  /// This host's name (the default `operations.instance`).
  public static var hostName: String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "quotecast" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "quotecast" : String(name.prefix(64))
  }
}

/// `websocket`: the edge for subscribers without multicast (off the hot path).
public struct WebSocketSection: ConfigSection {
  /// Where WebSocket subscribers connect (ws://listen/feed) and the page is served; nil = off.
  public var listen: IPv4Endpoint?
  public var maxConnections = 256
  /// Frames a connection may have waiting; past it they are dropped for a fresh snapshot.
  public var queueBytes = 1 << 20
  /// A connection that takes nothing this long while frames wait is closed.
  public var stallTimeoutMs = 5000
  /// The sending thread's copy of every packet for the edge; full, it refuses (counted).
  public var tapRingBytes = 16 << 20
  /// Each WebSocket connection's kernel send buffer.
  public var sendBufferBytes = 256 << 10
  /// The edge's threads under SCHED_IDLE (only time nothing else wants) instead of nice 10: the multicast path is
  /// disturbed less, but the edge then starves behind any busy process on the host.
  public var schedIdle = false

  public init() {}
  static let name = "websocket"
  static let keys: [ConfigKey<WebSocketSection>] = [
    .optionalEndpoint("listen", \.listen, on: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 9470)) {
      $0.isMulticast ? "must be a unicast address:port, got \($0)" : nil
    },
    .int("max_connections", \.maxConnections, 1...65_536),
    .int("queue_bytes", \.queueBytes, (1 << 16)...(1 << 30)),
    .int("stall_timeout_ms", \.stallTimeoutMs, 10...600_000),
    .int("tap_ring_bytes", \.tapRingBytes) {
      (1 << 16...1 << 30).contains($0) && $0 & ($0 - 1) == 0
        ? nil : "must be a power of two, 65536...1073741824, got \($0)"
    },
    .int("send_buffer_bytes", \.sendBufferBytes, 4096...(1 << 26)),
    .bool("sched_idle", \.schedIdle),
  ]
}

/// `faults`: output faults for recovery tests only (never in production; warned about at start-up).
public struct FaultsSection: ConfigSection {
  /// Output packets never sent: "CHANNEL:FIRST-LAST" by per-channel packet count.
  public var dropOutput: MulticastPublisher.DropRange?

  public init() {}
  static let name = "faults"
  static var omittedWhenUnset: Bool { true }
  static let keys: [ConfigKey<FaultsSection>] = [
    ConfigKey(
      name: "drop_output",
      read: { reader, node, path, section in
        guard let text = reader.string(node, path) else { return }
        if let range = MulticastPublisher.DropRange(text) {
          section.dropOutput = range
        } else {
          reader.problems.append("\(path): must be CHANNEL:FIRST-LAST (1-based packets), got \(text)")
        }
      }, value: { $0.dropOutput.map { "\"\($0.description)\"" } }, unsetHint: "\"CHANNEL:FIRST-LAST\"")
  ]
}

extension GatewayConfig {
  /// The core's settings from the sections the CLI's core options build too (no gap filling: that is
  /// the feed section's).
  public static func coreConfig(channels: ChannelsSection, snapshot: SnapshotSection, books: BooksSection) -> CoreConfig
  {
    CoreConfig(
      channels: channels.count, depth: channels.depth, datagramBytes: channels.datagramBytes,
      snapshotDepth: snapshot.depth, encoder: channels.encoder, maxLiveOrders: books.maxLiveOrders,
      maxLevels: books.maxLevels, maxOrderReference: books.maxOrderReference, maxOrderPages: books.maxOrderPages)
  }

  /// The problems of the keys the core reads (channels, snapshot, books), named by key.
  public func coreProblems() -> [String] {
    let problems = channels.keyProblems + snapshot.keyProblems + books.keyProblems
    guard problems.isEmpty else { return problems }
    return Self.coreConfig(channels: channels, snapshot: snapshot, books: books).problems().map { "core: \($0)" }
  }

  public var coreConfig: CoreConfig {
    var config = Self.coreConfig(channels: channels, snapshot: snapshot, books: books)
    config.encoder.ownedChannels = channels.owned
    config.gapFill.holdNs = UInt64(max(0, feed.gapHoldUs)) * 1000
    config.gapFill.rerequestAttempts = feed.rerequest == nil ? 0 : feed.rerequestAttempts
    config.gapFill.rerequestTimeoutNs = UInt64(max(0, feed.rerequestTimeoutMs)) * 1_000_000
    config.gapFill.maxHeldPackets = feed.maxHeldPackets
    config.gapFill.catchUpFromStart = feed.catchUp && feed.rerequest != nil
    config.gapFill.maxHeldPacketBytes = ingest.receiver.bufferBytes
    return config
  }

  /// The channels this instance owns, ascending.
  public var owned: [Int] { (channels.owned ?? Array(0..<max(0, channels.count))).sorted() }

  /// The owned channels as ranges: "0-3, 6".
  public var ownedDescription: String { channelRangesText(owned) }

  /// What this instance says of the feed on the snapshot channel.
  public func layout(session: UInt64) -> FeedLayoutInfo {
    var layout = FeedLayoutInfo()
    layout.channelCount = channels.count
    layout.groupBaseAddress = channels.groupBase.address
    layout.groupBasePort = channels.groupBase.port
    layout.snapshotAddress = snapshot.group.address
    layout.snapshotPort = snapshot.group.port
    layout.ownedChannels = owned
    layout.session = session
    layout.depth = channels.depth
    layout.snapshotDepth = snapshot.depth
    layout.datagramBytes = channels.datagramBytes
    layout.instance = operations.instance
    return layout
  }

  /// Settings that leave this host: allowed, but said out loud at start.
  public var warnings: [String] {
    var warnings: [String] = []
    if let http = operations.http, !http.isLoopback {
      warnings.append("operations.http \(http) is reachable from other hosts (read-only)")
    }
    if let listen = websocket.listen, !listen.isLoopback {
      warnings.append("websocket.listen \(listen) is reachable from other hosts")
    }
    if channels.interface >> 24 != 127 {
      warnings.append(
        "channels.interface \(IPv4Endpoint.format(channels.interface)) is not loopback: multicast leaves this host")
    }
    if channels.ttl > 1 { warnings.append("channels.ttl \(channels.ttl) lets multicast cross routers") }
    if let rerequest = feed.rerequest, !rerequest.isLoopback {
      warnings.append("feed.rerequest \(rerequest) is not on this host: re-requests leave it")
    }
    if let dropOutput = faults.dropOutput {
      warnings.append("faults.drop_output \(dropOutput.description): output packets will be withheld")
    }
    return warnings
  }

  /// Every problem, as "key: problem": each section's own keys, then the rules that span sections.
  public func problems() -> [String] {
    var problems =
      feed.keyProblems + channels.keyProblems + snapshot.keyProblems + books.keyProblems + ingest.keyProblems
      + threading.keyProblems + operations.keyProblems + websocket.keyProblems + faults.keyProblems
    if (1...1024).contains(channels.count) {
      for group in channels.groups where !group.isMulticast {
        problems.append("channels.group_base: \(group) is not a multicast group (224.0.0.0/4)")
      }
      if (1...1000).contains(snapshot.depth)
        && !EncoderConfig.snapshotFits(depth: snapshot.depth, datagramBytes: channels.datagramBytes)
      {
        problems.append(
          "snapshot.depth: a \(snapshot.depth)-level snapshot does not fit in channels.datagram_bytes "
            + "(\(channels.datagramBytes))")
      }
      // The owned channels' own rules (one shard here: the shard bound is checked below, by this file's words).
      problems += ChannelPlan.problems(channels: channels.count, owned: channels.owned, shardCount: 1)
    }
    if threading.bookShards < 1 || threading.bookShards > owned.count {
      let bound = channels.owned == nil ? "channels.count (\(channels.count))" : "\(owned.count) (the channels owned)"
      problems.append("threading.book_shards: must be 1...\(bound), got \(threading.bookShards)")
    } else if threading.mode == .single && threading.bookShards != 1 {
      problems.append("threading.book_shards: only for mode dedicated (single runs every book on one thread)")
    }
    let pinned: [(String, Int?)] =
      [("cpu", threading.cpu), ("ingest_cpu", threading.ingestCPU), ("publish_cpu", threading.publishCPU)]
      + threading.coreCPUs.map { ("core_cpu", $0) }
    for (key, cpu) in pinned {
      if let cpu, !CPUPinning.isAllowed(cpu) {
        problems.append("threading.\(key): cpu \(cpu) does not exist or is not allowed for this process")
      }
    }
    if threading.mode == .single {
      if threading.ingestCPU != nil || !threading.coreCPUs.isEmpty || threading.publishCPU != nil {
        problems.append(
          "threading.ingest_cpu/core_cpu/publish_cpu: only for mode dedicated (single uses threading.cpu)")
      }
    } else if threading.cpu != nil {
      problems.append("threading.cpu: only for mode single (dedicated uses ingest_cpu, core_cpu, publish_cpu)")
    }
    if !threading.coreCPUs.isEmpty && threading.coreCPUs.count != threading.bookShards {
      problems.append(
        "threading.core_cpu: names \(threading.coreCPUs.count) cpu(s) for \(threading.bookShards) book shard(s); "
          + "give one per shard")
    }
    if let dropOutput = faults.dropOutput, Int(dropOutput.destination) > channels.count {
      problems.append(
        "faults.drop_output: channel \(dropOutput.destination) does not exist (0...\(channels.count), "
          + "\(channels.count) = snapshots)")
    }
    // The core's own rules are the table's above; one it has that the table missed still stops start-up.
    if problems.isEmpty { problems = coreConfig.problems().map { "core: \($0)" } }
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
    let sections = [
      FeedSection.name, ChannelsSection.name, SnapshotSection.name, BooksSection.name, IngestSection.name,
      ThreadingSection.name, OperationsSection.name, WebSocketSection.name, FaultsSection.name,
    ]
    reader.section(node, "", keys: Set(sections)) { reader, key, value in
      switch key {
      case FeedSection.name: config.feed.read(value, into: &reader)
      case ChannelsSection.name: config.channels.read(value, into: &reader)
      case SnapshotSection.name: config.snapshot.read(value, into: &reader)
      case BooksSection.name: config.books.read(value, into: &reader)
      case IngestSection.name: config.ingest.read(value, into: &reader)
      case ThreadingSection.name: config.threading.read(value, into: &reader)
      case OperationsSection.name: config.operations.read(value, into: &reader)
      case WebSocketSection.name: config.websocket.read(value, into: &reader)
      default: config.faults.read(value, into: &reader)
      }
    }
    let problems = reader.problems + (reader.problems.isEmpty ? config.problems() : [])
    guard problems.isEmpty else { throw ConfigError(problems: problems) }
    return config
  }

  /// The effective configuration as YAML that `load` reads back unchanged.
  public var yaml: String {
    feed.yaml + channels.yaml + snapshot.yaml + books.yaml + ingest.yaml + threading.yaml + operations.yaml
      + websocket.yaml + faults.yaml
  }
}
