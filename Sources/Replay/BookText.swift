import Book
import Glibc
import QuotecastClient
import QuotecastCore

// How books and prices read as text and JSON: `book`, `replay --books-json`, `serve --books-json`,
// `subscribe`'s levels and the demo all print through these.

/// One instrument's book as the JSON object `book --json` prints.
public func bookJSON(_ books: OrderBooks, locate: UInt16, depth: Int) -> String {
  func side(_ side: BookSide) -> String {
    levelsJSON(books.levels(locate: locate, side: side, depth: depth).map { ($0.price, $0.shares, $0.orders) })
  }
  let symbol = books.symbol(locate: locate)?.description ?? ""
  return "{\"symbol\":\(jsonString(symbol)),\"locate\":\(locate),\"bids\":\(side(.bid)),\"asks\":\(side(.ask))}"
}

public func writeBooksJSON(_ books: OrderBooks, depth: Int, path: String) throws {
  try writeBooksJSON(books.activeLocates.map { (books, $0) }, depth: depth, path: path)
}

/// Every shard's books, in locate order (each locate lives in exactly one shard).
public func writeBooksJSON(_ cores: [QuotecastCore], depth: Int, path: String) throws {
  let held = cores.flatMap { core in core.books.activeLocates.map { (core.books, $0) } }.sorted { $0.1 < $1.1 }
  try writeBooksJSON(held, depth: depth, path: path)
}

public func writeBooksJSON(_ held: [(OrderBooks, UInt16)], depth: Int, path: String) throws {
  let body = held.map { bookJSON($0.0, locate: $0.1, depth: depth) }.joined(separator: ",\n  ")
  let text = "{\"depth\":\(depth),\"books\":[\n  \(body)\n]}\n"
  guard let file = fopen(path, "w") else {
    throw ReplayError("cannot write \(path): \(String(cString: strerror(errno)))")
  }
  defer { fclose(file) }
  guard fputs(text, file) >= 0 else { throw ReplayError("cannot write \(path)") }
}

public func ladderText(_ books: OrderBooks, locate: UInt16, depth: Int) -> String {
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
