// A hand-laid FlatBuffers writer for the quotecast schema: the fast path beside the libflatbuffers
// encoder (CQuotecastSchema), which stays the reference. Updates go front to back into a region;
// each update kind's vtable is written once per packet, the first time the kind appears. At close
// the fixed packet header and the updates vector are written in front of the region.
//
// Layout (offsets from the buffer start; every table starts at 4 mod 8 so its 8-byte fields align):
//   0   root uoffset → 28          4  "QCF1"
//   8   Packet vtable (14 bytes, then 6 of padding)
//   28  Packet table: soffset, sequence@32, timestamp@40, session@48, updates@56, channel@60
//   64  updates vector: count, then N uoffsets; padding to 0 mod 8; then the region.
// An Update table: soffset, upstream_sequence@+4, timestamp_ns@+12, payload@+20 (a struct inline, or a
// uoffset to a definition or snapshot table that follows it).

@usableFromInline
struct LaidPacketWriter {
  /// Schema field ids of Update's payloads; the vtable slot is 4 + 2 × id.
  enum Field: Int {
    case level = 2, trade, tradeBreak, tradingState, operationalHalt, regSHO, luldCollar, imbalance, systemEvent
    case marketWideBreaker, definition, snapshot, feedStatus
  }

  static let headerBytes = 68  // through the vector's count
  static let packetTablePosition = 28
  static let packetVtablePosition = 8

  let maxDatagramBytes: Int
  /// Update tables and their vtables, laid out as they will sit after the header.
  let region: UnsafeMutableRawPointer
  let regionCapacity: Int
  var regionUsed = 0
  /// Region positions of each update table, in order.
  let tables: UnsafeMutablePointer<Int32>
  let tablesCapacity: Int
  var count = 0
  /// Region position of each payload kind's vtable in the open packet, or -1.
  let vtables: UnsafeMutablePointer<Int32>

  init(maxDatagramBytes: Int) {
    self.maxDatagramBytes = maxDatagramBytes
    regionCapacity = maxDatagramBytes
    region = .allocate(byteCount: maxDatagramBytes + 64, alignment: 16)
    tablesCapacity = maxDatagramBytes / 16
    tables = .allocate(capacity: tablesCapacity)
    vtables = .allocate(capacity: 16)
    vtables.initialize(repeating: -1, count: 16)
  }

  func release() {
    region.deallocate()
    tables.deallocate()
    vtables.deallocate()
  }

  mutating func reset() {
    regionUsed = 0
    count = 0
    vtables.update(repeating: -1, count: 16)
  }

  // From here to the updates, positions and sizes lie inside one datagram (at most 65,507 bytes), so
  // the per-update arithmetic wraps instead of checking for overflow (3-6% of the whole core).

  /// Bytes the finished packet would take if it closed now.
  @inline(__always)
  func finishedBytes(extraRegion: Int, extraUpdates: Int) -> Int {
    let vectorEnd = Self.headerBytes &+ 4 &* (count &+ extraUpdates)
    return ((vectorEnd &+ 7) & ~7) &+ regionUsed &+ extraRegion
  }

  /// Bytes an update of `field` with `payloadBytes` inline (plus `trailingBytes` after it) adds.
  @inline(__always)
  func updateBytes(_ field: Field, payloadBytes: Int, trailingBytes: Int = 0) -> Int {
    var bytes = 0
    if vtables[field.rawValue] < 0 { bytes &+= Self.vtableBytes(field) &+ 8 }
    return bytes &+ 20 &+ payloadBytes &+ trailingBytes &+ 8
  }

  @inline(__always)
  func fits(_ field: Field, payloadBytes: Int, trailingBytes: Int = 0) -> Bool {
    count < tablesCapacity
      && finishedBytes(
        extraRegion: updateBytes(field, payloadBytes: payloadBytes, trailingBytes: trailingBytes), extraUpdates: 1)
        <= maxDatagramBytes
  }

