import QuotecastClient

nonisolated(unsafe) let mirror = FeedMirror(depth: 5, channelCount: 2, maxBufferedPackets: 64)

/// Arbitrary bytes as a packet: the zero-copy views and the mirror must never read outside the
/// buffer or crash, whatever the offsets inside claim.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  if let packet = PacketView(bytes) {
    _ = (packet.channel, packet.sequence, packet.timestampNs)
    for index in 0..<min(packet.updateCount, 256) {
      guard let update = packet.update(at: index) else { continue }
      _ = (update.upstreamSequence, update.timestampNs, update.level, update.trade, update.tradeBreak)
      _ = (update.tradingState, update.operationalHalt, update.regSHO, update.luldCollar, update.imbalance)
      _ = (update.systemEvent, update.marketWideBreaker)
      if let definition = update.definition { _ = (definition.symbol, definition.channel, definition.roundLotSize) }
      if let snapshot = update.snapshot {
        for level in 0..<min(snapshot.bidCount, 64) { _ = snapshot.bid(level) }
        for level in 0..<min(snapshot.askCount, 64) { _ = snapshot.ask(level) }
      }
    }
  }
  mirror.apply(bytes)
  return 0
}
