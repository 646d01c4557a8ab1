import Book
import Foundation
import Gateway
import ITCH
import QuotecastClient
import QuotecastCore
import Synth
import TestSupport
import Transport
import XCTest

/// A synthetic day framed into MoldUDP64 datagrams, in memory.
func dayDatagrams(messages: Int, symbols: Int, seed: UInt64, perPacket: Int = 20) -> [[UInt8]] {
  var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
  var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: perPacket)
  var datagrams: [[UInt8]] = []
  day.forEachDatagram(&packetizer) { datagrams.append(Array($0)) }
  return datagrams
}

/// What a packet says, without its timestamp: channel, sequence, and each update in words.
func describe(_ bytes: [UInt8]) -> (channel: UInt16, sequence: UInt64, updates: [String])? {
  bytes.withUnsafeBytes { raw in
    guard let packet = PacketView(raw) else { return nil }
    var updates: [String] = []
    for index in 0..<packet.updateCount {
      guard let u = packet.update(at: index) else { return nil }
      updates.append(
        "\(u.upstreamSequence) \(u.timestampNs) \(String(describing: u.level)) \(String(describing: u.trade)) "
          + "\(String(describing: u.tradingState)) \(String(describing: u.imbalance)) "
          + "\(String(describing: u.systemEvent)) \(u.definition?.symbol ?? "-")")
    }
    return (packet.channel, packet.sequence, updates)
  }
}

struct Collector: PacketSink {
  var packets: [[UInt8]] = []
  mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets.append(Array(packet)) }
}

/// The reference for a live run: an offline core with the gateway's settings over the same datagrams, and
/// every packet it sent.
func offlineRun(_ config: GatewayConfig, _ datagrams: [[UInt8]]) -> (core: QuotecastCore, packets: [[UInt8]]) {
  let offline = QuotecastCore(config: config.coreConfig)
  var collector = Collector()
  for datagram in datagrams {
    datagram.withUnsafeBytes { offline.process(moldPacket: $0, nowNs: 0, into: &collector) }
  }
  return (offline, collector.packets)
}

/// The gateway's log lines, appended from its threads.
final class LogLines: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [String] = []
  func append(_ line: String) { lock.withLock { stored.append(line) } }
  var lines: [String] { lock.withLock { stored } }
}

/// Runs a gateway on its own thread for the length of a test.
final class RunningGateway {
  let gateway: Gateway
  let finished = DispatchSemaphore(value: 0)
  let logBox = LogLines()
  /// What `run()` threw, if it did: written on the gateway's thread before `finished` is signalled.
  var runError: Error?

  /// Every line the gateway logged so far.
  var log: [String] { logBox.lines }

  init(_ config: GatewayConfig, tap: PacketRing? = nil) throws {
    let logBox = self.logBox
    gateway = try Gateway(config: config, tap: tap) { line in logBox.append(line) }
    let gateway = self.gateway
    let finished = self.finished
    let thread = Thread { [self] in
      do {
        try gateway.run()
      } catch {
        runError = error
      }
      finished.signal()
    }
    thread.start()
  }

  /// Stops the gateway; a gateway that failed while running fails the test here.
  func stop(file: StaticString = #filePath, line: UInt = #line) {
    gateway.requestStop()
    XCTAssertEqual(
      finished.wait(timeout: .now() + 5), .success, "the gateway stops when asked", file: file, line: line)
    XCTAssertNil(runError, "the gateway ran without failing", file: file, line: line)
  }
}

/// Joins groups on loopback and collects datagrams by group index.
final class Subscriber {
  let sockets: [UDPReceiveSocket]
  let receiver: URingReceiver
  var received: [[[UInt8]]]

  init(groups: [IPv4Endpoint], bufferCount: Int = 4096) throws {
    sockets = try groups.map { try UDPReceiveSocket(endpoint: $0) }
    var config = URingReceiver.Config()
    config.bufferCount = bufferCount
    do {
      receiver = try URingReceiver(sockets: sockets, config: config)
    } catch let error as TransportError where error.description.contains("no io_uring") {
      throw XCTSkip("kernel lacks io_uring provided buffer rings: \(error)")
    }
    received = Array(repeating: [], count: groups.count)
  }

