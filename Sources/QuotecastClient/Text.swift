// Prices and levels as text and JSON: `subscribe` prints these, and so do `book`, `replay` and `serve`
// (through Replay), so every tool writes one shape.

/// Price(4) as dollars with trailing zeros trimmed: 1234500 → "123.45".
public func formatPrice(_ price: UInt32) -> String {
  let whole = price / 10_000
  var fraction = String(price % 10_000)
  while fraction.count < 4 { fraction = "0" + fraction }
  while fraction.hasSuffix("0") { fraction.removeLast() }
  return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
}

/// A JSON string literal, with quotes, backslashes and control characters escaped.
public func jsonString(_ text: String) -> String {
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

/// One side's levels as `[{"price":dollars,"shares":N,"orders":N},...]`, best first.
public func levelsJSON(_ levels: [(price: UInt32, shares: UInt64, orders: UInt32)]) -> String {
  "["
    + levels.map { "{\"price\":\(formatPrice($0.price)),\"shares\":\($0.shares),\"orders\":\($0.orders)}" }
    .joined(separator: ",") + "]"
}

/// A two-sided ladder: best bid and best ask on the first row.
public func ladderText(
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
  public func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }

  /// Right-justified to `width`.
  public func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
