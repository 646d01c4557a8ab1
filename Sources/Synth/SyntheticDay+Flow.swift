import Glibc

// Order flow: the per-message path. Probabilities are per flow message on a trading symbol; adds versus
// deletes are steered by how full the symbol's book is relative to its target.
private let executeShare = 0.030
private let executeWithPriceShare = 0.005
private let hiddenTradeShare = 0.010
private let replaceShare = 0.080
private let cancelShare = 0.040
private let sweepChance = 0.35
private let mpidAddChance = 0.01
// Status messages on their own (per flow message).
private let rpiiShare = 0.000_6
private let regSHOShare = 0.000_3
private let participantShare = 0.000_1
private let brokenShare = 0.000_05

extension SyntheticDay {
  mutating func flowStep(_ p: UnsafeMutableRawPointer, section: Section) -> Int {
    let i = sectionPosition
    let remaining = section.count - i
    let base = section.time(at: i)
    while true {
      if burstHead < burst.count { return emitPending(p, base: base) }
      let roundsLeft = section.rounds - roundsStarted
      let needed = roundsLeft * section.roundSize + (section.flushEvents ? reservedEventMessages : 0)
      let forced = needed > 0 && remaining <= needed
      if roundsLeft > 0 && (forced || base >= nextRoundTime) {
        startRound(section)
        continue
      }
      if !events.isEmpty && (events[0].due <= base || (forced && section.flushEvents)) {
        let event = events.removeFirst()
        reservedEventMessages -= event.size
        expand(event, now: base, forced: forced)
        continue
      }
      break
    }

    let gap = (section.end - section.start) / UInt64(max(1, section.count))
    if sweepLeft > 0, let length = sweepStep(p) { return length }

    let u = rng.unit()
    if u < randomHaltProbability && section.randomHalts {
      if haltsActive < 3 && !mwcbActive && remaining > reservedEventMessages + 32 {
        let s = randomTradingSymbol()
        if s >= 0 {
          let kindRoll = rng.below(20)
          startHalt(kindRoll < 12 ? .luldHalt : kindRoll < 17 ? .newsHalt : .operationalHalt, symbol: s, now: base)
          return emitPending(p, base: base)
        }
      }
    }
    let ts = stamp(base + UInt64(rng.below(Int(max(1, gap)))))
    let status = u - randomHaltProbability
    if status >= 0 && status < rpiiShare + regSHOShare + participantShare + brokenShare {
      let s = zipf.sample(&rng)
      if status < rpiiShare { return writeRPII(p, symbol: s, timestampNs: ts) }
      if status < rpiiShare + regSHOShare { return writeRegSHO(p, symbol: s, timestampNs: ts) }
      if status < rpiiShare + regSHOShare + participantShare { return writeParticipant(p, symbol: s, timestampNs: ts) }
      if let item = brokenTradeItem() {
        return ITCHWriter.brokenTrade(
          p, locate: UInt16(item.symbol + 1), tracking: tracking(), timestampNs: ts, matchNumber: item.wide)
      }
      return writeRPII(p, symbol: s, timestampNs: ts)
    }
    return orderMessage(p, symbol: zipf.sample(&rng), timestampNs: ts)
  }

