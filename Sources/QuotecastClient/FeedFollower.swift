import Glibc
import Transport

/// `quotecast subscribe`: joins a gateway's channels (learning the layout from the snapshot group unless told the
/// channel count), keeps recovering mirrored books, and shows the feed as a live ladder or one update per line;
/// follows a change of layout by discovering again.
/// How `subscribe` shows the feed.
public enum SubscribeFormat: String, CaseIterable, Sendable {
  /// A live depth ladder, redrawn four times a second.
  case table
  /// One update per line.
  case lines
  /// One update per line, as JSON.
  case json
}

/// A subscriber option the library refused, or a file it could not write.
public struct SubscribeError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

public struct FeedFollower {

  /// Only these symbols (comma-separated); all by default.
  public var symbols: String?

  /// Levels per side to show in the table.
  public var depth = 5

  /// table (default on a terminal), lines or json (one update per line, for piping).
  public var format: SubscribeFormat?

  /// Pin the receiving thread to this CPU.
  public var cpu: Int?

  /// The gateway's channel count (channels.count); without it, learned from the snapshot group.
  public var channels: Int?

  /// Without --channels: how long to listen for the layout, in seconds.
  public var discoverTimeout = 3.0

  /// The gateway's channels.group_base (channel n is group_base + n).
  public var groupBase = ChannelGroups.defaultBase

  /// The gateway's snapshot.group.
  public var snapshotGroup = ChannelGroups.defaultSnapshot

  /// The interface to join on.
  public var interface = IPv4Endpoint.loopback

  /// Stop after this many seconds.
  public var duration: Double?

  /// Stop after printing this many updates (lines and json).
  public var count: Int?

  /// Levels per side the gateway publishes (its channels.depth); the mirror keeps this many.
  public var bookDepth = 10

  /// At the end, write every mirrored book and the subscriber's counters as JSON to this file.
  public var booksJSON: String?

  public func run() throws {
    var config = SubscriberConfig()
    config.channels = channels ?? 1
    config.groupBase = groupBase
    config.snapshotGroup = snapshotGroup
    config.interface = interface
    config.depth = max(bookDepth, depth)
    config.symbols = symbols.map { $0.split(separator: ",").map { $0.uppercased() } }
    config.cpu = cpu
    let problems = config.problems()
    guard problems.isEmpty else { throw SubscribeError(problems.joined(separator: "; ")) }
    let deadlineNs = duration.map { Clock.monotonicNs() + UInt64($0 * 1e9) }
    while true {
      var joined = config
      if channels == nil {
        let found = try FeedSubscriber.discover(
          snapshotGroup: config.snapshotGroup!, interface: config.interface, symbols: config.symbols,
          timeoutNs: UInt64(discoverTimeout * 1e9))
        joined = found.config(base: config)
        status("quotecast subscribe: \(found.description); joining channel(s) \(found.ranges(joined.joinedChannels))")
      }
      do {
        let remainingNs = deadlineNs.map { $0 > Clock.monotonicNs() ? $0 - Clock.monotonicNs() : 0 }
        try follow(joined, durationNs: remainingNs)
        return
      } catch let change as FeedSubscriber.LayoutChanged {
        status("quotecast subscribe: \(change); joining again")
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
      throw SubscribeError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    guard fputs(text, file) >= 0 else { throw SubscribeError("cannot write \(path)") }
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

  /// Where status lines go (the CLI: standard error).
  public var status: (String) -> Void = { fputs($0 + "\n", stderr) }

  public init() {}
}
