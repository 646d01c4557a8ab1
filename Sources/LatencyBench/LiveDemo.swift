import Book
import Foundation
import Gateway
import Glibc
import QuotecastClient
import QuotecastCore
import Replay
import Transport

/// `quotecast demo`: a synthetic day through a live gateway over loopback to a subscriber joined to every channel,
/// its books compared with the gateway's (or, offline, the core on the file into a pcap).
public struct LiveDemo {

  /// Messages in the generated day.
  public var messages = 500_000

  /// Instruments in the generated day.
  public var symbols = 50

  /// Seed for the generated day.
  public var seed: UInt64 = 7

  /// Folder for the generated day (and, offline, the output pcap).
  public var dir = "out/demo"

  /// Books to show (the deepest).
  public var show = 3

  /// Live: replay rate in messages per second.
  public var rate: Double = 500_000

  /// Run the core on the file instead of a live gateway.
  public var offline = false
  /// The core's settings (offline) and the gateway's (live): the CLI's core options build both.
  public var config = CoreConfig()
  public var gatewayConfig = GatewayConfig()
  /// MoldUDP64 framing of the day.
  public var messagesPerPacket = 20

  public func run() throws {
    mkdirs(dir)
    let dayPath = dir + "/demo-day.itch"
    print("1. generating a synthetic ITCH 5.0 day")
    try SyntheticDayFile.write(
      messages: messages, symbols: symbols, seed: seed, out: dayPath, format: .raw,
      messagesPerPacket: messagesPerPacket)
    print("   \(ReplayReport.grouped(UInt64(messages))) messages, \(symbols) symbols → \(dayPath)")
    if offline {
      try runOffline(dayPath: dayPath)
    } else {
      try runLive(dayPath: dayPath)
    }
  }