  /// One order-flow message on symbol `s`.
  mutating func orderMessage(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int {
    let trading = syms[s].state == SymbolState.trading
    if rng.below(24) == 0 { walkMid(s) }
    let liveCount = live[s].count
    var r = rng.unit()
    if trading {
      if r < executeShare {
        if let length = executeBest(p, symbol: s, side: -1, timestampNs: ts, withPrice: false, fullChance: 55) {
          return length
        }
      } else if r < executeShare + executeWithPriceShare {
        if let length = executeBest(p, symbol: s, side: -1, timestampNs: ts, withPrice: true, fullChance: 50) {
          return length
        }
      } else if r < executeShare + executeWithPriceShare + hiddenTradeShare {
        return hiddenTrade(p, symbol: s, timestampNs: ts)
      }
    }
    r -= executeShare + executeWithPriceShare + hiddenTradeShare
    if liveCount > 0 && r >= 0 {
      if r < replaceShare { return replace(p, symbol: s, timestampNs: ts) }
      if r < replaceShare + cancelShare && (trading || 2 * liveCount > Int(syms[s].target)),
        let length = cancel(p, symbol: s, timestampNs: ts)
      {
        return length
      }
    }
    let fill = Double(liveCount) / Double(syms[s].target)
    let addShare = min(0.97, max(0.03, 0.53 + 0.8 * (1 - fill)))
    // During a halt, deletes stop at half the target book, so a halted book is never drained.
    if liveCount == 0 || (!trading && fill <= 0.5) || rng.unit() < addShare {
      return add(p, symbol: s, timestampNs: ts)
    }
    return delete(p, symbol: s, timestampNs: ts)
  }

  // MARK: Book queries

  @inline(__always)
  func bestBid(_ s: Int) -> Int32? { levels[2 * s].last?.key }

  @inline(__always)
  func bestAsk(_ s: Int) -> Int32? {
    guard let key = levels[2 * s + 1].last?.key else { return nil }
    return -key
  }

  /// A price inside (or at) the spread: where crosses, collars and imbalances are quoted.
  func referenceTicks(_ s: Int) -> Int32 {
    var ticks = syms[s].mid
    if let bid = bestBid(s), ticks < bid { ticks = bid }
    if let ask = bestAsk(s), ticks > ask { ticks = ask }
    return max(1, ticks)
  }

  /// A one-tick random step of the mid, kept between the best bid and one tick under the best ask.
  mutating func walkMid(_ s: Int) {
    var mid = syms[s].mid + (rng.below(2) == 0 ? -1 : 1)
    if let bid = bestBid(s), mid < bid { mid = bid }
    if let ask = bestAsk(s), mid > ask - 1 { mid = ask - 1 }
    syms[s].mid = max(1, mid)
  }

  @inline(__always)
  mutating func clampMid(_ s: Int) {
    var mid = syms[s].mid
    if let bid = bestBid(s), mid < bid { mid = bid }
    if let ask = bestAsk(s), mid > ask - 1 { mid = ask - 1 }
    syms[s].mid = max(1, mid)
  }

  /// Order sizes: mostly round lots, some odd lots, a tail of large orders.
  mutating func orderShares() -> UInt32 {
    let roll = rng.below(100)
    if roll < 14 { return UInt32(1 + rng.below(99)) }
    if roll < 60 { return 100 }
    if roll < 74 { return 200 }
    if roll < 86 { return UInt32(3 + rng.below(3)) * 100 }
    if roll < 96 { return UInt32(6 + rng.below(15)) * 100 }
    return UInt32(20 + rng.below(80)) * 100
  }

  /// Distance in ticks from the touch: half of the orders within 2 ticks, the rest spread out to 50.
  @inline(__always)
  mutating func depthOffset() -> Int32 {
    if rng.below(2) == 0 { return Int32(rng.below(3)) }
    return Int32(min(50.0, 1 + rng.exponential(mean: 11)))
  }

  // MARK: Book maintenance

  @inline(__always)
  func levelIndex(_ li: Int, key: Int32) -> Int {
    var lo = 0
    var hi = levels[li].count
    while lo < hi {
      let m = (lo + hi) >> 1
      if levels[li][m].key < key { lo = m + 1 } else { hi = m }
    }
    return lo
  }

  mutating func link(_ o: Int32) {
    let order = orders[Int(o)]
    let li = 2 * Int(order.symbol) + Int(order.side)
    let key = order.side == 0 ? order.price : -order.price
    let idx = levelIndex(li, key: key)
    if idx < levels[li].count && levels[li][idx].key == key {
      let tail = levels[li][idx].tail
      orders[Int(tail)].next = o
      orders[Int(o)].prev = tail
      orders[Int(o)].next = -1
      levels[li][idx].tail = o
      levels[li][idx].count += 1
    } else {
      orders[Int(o)].prev = -1
      orders[Int(o)].next = -1
      levels[li].insert(Level(key: key, count: 1, head: o, tail: o), at: idx)
    }
  }

  mutating func unlink(_ o: Int32) {
    let order = orders[Int(o)]
    let li = 2 * Int(order.symbol) + Int(order.side)
    let key = order.side == 0 ? order.price : -order.price
    let idx = levelIndex(li, key: key)
    if order.prev >= 0 { orders[Int(order.prev)].next = order.next } else { levels[li][idx].head = order.next }
    if order.next >= 0 { orders[Int(order.next)].prev = order.prev } else { levels[li][idx].tail = order.prev }
    levels[li][idx].count -= 1
    if levels[li][idx].count == 0 { levels[li].remove(at: idx) }
  }

  mutating func insertOrder(symbol s: Int, side: Int32, price: Int32, shares: UInt32) -> Int32 {
    let reference = takeReference()
    let order = Order(
      reference: reference, shares: shares, price: price, symbol: Int32(s), liveSlot: Int32(live[s].count), prev: -1,
      next: -1, side: side)
    let o: Int32
    if let free = freeOrders.popLast() {
      o = free
      orders[Int(o)] = order
    } else {
      o = Int32(orders.count)
      orders.append(order)
    }
    live[s].append(o)
    link(o)
    return o
  }

  mutating func removeOrder(_ o: Int32) {
    unlink(o)
    let s = Int(orders[Int(o)].symbol)
    let slot = Int(orders[Int(o)].liveSlot)
    let moved = live[s].removeLast()
    if moved != o {
      live[s][slot] = moved
      orders[Int(moved)].liveSlot = Int32(slot)
    }
    freeOrders.append(o)
  }

  @inline(__always)
  mutating func takeReference() -> UInt64 {
    let reference = nextReference
    nextReference += rng.below(16) == 0 ? UInt64(2 + rng.below(3)) : 1
    return reference
  }

  // MARK: Order messages

  mutating func add(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int {
    clampMid(s)
    let bids = levels[2 * s].count
    let asks = levels[2 * s + 1].count
    var side: Int32 = rng.below(2) == 0 ? 0 : 1
    if bids * 2 + 1 < asks {
      side = rng.below(4) == 0 ? 1 : 0
    } else if asks * 2 + 1 < bids {
      side = rng.below(4) == 0 ? 0 : 1
    }
    let mid = syms[s].mid
    let offset = depthOffset()
    var price: Int32
    if side == 0 {
      price = max(1, mid - offset)
      if let ask = bestAsk(s), price >= ask { price = ask - 1 }
      if price < 1 {  // a bid cannot fit under a 1-tick ask: quote the other side
        side = 1
        price = mid + 1 + offset
      }
    } else {
      price = mid + 1 + offset
      if let bid = bestBid(s), price <= bid { price = bid + 1 }
    }
    let shares = orderShares()
    let o = insertOrder(symbol: s, side: side, price: price, shares: shares)
    let reference = orders[Int(o)].reference
    let sideByte = side == 0 ? ascii("B") : ascii("S")
    if rng.chance(mpidAddChance) {
      return ITCHWriter.addOrderWithMPID(
        p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: reference, side: sideByte,
        shares: shares, stock: stocks[s], price: UInt32(price) * 100, attribution: mpids[rng.below(mpids.count)])
    }
    return ITCHWriter.addOrder(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: reference, side: sideByte,
      shares: shares, stock: stocks[s], price: UInt32(price) * 100)
  }

  /// A live order of `s`: half the time one of the most recently touched, otherwise any.
  mutating func pickOrder(_ s: Int) -> Int32 {
    let count = live[s].count
    if rng.below(2) == 0 { return live[s][count - 1 - rng.below(min(count, 8))] }
    return live[s][rng.below(count)]
  }

  mutating func delete(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int {
    let o = pickOrder(s)
    let reference = orders[Int(o)].reference
    removeOrder(o)
    return ITCHWriter.orderDelete(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: reference)
  }

  /// A partial cancel (X) of an order holding at least 2 shares, or nil if none was found quickly.
  mutating func cancel(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int? {
    for _ in 0..<4 {
      let o = pickOrder(s)
      let shares = orders[Int(o)].shares
      if shares < 2 { continue }
      let cancelled: UInt32
      if shares >= 200 && shares % 100 == 0 {
        cancelled = UInt32(1 + rng.below(Int(shares / 100) - 1)) * 100
      } else {
        cancelled = UInt32(1 + rng.below(Int(shares) - 1))
      }
      orders[Int(o)].shares = shares - cancelled
      return ITCHWriter.orderCancel(
        p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: orders[Int(o)].reference,
        cancelledShares: cancelled)
    }
    return nil
  }

  /// A replace (U): same side, new reference, the price moved by 1-3 ticks, usually a new size.
  mutating func replace(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int {
    let o = pickOrder(s)
    let old = orders[Int(o)]
    var step = Int32(rng.below(7)) - 3
    if step == 0 { step = rng.below(2) == 0 ? -1 : 1 }
    var price = old.price + step
    if old.side == 0 {
      if let ask = bestAsk(s), price >= ask { price = ask - 1 }
      price = max(1, price)
      if price == old.price && old.price > 1 { price = old.price - 1 }
    } else {
      if let bid = bestBid(s), price <= bid { price = bid + 1 }
      price = max(1, price)
      if price == old.price { price = old.price + 1 }
    }
    var shares = old.shares
    if rng.below(4) != 0 {
      shares = orderShares()
      if shares == old.shares { shares += 100 }
    }
    unlink(o)
    let reference = takeReference()
    orders[Int(o)].reference = reference
    orders[Int(o)].price = price
    orders[Int(o)].shares = shares
    link(o)
    return ITCHWriter.orderReplace(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, originalReference: old.reference,
      newReference: reference, shares: shares, price: UInt32(price) * 100)
  }

  /// Executes the oldest order at the best level of `side` (-1: either), as E or C. Nil if the book is empty.
  mutating func executeBest(
    _ p: UnsafeMutableRawPointer, symbol s: Int, side requested: Int, timestampNs ts: UInt64, withPrice: Bool,
    fullChance: Int
  ) -> Int? {
    var side = requested
    if side < 0 {
      let hasBid = !levels[2 * s].isEmpty
      let hasAsk = !levels[2 * s + 1].isEmpty
      if !hasBid && !hasAsk { return nil }
      side = hasBid && hasAsk ? rng.below(2) : (hasBid ? 0 : 1)
    }
    guard let level = levels[2 * s + side].last else { return nil }
    let o = level.head
    let order = orders[Int(o)]
    let full = order.shares == 1 || rng.below(100) < fullChance
    var executed = order.shares
    if !full {
      if order.shares >= 200 && order.shares % 100 == 0 {
        executed = UInt32(1 + rng.below(Int(order.shares / 100) - 1)) * 100
      } else {
        executed = UInt32(1 + rng.below(Int(order.shares) - 1))
      }
    }
    let match = takeMatchNumber()
    rememberMatch(match, symbol: s)
    if full { removeOrder(o) } else { orders[Int(o)].shares = order.shares - executed }
    if full && !withPrice && requested < 0 && rng.chance(sweepChance) {
      sweepSymbol = s
      sweepSide = side
      sweepLeft = 1 + rng.below(3)
    }
    if withPrice {
      // Executed away from the displayed price (price improvement for the resting order, or a cross print).
      let improvement = Int32(rng.below(2))
      let price = order.side == 0 ? max(1, order.price - improvement) : order.price + improvement
      return ITCHWriter.orderExecutedWithPrice(
        p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: order.reference,
        executedShares: executed, matchNumber: match, printable: ascii(rng.below(10) < 7 ? "Y" : "N"),
        executionPrice: UInt32(price) * 100)
    }
    return ITCHWriter.orderExecuted(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: order.reference,
      executedShares: executed, matchNumber: match)
  }

  /// The next fill of a marketable order walking the book, or nil when the sweep is over.
  mutating func sweepStep(_ p: UnsafeMutableRawPointer) -> Int? {
    sweepLeft -= 1
    let s = sweepSymbol
    guard syms[s].state == SymbolState.trading, !levels[2 * s + sweepSide].isEmpty else {
      sweepLeft = 0
      return nil
    }
    let ts = stamp(lastTimestamp + UInt64(rng.below(40)))
    return executeBest(p, symbol: s, side: sweepSide, timestampNs: ts, withPrice: false, fullChance: 70)
  }

  /// A trade against a hidden order (P): reference 0, side B, priced inside the spread (midpoint allowed).
  mutating func hiddenTrade(_ p: UnsafeMutableRawPointer, symbol s: Int, timestampNs ts: UInt64) -> Int {
    var price = UInt32(referenceTicks(s)) * 100
    if let bid = bestBid(s), let ask = bestAsk(s) {
      let spread = Int(ask - bid)
      price = spread >= 2 ? UInt32(bid + 1 + Int32(rng.below(spread - 1))) * 100 : UInt32(bid + ask) * 50
    }
    let match = takeMatchNumber()
    rememberMatch(match, symbol: s)
    return ITCHWriter.trade(
      p, locate: UInt16(s + 1), tracking: tracking(), timestampNs: ts, orderReference: 0, side: ascii("B"),
      shares: orderShares(), stock: stocks[s], price: price, matchNumber: match)
  }
}