  static func vtableBytes(_ field: Field) -> Int { 4 &+ 2 &* (field.rawValue &+ 1) }

  // MARK: Raw stores (little-endian)

  @inline(__always)
  func store<T: FixedWidthInteger>(_ value: T, at position: Int) {
    region.storeBytes(of: value.littleEndian, toByteOffset: position, as: T.self)
  }

  /// Pads the region with zeros until `regionUsed % 8 == remainder`: eight zero bytes stored at
  /// once (the region has slack past its capacity), then the used count moved by the pad, with no
  /// loop for the branch predictor to miss (a level update's pad alternates between 0 and 4).
  @inline(__always)
  mutating func pad(toRemainder remainder: Int) {
    region.storeBytes(of: UInt64(0), toByteOffset: regionUsed, as: UInt64.self)
    regionUsed &+= (remainder &- regionUsed) & 7
  }

  /// Writes a vtable for a table of `tableBytes` whose fields sit at `offsets` (0 = absent).
  @inline(__always)
  mutating func writeVtable(tableBytes: Int, offsets: UnsafeBufferPointer<UInt16>) -> Int {
    if regionUsed & 1 != 0 {  // vtables are arrays of UInt16
      region.storeBytes(of: 0, toByteOffset: regionUsed, as: UInt8.self)
      regionUsed &+= 1
    }
    let position = regionUsed
    store(UInt16(4 &+ 2 &* offsets.count), at: position)
    store(UInt16(tableBytes), at: position &+ 2)
    for index in 0..<offsets.count { store(offsets[index], at: position &+ 4 &+ 2 &* index) }
    regionUsed &+= 4 &+ 2 &* offsets.count
    return position
  }

  /// Starts an Update table (vtable first if new in this packet); returns the payload position.
  @inline(__always)
  mutating func beginUpdate(_ field: Field, payloadBytes: Int, upstreamSequence: UInt64, timestampNs: UInt64) -> Int {
    var vtable = Int(vtables[field.rawValue])
    if vtable < 0 {
      vtable = withUnsafeTemporaryAllocation(of: UInt16.self, capacity: field.rawValue &+ 1) { offsets in
        offsets.initialize(repeating: 0)
        offsets[0] = 4
        offsets[1] = 12
        offsets[field.rawValue] = 20
        return writeVtable(tableBytes: 20 &+ payloadBytes, offsets: UnsafeBufferPointer(offsets))
      }
      vtables[field.rawValue] = Int32(vtable)
    }
    pad(toRemainder: 4)
    let table = regionUsed
    store(Int32(truncatingIfNeeded: table &- vtable), at: table)
    store(upstreamSequence, at: table &+ 4)
    store(timestampNs, at: table &+ 12)
    tables[count] = Int32(truncatingIfNeeded: table)
    count &+= 1
    regionUsed = table &+ 20 &+ payloadBytes
    return table &+ 20
  }

  // MARK: Updates with an inline struct payload

  mutating func addLevel(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, side: UInt8, action: UInt8, index: UInt16,
    price: UInt32, shares: UInt64, orders: UInt32
  ) {
    let at = beginUpdate(.level, payloadBytes: 24, upstreamSequence: sequence, timestampNs: timestampNs)
    store(price, at: at)
    store(orders, at: at &+ 4)
    store(shares, at: at &+ 8)
    store(locate, at: at &+ 16)
    store(index, at: at &+ 18)
    store(side, at: at &+ 20)
    store(action, at: at &+ 21)
    store(UInt16(0), at: at &+ 22)
  }

  mutating func addTrade(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, kind: UInt8, side: UInt8, crossType: UInt8,
    price: UInt32, shares: UInt64, matchNumber: UInt64
  ) {
    let at = beginUpdate(.trade, payloadBytes: 32, upstreamSequence: sequence, timestampNs: timestampNs)
    store(matchNumber, at: at)
    store(shares, at: at &+ 8)
    store(price, at: at &+ 16)
    store(locate, at: at &+ 20)
    store(kind, at: at &+ 22)
    store(side, at: at &+ 23)
    store(crossType, at: at &+ 24)
    store(UInt8(0), at: at &+ 25)
    store(UInt16(0), at: at &+ 26)
    store(UInt32(0), at: at &+ 28)
  }

