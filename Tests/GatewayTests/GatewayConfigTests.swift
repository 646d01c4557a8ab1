import Gateway
import QuotecastCore
import Transport
import XCTest

/// The YAML config: defaults, overrides, round trips through --print-config, and every problem named by key.
final class GatewayConfigTests: XCTestCase {
  func testDefaultsServeOnLoopbackAndRoundTripThroughYAML() throws {
    let defaults = GatewayConfig()
    XCTAssertEqual(defaults.problems(), [])
    XCTAssertEqual(defaults.feed.inputs, [IPv4Endpoint("127.0.0.1:26400")!])
    XCTAssertEqual(defaults.channels.interface, IPv4Endpoint.loopback)
    XCTAssertEqual(try GatewayConfig.load(yaml: defaults.yaml), defaults)
  }

  func testOverrides() throws {
    let config = try GatewayConfig.load(
      yaml: """
        feed:
          inputs: ["239.1.2.3:26400", "127.0.0.1:26401"]
        channels:
          count: 4
          depth: 5
          encoder: flatbuffers
        threading:
          idle: busy
        ingest:
          buffer_count: 8192
        """)
    XCTAssertEqual(config.feed.inputs.count, 2)
    XCTAssertEqual(config.channels.count, 4)
    XCTAssertEqual(config.channels.depth, 5)
    XCTAssertEqual(config.channels.encoder, .flatbuffers)
    XCTAssertEqual(config.threading.idle, .busy)
    XCTAssertEqual(config.ingest.receiver.bufferCount, 8192)
  }

