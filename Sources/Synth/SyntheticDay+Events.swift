import Glibc

/// Something due at a time of day (halts, resumptions, collars, the market-wide circuit breaker...).
struct Event {
  enum Kind: UInt8 {
    case specialHalt, ipoUpdate, dlcrDiscovery, luldHalt, newsHalt, operationalHalt, resume, operationalResume
    case collar, regSHO, rpii, participant, broken, mwcbStart, mwcbResume
  }

  var due: UInt64
  var serial: UInt32
  var kind: Kind
  var symbol: Int32
  var argument: UInt32
  /// Upper bound on the messages this event and everything it schedules will produce.
  var size: Int
}

/// One message queued to go out next, ahead of ordinary order flow.
struct Pending {
  enum Kind: UInt8 {
    case halt, resumeTrading, haltCross, operationalHalt, collar, ipoUpdate, dlcrDiscovery, noii, mwcbStatus
    case regSHO, rpii, participant, broken
  }

  var kind: Kind
  /// The first message of a group takes the event's time; the rest follow within nanoseconds.
  var groupStart: Bool
  var symbol: Int32
  var a: UInt32 = 0
  var b: UInt32 = 0
  var wide: UInt64 = 0
}

extension SyntheticDay {
  // MARK: Scheduling

  mutating func schedule(_ kind: Event.Kind, at due: UInt64, symbol: Int, argument: UInt32 = 0, size: Int) {
    eventSerial &+= 1
    let event = Event(
      due: due, serial: eventSerial, kind: kind, symbol: Int32(symbol), argument: argument, size: size)
    var i = events.count
    while i > 0 && (events[i - 1].due > due) { i -= 1 }
    events.insert(event, at: i)
    reservedEventMessages += size
  }

  mutating func push(_ item: Pending) {
    burst.append(item)
  }

  var burstCount: Int { burst.count - burstHead }

  /// The fixed agenda of a full-size day: two new listings, each kind of halt, the rarer status messages
  /// and one market-wide circuit breaker episode.
  mutating func schedulePlannedEvents() {
    let open = clock(4, 0, ms: 5)
    schedule(.specialHalt, at: open, symbol: ipoSymbol, size: 1)
    schedule(.specialHalt, at: open, symbol: dlcrSymbol, size: 1)
    schedule(.ipoUpdate, at: clock(7, 0), symbol: ipoSymbol, size: 1)
    schedule(.dlcrDiscovery, at: clock(8, 30), symbol: dlcrSymbol, size: 1)
    schedule(.dlcrDiscovery, at: clock(9, 15), symbol: dlcrSymbol, size: 1)
    schedule(.luldHalt, at: clock(10, 0), symbol: -1, size: 6)
    schedule(.operationalHalt, at: clock(10, 20), symbol: -1, size: 2)
    schedule(.newsHalt, at: clock(10, 40), symbol: -1, size: 3)
    schedule(.resume, at: clock(11, 0), symbol: ipoSymbol, argument: Reason.none, size: 2)
    schedule(.dlcrDiscovery, at: clock(11, 30), symbol: dlcrSymbol, size: 1)
    schedule(.resume, at: clock(12, 0), symbol: dlcrSymbol, argument: Reason.none, size: 2)
    schedule(.regSHO, at: clock(12, 30), symbol: -1, size: 1)
    schedule(.rpii, at: clock(12, 31), symbol: -1, size: 1)
    schedule(.participant, at: clock(12, 32), symbol: -1, size: 1)
    schedule(.broken, at: clock(12, 33), symbol: -1, size: 1)
    schedule(.mwcbStart, at: clock(13, 30), symbol: -1, size: 1 + 3 * symbolCount)
  }

  /// A random trading symbol other than the new listings, or -1.
  mutating func randomTradingSymbol() -> Int {
    for _ in 0..<32 {
      let s = rng.below(symbolCount)
      if syms[s].state == SymbolState.trading && s != ipoSymbol && s != dlcrSymbol { return s }
    }
    return -1
  }

