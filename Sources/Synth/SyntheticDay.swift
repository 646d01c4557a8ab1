import Glibc
import ITCH

/// What to generate: the exact message count, how many stock directory entries, and the seed.
public struct SyntheticDayConfig: Sendable, Hashable {
  /// Exact number of messages in the day.
  public var messages: Int
  /// Stock directory size (locates 1...symbols); clamped to 1...65535.
  public var symbols: Int
  /// Fixes the day byte for byte.
  public var seed: UInt64

  public init(messages: Int, symbols: Int, seed: UInt64) {
    self.messages = messages
    self.symbols = symbols
    self.seed = seed
  }
}

/// A deterministic, internally consistent synthetic TotalView-ITCH 5.0 day.
///
/// The day runs: `S O`, a stock directory `R` and `H T` per symbol, `S S` at 04:00, MWCB levels `V` and
/// market-maker positions `L`, pre-market order flow, opening `I` imbalances, `S Q` at 09:30 and an opening
/// cross `Q` per trading symbol, the continuous session (09:30-16:00, most of the messages, U-shaped
/// intensity), closing `I` imbalances from 15:50, a closing cross `Q` per symbol, then `S M`, `S E`, `S C`.
/// The generator keeps its own price-time book per symbol: books never cross, every `E C X D U` names a
/// live order and never takes more than its remaining shares, references and match numbers increase.
/// Days too small for that skeleton are a prefix of it (directory first).
public struct SyntheticDay {
  public let config: SyntheticDayConfig
  /// Symbol names by locate: `symbolNames[locate - 1]`.
  public private(set) var symbolNames: [String]
  /// Messages produced so far.
  public private(set) var emitted = 0

  /// Messages produced so far, by ITCH message type byte.
  public var counts: [UInt8: Int] {
    var result: [UInt8: Int] = [:]
    for type in 0..<256 where typeCounts[type] > 0 { result[UInt8(type)] = typeCounts[type] }
    return result
  }

  // MARK: State (internal so the extensions in other files can use it)

  var typeCounts = [Int](repeating: 0, count: 256)
  var rng: Xoshiro256StarStar
  var lastTimestamp: UInt64 = 0
  var sections: [Section]
  var sectionIndex = 0
  var sectionPosition = 0

  let symbolCount: Int
  var profiles: [SymbolProfile]
  var stocks: [UInt64]
  var syms: [SymbolState]
  var zipf: AliasTable
  /// Price levels per (symbol, side) at `2 * symbol + side`, sorted by key ascending, best last.
  var levels: [[Level]]
  /// Live order indices per symbol (unordered; swap-removed).
  var live: [[Int32]]
  var orders: [Order] = []
  var freeOrders: [Int32] = []
  var nextReference: UInt64
  var nextMatch: UInt64
  var recentMatches: [UInt64]
  var recentMatchSymbols: [Int32]
  var recentMatchCursor = 0

  var events: [Event] = []
  var eventSerial: UInt32 = 0
  var reservedEventMessages = 0
  var burst: [Pending] = []
  var burstHead = 0

  var roundsStarted = 0
  var nextRoundTime: UInt64 = 0
  var crossCursor = 0

  var sweepSymbol = -1
  var sweepSide = 0
  var sweepLeft = 0

  var haltsActive = 0
  var mwcbActive = false
  var mwcbHalted: [Int32] = []
  var mwcbEnds: UInt64 = 0
  var randomHaltProbability: Double = 0
  var specialsOn: Bool
  var ipoSymbol = -1
  var dlcrSymbol = -1
  var participants: [Participant] = []
  let mpids: [UInt32]
  var mwcbLevels: [UInt64] = []

