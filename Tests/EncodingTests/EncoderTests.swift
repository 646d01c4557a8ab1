import Book
import Encoding
import ITCH
import QuotecastClient
import TestSupport
import XCTest

struct Packet {
  var channel: UInt16
  var bytes: [UInt8]
}

func drain(_ encoder: UpdateEncoder) -> [Packet] {
  var packets: [Packet] = []
  encoder.forEachPacket { packets.append(Packet(channel: $0, bytes: Array($1))) }
  encoder.clearOutput()
  return packets
}

func withView<R>(_ packet: Packet, _ body: (PacketView) -> R) -> R {
  packet.bytes.withUnsafeBytes { body(PacketView($0)!) }
}

func booksConfig() -> BookConfig {
  var config = BookConfig()
  config.maxLocates = 64
  config.maxLiveOrders = 100_000
  config.maxLevels = 100_000
  config.levelArenaEntries = 1 << 18
  config.maxOrderReference = 1 << 24
  config.maxReferencePages = 512
  return config
}

final class EncoderTests: XCTestCase {
  /// Applies messages (kept alive for the events that point into them) and encodes the events.
  func encode(_ messages: [[UInt8]], channels: Int = 1, backend: EncoderBackend) -> (
    packets: [Packet], books: OrderBooks
  ) {
    var config = EncoderConfig()
    config.backend = backend
    config.channels = channels
    let encoder = UpdateEncoder(config: config)
    let books = OrderBooks(config: booksConfig())
    encoder.setClock(nowNs: 777)
    for (index, message) in messages.enumerated() {
      message.withUnsafeBytes { books.apply($0, sequence: UInt64(index + 1)) }
      encoder.encode(books.events)
      books.clearEvents()
    }
    encoder.flush()
    return (drain(encoder), books)
  }

  /// An encoder on `backend`, configured by `configure`, and empty books.
  func encoderAndBooks(_ backend: EncoderBackend, _ configure: (inout EncoderConfig) -> Void) -> (
    UpdateEncoder, OrderBooks
  ) {
    var config = EncoderConfig()
    config.backend = backend
    configure(&config)
    return (UpdateEncoder(config: config), OrderBooks(config: booksConfig()))
  }

