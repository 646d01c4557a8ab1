import ArgumentParser
import Capture
import Glibc
import QuotecastCore

struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Generate a synthetic day, replay it through the core, and show a few books and the summary.")

  @Option(help: "Messages in the generated day.")
  var messages = 500_000

  @Option(help: "Instruments in the generated day.")
  var symbols = 50

  @Option(help: "Seed for the generated day.")
  var seed: UInt64 = 7

  @Option(help: "Folder for the generated day and the output pcap.")
  var dir = "out/demo"

  @Option(help: "Books to show (the most active).")
  var show = 3

  @OptionGroup var core: CoreOptions

  func run() throws {
    let config = try core.coreConfig()
    mkdirs(dir)
    let dayPath = dir + "/demo-day.itch"
    let outputPath = dir + "/demo-output.pcap"
    print("1. generating a synthetic ITCH 5.0 day")
    try GenCommand.generate(
      messages: messages, symbols: symbols, seed: seed, out: dayPath, format: .raw,
      messagesPerPacket: core.messagesPerPacket)
    print("   \(ReplayReport.grouped(UInt64(messages))) messages, \(symbols) symbols → \(dayPath)")
    print("2. replaying it through session → decode → books → FlatBuffers encode")
    let pipeline = QuotecastCore(config: config)
    let writer = try PcapWriter(path: outputPath)
    var sink = PcapSink(writer: writer, snapshotChannel: pipeline.encoder.snapshotChannel)
    let startNs = monotonicNowNs()
    var lastTimestampNs: UInt64 = 0
    let summary = try FeedInput.forEachDatagram(path: dayPath, messagesPerPacket: core.messagesPerPacket) {
      datagram, timestampNs in
      sink.timestampNs = timestampNs
      lastTimestampNs = timestampNs
      pipeline.process(moldPacket: datagram, nowNs: timestampNs, into: &sink)
    }
    pipeline.publishSnapshots(
      channel: pipeline.encoder.snapshotChannel, upstreamSequence: pipeline.session.expectedSequence - 1,
      nowNs: lastTimestampNs, into: &sink)
    if let error = sink.error { throw error }
    try writer.close()
    let elapsedNs = monotonicNowNs() - startNs
    print("3. the busiest books at the end of the day")
    let books = pipeline.books
    func depth(_ locate: UInt16) -> Int {
      books.levelCount(locate: locate, side: .bid) + books.levelCount(locate: locate, side: .ask)
    }
    let busiest = books.activeLocates.sorted { depth($0) > depth($1) }.prefix(show)
    for locate in busiest {
      print("")
      print(ladderText(books, locate: locate, depth: 5))
    }
    print("")
    print("4. summary (output packets written to \(outputPath))")
    print(
      ReplayReport(input: dayPath, summary: summary, pipeline: pipeline, packetsOut: sink.packets, elapsedNs: elapsedNs)
        .text)
  }
}

/// mkdir -p.
func mkdirs(_ path: String) {
  var partial = path.hasPrefix("/") ? "/" : ""
  for component in path.split(separator: "/") {
    partial += (partial.isEmpty || partial.hasSuffix("/") ? "" : "/") + component
    mkdir(partial, 0o755)
  }
}