  public init(config: SyntheticDayConfig) {
    self.config = config
    let k = max(1, min(config.symbols, 65_535))
    symbolCount = k
    var rng = Xoshiro256StarStar(seed: config.seed)
    let plan = DayPlan(messages: max(0, config.messages), symbols: k)
    specialsOn = plan.specials
    let profiles = SymbolUniverse.make(count: k, specials: plan.specials ? 2 : 0, rng: &rng)
    self.profiles = profiles
    symbolNames = profiles.map(\.name)
    stocks = profiles.map(\.stock)

    // Zipf-like activity: weight 1/(rank+1); deeper target books for busier symbols.
    var weights = [Double](repeating: 0, count: k)
    var syms: [SymbolState] = []
    syms.reserveCapacity(k)
    var capacity = 0
    for (s, profile) in profiles.enumerated() {
      let weight = 1.0 / Double(profile.activityRank + 1)
      weights[s] = weight
      let target = Int32(30 + 370 * weight.squareRoot())
      capacity += Int(target) * 3 / 2
      syms.append(
        SymbolState(
          mid: profile.openTicks, target: target, state: SymbolState.trading,
          crossScale: UInt32(target) * UInt32(20 + rng.below(60))))
    }
    self.syms = syms
    zipf = AliasTable(weights: weights)
    levels = [[Level]](repeating: [], count: 2 * k)
    live = [[Int32]](repeating: [], count: k)
    orders.reserveCapacity(capacity)
    nextReference = UInt64(1 + rng.below(4096))
    nextMatch = UInt64(1 + rng.below(4096))
    recentMatches = [UInt64](repeating: 0, count: 256)
    recentMatchSymbols = [Int32](repeating: 0, count: 256)
    mpids = [
      "GSCO", "MSCO", "NITE", "CDRG", "VIRT", "UBSS", "JPMS", "SUSQ", "CITD", "HRTF", "LATS", "ETMM", "XTXD",
      "JANE", "TMBR", "OPCO",
    ].map { ITCHWriter.alpha4($0) }

    // Market makers at the start of the day: two per busy symbol, the first one primary.
    let byRank = (0..<k).sorted { profiles[$0].activityRank < profiles[$1].activityRank }
    var startParticipants: [Participant] = []
    for s in byRank.prefix(6) {
      let first = rng.below(mpids.count)
      startParticipants.append(Participant(mpid: mpids[first], symbol: Int32(s), primary: true))
      startParticipants.append(
        Participant(
          mpid: mpids[(first + 1 + rng.below(mpids.count - 1)) % mpids.count], symbol: Int32(s), primary: false))
    }
    let sp500 = UInt64(4_000 + rng.below(1_500)) * 100  // S&P 500 close in cents
    mwcbLevels = [sp500 * 93 / 100, sp500 * 87 / 100, sp500 * 80 / 100].map { $0 * 1_000_000 }  // Price(8)
    if plan.specials {
      ipoSymbol = byRank[k - 1]
      dlcrSymbol = byRank[k - 2]
    }
    self.rng = rng
    sections = plan.sections(participants: startParticipants.count)
    participants = startParticipants
    if plan.continuousFlow > 2_000 && k >= 2 {
      let expectedHalts = min(6.0, 1.0 + Double(k) / 100)
      randomHaltProbability = expectedHalts / Double(plan.continuousFlow)
    }
    if plan.specials { schedulePlannedEvents() }
    enterSection()
  }

  /// Writes the next message (no length prefix) at `p`, which must have `ITCHWriter.maxMessageBytes`
  /// bytes of room, and returns its length; nil once `config.messages` messages have been produced.
  public mutating func next(into p: UnsafeMutableRawPointer) -> Int? {
    guard emitted < config.messages else { return nil }
    while sectionPosition >= sections[sectionIndex].count {
      sectionIndex += 1
      sectionPosition = 0
      enterSection()
    }
    let length = produce(p)
    sectionPosition += 1
    emitted += 1
    typeCounts[Int(p.load(as: UInt8.self))] &+= 1
    return length
  }

