import Foundation
import QuotecastCore
import Replay
import XCTest

/// The commands' work as library calls: a generated day file written, run through the core into a pcap, and the
/// pcap holding exactly the packets the core sends for the same datagrams.
final class OfflineReplayTests: DirectoryTestCase {

  struct Keeping: PacketSink {
    var packets: [[UInt8]] = []
    mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) { packets.append(Array(packet)) }
  }

  func testTheReplaysPcapHoldsExactlyWhatTheCoreSendsForTheSameDay() throws {
    let day = directory + "/day.itch"
    try SyntheticDayFile.write(
      messages: 20_000, symbols: 12, seed: 5, out: day, format: .raw, messagesPerPacket: 20)
    var config = CoreConfig()
    config.encoder.channels = 3
    var replay = OfflineReplay(config: config)
    replay.batching = try XCTUnwrap(BatchPlan("4"))
    replay.snapshots = true
    let pcap = directory + "/out.pcap"
    let result = try replay.run(input: day, output: pcap)
    XCTAssertEqual(result.core.books.counters.messages, 20_000)

    // The same datagrams, batched the same way, straight into a core.
    let core = QuotecastCore(config: config)
    var expected = Keeping()
    var batching = try XCTUnwrap(BatchPlan("4"))
    var lastNs: UInt64 = 0
    _ = try FeedInput.forEachDatagram(path: day, messagesPerPacket: 20) { datagram, ns in
      lastNs = ns
      batching.process(core, moldPacket: datagram, nowNs: ns, into: &expected)
    }
    batching.finish(core, into: &expected)
    core.publishSnapshots(
      channel: core.encoder.snapshotChannel, upstreamSequence: core.session.expectedSequence - 1, nowNs: lastNs,
      into: &expected)

    var written: [[UInt8]] = []
    let summary = try FeedInput.forEachDatagram(path: pcap, messagesPerPacket: 20) { payload, _ in
      written.append(Array(payload))
    }
    XCTAssertEqual(summary.formatDescription.hasPrefix("pcap"), true, summary.formatDescription)
    XCTAssertEqual(UInt64(written.count), result.packetsWritten)
    XCTAssertGreaterThan(written.count, 1_000)
    XCTAssertEqual(written, expected.packets, "byte for byte, in order, snapshots included")
    let report = ReplayReport(input: day, summary: result.summary, pipeline: result.core, elapsedNs: result.elapsedNs)
    XCTAssertTrue(report.text.contains("20,000 decoded"), report.text)
  }

  func testAGeneratedPcapDayReplaysToTheSameBooksAsTheDayFile() throws {
    let raw = directory + "/day.itch"
    let pcap = directory + "/day.pcap"
    for (path, format) in [(raw, DayFileFormat.raw), (pcap, .pcap)] {
      try SyntheticDayFile.write(messages: 5_000, symbols: 8, seed: 9, out: path, format: format, messagesPerPacket: 7)
    }
    let fromRaw = try OfflineReplay(config: CoreConfig()).run(input: raw)
    let fromPcap = try OfflineReplay(config: CoreConfig()).run(input: pcap)
    XCTAssertEqual(fromRaw.core.books.counters.messages, 5_000)
    XCTAssertEqual(fromPcap.core.books.counters.messages, 5_000)
    for locate in fromRaw.core.books.activeLocates {
      XCTAssertEqual(
        bookJSON(fromRaw.core.books, locate: locate, depth: 10),
        bookJSON(fromPcap.core.books, locate: locate, depth: 10))
    }
    XCTAssertEqual(fromRaw.core.books.activeLocates.count, 8)
  }
}