  /// Polls for `seconds`, or until `done` says enough.
  func collect(seconds: Double, until done: ([[[UInt8]]]) -> Bool = { _ in false }) {
    let deadline = Clock.monotonicNs() + UInt64(seconds * 1e9)
    while Clock.monotonicNs() < deadline && !done(received) {
      _ = receiver.poll(waitNs: 5_000_000) { index, payload, _ in received[index].append(Array(payload)) }
    }
  }
}

/// A subscriber that reads on a thread of its own (its ring is that thread's: io_uring is single-issuer), so it
/// keeps up while the test sends. It stops once `updates` have arrived (a target set when the test knows it), or
/// after `seconds`.
final class BackgroundSubscriber {
  let lock = NSLock()
  var target = Int.max
  var subscriber: Subscriber?
  var startError: Error?
  let started = DispatchSemaphore(value: 0)
  let finished = DispatchSemaphore(value: 0)

  init(groups: [IPv4Endpoint], seconds: Double) throws {
    let thread = Thread { [self] in
      do { subscriber = try Subscriber(groups: groups) } catch { startError = error }
      started.signal()
      guard let subscriber else {
        finished.signal()
        return
      }
      var updates = 0
      let deadline = Clock.monotonicNs() + UInt64(seconds * 1e9)
      while Clock.monotonicNs() < deadline && updates < lock.withLock({ target }) {
        _ = subscriber.receiver.poll(waitNs: 5_000_000) { index, payload, _ in
          subscriber.received[index].append(Array(payload))
          updates += PacketView(payload)?.updateCount ?? 0
        }
      }
      finished.signal()
    }
    thread.start()
    started.wait()
    if let startError { throw startError }
  }

  /// Waits until `updates` have arrived (or time is up) and returns what each group received.
  func wait(forUpdates updates: Int) -> [[[UInt8]]] {
    lock.withLock { target = updates }
    finished.wait()
    return subscriber?.received ?? []
  }
}

/// Sends `datagrams` to a loopback port, `burst` at a time in one `sendmmsg`, pausing a millisecond after every
/// `datagramsPerMillisecond`.
func send(_ datagrams: [[UInt8]], to port: UInt16, datagramsPerMillisecond: Int = 4, burst: Int = 1) throws {
  let publisher = try MulticastPublisher(destinations: [IPv4Endpoint(address: IPv4Endpoint.loopback, port: port)])
  for (index, datagram) in datagrams.enumerated() {
    datagram.withUnsafeBytes { publisher.enqueue(destination: 0, $0) }
    if (index + 1) % burst == 0 || index == datagrams.count - 1 { publisher.flush() }
    if index % datagramsPerMillisecond == 0 { usleep(1000) }
  }
  XCTAssertEqual(publisher.counters.dropped, 0)
}

func testConfig(port: UInt16, channels: Int) -> GatewayConfig {
  var config = GatewayConfig()
  config.feed.inputs = [IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0)]
  config.channels.count = channels
  config.channels.groupBase = IPv4Endpoint(address: 0xEFFF_5A01, port: port)
  config.snapshot.group = IPv4Endpoint(address: 0xEFFF_5B01, port: port + 1)
  config.books.maxLiveOrders = 1 << 18
  config.books.maxLevels = 1 << 16
  config.operations.statsIntervalMs = 0
  config.operations.http = nil
  config.ingest.receiver.bufferCount = 1024
  return config
}

/// Every threading layout the tests run: one thread; dedicated threads with one book shard; and
/// with two (shard 0 owns channels 0 and 2 of three, shard 1 owns channel 1).
let threadingLayouts: [(mode: ThreadingSection.Mode, shards: Int)] = [
  (.single, 1), (.dedicated, 1), (.dedicated, 2),
]

extension GatewayConfig {
  func with(_ layout: (mode: ThreadingSection.Mode, shards: Int)) -> GatewayConfig {
    var config = self
    config.threading.mode = layout.mode
    config.threading.bookShards = layout.shards
    return config
  }
}