  /// The next message as a fresh array (convenient for tests; allocates).
  public mutating func nextMessage() -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: ITCHWriter.maxMessageBytes)
    guard let length = buffer.withUnsafeMutableBytes({ next(into: $0.baseAddress!) }) else { return nil }
    return Array(buffer[0..<length])
  }

  // MARK: Sections

  mutating func enterSection() {
    roundsStarted = 0
    crossCursor = 0
    let section = sections[sectionIndex]
    if section.rounds > 0 {
      nextRoundTime = section.start + (section.end - section.start) / UInt64(section.rounds + 1)
    }
  }

  mutating func produce(_ p: UnsafeMutableRawPointer) -> Int {
    let section = sections[sectionIndex]
    let i = sectionPosition
    switch section.kind {
    case .systemEvent:
      return ITCHWriter.systemEvent(p, timestampNs: stamp(section.start), eventCode: section.code)
    case .directory:
      let profile = profiles[i]
      return ITCHWriter.stockDirectory(
        p, locate: UInt16(i + 1), timestampNs: stamp(section.start + UInt64(i) * 12_000 + UInt64(rng.below(3_000))),
        stock: profile.stock, marketCategory: profile.marketCategory, financialStatus: profile.financialStatus,
        roundLotSize: 100, roundLotsOnly: UInt8(ascii: "N"), issueClassification: profile.issueClassification,
        issueSubType: profile.issueSubType, authenticity: UInt8(ascii: "P"),
        shortSaleThreshold: profile.shortSaleThreshold, ipoFlag: profile.ipoFlag,
        luldReferencePriceTier: profile.luldTier, etpFlag: UInt8(ascii: profile.etp ? "Y" : "N"),
        etpLeverageFactor: 0, inverseIndicator: UInt8(ascii: "N"))
    case .tradingActions:
      return ITCHWriter.stockTradingAction(
        p, locate: UInt16(i + 1), timestampNs: stamp(section.start + UInt64(i) * 9_000 + UInt64(rng.below(2_000))),
        stock: stocks[i], tradingState: SymbolState.trading, reason: Reason.none)
    case .extras:
      let ts = stamp(section.start + UInt64(i) * 4_000 + UInt64(rng.below(1_000)))
      if i == 0 {
        return ITCHWriter.mwcbDeclineLevel(
          p, timestampNs: ts, level1: mwcbLevels[0], level2: mwcbLevels[1], level3: mwcbLevels[2])
      }
      let participant = participants[(i - 1) % participants.count]
      let s = Int(participant.symbol)
      return ITCHWriter.marketParticipantPosition(
        p, locate: UInt16(s + 1), timestampNs: ts, mpid: participant.mpid, stock: stocks[s],
        primaryMarketMaker: UInt8(ascii: participant.primary ? "Y" : "N"), marketMakerMode: UInt8(ascii: "N"),
        participantState: UInt8(ascii: "A"))
    case .cross:
      while crossCursor < symbolCount && syms[crossCursor].state != SymbolState.trading { crossCursor += 1 }
      let s = crossCursor < symbolCount ? crossCursor : i % symbolCount
      crossCursor += 1
      let ts = stamp(section.start + UInt64(i) * 1_500 + UInt64(rng.below(500)))
      return writeCross(p, symbol: s, timestampNs: ts, crossType: section.code)
    case .flow:
      return flowStep(p, section: section)
    }
  }

  /// Clamps a candidate time so timestamps never decrease, and records it.
  @inline(__always)
  mutating func stamp(_ candidate: UInt64) -> UInt64 {
    let t = candidate > lastTimestamp ? candidate : lastTimestamp
    lastTimestamp = t
    return t
  }

  @inline(__always)
  func tracking() -> UInt16 { UInt16(truncatingIfNeeded: emitted) & 7 }
}

// MARK: - Model types

struct Order {
  var reference: UInt64
  var shares: UInt32
  /// Price in ticks of $0.01.
  var price: Int32
  var symbol: Int32
  var liveSlot: Int32
  var prev: Int32
  var next: Int32
  /// 0 = bid (B), 1 = ask (S).
  var side: Int32
}

