import Book
import Glibc
import QuotecastCore

/// Monotonic nanoseconds, for throughput.
func monotonicNowNs() -> UInt64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Price(4) as dollars with trailing zeros trimmed: 1234500 → "123.45".
func formatPrice(_ price: UInt32) -> String {
  let whole = price / 10_000
  var fraction = String(price % 10_000)
  while fraction.count < 4 { fraction = "0" + fraction }
  while fraction.hasSuffix("0") { fraction.removeLast() }
  return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
}

func jsonString(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case _ where scalar.value < 0x20:
      out +=
        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
        + String(scalar.value, radix: 16)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}

/// One instrument's book as the JSON object `book --json` prints.
/// One side's levels as `[{"price":dollars,"shares":N,"orders":N},...]`, best first.
func levelsJSON(_ levels: [(price: UInt32, shares: UInt64, orders: UInt32)]) -> String {
  "["
    + levels.map { "{\"price\":\(formatPrice($0.price)),\"shares\":\($0.shares),\"orders\":\($0.orders)}" }
    .joined(separator: ",") + "]"
}

func bookJSON(_ books: OrderBooks, locate: UInt16, depth: Int) -> String {
  func side(_ side: BookSide) -> String {
    levelsJSON(books.levels(locate: locate, side: side, depth: depth).map { ($0.price, $0.shares, $0.orders) })
  }
  let symbol = books.symbol(locate: locate)?.description ?? ""
  return "{\"symbol\":\(jsonString(symbol)),\"locate\":\(locate),\"bids\":\(side(.bid)),\"asks\":\(side(.ask))}"
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { fputs(string, stderr) }
}