  func runLive(dayPath: String) throws {
    var settings = gatewayConfig
    settings.operations.statsIntervalMs = 0
    settings.channels.heartbeatIntervalMs = 200
    let gateway = try Gateway(config: settings) { _ in }
    print(
      "2. gateway serving \(settings.feed.inputs[0]) → \(settings.channels.count) channel(s) from \(settings.channels.groupBase)"
    )
    let gatewayError = SharedError()
    let gatewayThread = WorkerThread {
      do { try gateway.run() } catch { gatewayError.record(error) }
    }

    // The subscriber (the QuotecastClient library): its own thread and io_uring ring, joined to
    // every channel group and the snapshot group on loopback.
    var subscriberConfig = SubscriberConfig()
    subscriberConfig.channels = settings.channels.count
    subscriberConfig.groupBase = settings.channels.groupBase
    subscriberConfig.snapshotGroup = settings.snapshot.group
    subscriberConfig.depth = settings.channels.depth
    let subscriber = try FeedSubscriber(config: subscriberConfig)
    let subscriberError = SharedError()
    let subscriberThread = WorkerThread {
      do { try subscriber.run(onUpdate: { _ in }) } catch { subscriberError.record(error) }
    }
    usleep(300_000)
    if let error = gatewayError.first { throw error }
    print("3. replaying the day into it over UDP at \(ReplayReport.grouped(UInt64(rate))) msg/s")
    var replay = NetworkReplay(
      destination: settings.feed.inputs[0], speed: nil, rate: rate, loopInput: false, durationNs: nil)
    let sent = try replay.run(input: dayPath, messagesPerPacket: messagesPerPacket)
    // Let the last updates land (heartbeats keep coming, so watch the update count), then stop.
    var lastUpdates = UInt64.max
    while subscriber.stats.updates != lastUpdates {
      lastUpdates = subscriber.stats.updates
      usleep(300_000)
    }
    gateway.requestStop()
    gatewayThread.join()
    subscriber.stop()
    subscriberThread.join()
    if let error = subscriberError.first { throw error }
    print("4. what the subscriber rebuilt from the multicast, beside the gateway's own books")
    let books = gateway.core.books
    func depth(_ locate: UInt16) -> Int {
      books.levelCount(locate: locate, side: .bid) + books.levelCount(locate: locate, side: .ask)
    }
    var matching = 0
    for locate in books.activeLocates {
      let mirrored = subscriber.book(locate: locate) ?? MirroredBook()
      let wire = { (levels: [PriceLevel]) in
        levels.map { FeedBookLevel(price: $0.price, orders: $0.orders, shares: $0.shares) }
      }
      if mirrored.bids == wire(books.levels(locate: locate, side: .bid, depth: settings.channels.depth))
        && mirrored.asks == wire(books.levels(locate: locate, side: .ask, depth: settings.channels.depth))
      {
        matching += 1
      }
    }
    for locate in books.activeLocates.sorted(by: { depth($0) > depth($1) }).prefix(show) {
      let mirrored = subscriber.book(locate: locate) ?? MirroredBook()
      let state = mirrored.tradingState == 0 ? "unknown" : String(Character(Unicode.Scalar(mirrored.tradingState)))
      var header = "\(mirrored.symbol) (locate \(locate))  trading state \(state)"
      if let trade = mirrored.lastTrade { header += "  last trade \(trade.shares) @ \(formatPrice(trade.price))" }
      print("")
      print(
        ladderText(
          header: header, bids: mirrored.bids.prefix(5).map { ($0.price, $0.shares, $0.orders) },
          asks: mirrored.asks.prefix(5).map { ($0.price, $0.shares, $0.orders) }))
    }
    let stats = gateway.stats
    print("")
    print("5. summary")
    print(
      "replay     \(ReplayReport.grouped(sent.datagrams)) MoldUDP64 packets, \(ReplayReport.grouped(sent.messages)) "
        + "messages in \(String(format3: Double(sent.elapsedNs) / 1e9)) s")
    print("gateway    \(stats.line)")
    let seen = subscriber.stats
    print(
      "subscriber \(ReplayReport.grouped(seen.packets)) packets (\(seen.heartbeats) heartbeats), "
        + "\(ReplayReport.grouped(seen.updates)) updates, \(seen.gaps) gaps, \(seen.recoveries) recoveries, "
        + "\(seen.staleInstruments) stale, \(seen.malformed) malformed")
    print(
      "books      the subscriber's books equal the gateway's to depth \(settings.channels.depth) for \(matching) of "
        + "\(books.activeLocates.count) instruments")
    if matching != books.activeLocates.count || seen.gaps > 0 {
      throw BenchError("the subscriber's books differ from the gateway's, or it saw gaps")
    }
  }

  func runOffline(dayPath: String) throws {
    let outputPath = dir + "/demo-output.pcap"
    print("2. replaying it through session → decode → books → FlatBuffers encode")
    var replay = OfflineReplay(config: config)
    replay.messagesPerPacket = messagesPerPacket
    replay.snapshots = true
    let result = try replay.run(input: dayPath, output: outputPath)
    let pipeline = result.core
    print("3. the deepest books at the end of the day")
    let books = pipeline.books
    func depth(_ locate: UInt16) -> Int {
      books.levelCount(locate: locate, side: .bid) + books.levelCount(locate: locate, side: .ask)
    }
    for locate in books.activeLocates.sorted(by: { depth($0) > depth($1) }).prefix(show) {
      print("")
      print(ladderText(books, locate: locate, depth: 5))
    }
    print("")
    print("4. summary (output packets written to \(outputPath))")
    print(
      ReplayReport(input: dayPath, summary: result.summary, pipeline: pipeline, elapsedNs: result.elapsedNs).text)
  }

  public init() {}
}

/// mkdir -p.
func mkdirs(_ path: String) {
  var partial = path.hasPrefix("/") ? "/" : ""
  for component in path.split(separator: "/") {
    partial += (partial.isEmpty || partial.hasSuffix("/") ? "" : "/") + component
    mkdir(partial, 0o755)
  }
}