/// One price level: a FIFO of orders linked through `Order.prev/next`. Key is the price for bids and
/// minus the price for asks, so both sides sort ascending with the best level last.
struct Level {
  var key: Int32
  var count: Int32
  var head: Int32
  var tail: Int32
}

struct SymbolState {
  static let trading = UInt8(ascii: "T")
  static let operationalHalt = UInt8(ascii: "h")

  /// Where new orders cluster, in ticks; kept within [best bid, best ask - 1].
  var mid: Int32
  /// Live orders the symbol's book hovers around.
  var target: Int32
  /// T, H, P, or h (operational halt).
  var state: UInt8
  var crossScale: UInt32
}

struct Participant {
  var mpid: UInt32
  var symbol: Int32
  var primary: Bool
}

enum Reason {
  static let none = ITCHWriter.alpha4("")
  static let ludp = ITCHWriter.alpha4("LUDP")
  static let newsPending = ITCHWriter.alpha4("T1")
  static let newsDissemination = ITCHWriter.alpha4("T2")
  static let ipoNotYetTrading = ITCHWriter.alpha4("IPO1")
  static let mwcbHalt = ITCHWriter.alpha4("MWC1")
  static let mwcbResume = ITCHWriter.alpha4("MWCQ")
}

let nanosecondsPerSecond: UInt64 = 1_000_000_000

@inline(__always)
func clock(_ hours: Int, _ minutes: Int, _ seconds: Int = 0, ms: Int = 0) -> UInt64 {
  UInt64((hours * 3600 + minutes * 60 + seconds) * 1000 + ms) * 1_000_000
}

/// One stretch of the day with a fixed message count.
struct Section {
  enum Kind { case systemEvent, directory, tradingActions, extras, flow, cross }

  var kind: Kind
  var count: Int
  var start: UInt64
  var end: UInt64 = 0
  /// Event code for system events, cross type for crosses and NOII rounds.
  var code: UInt8 = 0
  var rounds = 0
  var roundSize = 0
  /// 0 = linear time; > 0 = U-shaped intensity (denser near both ends).
  var warp: Double = 0
  var randomHalts = false
  /// Scheduled events must all be out by the end of this section.
  var flushEvents = false

  /// The nominal time of message `i` of a flow section.
  @inline(__always)
  func time(at i: Int) -> UInt64 {
    let u = Double(i) / Double(count)
    let warped = warp > 0 ? u - warp * sin(2 * Double.pi * u) / (2 * Double.pi) : u
    return start + UInt64(Double(end - start) * warped)
  }
}

/// How a message budget is split into sections.
struct DayPlan {
  let messages: Int
  let symbols: Int
  let skeleton: Int
  var participantSlots = 0
  var crosses = false
  var specials = false
  var rounds = 0
  var openCrossCount = 0
  var closeCrossCount = 0
  var preMarketFlow = 0
  var openingFlow = 0
  var continuousFlow = 0
  var closingFlow = 0

  init(messages: Int, symbols k: Int) {
    self.messages = messages
    symbols = k
    skeleton = 2 + 2 * k + 4  // S O, R x k, H x k, S S, S Q, S M, S E, S C
    guard messages > skeleton else { return }
    let extra = messages - skeleton
    participantSlots = min(2 * min(k, 6), (extra - 1) / 200)
    let free = extra - 1 - participantSlots
    crosses = free >= 10 * k + 20
    specials = crosses && k >= 4 && free >= 40 * k + 2_000
    if crosses {
      openCrossCount = k - (specials ? 2 : 0)
      closeCrossCount = k
      rounds = min(10, free / (50 * k))
    }
    let flow = free - openCrossCount - closeCrossCount - rounds * (openCrossCount + closeCrossCount)
    preMarketFlow = flow * (crosses ? 6 : 8) / 100
    openingFlow = crosses ? flow * 2 / 100 : 0
    closingFlow = flow * 6 / 100
    continuousFlow = flow - preMarketFlow - openingFlow - closingFlow
  }