  mutating func addTradeBreak(_ sequence: UInt64, _ timestampNs: UInt64, matchNumber: UInt64) {
    let at = beginUpdate(.tradeBreak, payloadBytes: 8, upstreamSequence: sequence, timestampNs: timestampNs)
    store(matchNumber, at: at)
  }

  mutating func addTradingState(_ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, state: UInt8, reason: UInt32)
  {
    let at = beginUpdate(.tradingState, payloadBytes: 8, upstreamSequence: sequence, timestampNs: timestampNs)
    store(reason, at: at)
    store(locate, at: at + 4)
    store(state, at: at + 6)
    store(UInt8(0), at: at + 7)
  }

  mutating func addOperationalHalt(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, marketCode: UInt8, action: UInt8
  ) {
    let at = beginUpdate(.operationalHalt, payloadBytes: 4, upstreamSequence: sequence, timestampNs: timestampNs)
    store(locate, at: at)
    store(marketCode, at: at + 2)
    store(action, at: at + 3)
  }

  mutating func addRegSHO(_ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, action: UInt8) {
    let at = beginUpdate(.regSHO, payloadBytes: 4, upstreamSequence: sequence, timestampNs: timestampNs)
    store(locate, at: at)
    store(action, at: at + 2)
    store(UInt8(0), at: at + 3)
  }

  mutating func addLULDCollar(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, reference: UInt32, upper: UInt32, lower: UInt32,
    collarExtension: UInt32
  ) {
    let at = beginUpdate(.luldCollar, payloadBytes: 20, upstreamSequence: sequence, timestampNs: timestampNs)
    store(reference, at: at)
    store(upper, at: at + 4)
    store(lower, at: at + 8)
    store(collarExtension, at: at + 12)
    store(locate, at: at + 16)
    store(UInt16(0), at: at + 18)
  }

  mutating func addImbalance(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, paired: UInt64, imbalance: UInt64, far: UInt32,
    near: UInt32, reference: UInt32, direction: UInt8, crossType: UInt8, variation: UInt8
  ) {
    let at = beginUpdate(.imbalance, payloadBytes: 40, upstreamSequence: sequence, timestampNs: timestampNs)
    store(paired, at: at)
    store(imbalance, at: at + 8)
    store(far, at: at + 16)
    store(near, at: at + 20)
    store(reference, at: at + 24)
    store(locate, at: at + 28)
    store(direction, at: at + 30)
    store(crossType, at: at + 31)
    store(variation, at: at + 32)
    for offset in 33..<40 { store(UInt8(0), at: at + offset) }
  }

  mutating func addSystemEvent(_ sequence: UInt64, _ timestampNs: UInt64, code: UInt8) {
    let at = beginUpdate(.systemEvent, payloadBytes: 1, upstreamSequence: sequence, timestampNs: timestampNs)
    store(code, at: at)
  }

  mutating func addMarketWideBreaker(_ sequence: UInt64, _ timestampNs: UInt64, level: UInt8) {
    let at = beginUpdate(.marketWideBreaker, payloadBytes: 1, upstreamSequence: sequence, timestampNs: timestampNs)
    store(level, at: at)
  }

  mutating func addFeedStatus(
    _ sequence: UInt64, _ timestampNs: UInt64, lostFrom: UInt64, lostMessages: UInt64, state: UInt8
  ) {
    let at = beginUpdate(.feedStatus, payloadBytes: 24, upstreamSequence: sequence, timestampNs: timestampNs)
    store(lostFrom, at: at)
    store(lostMessages, at: at + 8)
    store(UInt64(state), at: at + 16)  // the state byte, then the struct's zero padding
  }

