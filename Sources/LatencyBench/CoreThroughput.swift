import Glibc
import ITCH
import QuotecastClient
import QuotecastCore
import Replay
import Transport

/// Every datagram of an input, held in one contiguous buffer so timing excludes file I/O.
public struct LoadedFeed {
  var bytes: [UInt8] = []
  var datagrams: [(offset: Int, count: Int)] = []
  var messages: UInt64 = 0

  public init(path: String, messagesPerPacket: Int) throws {
    var bytes: [UInt8] = []
    var datagrams: [(offset: Int, count: Int)] = []
    let summary = try FeedInput.forEachDatagram(path: path, messagesPerPacket: messagesPerPacket) { datagram, _ in
      datagrams.append((bytes.count, datagram.count))
      bytes.append(contentsOf: datagram)
    }
    self.bytes = bytes
    self.datagrams = datagrams
    messages = summary.messages
  }
}

/// A benchmark of the core's output held in memory: timed passes (the median reported) through a core with
/// `config`, printed as a table or as JSON.
public protocol MeasuredCoreRun {
  var passes: Int { get set }
  var json: Bool { get set }
  var config: CoreConfig { get set }
  /// MoldUDP64 framing of a day file.
  var messagesPerPacket: Int { get set }
  func run() throws
}

/// `quotecast bench-core`: core throughput on a file held in memory (decode only, decode + books, the whole
/// core), stages interleaved pass by pass, medians.
public struct CoreThroughput: MeasuredCoreRun {

  /// A day file or capture.
  public var input = ""

  /// Timed passes per stage; the median is reported.
  public var passes = 5
  /// The core the input runs through.
  public var config = CoreConfig()
  /// MoldUDP64 framing of a day file.
  public var messagesPerPacket = 20

  /// Print one JSON object instead of a table.
  public var json = false

  public func run() throws {
    let feed = try LoadedFeed(path: input, messagesPerPacket: messagesPerPacket)
    guard feed.messages > 0 else { throw BenchError("\(input) holds no messages") }
    var results: [(name: String, nsPerMessage: Double)] = []
    var checksum: UInt64 = 0
    // Interleave the stages so drift on a noisy machine hits all three alike.
    var samples: [String: [Double]] = [:]
    for _ in 0..<passes {
      let (decodeNs, sum) = decodeOnly(feed)
      checksum &+= sum
      samples["decode", default: []].append(perMessage(decodeNs, feed))
      let booksOnly = QuotecastCore(config: config)
      samples["decode+book", default: []].append(
        perMessage(timed(feed) { booksOnly.applyToBooks(moldPacket: $0) }, feed))
      let whole = QuotecastCore(config: config)
      var sink = DiscardSink()
      samples["decode+book+encode", default: []].append(
        perMessage(timed(feed) { whole.process(moldPacket: $0, nowNs: 0, into: &sink) }, feed))
    }
    for name in ["decode", "decode+book", "decode+book+encode"] {
      let sorted = samples[name]!.sorted()
      results.append((name, sorted[sorted.count / 2]))
    }
    if checksum == 42 { print("") }  // keeps the decode pass observable
    if json {
      let stages = results.map {
        "\"\($0.name)\":{\"ns_per_message\":\(String.fixed($0.nsPerMessage, digits: 2)),"
          + "\"messages_per_second\":\(Int(1e9 / $0.nsPerMessage))}"
      }
      print(
        "{\"input\":\(jsonString(input)),\"messages\":\(feed.messages),\"datagrams\":\(feed.datagrams.count),"
          + "\"passes\":\(passes),\"stages\":{\(stages.joined(separator: ","))}}")
    } else {
      print("input      \(input): \(ReplayReport.grouped(feed.messages)) messages in \(feed.datagrams.count) packets")
      print("stage                  ns/msg      msg/s   (median of \(passes), timed excluding file I/O)")
      for (name, ns) in results {
        print(
          name.padding(20) + String.fixed(ns, digits: 2).leftPadded(10)
            + ReplayReport.grouped(UInt64(1e9 / ns)).leftPadded(14))
      }
    }
  }

  func perMessage(_ elapsedNs: UInt64, _ feed: LoadedFeed) -> Double { Double(elapsedNs) / Double(feed.messages) }

  /// Runs `body` over every datagram and returns the elapsed nanoseconds (the loop only).
  func timed(_ feed: LoadedFeed, _ body: (UnsafeRawBufferPointer) -> Void) -> UInt64 {
    feed.bytes.withUnsafeBytes { raw in
      let start = Clock.monotonicNs()
      for datagram in feed.datagrams {
        body(UnsafeRawBufferPointer(rebasing: raw[datagram.offset..<datagram.offset + datagram.count]))
      }
      return Clock.monotonicNs() - start
    }
  }

  /// Framing plus a length check and a field read per message: the decode floor.
  func decodeOnly(_ feed: LoadedFeed) -> (elapsedNs: UInt64, checksum: UInt64) {
    var checksum: UInt64 = 0
    let elapsedNs = timed(feed) { checksum &+= MoldPacket.decodeFloorChecksum($0) }
    return (elapsedNs, checksum)
  }

  public init() {}
}