final class GatewayTests: XCTestCase {
  func testLiveOutputEqualsTheOfflineReplay() throws {
    let combinations =
      threadingLayouts.flatMap { layout in
        IdleStrategy.allCases.map { (layout, $0, MulticastPublisher.SendMethod.sendmmsg) }
      }
      + [
        (threadingLayouts[0], .block, .ioUring), (threadingLayouts[2], .yield, .ioUring),
        (threadingLayouts[0], .yield, .gso), (threadingLayouts[2], .yield, .gso),
      ]
    for (layout, idle, sendMethod) in combinations {
      let mode = "\(layout.mode) with \(layout.shards) book shard(s), sends by \(sendMethod)"
      var config = testConfig(port: 34_100, channels: 3).with(layout)
      config.threading.idle = idle
      config.channels.sendMethod = sendMethod
      // Packet for packet: no batching (BatchingTests checks the update streams with batching on).
      config.ingest.maxBatchDatagrams = 1
      config.channels.heartbeatIntervalMs = 60_000
      config.snapshot.cycleMs = 60_000
      config.snapshot.tickMs = 60_000
      let datagrams = dayDatagrams(messages: 30_000, symbols: 25, seed: 31)
      let subscriber = try Subscriber(groups: config.channels.groups)
      let running = try RunningGateway(config)
      try send(datagrams, to: running.gateway.inputPorts[0])
      // The offline core on the same datagrams: the reference.
      let (offline, offlinePackets) = offlineRun(config, datagrams)
      let expected = offlinePackets.compactMap(describe)
      subscriber.collect(seconds: 10) { received in received.map(\.count).reduce(0, +) >= expected.count }
      running.stop()
      let live = subscriber.received.flatMap { $0 }.compactMap(describe).filter { !$0.updates.isEmpty }
      XCTAssertEqual(live.count, expected.count, "\(mode) mode, idle \(idle)")
      for channel in UInt16(0)..<3 {
        let liveChannel = live.filter { $0.channel == channel }
        let expectedChannel = expected.filter { $0.channel == channel }
        XCTAssertEqual(liveChannel.map(\.sequence), expectedChannel.map(\.sequence), "channel \(channel) sequences")
        XCTAssertTrue(
          zip(liveChannel, expectedChannel).allSatisfy { $0.updates == $1.updates }, "channel \(channel) updates")
      }
      XCTAssertEqual(running.gateway.stats.gaps, 0)
      XCTAssertEqual(running.gateway.stats.dropped, 0)
      XCTAssertEqual(running.gateway.stats.messages, 30_000, "every message counted once, \(mode)")
      XCTAssertEqual(running.gateway.counters.load(.messages), 30_000, "\(mode)")
      XCTAssertEqual(running.gateway.cores.count, layout.shards)
      // Every thread's duty cycle is counted.
      let board = running.gateway.counters
      XCTAssertGreaterThan(board.load(.cycles), 0, "\(mode)")
      XCTAssertGreaterThan(board.load(.longestCycleNs), 0, "\(mode)")
      if layout.mode == .dedicated {
        XCTAssertGreaterThan(board.load(.ingestCycles), 0, "\(mode)")
        XCTAssertGreaterThan(board.load(.publishCycles), 0, "\(mode)")
        XCTAssertGreaterThan(board.load(.publishLongestCycleNs), 0, "\(mode)")
      }
      if layout.shards > 1 {
        // Each shard holds only its own instruments, and between them every one.
        let held = running.gateway.cores.map { Set($0.books.activeLocates) }
        XCTAssertTrue(held[0].isDisjoint(with: held[1]))
        XCTAssertEqual(held[0].union(held[1]), Set(offline.books.activeLocates))
        XCTAssertTrue(held[1].allSatisfy { Int($0) % 3 == 1 }, "shard 1 owns channel 1 only")
      }
    }
  }