  func testLevelAndTradeRoundTrip() {
    for backend in EncoderBackend.allCases {
      let (packets, _) = encode(
        [
          Message.add(1, 10, "B", 300, 1_234_500), Message.execute(1, 10, 100, match: 42),
        ], backend: backend)
      XCTAssertEqual(packets.count, 1)
      withView(packets[0]) { packet in
        XCTAssertEqual(packet.channel, 0)
        XCTAssertEqual(packet.sequence, 1)
        XCTAssertEqual(packet.timestampNs, 777)
        XCTAssertEqual(packet.updateCount, 3)
        let add = packet.update(at: 0)!
        XCTAssertEqual(add.upstreamSequence, 1)
        XCTAssertEqual(add.timestampNs, 34_200_000_000_000)
        XCTAssertEqual(
          add.level,
          LevelUpdate(price: 1_234_500, orders: 1, shares: 300, locate: 1, levelIndex: 0, side: 0, action: 0))
        XCTAssertNil(add.trade)
        let trade = packet.update(at: 1)!
        XCTAssertEqual(trade.upstreamSequence, 2)
        XCTAssertEqual(
          trade.trade,
          TradeUpdate(matchNumber: 42, shares: 100, price: 1_234_500, locate: 1, kind: 0, side: 0, crossType: 0))
        XCTAssertNil(trade.level)
        XCTAssertEqual(
          packet.update(at: 2)!.level,
          LevelUpdate(price: 1_234_500, orders: 1, shares: 200, locate: 1, levelIndex: 0, side: 0, action: 1))
        XCTAssertNil(packet.update(at: 3))
      }
      packets[0].bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) }
    }
  }

  func testEveryStatusKindAndDefinitionRoundTrip() {
    for backend in EncoderBackend.allCases {
      let (packets, _) = encode(
        [
          Message.directory(5, "MSFT"),
          Message.tradingAction(5, "H"),
          Message.operationalHalt(5, market: "Q", action: "H"),
          Message.regSHO(5, "1"),
          Message.luldCollar(5, reference: 100, upper: 110, lower: 90, extensions: 2),
          Message.imbalance(
            5, paired: 1000, imbalance: 200, direction: "B", far: 101, near: 102, reference: 103, crossType: "C",
            variation: "L"),
          Message.systemEvent("Q"),
          Message.marketWideBreaker("1"),
          Message.nonCrossTrade(5, side: "S", shares: 50, price: 999, match: 7),
          Message.crossTrade(5, shares: 1 << 40, price: 1000, match: 8, type: "O"),
          Message.brokenTrade(match: 7),
        ], backend: backend)
      XCTAssertEqual(packets.count, 1)
      packets[0].bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) }
      withView(packets[0]) { packet in
        XCTAssertEqual(packet.updateCount, 11)
        let definition = packet.update(at: 0)!.definition!
        XCTAssertEqual(definition.symbol, "MSFT")
        XCTAssertEqual(definition.locate, 5)
        XCTAssertEqual(definition.channel, 0)
        XCTAssertEqual(definition.roundLotSize, 100)
        XCTAssertEqual(definition.marketCategory, UInt8(ascii: "Q"))
        XCTAssertEqual(definition.issueClassification, UInt8(ascii: "C"))
        XCTAssertEqual(definition.issueSubType, 0x5A20)
        XCTAssertEqual(
          packet.update(at: 1)!.tradingState, TradingStateUpdate(reason: 0x2020_2020, locate: 5, state: 72))
        XCTAssertEqual(
          packet.update(at: 2)!.operationalHalt, OperationalHaltUpdate(locate: 5, marketCode: 81, action: 72))
        XCTAssertEqual(packet.update(at: 3)!.regSHO, RegSHOUpdate(locate: 5, action: UInt8(ascii: "1")))
        XCTAssertEqual(
          packet.update(at: 4)!.luldCollar,
          LULDCollarUpdate(referencePrice: 100, upperPrice: 110, lowerPrice: 90, collarExtension: 2, locate: 5))
        XCTAssertEqual(
          packet.update(at: 5)!.imbalance,
          ImbalanceUpdate(
            pairedShares: 1000, imbalanceShares: 200, farPrice: 101, nearPrice: 102, referencePrice: 103, locate: 5,
            direction: UInt8(ascii: "B"), crossType: UInt8(ascii: "C"), priceVariation: UInt8(ascii: "L")))
        XCTAssertEqual(packet.update(at: 6)!.systemEvent, UInt8(ascii: "Q"))
        XCTAssertEqual(packet.update(at: 7)!.marketWideBreaker, UInt8(ascii: "1"))
        XCTAssertEqual(
          packet.update(at: 8)!.trade,
          TradeUpdate(matchNumber: 7, shares: 50, price: 999, locate: 5, kind: 2, side: 1, crossType: 0))
        XCTAssertEqual(
          packet.update(at: 9)!.trade,
          TradeUpdate(matchNumber: 8, shares: 1 << 40, price: 1000, locate: 5, kind: 3, side: 2, crossType: 79))
        XCTAssertEqual(packet.update(at: 10)!.tradeBreak, 7)
      }
    }
  }

  func testChannelsPartitionByLocateAndMarketWideGoesEverywhere() {
    for backend in EncoderBackend.allCases {
      let (packets, _) = encode(
        [
          Message.directory(1, "A"), Message.directory(2, "B"), Message.directory(3, "C"), Message.systemEvent("O"),
          Message.add(4, 1, "B", 1, 1),
        ], channels: 3, backend: backend)
      var updatesByChannel: [UInt16: [UpdateView]] = [:]
      var definitionChannels: [UInt16: UInt16] = [:]
      for packet in packets {
        withView(packet) { view in
          XCTAssertEqual(view.channel, packet.channel)
          XCTAssertEqual(view.sequence, 1)
          for index in 0..<view.updateCount {
            let update = view.update(at: index)!
            if let definition = update.definition {
              definitionChannels[definition.locate] = definition.channel
              XCTAssertEqual(definition.channel, packet.channel)
            }
            if let level = update.level { XCTAssertEqual(packet.channel, 4 % 3, "locate \(level.locate)") }
            updatesByChannel[packet.channel, default: []].append(update)
          }
        }
      }
      XCTAssertEqual(definitionChannels, [1: 1, 2: 2, 3: 0])
      XCTAssertEqual(Set(packets.map(\.channel)), [0, 1, 2])
      for channel in UInt16(0)...2 {
        XCTAssertEqual(updatesByChannel[channel]!.filter { $0.systemEvent != nil }.count, 1, "channel \(channel)")
      }
    }
  }

  /// Packets go out in the order closed; each waits for those before it, so the fullest close first.
  func testFlushClosesTheFullestPacketsFirstAndSnapshotsLast() {
    for backend in EncoderBackend.allCases {
      let (encoder, books) = encoderAndBooks(backend) { $0.channels = 3 }
      // Locate L goes to channel L % 3: one update on channel 0, three on 2, two on 1 (and then two on 0).
      let rounds: [[(locate: UInt16, count: Int)]] = [[(3, 1), (2, 3), (1, 2)], [(3, 2), (2, 2), (1, 2)]]
      let expected: [[UInt16]] = [[2, 1, 0, 3], [0, 1, 2, 3]]
      var reference: UInt64 = 1
      // One add at a new price: one level update on the locate's channel.
      func add(_ locate: UInt16, _ encoder: UpdateEncoder, _ books: OrderBooks) {
        let message = Message.add(locate, reference, "B", 100, 10_000 + UInt32(reference))
        message.withUnsafeBytes { books.apply($0, sequence: reference) }
        encoder.encode(books.events)
        books.clearEvents()
        reference += 1
      }
      for (round, adds) in rounds.enumerated() {
        encoder.encodeSnapshot(
          of: books, locate: 1, into: encoder.snapshotChannel, upstreamSequence: 0, timestampNs: 0,
          lastChannelSequence: 0)
        for (locate, count) in adds {
          for _ in 0..<count { add(locate, encoder, books) }
        }
        encoder.flush()
        XCTAssertEqual(drain(encoder).map(\.channel), expected[round], "\(backend), round \(round)")
      }
      // More open packets than the ordering takes: channel order, the fullest (channel 39) included.
      let (wide, wideBooks) = encoderAndBooks(backend) { $0.channels = 40 }
      for locate in UInt16(1)...40 {
        for _ in 0..<(locate == 39 ? 2 : 1) { add(locate, wide, wideBooks) }
      }
      wide.flush()
      XCTAssertEqual(drain(wide).map(\.channel), (0..<40).map { UInt16($0) }, "\(backend)")
    }
  }

  func testPacketsStayWithinTheDatagramAndKeepEveryUpdateInOrder() {
    for backend in EncoderBackend.allCases {
      var random = SeededGenerator(seed: 5)
      for datagramBytes in [512, 1400, 9000] {
        var config = EncoderConfig()
        config.backend = backend
        config.maxDatagramBytes = datagramBytes
        config.channels = 2
        config.snapshotDepth = datagramBytes >= 1400 ? 10 : 5
        let encoder = UpdateEncoder(config: config)
        let books = OrderBooks(config: booksConfig())
        var expected: [UInt16: [UInt64]] = [:]
        var messages: [[UInt8]] = []
        for locate in UInt16(1)...8 { messages.append(Message.directory(locate, "S\(locate)")) }
        for reference in UInt64(1)...3000 {
          let locate = UInt16.random(in: 1...8, using: &random)
          let price = UInt32.random(in: 90...110, using: &random) * 100
          messages.append(Message.add(locate, reference, Bool.random(using: &random) ? "B" : "S", 100, price))
        }
        var packets: [Packet] = []
        for (index, message) in messages.enumerated() {
          message.withUnsafeBytes { books.apply($0, sequence: UInt64(index + 1)) }
          for event in books.events {
            expected[encoder.plan.channel(for: event.locate), default: []].append(event.upstreamSequence)
          }
          encoder.encode(books.events)
          books.clearEvents()
          if index % 97 == 0 {
            // A snapshot now and then, into the snapshot channel.
            encoder.encodeSnapshot(
              of: books, locate: 3, into: encoder.snapshotChannel, upstreamSequence: UInt64(index + 1), timestampNs: 1,
              lastChannelSequence: 0)
          }
          if index % 50 == 0 {
            encoder.flush()
            packets += drain(encoder)
          }
        }
        encoder.flush()
        packets += drain(encoder)
        var seen: [UInt16: [UInt64]] = [:]
        var nextSequence: [UInt16: UInt64] = [:]
        var snapshots = 0
        for packet in packets {
          XCTAssertLessThanOrEqual(packet.bytes.count, datagramBytes)
          packet.bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0)) }
          withView(packet) { view in
            XCTAssertEqual(view.sequence, nextSequence[packet.channel, default: 1], "channel \(packet.channel)")
            nextSequence[packet.channel] = view.sequence + 1
            XCTAssertGreaterThan(view.updateCount, 0)
            for index in 0..<view.updateCount {
              let update = view.update(at: index)!
              if let snapshot = update.snapshot {
                snapshots += 1
                XCTAssertEqual(Int(snapshot.depth), config.snapshotDepth)
                XCTAssertEqual(snapshot.locate, 3)
                continue
              }
              seen[packet.channel, default: []].append(update.upstreamSequence)
            }
          }
        }
        XCTAssertEqual(seen, expected, "datagram \(datagramBytes)")
        XCTAssertGreaterThan(snapshots, 0)
        XCTAssertGreaterThan(packets.count, 20)
      }
    }
  }

  func testSnapshotCarriesTheBookBestFirst() {
    for backend in EncoderBackend.allCases {
      let (encoder, books) = encoderAndBooks(backend) { $0.snapshotDepth = 2 }
      for message in [
        Message.add(1, 1, "B", 100, 9_900), Message.add(1, 2, "B", 50, 10_000), Message.add(1, 3, "B", 70, 9_800),
        Message.add(1, 4, "S", 10, 10_100), Message.regSHO(1, "2"),
        Message.operationalHalt(1, market: "Q", action: "H"),
        Message.tradingAction(1, "P"),
      ] {
        message.withUnsafeBytes { books.apply($0, sequence: 1) }
      }
      books.clearEvents()
      encoder.encodeSnapshot(
        of: books, locate: 1, into: encoder.snapshotChannel, upstreamSequence: 4, timestampNs: 9, lastChannelSequence: 3
      )
      encoder.flush()
      let packets = drain(encoder)
      XCTAssertEqual(packets.map(\.channel), [1])
      withView(packets[0]) { view in
        let snapshot = view.update(at: 0)!.snapshot!
        XCTAssertEqual(snapshot.bidCount, 2)
        XCTAssertEqual(snapshot.bid(0), FeedBookLevel(price: 10_000, orders: 1, shares: 50))
        XCTAssertEqual(snapshot.bid(1), FeedBookLevel(price: 9_900, orders: 1, shares: 100))
        XCTAssertEqual(snapshot.askCount, 1)
        XCTAssertEqual(snapshot.ask(0), FeedBookLevel(price: 10_100, orders: 1, shares: 10))
        XCTAssertEqual(snapshot.lastChannelSequence, 3)
        XCTAssertEqual(snapshot.tradingState, UInt8(ascii: "P"))
        XCTAssertEqual(snapshot.regSHOAction, UInt8(ascii: "2"))
        XCTAssertEqual(snapshot.operationalHaltAction, UInt8(ascii: "H"))
        XCTAssertNil(snapshot.bid(2))
      }
    }
  }

  /// The feed status update from both backends: the Verifier accepts it, and the reader gets every
  /// field back.
  func testFeedStatusRoundTripsThroughBothBackends() {
    for backend in EncoderBackend.allCases {
      var config = EncoderConfig()
      config.backend = backend
      let encoder = UpdateEncoder(config: config)
      encoder.setClock(nowNs: 77)
      encoder.encodeFeedStatus(
        channel: 0, upstreamSequence: 501, timestampNs: 9, lostFrom: 480, lostMessages: 21, stale: true)
      encoder.flush()
      let packets = drain(encoder)
      XCTAssertEqual(packets.count, 1)
      packets[0].bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0), "\(backend)") }
      withView(packets[0]) { view in
        let update = view.update(at: 0)!
        XCTAssertEqual(update.feedStatus, FeedStatusUpdate(lostFromSequence: 480, lostMessages: 21, stale: true))
        XCTAssertEqual(update.upstreamSequence, 501)
        XCTAssertNil(update.level)
        XCTAssertNil(update.locate, "feed-wide")
      }
    }
  }

  func testEncodingIsDeterministic() {
    for backend in EncoderBackend.allCases {
      let messages = [Message.directory(1, "X"), Message.add(1, 1, "B", 100, 100), Message.execute(1, 1, 10)]
      XCTAssertEqual(
        encode(messages, backend: backend).packets.map(\.bytes), encode(messages, backend: backend).packets.map(\.bytes)
      )
    }
  }

  func testDamagedPacketsNeverCrashTheReader() {
    for backend in EncoderBackend.allCases {
      let (packets, _) = encode(
        [
          Message.directory(5, "MSFT"), Message.add(5, 1, "B", 100, 100), Message.tradingAction(5, "T"),
        ], backend: backend)
      var random = SeededGenerator(seed: 77)
      let original = packets[0].bytes
      var rejectedByVerifier = 0
      for trial in 0..<3000 {
        var bytes = original
        if trial % 3 == 0 {
          bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
        } else {
          for _ in 0...Int.random(in: 0...3, using: &random) {
            bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
          }
        }
        bytes.withUnsafeBytes { raw in
          if !verifyPacket(raw) { rejectedByVerifier += 1 }
          guard let view = PacketView(raw) else { return }
          _ = (view.channel, view.sequence, view.timestampNs)
          for index in 0..<min(view.updateCount, 64) {
            guard let update = view.update(at: index) else { continue }
            _ = (update.level, update.trade, update.tradingState, update.systemEvent, update.definition?.symbol)
            if let snapshot = update.snapshot { _ = (snapshot.bid(0), snapshot.ask(snapshot.askCount - 1)) }
          }
        }
      }
      XCTAssertGreaterThan(rejectedByVerifier, 1000)
    }
  }

  func testConfigProblems() {
    var config = EncoderConfig()
    config.maxDatagramBytes = 100
    config.channels = 0
    let problems = config.problems()
    XCTAssertTrue(problems.contains { $0.hasPrefix("maxDatagramBytes:") })
    XCTAssertTrue(problems.contains { $0.hasPrefix("channels:") })
    config = EncoderConfig()
    config.snapshotDepth = 200
    XCTAssertTrue(config.problems().contains { $0.hasPrefix("snapshotDepth:") })
    XCTAssertEqual(EncoderConfig().problems(), [])
  }

  /// The hand-laid fast path says exactly what libflatbuffers says: same updates, same channels,
  /// same order, every packet accepted by the C++ Verifier.
  func testHandLaidAndLibflatbuffersCarryTheSameUpdates() {
    var random = SeededGenerator(seed: 21)
    var messages: [[UInt8]] = [Message.systemEvent("O")]
    for locate in UInt16(1)...12 { messages.append(Message.directory(locate, "SYM\(locate)")) }
    var live: [(UInt16, UInt64)] = []
    for reference in UInt64(1)...6000 {
      let locate = UInt16.random(in: 1...12, using: &random)
      switch Int.random(in: 0...9, using: &random) {
      case 0...4 where live.count < 400 || live.isEmpty:
        messages.append(
          Message.add(
            locate, reference, Bool.random(using: &random) ? "B" : "S", 100,
            UInt32.random(in: 90...110, using: &random) * 100))
        live.append((locate, reference))
      case 5 where !live.isEmpty:
        let (l, r) = live.remove(at: Int.random(in: 0..<live.count, using: &random))
        messages.append(Message.delete(l, r))
      case 6 where !live.isEmpty:
        let (l, r) = live[Int.random(in: 0..<live.count, using: &random)]
        messages.append(Message.execute(l, r, 10, match: reference))
      case 7:
        messages.append(Message.tradingAction(locate, "T"))
        messages.append(
          Message.imbalance(
            locate, paired: 1, imbalance: 2, direction: "B", far: 3, near: 4, reference: 5, crossType: "C",
            variation: "L"))
      case 8:
        messages.append(Message.luldCollar(locate, reference: 1, upper: 2, lower: 3, extensions: 0))
        messages.append(Message.regSHO(locate, "1"))
      default:
        messages.append(Message.crossTrade(locate, shares: 5, price: 10_000, match: reference, type: "C"))
      }
    }
    messages.append(Message.marketWideBreaker("1"))
    messages.append(Message.brokenTrade(match: 9))
    func updates(_ backend: EncoderBackend) -> [UInt16: [String]] {
      var result: [UInt16: [String]] = [:]
      for packet in encode(messages, channels: 3, backend: backend).packets {
        packet.bytes.withUnsafeBytes { XCTAssertTrue(verifyPacket($0), "\(backend) packet rejected by the Verifier") }
        XCTAssertLessThanOrEqual(packet.bytes.count, 1400)
        withView(packet) { view in
          for index in 0..<view.updateCount {
            let u = view.update(at: index)!
            let d = u.definition.map { "\($0.symbol) \($0.locate) \($0.channel) \($0.roundLotSize) \($0.issueSubType)" }
            result[packet.channel, default: []].append(
              "\(u.upstreamSequence) \(u.timestampNs) \(String(describing: u.level)) \(String(describing: u.trade)) "
                + "\(String(describing: u.tradeBreak)) \(String(describing: u.tradingState)) "
                + "\(String(describing: u.operationalHalt)) \(String(describing: u.regSHO)) "
                + "\(String(describing: u.luldCollar)) \(String(describing: u.imbalance)) "
                + "\(String(describing: u.systemEvent)) \(String(describing: u.marketWideBreaker)) \(String(describing: d))"
            )
          }
        }
      }
      return result
    }
    let reference = updates(.flatbuffers)
    let fast = updates(.handLaid)
    XCTAssertEqual(fast, reference)
    XCTAssertGreaterThan(reference.values.map(\.count).reduce(0, +), 5000)
  }
}