  /// Turns a due event into queued messages (and follow-up events).
  mutating func expand(_ event: Event, now: UInt64, forced: Bool) {
    var s = Int(event.symbol)
    switch event.kind {
    case .specialHalt:
      push(
        Pending(kind: .halt, groupStart: true, symbol: event.symbol, a: UInt32(ascii("H")), b: Reason.ipoNotYetTrading))
    case .ipoUpdate:
      push(Pending(kind: .ipoUpdate, groupStart: true, symbol: event.symbol))
    case .dlcrDiscovery:
      push(Pending(kind: .dlcrDiscovery, groupStart: true, symbol: event.symbol))
    case .luldHalt, .newsHalt, .operationalHalt:
      s = randomTradingSymbol()
      if s < 0 || mwcbActive {
        push(Pending(kind: .rpii, groupStart: true, symbol: Int32(max(0, zipf.sample(&rng)))))
      } else {
        startHalt(event.kind, symbol: s, now: now)
      }
    case .resume:
      if mwcbActive && !forced {
        schedule(.resume, at: mwcbEnds + nanosecondsPerSecond, symbol: s, argument: event.argument, size: event.size)
        return
      }
      push(Pending(kind: .haltCross, groupStart: true, symbol: event.symbol))
      push(Pending(kind: .resumeTrading, groupStart: false, symbol: event.symbol, b: event.argument))
    case .operationalResume:
      if mwcbActive && !forced {
        schedule(.operationalResume, at: mwcbEnds + nanosecondsPerSecond, symbol: s, size: event.size)
        return
      }
      push(Pending(kind: .operationalHalt, groupStart: true, symbol: event.symbol, a: UInt32(ascii("T"))))
    case .collar:
      push(Pending(kind: .collar, groupStart: true, symbol: event.symbol, a: event.argument))
    case .regSHO, .rpii, .participant, .broken:
      if s < 0 { s = zipf.sample(&rng) }
      if event.kind == .broken, let item = brokenTradeItem() {
        push(item)
      } else {
        let kind: Pending.Kind = event.kind == .regSHO ? .regSHO : event.kind == .participant ? .participant : .rpii
        push(Pending(kind: kind, groupStart: true, symbol: Int32(s)))
      }
    case .mwcbStart:
      push(Pending(kind: .mwcbStatus, groupStart: true, symbol: 0, a: UInt32(ascii("1"))))
      mwcbActive = true
      mwcbEnds = now + 15 * 60 * nanosecondsPerSecond
      mwcbHalted.removeAll(keepingCapacity: true)
      for t in 0..<symbolCount where syms[t].state == SymbolState.trading {
        mwcbHalted.append(Int32(t))
        push(Pending(kind: .halt, groupStart: false, symbol: Int32(t), a: UInt32(ascii("H")), b: Reason.mwcbHalt))
      }
      schedule(.mwcbResume, at: mwcbEnds, symbol: -1, size: 2 * mwcbHalted.count)
    case .mwcbResume:
      mwcbActive = false
      var first = true
      for t in mwcbHalted {
        push(Pending(kind: .haltCross, groupStart: first, symbol: t))
        push(Pending(kind: .resumeTrading, groupStart: false, symbol: t, b: Reason.mwcbResume))
        first = false
      }
      mwcbHalted.removeAll(keepingCapacity: true)
    }
  }

  /// Queues the halt message for `symbol` and schedules what follows it.
  mutating func startHalt(_ kind: Event.Kind, symbol s: Int, now: UInt64) {
    haltsActive += 1
    switch kind {
    case .luldHalt:
      push(Pending(kind: .halt, groupStart: true, symbol: Int32(s), a: UInt32(ascii("P")), b: Reason.ludp))
      schedule(.collar, at: now + 2 * nanosecondsPerSecond, symbol: s, argument: 0, size: 1)
      var pause = 5 * 60 * nanosecondsPerSecond
      if rng.below(10) < 3 {
        schedule(.collar, at: now + pause + nanosecondsPerSecond, symbol: s, argument: 1, size: 1)
        pause *= 2
      }
      let jitter = UInt64(rng.below(2_000_000_000))
      schedule(.resume, at: now + pause + jitter, symbol: s, argument: Reason.none, size: 2)
    case .operationalHalt:
      push(Pending(kind: .operationalHalt, groupStart: true, symbol: Int32(s), a: UInt32(ascii("H"))))
      let duration = UInt64(3 + rng.below(8)) * 60 * nanosecondsPerSecond
      schedule(.operationalResume, at: now + duration, symbol: s, size: 1)
    default:
      push(Pending(kind: .halt, groupStart: true, symbol: Int32(s), a: UInt32(ascii("H")), b: Reason.newsPending))
      let duration = UInt64(10 + rng.below(21)) * 60 * nanosecondsPerSecond
      schedule(.resume, at: now + duration, symbol: s, argument: Reason.newsDissemination, size: 2)
    }
  }