  func testThreadingModes() throws {
    let dedicated = try GatewayConfig.load(
      yaml: "threading:\n  mode: dedicated\n  ingest_cpu: 0\n  core_cpu: 1\n  publish_cpu: 1\n  idle: yield\n")
    XCTAssertEqual(dedicated.threading.mode, .dedicated)
    XCTAssertEqual(dedicated.threading.coreCPUs, [1])
    let sharded = try GatewayConfig.load(
      yaml: "channels:\n  count: 4\nthreading:\n  mode: dedicated\n  book_shards: 2\n  core_cpu: [0, 1]\n")
    XCTAssertEqual(sharded.threading.bookShards, 2)
    XCTAssertEqual(sharded.threading.coreCPUs, [0, 1])
    XCTAssertEqual(try GatewayConfig.load(yaml: sharded.yaml), sharded, "round trip through --print-config")
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "threading:\n  mode: dedicated\n  book_shards: 2\n")) {
      XCTAssertTrue(String(describing: $0).contains("threading.book_shards: must be 1...channels.count (1), got 2"))
    }
    XCTAssertThrowsError(
      try GatewayConfig.load(
        yaml: "channels:\n  count: 4\nthreading:\n  mode: dedicated\n  book_shards: 2\n  core_cpu: [0]\n")
    ) { XCTAssertTrue(String(describing: $0).contains("threading.core_cpu: names 1 cpu(s) for 2 book shard(s)")) }
    XCTAssertThrowsError(
      try GatewayConfig.load(
        yaml: "channels:\n  count: 4\nthreading:\n  mode: dedicated\n  book_shards: 2\n  core_cpu: [0, 64]\n")
    ) { XCTAssertTrue(String(describing: $0).contains("threading.core_cpu: cpu 64 does not exist")) }
    XCTAssertEqual(try GatewayConfig.load(yaml: dedicated.yaml), dedicated)
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "threading:\n  mode: single\n  core_cpu: 1\n")) {
      XCTAssertTrue(String(describing: $0).contains("threading.ingest_cpu/core_cpu/publish_cpu"))
    }
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "threading:\n  mode: sharded\n")) {
      XCTAssertTrue(String(describing: $0).contains("threading.mode: must be single or dedicated"))
    }
  }

  func testOwnedChannelsAreReadPrintedAndChecked() throws {
    let config = try GatewayConfig.load(
      yaml: "channels:\n  count: 8\n  owned: [\"4-6\", 7]\nthreading:\n  mode: dedicated\n  book_shards: 4\n")
    XCTAssertEqual(config.channels.owned, [4, 5, 6, 7])
    XCTAssertEqual(config.ownedDescription, "4-7")
    XCTAssertEqual(config.coreConfig.encoder.ownedChannels, [4, 5, 6, 7])
    XCTAssertEqual(try GatewayConfig.load(yaml: config.yaml), config, "round trip through --print-config")
    XCTAssertNil(try GatewayConfig.load(yaml: "channels:\n  owned: all\n").channels.owned)
    XCTAssertEqual(GatewayConfig().yaml.contains("owned: all"), true)
    let cases = [
      ("channels:\n  count: 8\n  owned: [8]\n", "channels.owned: channel 8 does not exist (0...7)"),
      ("channels:\n  count: 8\n  owned: [1, 1]\n", "channels.owned: names a channel twice"),
      ("channels:\n  count: 8\n  owned: []\n", "channels.owned: names no channel"),
      ("channels:\n  count: 8\n  owned: [\"3-1\"]\n", "channels.owned: each item is a channel number or FIRST-LAST"),
      ("channels:\n  count: 8\n  owned: 3\n", "channels.owned: must be a list"),
      (
        "channels:\n  count: 8\n  owned: [0, 1]\nthreading:\n  mode: dedicated\n  book_shards: 3\n",
        "threading.book_shards: must be 1...2 (the channels owned), got 3"
      ),
    ]
    for (yaml, expected) in cases {
      XCTAssertThrowsError(try GatewayConfig.load(yaml: yaml), yaml) {
        XCTAssertTrue(String(describing: $0).contains(expected), "\(yaml): \($0)")
      }
    }
  }

  func testTheWebSocketEdgeIsConfiguredByKey() throws {
    let config = try GatewayConfig.load(
      yaml: "websocket:\n  listen: \"127.0.0.1:9470\"\n  max_connections: 300\n  stall_timeout_ms: 2000\n")
    XCTAssertEqual(config.websocket.listen, IPv4Endpoint("127.0.0.1:9470"))
    XCTAssertEqual(config.websocket.maxConnections, 300)
    XCTAssertEqual(config.websocket.stallTimeoutMs, 2000)
    XCTAssertEqual(try GatewayConfig.load(yaml: config.yaml), config, "round trip through --print-config")
    XCTAssertNil(GatewayConfig().websocket.listen, "off by default")
    XCTAssertFalse(GatewayConfig().websocket.schedIdle, "the edge at nice 10 by default")
    let idle = try GatewayConfig.load(yaml: "websocket:\n  sched_idle: true\n")
    XCTAssertTrue(idle.websocket.schedIdle)
    XCTAssertTrue(idle.yaml.contains("sched_idle: true"))
    XCTAssertEqual(
      try GatewayConfig.load(yaml: "websocket:\n  listen: on\n").websocket.listen, IPv4Endpoint("127.0.0.1:9470"),
      "on: loopback")
    XCTAssertThrowsError(
      try GatewayConfig.load(yaml: "websocket:\n  queue_bytes: 1000\n  tap_ring_bytes: 100000\n")
    ) { error in
      let text = String(describing: error)
      XCTAssertTrue(text.contains("websocket.queue_bytes: must be 65536...1073741824, got 1000"), text)
      XCTAssertTrue(text.contains("websocket.tap_ring_bytes: must be a power of two"), text)
    }
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "websocket:\n  colour: red\n")) {
      XCTAssertTrue(String(describing: $0).contains("websocket.colour: unknown key"), "\($0)")
    }
    XCTAssertTrue(
      try GatewayConfig.load(yaml: "websocket:\n  listen: \"0.0.0.0:9470\"\n").warnings.contains {
        $0.contains("websocket.listen 0.0.0.0:9470 is reachable from other hosts")
      })
  }

  func testTheOrderStoreIsSizedByKey() throws {
    let config = try GatewayConfig.load(yaml: "books:\n  max_order_pages: 300000\n")
    XCTAssertEqual(config.books.maxOrderPages, 300_000)
    let core = GatewayConfig.coreConfig(channels: config.channels, snapshot: config.snapshot, books: config.books)
    XCTAssertEqual(core.books.maxReferencePages, 300_000, "the key reaches the books")
    let defaults = GatewayConfig()
    XCTAssertEqual(
      GatewayConfig.coreConfig(channels: defaults.channels, snapshot: defaults.snapshot, books: defaults.books)
        .books.maxReferencePages, CoreConfig().books.maxReferencePages, "the default is the core's own")
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "books:\n  max_order_pages: 0\n")) {
      XCTAssertTrue(String(describing: $0).contains("books.max_order_pages"), String(describing: $0))
    }
  }

  func testEveryProblemIsNamedByKey() {
    let bad = """
      channels:
        count: 0
        colour: blue
        depth: many
      snapshot:
        group: 10.0.0.1
      ingest:
        buffer_count: 1000
      threading:
        cpu: 4095
        mode: threaded
      """
    XCTAssertThrowsError(try GatewayConfig.load(yaml: bad)) { error in
      let text = String(describing: error)
      for key in ["channels.colour", "channels.depth", "snapshot.group", "threading.mode"] {
        XCTAssertTrue(text.contains(key), "\(key) in: \(text)")
      }
    }
    XCTAssertThrowsError(
      try GatewayConfig.load(yaml: "channels:\n  count: 0\ningest:\n  buffer_count: 1000\nthreading:\n  cpu: 4095\n")
    ) {
      let text = String(describing: $0)
      XCTAssertTrue(text.contains("channels.count"), text)
      XCTAssertTrue(text.contains("ingest.buffer_count"), text)
      XCTAssertTrue(text.contains("threading.cpu"), text)
    }
    XCTAssertThrowsError(try GatewayConfig.load(yaml: "feed: [unclosed"))
  }
}