  // MARK: Updates with a nested table

  /// InstrumentDefinition field positions by field id (see addDefinition).
  static let definitionFieldOffsets: [UInt16] = [16, 12, 18, 4, 22, 23, 24, 25, 20, 26, 27, 28, 29, 30, 8, 31]
  /// BookSnapshot field positions by field id (see addSnapshot).
  static let snapshotFieldOffsets: [UInt16] = [20, 22, 24, 12, 16, 4, 25, 26]

  /// Bytes a definition update may take beyond the Update table itself.
  static let definitionTrailingBytes = 36 + 8 + 36 + 8 + 4 + 9 + 8

  mutating func addDefinition(_ sequence: UInt64, _ timestampNs: UInt64, _ d: qc_definition_fields) {
    let offsetAt = beginUpdate(.definition, payloadBytes: 4, upstreamSequence: sequence, timestampNs: timestampNs)
    // InstrumentDefinition: soffset@0, round_lot_size@4, etp_leverage_factor@8, symbol@12 (uoffset),
    // locate@16, channel@18, issue_sub_type@20, then ten single bytes @22...31.
    let vtable = Self.definitionFieldOffsets.withUnsafeBufferPointer { writeVtable(tableBytes: 32, offsets: $0) }
    pad(toRemainder: 4)
    let table = regionUsed
    store(UInt32(table - offsetAt), at: offsetAt)
    store(Int32(table - vtable), at: table)
    store(d.roundLotSize, at: table + 4)
    store(d.etpLeverageFactor, at: table + 8)
    store(d.locate, at: table + 16)
    store(d.channel, at: table + 18)
    store(d.issueSubType, at: table + 20)
    store(d.marketCategory, at: table + 22)
    store(d.financialStatus, at: table + 23)
    store(d.issueClassification, at: table + 24)
    store(d.roundLotsOnly, at: table + 25)
    store(d.authenticity, at: table + 26)
    store(d.shortSaleThreshold, at: table + 27)
    store(d.ipoFlag, at: table + 28)
    store(d.luldTier, at: table + 29)
    store(d.etpFlag, at: table + 30)
    store(d.inverse, at: table + 31)
    regionUsed = table + 32
    // The symbol string: length, bytes, NUL.
    let string = regionUsed
    store(UInt32(string - (table + 12)), at: table + 12)
    store(UInt32(d.symbolLength), at: string)
    (region + string + 4).copyMemory(from: d.symbol, byteCount: d.symbolLength)
    store(UInt8(0), at: string + 4 + d.symbolLength)
    regionUsed = string + 5 + d.symbolLength
  }

  static func snapshotTrailingBytes(depth: Int) -> Int { 16 + 8 + 28 + 8 + 2 * (8 + 16 * depth) }

  mutating func addSnapshot(
    _ sequence: UInt64, _ timestampNs: UInt64, locate: UInt16, depth: UInt16, tradingState: UInt8,
    bids: UnsafePointer<PriceLevelWire>, bidCount: Int, asks: UnsafePointer<PriceLevelWire>, askCount: Int,
    lastChannelSequence: UInt64, regSHOAction: UInt8, operationalHaltAction: UInt8
  ) {
    let offsetAt = beginUpdate(.snapshot, payloadBytes: 4, upstreamSequence: sequence, timestampNs: timestampNs)
    // BookSnapshot: soffset@0, last_channel_sequence@4, bids@12, asks@16, locate@20, depth@22, trading_state@24,
    // reg_sho_action@25, operational_halt_action@26.
    let vtable = Self.snapshotFieldOffsets.withUnsafeBufferPointer { writeVtable(tableBytes: 28, offsets: $0) }
    pad(toRemainder: 4)
    let table = regionUsed
    store(UInt32(table - offsetAt), at: offsetAt)
    store(Int32(table - vtable), at: table)
    store(lastChannelSequence, at: table + 4)
    store(locate, at: table + 20)
    store(depth, at: table + 22)
    store(tradingState, at: table + 24)
    store(regSHOAction, at: table + 25)
    store(operationalHaltAction, at: table + 26)
    store(UInt8(0), at: table + 27)
    regionUsed = table + 28
    writeLevels(bids, count: bidCount, offsetField: table + 12)
    writeLevels(asks, count: askCount, offsetField: table + 16)
  }

