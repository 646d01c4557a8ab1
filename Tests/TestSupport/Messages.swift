import Synth
/// Builds ITCH messages field by field (big-endian), independently of the decoder under test.
public struct MessageBuilder {
  public var bytes: [UInt8] = []

  public init(_ type: Character, locate: UInt16, timestampNs: UInt64 = 34_200_000_000_000) {
    bytes.append(type.asciiValue!)
    put(locate, 2)
    put(0, 2)
    put(timestampNs, 6)
  }

  public mutating func put<T: BinaryInteger>(_ value: T, _ width: Int) {
    let value = UInt64(truncatingIfNeeded: value)
    for index in (0..<width).reversed() { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(index * 8))) }
  }

  public mutating func put(symbol: String) {
    var ascii = Array(symbol.utf8.prefix(8))
    while ascii.count < 8 { ascii.append(0x20) }
    bytes += ascii
  }
}

public enum Message {
  public static func add(_ locate: UInt16, _ reference: UInt64, _ side: Character, _ shares: UInt32, _ price: UInt32)
    -> [UInt8]
  {
    var m = MessageBuilder("A", locate: locate)
    m.put(reference, 8)
    m.bytes.append(side.asciiValue!)
    m.put(shares, 4)
    m.put(symbol: "TEST")
    m.put(price, 4)
    return m.bytes
  }

  public static func execute(_ locate: UInt16, _ reference: UInt64, _ shares: UInt32, match: UInt64 = 1) -> [UInt8] {
    var m = MessageBuilder("E", locate: locate)
    m.put(reference, 8)
    m.put(shares, 4)
    m.put(match, 8)
    return m.bytes
  }

  public static func executeWithPrice(
    _ locate: UInt16, _ reference: UInt64, _ shares: UInt32, price: UInt32, printable: Bool, match: UInt64 = 1
  ) -> [UInt8] {
    var m = MessageBuilder("C", locate: locate)
    m.put(reference, 8)
    m.put(shares, 4)
    m.put(match, 8)
    m.bytes.append(printable ? UInt8(ascii: "Y") : UInt8(ascii: "N"))
    m.put(price, 4)
    return m.bytes
  }

  public static func cancel(_ locate: UInt16, _ reference: UInt64, _ shares: UInt32) -> [UInt8] {
    var m = MessageBuilder("X", locate: locate)
    m.put(reference, 8)
    m.put(shares, 4)
    return m.bytes
  }

  public static func delete(_ locate: UInt16, _ reference: UInt64) -> [UInt8] {
    var m = MessageBuilder("D", locate: locate)
    m.put(reference, 8)
    return m.bytes
  }

  public static func replace(_ locate: UInt16, _ original: UInt64, _ new: UInt64, _ shares: UInt32, _ price: UInt32)
    -> [UInt8]
  {
    var m = MessageBuilder("U", locate: locate)
    m.put(original, 8)
    m.put(new, 8)
    m.put(shares, 4)
    m.put(price, 4)
    return m.bytes
  }

  public static func directory(_ locate: UInt16, _ symbol: String) -> [UInt8] {
    var m = MessageBuilder("R", locate: locate)
    m.put(symbol: symbol)
    m.bytes += [UInt8(ascii: "Q"), UInt8(ascii: "N")]
    m.put(100, 4)
    m.bytes += Array("NCZ PN 1N".utf8)
    m.put(0, 4)
    m.bytes.append(UInt8(ascii: "N"))
    return m.bytes
  }

  public static func nonCrossTrade(
    _ locate: UInt16, side: Character, shares: UInt32, price: UInt32, match: UInt64
  ) -> [UInt8] {
    var m = MessageBuilder("P", locate: locate)
    m.put(0, 8)
    m.bytes.append(side.asciiValue!)
    m.put(shares, 4)
    m.put(symbol: "TEST")
    m.put(price, 4)
    m.put(match, 8)
    return m.bytes
  }

  public static func crossTrade(_ locate: UInt16, shares: UInt64, price: UInt32, match: UInt64, type: Character)
    -> [UInt8]
  {
    var m = MessageBuilder("Q", locate: locate)
    m.put(shares, 8)
    m.put(symbol: "TEST")
    m.put(price, 4)
    m.put(match, 8)
    m.bytes.append(type.asciiValue!)
    return m.bytes
  }

  public static func brokenTrade(match: UInt64) -> [UInt8] {
    var m = MessageBuilder("B", locate: 0)
    m.put(match, 8)
    return m.bytes
  }

  public static func systemEvent(_ code: Character) -> [UInt8] {
    var m = MessageBuilder("S", locate: 0)
    m.bytes.append(code.asciiValue!)
    return m.bytes
  }

  public static func marketWideBreaker(_ level: Character) -> [UInt8] {
    var m = MessageBuilder("W", locate: 0)
    m.bytes.append(level.asciiValue!)
    return m.bytes
  }

  public static func operationalHalt(_ locate: UInt16, market: Character, action: Character) -> [UInt8] {
    var m = MessageBuilder("h", locate: locate)
    m.put(symbol: "TEST")
    m.bytes += [market.asciiValue!, action.asciiValue!]
    return m.bytes
  }

  public static func regSHO(_ locate: UInt16, _ action: Character) -> [UInt8] {
    var m = MessageBuilder("Y", locate: locate)
    m.put(symbol: "TEST")
    m.bytes.append(action.asciiValue!)
    return m.bytes
  }

  public static func luldCollar(_ locate: UInt16, reference: UInt32, upper: UInt32, lower: UInt32, extensions: UInt32)
    -> [UInt8]
  {
    var m = MessageBuilder("J", locate: locate)
    m.put(symbol: "TEST")
    m.put(reference, 4)
    m.put(upper, 4)
    m.put(lower, 4)
    m.put(extensions, 4)
    return m.bytes
  }

  public static func imbalance(
    _ locate: UInt16, paired: UInt64, imbalance: UInt64, direction: Character, far: UInt32, near: UInt32,
    reference: UInt32, crossType: Character, variation: Character
  ) -> [UInt8] {
    var m = MessageBuilder("I", locate: locate)
    m.put(paired, 8)
    m.put(imbalance, 8)
    m.bytes.append(direction.asciiValue!)
    m.put(symbol: "TEST")
    m.put(far, 4)
    m.put(near, 4)
    m.put(reference, 4)
    m.bytes += [crossType.asciiValue!, variation.asciiValue!]
    return m.bytes
  }

  public static func tradingAction(_ locate: UInt16, _ state: Character) -> [UInt8] {
    var m = MessageBuilder("H", locate: locate)
    m.put(symbol: "TEST")
    m.bytes.append(state.asciiValue!)
    m.bytes.append(0x20)
    m.put(0x2020_2020, 4)
    return m.bytes
  }
}

/// The seeded feeds' generator: Synth's SplitMix64.
public typealias SeededGenerator = SplitMix64
