import Glibc

/// splitmix64: expands one 64-bit seed into well-mixed words (used to seed xoshiro); tests use it as their
/// seeded generator too.
public struct SplitMix64: RandomNumberGenerator {
  public var state: UInt64

  public init(state: UInt64) { self.state = state }
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// xoshiro256**: the generator's only source of randomness, so a seed fixes a day byte for byte.
struct Xoshiro256StarStar {
  var s0: UInt64
  var s1: UInt64
  var s2: UInt64
  var s3: UInt64

  init(seed: UInt64) {
    var mixer = SplitMix64(state: seed)
    s0 = mixer.next()
    s1 = mixer.next()
    s2 = mixer.next()
    s3 = mixer.next()
    if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
  }

  @inline(__always)
  static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  @inline(__always)
  mutating func next() -> UInt64 {
    let result = Self.rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = Self.rotl(s3, 45)
    return result
  }

  /// Uniform in 0..<n (n > 0), by the multiply-high method.
  @inline(__always)
  mutating func below(_ n: Int) -> Int {
    Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(truncatingIfNeeded: n)).high)
  }

  /// Uniform in [0, 1).
  @inline(__always)
  mutating func unit() -> Double {
    Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
  }

  @inline(__always)
  mutating func chance(_ probability: Double) -> Bool { unit() < probability }

  /// Exponentially distributed with the given mean.
  @inline(__always)
  mutating func exponential(mean: Double) -> Double { -log(1.0 - unit()) * mean }
}

/// Walker/Vose alias table: O(1) draws from a fixed discrete distribution.
struct AliasTable {
  private(set) var probability: [Double]
  private(set) var alias: [Int32]

  init(weights: [Double]) {
    let n = weights.count
    precondition(n > 0, "alias table needs at least one weight")
    let total = weights.reduce(0, +)
    var scaled = weights.map { $0 * Double(n) / total }
    var probability = [Double](repeating: 1, count: n)
    var alias = (0..<n).map { Int32($0) }
    var small: [Int] = []
    var large: [Int] = []
    for i in 0..<n {
      if scaled[i] < 1 { small.append(i) } else { large.append(i) }
    }
    while !small.isEmpty && !large.isEmpty {
      let s = small.removeLast()
      let l = large.removeLast()
      probability[s] = scaled[s]
      alias[s] = Int32(l)
      scaled[l] = (scaled[l] + scaled[s]) - 1
      if scaled[l] < 1 { small.append(l) } else { large.append(l) }
    }
    for i in small { probability[i] = 1 }
    for i in large { probability[i] = 1 }
    self.probability = probability
    self.alias = alias
  }

  @inline(__always)
  func sample(_ rng: inout Xoshiro256StarStar) -> Int {
    let i = rng.below(probability.count)
    return rng.unit() < probability[i] ? i : Int(alias[i])
  }
}