  /// Queues one round of NOII messages, one per trading symbol.
  mutating func startRound(_ section: Section) {
    let round = roundsStarted
    roundsStarted += 1
    nextRoundTime =
      section.start + (section.end - section.start) / UInt64(section.rounds + 1) * UInt64(roundsStarted + 1)
    var first = true
    for s in 0..<symbolCount where syms[s].state == SymbolState.trading {
      push(
        Pending(
          kind: .noii, groupStart: first, symbol: Int32(s), a: UInt32(section.code), b: UInt32(round),
          wide: UInt64(section.rounds)))
      first = false
    }
  }

  /// A broken-trade message for a recent execution (each match is broken at most once), if any is left.
  mutating func brokenTradeItem() -> Pending? {
    for _ in 0..<8 {
      let slot = rng.below(recentMatches.count)
      let match = recentMatches[slot]
      if match != 0 {
        recentMatches[slot] = 0
        return Pending(kind: .broken, groupStart: true, symbol: recentMatchSymbols[slot], wide: match)
      }
    }
    return nil
  }

  mutating func rememberMatch(_ match: UInt64, symbol: Int) {
    recentMatches[recentMatchCursor] = match
    recentMatchSymbols[recentMatchCursor] = Int32(symbol)
    recentMatchCursor = (recentMatchCursor + 1) & (recentMatches.count - 1)
  }

  // MARK: Emitting queued messages

  mutating func emitPending(_ p: UnsafeMutableRawPointer, base: UInt64) -> Int {
    let item = burst[burstHead]
    burstHead += 1
    if burstHead == burst.count {
      burst.removeAll(keepingCapacity: true)
      burstHead = 0
    }
    let ts = item.groupStart ? stamp(base) : stamp(lastTimestamp + UInt64(rng.below(120)))
    let s = Int(item.symbol)
    let locate = UInt16(s + 1)
    let stock = stocks[s]
    let tracking = tracking()
    switch item.kind {
    case .halt:
      syms[s].state = UInt8(item.a)
      if sweepSymbol == s { sweepLeft = 0 }
      return ITCHWriter.stockTradingAction(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, tradingState: UInt8(item.a),
        reason: item.b)
    case .resumeTrading:
      syms[s].state = SymbolState.trading
      if item.b != Reason.mwcbResume && s != ipoSymbol && s != dlcrSymbol { haltsActive -= 1 }
      return ITCHWriter.stockTradingAction(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, tradingState: SymbolState.trading,
        reason: item.b)
    case .haltCross:
      return writeCross(p, symbol: s, timestampNs: ts, crossType: ascii("H"))
    case .operationalHalt:
      if item.a == UInt32(ascii("H")) {
        syms[s].state = SymbolState.operationalHalt
        if sweepSymbol == s { sweepLeft = 0 }
      } else {
        syms[s].state = SymbolState.trading
        haltsActive -= 1
      }
      return ITCHWriter.operationalHalt(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, marketCode: ascii("Q"),
        haltAction: UInt8(item.a))
    case .collar:
      let reference = UInt32(referenceTicks(s)) * 100
      let band = max(100, reference / 20 / 100 * 100)
      return ITCHWriter.luldAuctionCollar(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, referencePrice: reference,
        upperCollar: reference + band, lowerCollar: reference > band ? reference - band : 100,
        auctionCollarExtension: item.a)
    case .ipoUpdate:
      let releaseSeconds = UInt32(clock(11, 0) / nanosecondsPerSecond)
      return ITCHWriter.ipoQuotingPeriodUpdate(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock, releaseTime: releaseSeconds,
        releaseQualifier: ascii("A"), ipoPrice: UInt32(syms[s].mid) * 100)
    case .dlcrDiscovery:
      let near = UInt32(referenceTicks(s)) * 100
      let low = max(100, near * 8 / 10 / 100 * 100)
      let high = near * 12 / 10 / 100 * 100
      return ITCHWriter.directListingPriceDiscovery(
        p, locate: locate, tracking: tracking, timestampNs: ts, stock: stock,
        openEligibility: ascii(rng.below(4) == 0 ? "N" : "Y"), minAllowablePrice: low, maxAllowablePrice: high,
        nearExecutionPrice: near, nearExecutionTime: clock(12, 0),
        lowerPriceRangeCollar: max(100, near * 9 / 10 / 100 * 100),
        upperPriceRangeCollar: near * 11 / 10 / 100 * 100)
    case .noii:
      return writeNOII(
        p, symbol: s, timestampNs: ts, crossType: UInt8(item.a), round: Int(item.b), rounds: Int(item.wide))
    case .mwcbStatus:
      return ITCHWriter.mwcbStatus(p, tracking: tracking, timestampNs: ts, breachedLevel: UInt8(item.a))
    case .regSHO:
      return writeRegSHO(p, symbol: s, timestampNs: ts)
    case .rpii:
      return writeRPII(p, symbol: s, timestampNs: ts)
    case .participant:
      return writeParticipant(p, symbol: s, timestampNs: ts)
    case .broken:
      return ITCHWriter.brokenTrade(p, locate: locate, tracking: tracking, timestampNs: ts, matchNumber: item.wide)
    }
  }