  func sections(participants: Int) -> [Section] {
    let dayStart = clock(3, 5) + 123_456
    if messages <= skeleton {
      // Too small for any flow: a prefix of the skeleton, directory first.
      var left = messages
      func take(_ n: Int) -> Int {
        let used = min(n, left)
        left -= used
        return used
      }
      return [
        Section(kind: .systemEvent, count: take(1), start: dayStart, code: UInt8(ascii: "O")),
        Section(kind: .directory, count: take(symbols), start: dayStart + 10_000_000),
        Section(kind: .tradingActions, count: take(symbols), start: clock(3, 6)),
        Section(kind: .systemEvent, count: take(1), start: clock(4, 0), code: UInt8(ascii: "S")),
        Section(kind: .systemEvent, count: take(1), start: clock(9, 30), code: UInt8(ascii: "Q")),
        Section(kind: .systemEvent, count: take(1), start: clock(16, 0, ms: 500), code: UInt8(ascii: "M")),
        Section(kind: .systemEvent, count: take(1), start: clock(20, 0), code: UInt8(ascii: "E")),
        Section(kind: .systemEvent, count: take(1), start: clock(20, 5), code: UInt8(ascii: "C")),
      ]
    }
    return [
      Section(kind: .systemEvent, count: 1, start: dayStart, code: UInt8(ascii: "O")),
      Section(kind: .directory, count: symbols, start: dayStart + 10_000_000),
      Section(kind: .tradingActions, count: symbols, start: clock(3, 6)),
      Section(kind: .systemEvent, count: 1, start: clock(4, 0), code: UInt8(ascii: "S")),
      Section(kind: .extras, count: 1 + min(participantSlots, participants), start: clock(4, 0) + 2_000),
      Section(kind: .flow, count: preMarketFlow, start: clock(4, 0, ms: 5), end: clock(9, 25)),
      Section(
        kind: .flow, count: openingFlow + rounds * openCrossCount, start: clock(9, 25), end: clock(9, 30),
        code: UInt8(ascii: "O"), rounds: crosses ? rounds : 0, roundSize: openCrossCount),
      Section(kind: .systemEvent, count: 1, start: clock(9, 30), code: UInt8(ascii: "Q")),
      Section(kind: .cross, count: openCrossCount, start: clock(9, 30, ms: 2), code: UInt8(ascii: "O")),
      Section(
        kind: .flow, count: continuousFlow, start: clock(9, 30, ms: 50), end: clock(15, 50), warp: 0.6,
        randomHalts: true, flushEvents: true),
      Section(
        kind: .flow, count: closingFlow + rounds * closeCrossCount, start: clock(15, 50), end: clock(16, 0),
        code: UInt8(ascii: "C"), rounds: crosses ? rounds : 0, roundSize: closeCrossCount, flushEvents: true),
      Section(kind: .cross, count: closeCrossCount, start: clock(16, 0, ms: 2), code: UInt8(ascii: "C")),
      Section(kind: .systemEvent, count: 1, start: clock(16, 0, ms: 500), code: UInt8(ascii: "M")),
      Section(kind: .systemEvent, count: 1, start: clock(20, 0), code: UInt8(ascii: "E")),
      Section(kind: .systemEvent, count: 1, start: clock(20, 5), code: UInt8(ascii: "C")),
    ]
  }
}

extension SyntheticDay {
  /// Every remaining message of the day, framed into MoldUDP64 datagrams by `packetizer`: each
  /// datagram goes to `emit` as it closes, the last one included.
  public mutating func forEachDatagram(
    _ packetizer: inout MoldPacketizer, _ emit: (UnsafeRawBufferPointer) throws -> Void
  ) rethrows {
    let message = UnsafeMutableRawPointer.allocate(byteCount: ITCHWriter.maxMessageBytes, alignment: 8)
    defer { message.deallocate() }
    while let length = next(into: message) {
      try packetizer.add(UnsafeRawBufferPointer(start: message, count: length), emit)
    }
    try packetizer.flush(emit)
  }
}