  /// Input in bursts: several datagrams wait at each reap, so batches form. Packet boundaries change, but each
  /// channel's update stream is the offline core's, in order, with no gap, no loss and no stale feed.
  func testBatchingUnderBacklogKeepsEveryChannelsUpdateStream() throws {
    let runs: [((mode: ThreadingSection.Mode, shards: Int), MulticastPublisher.SendMethod)] = [
      (threadingLayouts[0], .sendmmsg), (threadingLayouts[2], .sendmmsg), (threadingLayouts[0], .gso),
    ]
    for (layout, sendMethod) in runs {
      let mode = "\(layout.mode) with \(layout.shards) book shard(s), sends by \(sendMethod)"
      var config = testConfig(port: 34_700, channels: 4).with(layout)
      config.channels.sendMethod = sendMethod
      config.channels.heartbeatIntervalMs = 60_000
      config.snapshot.cycleMs = 60_000
      config.snapshot.tickMs = 60_000
      XCTAssertEqual(config.ingest.maxBatchDatagrams, 32, "batching is on by default")
      // One or two messages a datagram, as a real feed outside bursts; sent 64 at a time.
      let datagrams = dayDatagrams(messages: 40_000, symbols: 40, seed: 71, perPacket: 2)
      let subscriber = try BackgroundSubscriber(groups: config.channels.groups, seconds: 20)
      let running = try RunningGateway(config)
      try send(datagrams, to: running.gateway.inputPorts[0], datagramsPerMillisecond: 64, burst: 64)
      let (_, offlinePackets) = offlineRun(config, datagrams)
      let expected = offlinePackets.compactMap(describe)
      let expectedUpdates = expected.map(\.updates.count).reduce(0, +)
      let received = subscriber.wait(forUpdates: expectedUpdates)
      running.stop()
      let stats = running.gateway.stats
      XCTAssertGreaterThan(stats.multiDatagramBatches, 0, "\(mode): batches of several datagrams formed")
      XCTAssertGreaterThan(stats.largestBatch, 1, mode)
      XCTAssertLessThanOrEqual(stats.largestBatch, 32, "\(mode): the bound holds")
      XCTAssertEqual(stats.batchedDatagrams, UInt64(datagrams.count), "\(mode): every datagram in one batch")
      if sendMethod == .gso {
        XCTAssertGreaterThan(running.gateway.counters.load(.segmentedSends), 0, "\(mode): GSO carried several packets")
      }
      XCTAssertEqual(stats.messages, 40_000, mode)
      XCTAssertEqual(stats.gaps, 0, mode)
      XCTAssertEqual(stats.dropped, 0, mode)
      XCTAssertFalse(running.gateway.cores.contains { $0.health.stale }, "\(mode): the feed never went stale")
      let live = received.joined().compactMap(describe).filter { !$0.updates.isEmpty }
      XCTAssertLessThan(live.count, expected.count, "\(mode): fewer, fuller packets than unbatched")
      for channel in UInt16(0)..<4 {
        let liveChannel = live.filter { $0.channel == channel }
        XCTAssertEqual(liveChannel.map(\.sequence), Array(1...UInt64(max(1, liveChannel.count))), "\(mode) \(channel)")
        XCTAssertEqual(
          liveChannel.flatMap(\.updates), expected.filter { $0.channel == channel }.flatMap(\.updates),
          "\(mode): channel \(channel)'s update stream")
      }
    }
  }

  func testHeartbeatsAndSnapshotsArriveOnSchedule() throws {
    for layout in [threadingLayouts[0], threadingLayouts[2]] {
      try checkHeartbeatsAndSnapshots(layout)
    }
  }