  // MARK: Message bodies shared by several paths

  mutating func writeCross(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs: UInt64, crossType: UInt8) -> Int {
    let lots = UInt64(syms[s].crossScale) * UInt64(50 + rng.below(100)) / 100
    let shares = max(1, lots) * 100 + (rng.below(3) == 0 ? UInt64(rng.below(100)) : 0)
    return ITCHWriter.crossTrade(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: timestampNs, shares: shares, stock: stocks[s],
      crossPrice: UInt32(referenceTicks(s)) * 100, matchNumber: takeMatchNumber(), crossType: crossType)
  }

  mutating func writeNOII(
    _ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs: UInt64, crossType: UInt8, round: Int, rounds: Int
  ) -> Int {
    let scale = UInt64(syms[s].crossScale)
    let paired = scale * UInt64(round + 1) / UInt64(max(1, rounds)) * 100
    let roll = rng.below(20)
    let direction = ascii(roll < 8 ? "B" : roll < 16 ? "S" : roll < 19 ? "N" : "O")
    let imbalance = direction == ascii("N") ? 0 : UInt64(1 + rng.below(Int(max(1, scale / 4)))) * 100
    let reference = Int64(referenceTicks(s))
    let lean: Int64 = direction == ascii("B") ? 1 : direction == ascii("S") ? -1 : 0
    let near = max(1, reference + lean * Int64(rng.below(4)))
    let far = max(1, near + lean * Int64(rng.below(8)))
    let variation = rng.below(10)
    let indicator: UInt8 = variation < 7 ? ascii("L") : UInt8(ascii: "1") + UInt8(variation - 7)
    return ITCHWriter.noii(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: timestampNs, pairedShares: paired,
      imbalanceShares: imbalance, imbalanceDirection: direction, stock: stocks[s], farPrice: UInt32(far) * 100,
      nearPrice: UInt32(near) * 100, currentReferencePrice: UInt32(reference) * 100, crossType: crossType,
      priceVariationIndicator: indicator)
  }

  mutating func writeRegSHO(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs: UInt64) -> Int {
    let roll = rng.below(10)
    return ITCHWriter.regSHORestriction(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: timestampNs, stock: stocks[s],
      action: ascii(roll < 6 ? "1" : roll < 8 ? "2" : "0"))
  }

  mutating func writeRPII(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs: UInt64) -> Int {
    let roll = rng.below(4)
    let flag = ascii(roll == 0 ? "B" : roll == 1 ? "S" : roll == 2 ? "A" : "N")
    return ITCHWriter.retailPriceImprovement(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: timestampNs, stock: stocks[s], interestFlag: flag)
  }

  mutating func writeParticipant(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs: UInt64) -> Int {
    let roll = rng.below(10)
    return ITCHWriter.marketParticipantPosition(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: timestampNs, mpid: mpids[rng.below(mpids.count)],
      stock: stocks[s], primaryMarketMaker: ascii(roll == 0 ? "Y" : "N"), marketMakerMode: ascii(roll < 8 ? "N" : "P"),
      participantState: ascii(roll < 7 ? "A" : roll < 9 ? "E" : "W"))
  }

  @inline(__always)
  mutating func takeMatchNumber() -> UInt64 {
    let match = nextMatch
    nextMatch += rng.below(8) == 0 ? 2 : 1
    return match
  }
}

@inline(__always)
func ascii(_ c: Unicode.Scalar) -> UInt8 { UInt8(truncatingIfNeeded: c.value) }