  /// A vector of 16-byte BookLevel structs: the count sits at 4 mod 8 so the elements align to 8.
  mutating func writeLevels(_ levels: UnsafePointer<PriceLevelWire>, count: Int, offsetField: Int) {
    pad(toRemainder: 4)
    let vector = regionUsed
    store(UInt32(vector - offsetField), at: offsetField)
    store(UInt32(count), at: vector)
    for index in 0..<count {
      let at = vector + 4 + 16 * index
      store(levels[index].price, at: at)
      store(levels[index].orders, at: at + 4)
      store(levels[index].shares, at: at + 8)
    }
    regionUsed = vector + 4 + 16 * count
  }

  // MARK: Closing

  /// Writes the finished packet (header, vector, then the region) at `out`, straight into the
  /// caller's output; returns its length, or nil when it needs more than `room` bytes.
  mutating func finish(
    channel: UInt16, sequence: UInt64, timestampNs: UInt64, session: UInt64, into out: UnsafeMutableRawPointer,
    room: Int
  ) -> Int? {
    guard finishedBytes(extraRegion: 0, extraUpdates: 0) <= room else { return nil }
    func put<T: FixedWidthInteger>(_ value: T, _ position: Int) {
      out.storeBytes(of: value.littleEndian, toByteOffset: position, as: T.self)
    }
    let vectorEnd = Self.headerBytes + 4 * count
    let regionStart = (vectorEnd + 7) & ~7
    put(UInt32(Self.packetTablePosition), 0)
    put(UInt32(0x3146_4351), 4)  // "QCF1"
    // Packet vtable: 7 entries, table of 36 bytes, fields channel, sequence, timestamp_ns, updates, session.
    put(UInt16(14), 8)
    put(UInt16(36), 10)
    put(UInt16(32), 12)
    put(UInt16(4), 14)
    put(UInt16(12), 16)
    put(UInt16(28), 18)
    put(UInt16(20), 20)
    put(UInt16(0), 22)
    put(UInt32(0), 24)
    put(Int32(Self.packetTablePosition - Self.packetVtablePosition), 28)
    put(sequence, 32)
    put(timestampNs, 40)
    put(session, 48)
    put(UInt32(64 - 56), 56)
    put(channel, 60)
    put(UInt16(0), 62)
    put(UInt32(count), 64)
    for index in 0..<count {
      let slot = Self.headerBytes + 4 * index
      put(UInt32(regionStart + Int(tables[index]) - slot), slot)
    }
    for position in vectorEnd..<regionStart { put(UInt8(0), position) }
    (out + regionStart).copyMemory(from: region, byteCount: regionUsed)
    return regionStart + regionUsed
  }
}

/// A book level in the order the schema's BookLevel struct lays it out.
public struct PriceLevelWire {
  public var price: UInt32
  public var orders: UInt32
  public var shares: UInt64
}

/// The fields of an instrument definition, with the symbol still in the ITCH message.
struct qc_definition_fields {
  var symbol: UnsafeRawPointer
  var symbolLength: Int
  var roundLotSize: UInt32
  var etpLeverageFactor: UInt32
  var locate: UInt16
  var channel: UInt16
  var issueSubType: UInt16
  var marketCategory: UInt8
  var financialStatus: UInt8
  var issueClassification: UInt8
  var roundLotsOnly: UInt8
  var authenticity: UInt8
  var shortSaleThreshold: UInt8
  var ipoFlag: UInt8
  var luldTier: UInt8
  var etpFlag: UInt8
  var inverse: UInt8
}