  func checkHeartbeatsAndSnapshots(_ layout: (mode: ThreadingSection.Mode, shards: Int)) throws {
    var config = testConfig(port: 34_200, channels: 2).with(layout)
    config.channels.heartbeatIntervalMs = 40
    config.snapshot.cycleMs = 200
    config.snapshot.tickMs = 20
    let datagrams = dayDatagrams(messages: 20_000, symbols: 12, seed: 5)
    let subscriber = try Subscriber(groups: config.channels.groups + [config.snapshot.group])
    let running = try RunningGateway(config)
    try send(datagrams, to: running.gateway.inputPorts[0])
    let (offline, _) = offlineRun(config, datagrams)
    // After the feed ends: half a second of quiet, with heartbeats and two snapshot cycles.
    subscriber.collect(seconds: 0.6)
    running.stop()
    var lastDataSequence: [UInt64] = [0, 0]
    for channel in 0..<2 {
      let packets = subscriber.received[channel].compactMap(describe)
      let lastData = packets.filter { !$0.updates.isEmpty }.map(\.sequence).max() ?? 0
      lastDataSequence[channel] = lastData
      let heartbeats = packets.filter { $0.updates.isEmpty }
      XCTAssertGreaterThanOrEqual(heartbeats.count, 5, "channel \(channel): a heartbeat every 40 ms of silence")
      XCTAssertTrue(heartbeats.suffix(3).allSatisfy { $0.sequence == lastData }, "heartbeats carry the last sequence")
    }
    // The last snapshot of each instrument equals its final book, stamped with its channel's last sequence.
    var lastSnapshot: [UInt16: (bids: [FeedBookLevel], asks: [FeedBookLevel], sequence: UInt64)] = [:]
    var definitions: [UInt16: String] = [:]
    for bytes in subscriber.received[2] {
      bytes.withUnsafeBytes { raw in
        guard let packet = PacketView(raw) else { return XCTFail("bad snapshot packet") }
        XCTAssertEqual(packet.channel, 2)
        for index in 0..<packet.updateCount {
          if let definition = packet.update(at: index)?.definition {
            definitions[definition.locate] = definition.symbol
            XCTAssertEqual(Int(definition.channel), Int(definition.locate) % 2, "a definition names its own channel")
          }
          guard let snapshot = packet.update(at: index)?.snapshot else { continue }
          lastSnapshot[snapshot.locate] = (
            (0..<snapshot.bidCount).map { snapshot.bid($0)! }, (0..<snapshot.askCount).map { snapshot.ask($0)! },
            snapshot.lastChannelSequence
          )
        }
      }
    }
    let books = offline.books
    XCTAssertEqual(Set(lastSnapshot.keys), Set(books.activeLocates))
    XCTAssertEqual(definitions.count, books.activeLocates.count, "definitions cycle with the snapshots")
    for locate in books.activeLocates { XCTAssertEqual(definitions[locate], books.symbol(locate: locate)?.description) }
    for locate in books.activeLocates {
      let wire = { (levels: [PriceLevel]) in
        levels.map { FeedBookLevel(price: $0.price, orders: $0.orders, shares: $0.shares) }
      }
      XCTAssertEqual(lastSnapshot[locate]?.bids, wire(books.levels(locate: locate, side: .bid, depth: 10)))
      XCTAssertEqual(lastSnapshot[locate]?.asks, wire(books.levels(locate: locate, side: .ask, depth: 10)))
      // Batching under backlog changes packet boundaries, so the stamp is the live channel's, not the offline one's.
      let channel = offline.encoder.plan.channel(for: locate)
      XCTAssertEqual(lastSnapshot[locate]?.sequence, lastDataSequence[Int(channel)], "stamped with the channel's last")
    }
  }

  /// After warm-up, the gateway thread allocates nothing per packet: receive, core, send included.
  func testGatewayThreadAllocatesNothingInSteadyState() throws {
    for layout in threadingLayouts { try checkSteadyStateAllocations(layout) }
  }

