import Glibc

/// One symbol of a synthetic day: its directory fields and how busy it is.
struct SymbolProfile {
  var name: String
  var stock: UInt64
  /// 0 is the busiest symbol of the day.
  var activityRank: Int
  /// Opening price in cents (one tick = $0.01).
  var openTicks: Int32
  var marketCategory: UInt8
  var financialStatus: UInt8
  var issueClassification: UInt8
  var issueSubType: UInt16
  var shortSaleThreshold: UInt8
  var ipoFlag: UInt8
  var luldTier: UInt8
  var etp: Bool
}

enum SymbolUniverse {
  /// Well-known names that take the top activity ranks, with a plausible price in dollars.
  static let wellKnown: [(String, Double, Bool)] = [
    ("AAPL", 189.5, false), ("MSFT", 414.2, false), ("NVDA", 121.3, false), ("AMZN", 184.7, false),
    ("TSLA", 246.1, false), ("QQQ", 443.8, true), ("META", 493.6, false), ("GOOGL", 171.9, false),
    ("AMD", 157.4, false), ("INTC", 30.85, false), ("NFLX", 641.0, false), ("CSCO", 47.9, false),
  ]

  /// `count` unique symbols sorted by wire bytes (so locates follow the alphabet, as NASDAQ assigns them).
  /// The last `specials` activity ranks are NASDAQ-listed new listings (IPO flag Y).
  static func make(count: Int, specials: Int, rng: inout Xoshiro256StarStar) -> [SymbolProfile] {
    var profiles: [SymbolProfile] = []
    profiles.reserveCapacity(count)
    var taken = Set<UInt64>()
    let knownCount = min(wellKnown.count, max(1, count / 8), count)
    for i in 0..<knownCount {
      let (name, dollars, etp) = wellKnown[i]
      let stock = ITCHWriter.stock(name)
      taken.insert(stock)
      profiles.append(
        SymbolProfile(
          name: name, stock: stock, activityRank: i, openTicks: Int32((dollars * 100).rounded()),
          marketCategory: UInt8(ascii: etp ? "G" : "Q"), financialStatus: UInt8(ascii: "N"),
          issueClassification: UInt8(ascii: etp ? "Q" : "C"), issueSubType: ITCHWriter.alpha2(etp ? "I" : "Z"),
          shortSaleThreshold: UInt8(ascii: "N"), ipoFlag: UInt8(ascii: "N"), luldTier: UInt8(ascii: "1"), etp: etp))
    }
    let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    var rank = knownCount
    while profiles.count < count {
      // NASDAQ-style lengths: mostly 4 letters, some 3, a few 1-2 and 5 (5th letter = instrument suffix).
      let roll = rng.below(100)
      let length = roll < 1 ? 1 : roll < 5 ? 2 : roll < 30 ? 3 : roll < 90 ? 4 : 5
      var bytes: [UInt8] = []
      for _ in 0..<length { bytes.append(letters[rng.below(26)]) }
      var suffix: UInt8 = 0
      if length == 5 {
        suffix = [UInt8(ascii: "W"), UInt8(ascii: "U"), UInt8(ascii: "R"), UInt8(ascii: "F")][rng.below(4)]
        bytes[4] = suffix
      }
      let name = String(decoding: bytes, as: UTF8.self)
      let stock = ITCHWriter.stock(name)
      if taken.contains(stock) { continue }
      taken.insert(stock)
      let special = rank >= count - specials
      let etp = !special && length == 3 && rng.below(4) == 0
      // Log-uniform opening price between $2 and $400.
      let dollars = special ? 10.0 + Double(rng.below(30)) : exp(log(2.0) + rng.unit() * (log(400.0) - log(2.0)))
      var category: UInt8
      if special {
        category = UInt8(ascii: rng.below(2) == 0 ? "S" : "G")
      } else if etp {
        category = UInt8(ascii: rng.below(3) == 0 ? "G" : "P")
      } else {
        let c = rng.below(100)
        category = UInt8(ascii: c < 30 ? "Q" : c < 45 ? "G" : c < 62 ? "S" : c < 88 ? "N" : c < 95 ? "A" : "Z")
      }
      let nasdaqListed = category == UInt8(ascii: "Q") || category == UInt8(ascii: "G") || category == UInt8(ascii: "S")
      var classification = UInt8(ascii: "C")
      var subType = ITCHWriter.alpha2("Z")
      switch suffix {
      case UInt8(ascii: "W"): classification = UInt8(ascii: "W")
      case UInt8(ascii: "U"): classification = UInt8(ascii: "U")
      case UInt8(ascii: "R"): classification = UInt8(ascii: "R")
      case UInt8(ascii: "F"): classification = UInt8(ascii: "A")
      default: break
      }
      if etp {
        classification = UInt8(ascii: "Q")
        subType = ITCHWriter.alpha2("I")
      }
      profiles.append(
        SymbolProfile(
          name: name, stock: stock, activityRank: rank, openTicks: max(100, Int32((dollars * 100).rounded())),
          marketCategory: category, financialStatus: UInt8(ascii: nasdaqListed ? "N" : " "),
          issueClassification: classification, issueSubType: subType,
          shortSaleThreshold: UInt8(ascii: nasdaqListed ? (rng.below(40) == 0 ? "Y" : "N") : " "),
          ipoFlag: UInt8(ascii: special ? "Y" : nasdaqListed ? "N" : " "),
          luldTier: UInt8(ascii: etp || rank < max(1, count / 5) ? "1" : "2"), etp: etp))
      rank += 1
    }
    profiles.sort { $0.stock < $1.stock }
    return profiles
  }
}
