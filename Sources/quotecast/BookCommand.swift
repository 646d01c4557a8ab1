import Book
import Replay
import ArgumentParser
import ITCH
import QuotecastCore

struct BookCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "book", abstract: "Show one instrument's book at the end of a day file or capture.")

  @Argument(help: "A NASDAQ day file (plain or .gz) or a pcap/pcapng capture of MoldUDP64.")
  var input: String

  @Option(help: "The instrument's symbol, as in its stock directory message.")
  var symbol: String

  @Option(help: "Levels per side to show.")
  var depth = 10

  @Flag(help: "Print {\"symbol\", \"locate\", \"bids\", \"asks\"} with prices in dollars.")
  var json = false

  @Option(help: "Only read capture datagrams sent to this UDP port.")
  var port: UInt16?

  func validate() throws {
    guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
    guard !symbol.isEmpty, symbol.utf8.count <= 8 else { throw ValidationError("--symbol must be 1 to 8 characters") }
  }

  func run() throws {
    var config = CoreConfig()
    config.books.publishedDepth = min(depth, 1000)
    let pipeline = QuotecastCore(config: config)
    _ = try FeedInput.forEachDatagram(path: input, messagesPerPacket: 64, udpPort: port) { datagram, _ in
      pipeline.applyToBooks(moldPacket: datagram)
    }
    let books = pipeline.books
    guard let locate = books.locate(of: Symbol(symbol)) else {
      throw ValidationError("symbol \(symbol) has no stock directory message in \(input)")
    }
    if json {
      print(bookJSON(books, locate: locate, depth: depth))
      return
    }
    print(ladderText(books, locate: locate, depth: depth))
  }
}

/// A readable depth ladder: bids on the left, asks on the right, best first.
func ladderText(_ books: OrderBooks, locate: UInt16, depth: Int) -> String {
  let symbol = books.symbol(locate: locate)?.description ?? "?"
  func rows(_ side: BookSide) -> [(price: UInt32, shares: UInt64, orders: UInt32)] {
    books.levels(locate: locate, side: side, depth: depth).map { ($0.price, $0.shares, $0.orders) }
  }
  let state = books.tradingState(locate: locate)
  let header =
    "\(symbol) (locate \(locate))  trading state \(state == 0 ? "unknown" : String(Character(Unicode.Scalar(state))))  "
    + "levels \(books.levelCount(locate: locate, side: .bid)) bid / \(books.levelCount(locate: locate, side: .ask)) ask"
  return ladderText(header: header, bids: rows(.bid), asks: rows(.ask))
}

func ladderText(
  header: String, bids: [(price: UInt32, shares: UInt64, orders: UInt32)],
  asks: [(price: UInt32, shares: UInt64, orders: UInt32)]
) -> String {
  var lines = [
    header,
    "orders".leftPadded(7) + "shares".leftPadded(10) + "bid".leftPadded(12) + "  | " + "ask".padding(12)
      + "shares".leftPadded(10) + "orders".leftPadded(7),
  ]
  for row in 0..<max(bids.count, asks.count) {
    var line = ""
    if row < bids.count {
      line +=
        "\(bids[row].orders)".leftPadded(7) + "\(bids[row].shares)".leftPadded(10)
        + formatPrice(bids[row].price).leftPadded(12)
    } else {
      line += String(repeating: " ", count: 29)
    }
    line += "  | "
    if row < asks.count {
      line +=
        formatPrice(asks[row].price).padding(12) + "\(asks[row].shares)".leftPadded(10)
        + "\(asks[row].orders)".leftPadded(7)
    }
    lines.append(line)
  }
  if bids.isEmpty && asks.isEmpty { lines.append("(empty book)") }
  return lines.joined(separator: "\n")
}

extension String {
  /// Left-justified to `width`.
  func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