  func checkSteadyStateAllocations(_ layout: (mode: ThreadingSection.Mode, shards: Int)) throws {
    let mode = "\(layout.mode) with \(layout.shards) book shard(s)"
    var config = testConfig(port: 34_600, channels: 2).with(layout)
    config.channels.heartbeatIntervalMs = 60_000
    config.snapshot.cycleMs = 60_000
    config.snapshot.tickMs = 60_000
    let datagrams = dayDatagrams(messages: 60_000, symbols: 20, seed: 44)
    // With the WebSocket edge's tap on: every packet sent is copied into it too.
    let tap = PacketRing(capacity: 16 << 20)
    let running = try RunningGateway(config, tap: tap)
    let board = running.gateway.counters
    /// Allocations so far on the book threads, the ingest thread and the publish thread.
    func settled(_ datagramsIn: Int) -> (books: UInt64, ingest: UInt64, publish: UInt64) {
      let deadline = Date().addingTimeInterval(10)
      while board.load(.datagramsIn) < UInt64(datagramsIn) && Date() < deadline { usleep(10_000) }
      usleep(60_000)  // a publish or two after the last datagram
      return (
        board.load(.threadAllocations), board.load(.ingestThreadAllocations), board.load(.publishThreadAllocations)
      )
    }
    let half = datagrams.count / 2
    // In bursts, so batches of several datagrams form (and allocate nothing either).
    try send(Array(datagrams[..<half]), to: running.gateway.inputPorts[0], datagramsPerMillisecond: 32, burst: 32)
    // Warm-up holds each once-a-second path's first run too (stage latencies, the anomaly check): a first call
    // may instantiate runtime metadata, which allocates once.
    usleep(1_100_000)
    let warm = settled(half)
    XCTAssertNotEqual(warm.books, UInt64.max, "the test's malloc counter is linked in")
    XCTAssertNotEqual(warm.ingest, UInt64.max)
    XCTAssertGreaterThan(warm.ingest, 0, "the ingest thread is counted (its start-up allocates)")
    if layout.mode == .single {
      XCTAssertGreaterThan(warm.books, 0, "the counter counts the gateway's thread (its start-up allocates)")
    } else {
      // Book agents are built before their threads start, so those threads may never allocate at all:
      // show instead that the counter counts on a thread started the same way.
      let worker = WorkerThread { assertMallocCounterIsLive() }
      worker.join()
    }
    try send(Array(datagrams[half...]), to: running.gateway.inputPorts[0], datagramsPerMillisecond: 32, burst: 32)
    // Long enough that the window holds a once-a-second stage-latency publication too.
    usleep(1_100_000)
    let after = settled(datagrams.count)
    running.stop()
    XCTAssertGreaterThan(running.gateway.stats.multiDatagramBatches, 0, "\(mode): batching happened")
    XCTAssertEqual(board.load(.datagramsIn), UInt64(datagrams.count))
    let tapped = tap.read { _, _ in }
    XCTAssertEqual(UInt64(tapped), board.load(.packetsOut), "\(mode): the tap saw every packet sent")
    XCTAssertEqual(tap.refused.load(ordering: .relaxed), 0)
    // A rate-limited anomaly line is allocation too; say which, if one came.
    let logged = running.log.suffix(5).joined(separator: " | ")
    XCTAssertEqual(
      after.books - warm.books, 0,
      "\(mode): allocations on the book threads over \(datagrams.count - half) packets; the gateway logged: \(logged)")
    XCTAssertEqual(after.ingest - warm.ingest, 0, "\(mode): allocations on the ingest thread; logged: \(logged)")
    if layout.mode == .dedicated {
      XCTAssertNotEqual(after.publish, UInt64.max, "the publish thread is measured")
      XCTAssertEqual(after.publish - warm.publish, 0, "\(mode): allocations on the publish thread; logged: \(logged)")
    }
  }

  func testStopDrainsWhatAlreadyArrived() throws {
    for layout in threadingLayouts {
      let mode = "\(layout.mode) with \(layout.shards) book shard(s)"
      var config = testConfig(port: 34_300, channels: 2).with(layout)
      config.threading.idle = .block
      let datagrams = dayDatagrams(messages: 4_000, symbols: 5, seed: 8)
      let subscriber = try Subscriber(groups: config.channels.groups)
      let running = try RunningGateway(config)
      try send(datagrams, to: running.gateway.inputPorts[0], datagramsPerMillisecond: 200)
      running.stop()
      XCTAssertEqual(running.gateway.stats.messages, 4_000, "\(mode): queued datagrams are processed")
      // And what they produced was sent before run() returned.
      subscriber.collect(seconds: 0.5)
      XCTAssertEqual(
        UInt64(subscriber.received[0].count), running.gateway.publisher.packetsPerDestination[0], "\(mode)")
      // Batching under backlog packs several datagrams into one packet, so fewer packets than datagrams.
      XCTAssertGreaterThan(subscriber.received[0].count, 20)
    }
  }
}

