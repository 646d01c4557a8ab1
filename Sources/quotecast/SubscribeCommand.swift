import ArgumentParser
import Glibc
import QuotecastClient
import Transport

enum SubscribeFormat: String, ExpressibleByArgument, CaseIterable {
  case table
  case lines
  case json
}

struct SubscribeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "subscribe",
    abstract: "Join a gateway's channels and show the feed: a live depth ladder, or one update per line.",
    discussion: """
      Joins every channel group and the snapshot group on the interface (loopback by default), receives with \
      io_uring, and keeps a mirrored book per instrument that recovers from gaps and late joins through the \
      snapshot channel. The defaults match `quotecast serve`'s.

      Without --channels, the layout is learned from the snapshot group: every gateway publishes its channels \
      there, and with --symbols only those symbols' channels are joined. A change of layout is followed.
      """)

  @Option(help: "Only these symbols (comma-separated); all by default.")
  var symbols: String?

  @Option(help: "Levels per side to show in the table.")
  var depth = 5

  @Option(help: "table (default on a terminal), lines or json (one update per line, for piping).")
  var format: SubscribeFormat?

  @Option(help: "Pin the receiving thread to this CPU.")
  var cpu: Int?

  @Option(help: "The gateway's channel count (channels.count); without it, learned from the snapshot group.")
  var channels: Int?

  @Option(help: "Without --channels: how long to listen for the layout, in seconds.")
  var discoverTimeout = 3.0

  @Option(help: "The gateway's channels.group_base (channel n is group_base + n).")
  var groupBase = ChannelGroups.defaultBase.description

  @Option(help: "The gateway's snapshot.group.")
  var snapshotGroup = ChannelGroups.defaultSnapshot.description

  @Option(help: "The interface to join on.")
  var interface = "127.0.0.1"

  @Option(help: "Stop after this many seconds.")
  var duration: Double?

  @Option(help: "Stop after printing this many updates (lines and json).")
  var count: Int?

  func validate() throws {
    guard IPv4Endpoint(groupBase)?.isMulticast == true else {
      throw ValidationError("--group-base must be a multicast address:port, got \(groupBase)")
    }
    guard IPv4Endpoint(snapshotGroup)?.isMulticast == true else {
      throw ValidationError("--snapshot-group must be a multicast address:port, got \(snapshotGroup)")
    }
    guard IPv4Endpoint.parseAddress(interface) != nil else {
      throw ValidationError("--interface must be an IPv4 address")
    }
    if let channels, !(channels >= 1 && channels <= 1024) { throw ValidationError("--channels must be 1...1024") }
    guard discoverTimeout > 0 && discoverTimeout <= 600 else {
      throw ValidationError("--discover-timeout must be 0...600 seconds")
    }
    guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
    if let cpu, !CPUPinning.isAllowed(cpu) { throw ValidationError("--cpu \(cpu) does not exist or is not allowed") }
  }

  @Option(help: "Levels per side the gateway publishes (its channels.depth); the mirror keeps this many.")
  var bookDepth = 10

  @Option(help: "At the end, write every mirrored book and the subscriber's counters as JSON to this file.")
  var booksJSON: String?

  func run() throws {
    var config = SubscriberConfig()
    config.channels = channels ?? 1
    config.groupBase = IPv4Endpoint(groupBase)!
    config.snapshotGroup = IPv4Endpoint(snapshotGroup)!
    config.interface = IPv4Endpoint.parseAddress(interface)!
    config.depth = max(bookDepth, depth)
    config.symbols = symbols.map { $0.split(separator: ",").map { $0.uppercased() } }
    config.cpu = cpu
    let problems = config.problems()
    guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "; ")) }
    let deadlineNs = duration.map { Clock.monotonicNs() + UInt64($0 * 1e9) }
    while true {
      var joined = config
      if channels == nil {
        let found = try FeedSubscriber.discover(
          snapshotGroup: config.snapshotGroup!, interface: config.interface, symbols: config.symbols,
          timeoutNs: UInt64(discoverTimeout * 1e9))
        joined = found.config(base: config)
        var standardError = StandardError()
        print(
          "quotecast subscribe: \(found.description); joining channel(s) \(found.ranges(joined.joinedChannels))",
          to: &standardError)
      }
      do {
        let remainingNs = deadlineNs.map { $0 > Clock.monotonicNs() ? $0 - Clock.monotonicNs() : 0 }
        try follow(joined, durationNs: remainingNs)
        return
      } catch let change as FeedSubscriber.LayoutChanged {
        var standardError = StandardError()
        print("quotecast subscribe: \(change); joining again", to: &standardError)
      }
    }
  }

  /// Follows the feed with one subscriber until the duration, the count, or a change of layout.
  func follow(_ config: SubscriberConfig, durationNs: UInt64?) throws {
    let subscriber = try FeedSubscriber(config: config)
    let wanted = config.symbols.map(Set.init)
    let format = self.format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .lines)
    let startNs = Clock.monotonicNs()
    var printed = 0
    var nextDrawNs = startNs
    var lastPackets: UInt64 = 0
    var lastUpdates: UInt64 = 0
    var lastDrawNs = startNs
    defer { fflush(stdout) }
    try subscriber.run(
      durationNs: durationNs,
      onUpdate: { event in
        guard format != .table, let (locate, text) = describe(event.update, event.packet, format) else { return }
        if let count, printed >= count { return subscriber.stop() }
        print(text(FeedMirror.unpackSymbol(event.mirror.packedSymbol(locate: locate))))
        printed += 1
      },
      onPoll: { mirror in
        if let count, printed >= count { return subscriber.stop() }
        let nowNs = Clock.monotonicNs()
        guard format == .table && nowNs >= nextDrawNs else { return }
        nextDrawNs = nowNs + 250_000_000
        let seconds = Double(nowNs - lastDrawNs) / 1e9
        draw(
          mirror, wanted: wanted, packetsPerSecond: Double(mirror.packets - lastPackets) / max(seconds, 1e-9),
          updatesPerSecond: Double(mirror.updates - lastUpdates) / max(seconds, 1e-9))
        lastPackets = mirror.packets
        lastUpdates = mirror.updates
        lastDrawNs = nowNs
      })
    fflush(stdout)
    if let booksJSON { try write(subscriber.withMirror(mirrorJSON), to: booksJSON) }
  }

  /// The books as `replay --books-json` writes them (locate order), with what the mirror went through.
  func mirrorJSON(_ mirror: FeedMirror) -> String {
    func side(_ levels: [FeedBookLevel]) -> String { levelsJSON(levels.map { ($0.price, $0.shares, $0.orders) }) }
    let books = mirror.books.sorted { $0.key < $1.key }.map { locate, book in
      "{\"symbol\":\(jsonString(book.symbol)),\"locate\":\(locate),\"synced\":\(book.synced),"
        + "\"bids\":\(side(book.bids)),\"asks\":\(side(book.asks))}"
    }
    return
      "{\"packets\":\(mirror.packets),\"gaps\":\(mirror.gaps),\"recoveries\":\(mirror.recoveries),"
      + "\"duplicates\":\(mirror.duplicates),\"stale_instruments\":\(mirror.staleCount),"
      + "\"publisher_restarts\":\(mirror.publisherRestarts),\"feed_stale\":\(mirror.feedStale),"
      + "\"malformed\":\(mirror.malformed),\"books\":[\n  \(books.joined(separator: ",\n  "))\n]}\n"
  }

  func write(_ text: String, to path: String) throws {
    guard let file = fopen(path, "w") else {
      throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    guard fputs(text, file) >= 0 else { throw ValidationError("cannot write \(path)") }
  }

  /// One update as a line: its locate, and the text given the symbol.
  func describe(_ update: UpdateView, _ packet: PacketView, _ format: SubscribeFormat) -> (UInt16, (String) -> String)?
  {
    let head = (packet.channel, packet.sequence, update.upstreamSequence, update.timestampNs)
    func json(_ symbol: String, _ locate: UInt16, _ type: String, _ fields: String) -> String {
      "{\"channel\":\(head.0),\"sequence\":\(head.1),\"upstream_sequence\":\(head.2),\"timestamp_ns\":\(head.3),"
        + "\"symbol\":\(jsonString(symbol)),\"locate\":\(locate),\"type\":\"\(type)\",\(fields)}"
    }
    func line(_ symbol: String, _ rest: String) -> String {
      "\(head.0)#\(head.1) \(symbol.isEmpty ? "?" : symbol) \(rest)"
    }
    let sides = ["bid", "ask", "none"]
    if let level = update.level {
      let side = sides[min(Int(level.side), 2)]
      let action = ["new", "change", "delete"][min(Int(level.action), 2)]
      return (
        level.locate,
        { symbol in
          format == .json
            ? json(
              symbol, level.locate, "level",
              "\"side\":\"\(side)\",\"action\":\"\(action)\",\"level\":\(level.levelIndex),"
                + "\"price\":\(formatPrice(level.price)),\"shares\":\(level.shares),\"orders\":\(level.orders)")
            : line(
              symbol,
              "level \(side) \(action) #\(level.levelIndex) \(formatPrice(level.price)) \(level.shares) (\(level.orders))"
            )
        }
      )
    }
    if let trade = update.trade {
      return (
        trade.locate,
        { symbol in
          format == .json
            ? json(
              symbol, trade.locate, "trade",
              "\"price\":\(formatPrice(trade.price)),\"shares\":\(trade.shares),\"match\":\(trade.matchNumber)")
            : line(symbol, "trade \(trade.shares) @ \(formatPrice(trade.price)) match \(trade.matchNumber)")
        }
      )
    }
    if let state = update.tradingState {
      let code = String(Character(Unicode.Scalar(state.state)))
      return (
        state.locate,
        { symbol in
          format == .json
            ? json(symbol, state.locate, "trading_state", "\"state\":\"\(code)\"")
            : line(symbol, "trading state \(code)")
        }
      )
    }
    if let status = update.feedStatus {
      let text =
        format == .json
        ? "{\"channel\":\(head.0),\"sequence\":\(head.1),\"upstream_sequence\":\(head.2),\"timestamp_ns\":\(head.3),"
          + "\"type\":\"feed_status\",\"stale\":\(status.stale),\"lost_from_sequence\":\(status.lostFromSequence),"
          + "\"lost_messages\":\(status.lostMessages)}"
        : "\(head.0)#\(head.1) FEED \(status.stale ? "STALE" : "OK"): \(status.lostMessages) upstream message(s) lost"
      return (0, { _ in text })
    }
    if let definition = update.definition {
      return (
        definition.locate,
        { symbol in
          format == .json
            ? json(symbol, definition.locate, "definition", "\"instrument_channel\":\(definition.channel)")
            : line(symbol, "definition channel \(definition.channel) round lot \(definition.roundLotSize)")
        }
      )
    }
    return nil
  }

  func draw(_ mirror: FeedMirror, wanted: Set<String>?, packetsPerSecond: Double, updatesPerSecond: Double) {
    var lines = ["\u{1B}[H\u{1B}[2J"]
    lines.append(
      "quotecast subscribe — \(Int(packetsPerSecond)) packets/s, \(Int(updatesPerSecond)) updates/s, "
        + "gaps \(mirror.gaps), recoveries \(mirror.recoveries), stale \(mirror.staleCount), "
        + "duplicates \(mirror.duplicates)"
        + (mirror.feedStale
          ? "\n*** FEED STALE: the gateway lost \(mirror.upstreamLostMessages) upstream message(s); every book may be wrong ***"
          : ""))
    let shown = mirror.books.filter { wanted?.contains($0.value.symbol) ?? true }
      .sorted { ($0.value.bids.count + $0.value.asks.count) > ($1.value.bids.count + $1.value.asks.count) }
      .prefix(wanted == nil ? 4 : 50)
    for (locate, book) in shown {
      let state = book.tradingState == 0 ? "?" : String(Character(Unicode.Scalar(book.tradingState)))
      var header = "\(book.symbol.isEmpty ? "?" : book.symbol) (locate \(locate))  trading \(state)"
      if let trade = book.lastTrade { header += "  last \(trade.shares) @ \(formatPrice(trade.price))" }
      if !book.synced { header += "  STALE (waiting for a snapshot)" }
      lines.append("")
      lines.append(
        ladderText(
          header: header, bids: book.bids.prefix(depth).map { ($0.price, $0.shares, $0.orders) },
          asks: book.asks.prefix(depth).map { ($0.price, $0.shares, $0.orders) }))
    }
    print(lines.joined(separator: "\n"))
    fflush(stdout)
  }
}
