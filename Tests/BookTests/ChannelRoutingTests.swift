import Book
import ITCH
import XCTest

/// Which messages a book shard applies, from hand-written message heads: [type][locate, big-endian].
final class ChannelRoutingTests: XCTestCase {
  func route(_ routing: ChannelRouting, _ type: Character, locate: UInt16) -> ShardRoute {
    let bytes: [UInt8] = [type.asciiValue!, UInt8(locate >> 8), UInt8(locate & 0xFF), 0, 0]
    return bytes.withUnsafeBytes { routing.route($0) }
  }

  func testEachShardAppliesItsChannelsAndEveryShardTheMarketWideMessages() {
    // 6 channels, this instance owns 1, 2, 4 and 5; shard 1 of 2 writes every other owned one: 2 and 5.
    let plan = ChannelPlan(channels: 6, owned: [5, 1, 4, 2], shardIndex: 1, shardCount: 2)
    XCTAssertEqual(plan.owned, [1, 2, 4, 5])
    XCTAssertEqual(plan.written, [2, 5])
    let routing = ChannelRouting(plan: plan)
    XCTAssertTrue(routing.isPartial)
    XCTAssertEqual(Array(routing.writtenChannels), [2, 5])
    XCTAssertEqual(route(routing, "A", locate: 8), .apply, "locate 8 is on channel 2")
    XCTAssertEqual(route(routing, "A", locate: 11), .apply, "channel 5")
    XCTAssertEqual(route(routing, "A", locate: 7), .skip, "channel 1 is shard 0's")
    XCTAssertEqual(route(routing, "A", locate: 6), .skip, "channel 0 is another instance's")
    for marketWide: Character in ["S", "W", "B"] {
      XCTAssertEqual(
        route(routing, marketWide, locate: 0), .applyUncounted, "\(marketWide): applied, counted by shard 0")
    }
    XCTAssertEqual(route(routing, "V", locate: 0), .skip, "no instrument: shard 0's")
    XCTAssertEqual([UInt8(ascii: "A"), 0].withUnsafeBytes { routing.route($0) }, .skip, "too short to name one")

    let primary = ChannelRouting(plan: ChannelPlan(channels: 6, owned: [5, 1, 4, 2], shardIndex: 0, shardCount: 2))
    XCTAssertEqual(route(primary, "A", locate: 7), .apply)
    XCTAssertEqual(route(primary, "S", locate: 0), .apply)
    XCTAssertEqual(route(primary, "V", locate: 0), .apply)
    XCTAssertEqual(
      [UInt8(ascii: "A")].withUnsafeBytes { primary.route($0) }, .apply, "shard 0 counts what is too short")
    XCTAssertFalse(primary.writes(locate: 6))
    XCTAssertTrue(primary.writes(locate: 10), "channel 4")
  }

  func testAWholeFeedOnOneShardIsNotPartial() {
    let routing = ChannelRouting(plan: ChannelPlan(channels: 3))
    XCTAssertFalse(routing.isPartial)
    XCTAssertEqual(routing.channelCount, 3)
    XCTAssertEqual(routing.channel(for: 7), 1)
    XCTAssertTrue((0..<20).allSatisfy { routing.writes(locate: UInt16($0)) })
  }

  /// The channel of an instrument is `locate % channels`, computed without a division: checked for
  /// every locate and every channel count a plan allows (1...1024).
  func testChannelOfEveryLocateIsItsRemainder() {
    for channels in 1...1024 {
      let routing = ChannelRouting(plan: ChannelPlan(channels: channels))
      for locate in 0...Int(UInt16.max) where routing.channel(for: UInt16(locate)) != UInt16(locate % channels) {
        XCTFail("locate \(locate) over \(channels) channels: \(routing.channel(for: UInt16(locate)))")
        return
      }
    }
  }
}