/// One HTTP/1.0 request over loopback; returns the whole response.
func httpRequest(port: UInt16, _ request: String) -> String {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = port.bigEndian
  address.sin_addr.s_addr = IPv4Endpoint.loopback.bigEndian
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
  }
  guard connected == 0 else { return "connect failed" }
  _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
  var response: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if count <= 0 { break }
    response += chunk[0..<count]
  }
  return String(decoding: response, as: UTF8.self)
}

/// /metrics once it holds `text` (counters are published every 20 ms), or as it is after 5 s.
func metricsOnceThey(contain text: String, port: UInt16) -> String {
  var metrics = ""
  let deadline = Date().addingTimeInterval(5)
  while !metrics.contains(text) && Date() < deadline {
    usleep(50_000)
    metrics = httpRequest(port: port, "GET /metrics HTTP/1.0\r\n\r\n")
  }
  return metrics
}

final class MetricsEndpointTests: XCTestCase {
  func testPrometheusAndHealthAreServedReadOnly() throws {
    var config = testConfig(port: 34_400, channels: 1)
    config.operations.http = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0)
    let datagrams = dayDatagrams(messages: 10_000, symbols: 5, seed: 3)
    let running = try RunningGateway(config)
    let port = running.gateway.metricsEndpoint!.port
    try send(datagrams, to: running.gateway.inputPorts[0])
    var metrics = metricsOnceThey(contain: "quotecast_messages_total 10000", port: port)
    XCTAssertTrue(metrics.hasPrefix("HTTP/1.0 200 OK"), metrics)
    XCTAssertTrue(metrics.contains("text/plain; version=0.0.4"))
    XCTAssertTrue(metrics.contains("quotecast_messages_total 10000"), metrics)
    XCTAssertTrue(metrics.contains("quotecast_datagrams_in_total \(datagrams.count)"))
    XCTAssertTrue(metrics.contains("quotecast_gaps_total 0"))
    XCTAssertTrue(metrics.contains(#"quotecast_messages_by_type_total{type="A"}"#))
    XCTAssertTrue(metrics.contains("quotecast_live_orders "))
    // Per-stage latency quantiles are published once a second.
    func p99(_ stage: String, in text: String) -> Double? {
      text.split(separator: "\n").first {
        $0.hasPrefix("quotecast_stage_latency_nanoseconds{") && $0.contains(#"quantile="0.99""#)
          && $0.contains(#"stage="\#(stage)""#)
      }.flatMap { Double($0.split(separator: " ").last!) }
    }
    let stagesDeadline = Date().addingTimeInterval(4)
    // (All four are stored one after another: wait for the last, so one scrape sees them all.)
    while (p99("send", in: metrics) ?? 0) == 0 && Date() < stagesDeadline {
      usleep(100_000)
      metrics = httpRequest(port: port, "GET /metrics HTTP/1.0\r\n\r\n")
    }
    for stage in ["ingest", "decode_books", "encode", "send"] {
      let value = p99(stage, in: metrics)
      XCTAssertNotNil(value, "stage \(stage) in:\n\(metrics)")
      XCTAssertGreaterThan(value ?? 0, 0, "\(stage) p99")
      XCTAssertLessThan(value ?? 0, 1e9, "\(stage) p99 under a second")
    }
    let health = httpRequest(port: port, "GET /health HTTP/1.0\r\n\r\n")
    XCTAssertTrue(health.contains(#""status":"serving""#), health)
    XCTAssertTrue(health.contains(#""messages":10000"#), health)
    XCTAssertTrue(httpRequest(port: port, "POST /metrics HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.0 405"))
    XCTAssertTrue(httpRequest(port: port, "GET /admin HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.0 404"))
    // A second scrape keeps counters monotonic (deltas, not re-adds).
    let again = httpRequest(port: port, "GET /metrics HTTP/1.0\r\n\r\n")
    XCTAssertTrue(again.contains("quotecast_messages_total 10000"), again)
    running.stop()
  }

  /// Which channels an instance owns is on /metrics and /health; instruments of other channels are not applied.
  func testTheOwnedChannelsArePublished() throws {
    var config = testConfig(port: 34_450, channels: 3)
    config.channels.owned = [0, 2]
    config.operations.http = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0)
    let datagrams = dayDatagrams(messages: 10_000, symbols: 12, seed: 3)
    let running = try RunningGateway(config)
    let port = running.gateway.metricsEndpoint!.port
    try send(datagrams, to: running.gateway.inputPorts[0])
    let metrics = metricsOnceThey(contain: "quotecast_datagrams_in_total \(datagrams.count)", port: port)
    XCTAssertTrue(metrics.contains("quotecast_channels 3"), metrics)
    XCTAssertTrue(metrics.contains(#"quotecast_channel_owned{channel="2",group="239.255.90.3:34450"} 1"#), metrics)
    XCTAssertFalse(metrics.contains(#"quotecast_channel_owned{channel="1""#), "channel 1 is another instance's")
    XCTAssertTrue(httpRequest(port: port, "GET /health HTTP/1.0\r\n\r\n").contains(#""owned_channels":[0,2]"#))
    running.stop()
    let books = running.gateway.core.books
    XCTAssertGreaterThan(books.activeCount, 3)
    XCTAssertTrue(books.activeLocates.allSatisfy { $0 % 3 != 1 }, "\(books.activeLocates)")
    XCTAssertLessThan(books.counters.messages, 10_000, "channel 1's instruments were not applied")
  }

  func testATakenPortFailsAtStartUp() throws {
    var config = testConfig(port: 34_500, channels: 1)
    config.operations.http = IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0)
    let first = try Gateway(config: config) { _ in }
    config.operations.http = IPv4Endpoint(address: IPv4Endpoint.loopback, port: first.metricsEndpoint!.port)
    config.channels.groupBase.port += 10  // another instance's channels: only the port is taken
    XCTAssertThrowsError(try Gateway(config: config) { _ in }) { error in
      XCTAssertTrue(String(describing: error).contains("cannot listen"), "\(error)")
    }
  }
}

final class ChannelOwnershipTests: XCTestCase {
  /// Two instances on one host: disjoint channels start side by side; a channel claimed twice is
  /// refused before anything runs, naming the channel.
  func testASecondInstanceOnTheSameChannelsIsRefused() throws {
    var low = testConfig(port: 0, channels: 4)
    low.channels.owned = [0, 1]
    var high = low
    high.channels.owned = [2, 3]
    let first = try Gateway(config: low) { _ in }
    let second = try Gateway(config: high) { _ in }
    var overlapping = low
    overlapping.channels.owned = [3, 1]
    XCTAssertThrowsError(try Gateway(config: overlapping) { _ in }) { error in
      XCTAssertTrue(String(describing: error).contains("channel 1 ("), "\(error)")
      XCTAssertTrue(String(describing: error).contains("pid \(getpid())"), "\(error)")
    }
    XCTAssertThrowsError(try Gateway(config: testConfig(port: 0, channels: 4)) { _ in }, "all channels: 0 is taken")
    XCTAssertEqual(first.cores[0].encoder.plan.written, [0, 1])
    XCTAssertEqual(second.cores[0].encoder.plan.written, [2, 3])
  }

  /// A gateway that has stopped gives its channels up at once (a restart in the same process).
  func testAStoppedGatewayReleasesItsChannels() throws {
    let config = testConfig(port: 34_460, channels: 2)
    let running = try RunningGateway(config)
    XCTAssertThrowsError(try Gateway(config: config, log: { _ in }), "claimed while it runs")
    running.stop()
    XCTAssertNoThrow(try Gateway(config: config, log: { _ in }), "the stopped one still exists, but claims nothing")
    withExtendedLifetime(running) {}
  }
}
