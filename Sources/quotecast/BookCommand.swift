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
    _ = try ReadAheadInput.forEachDatagram(path: input, messagesPerPacket: 64, udpPort: port) { datagram, _ in
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
