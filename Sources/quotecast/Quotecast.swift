import ArgumentParser
import Encoding
import Gateway
import LatencyBench
import QuotecastCore

@main
struct Quotecast: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "quotecast",
    abstract: "Low-latency NASDAQ TotalView-ITCH 5.0 market data fan-out gateway.",
    subcommands: [
      DemoCommand.self, ServeCommand.self, SubscribeCommand.self, GenCommand.self, ReplayCommand.self, BookCommand.self,
      BenchCommand.self, BenchCoreCommand.self, BenchSendCommand.self, BenchClientCommand.self,
    ]
  )
}

/// Options shared by commands that run the core.
struct CoreOptions: ParsableArguments {
  @Option(help: "Number of incremental channels instruments are partitioned across (locate % channels).")
  var channels = 1

  @Option(help: "Price levels per side published in level updates.")
  var depth = 10

  @Option(help: "Largest output packet (UDP payload bytes).")
  var datagramBytes = 1400

  @Option(help: "Levels per side in full-book snapshots.")
  var snapshotDepth = 10

  @Option(help: "Packet writer: hand-laid (fast path) or flatbuffers (libflatbuffers reference).")
  var encoder = EncoderBackend.handLaid

  @Option(help: "Messages per MoldUDP64 packet when framing a day file (its packets close output packets).")
  var messagesPerPacket = 20

  @Option(help: "Live orders the books preallocate for.")
  var maxLiveOrders = 1 << 21

  @Option(help: "Live price levels the books preallocate for.")
  var maxLevels = 1 << 19

  @Option(help: "Order references above this are rejected (caps the order store's page directory).")
  var maxOrderReference: UInt64 = (1 << 32) - 1

  @Option(
    help: "Order-store pages (256 references, 4 KiB each) live at once; replay's report shows a day's peak.")
  var maxOrderPages = 1 << 16

  /// The same settings as the gateway's config sections: a flag and its YAML key are one setting.
  func apply(to config: inout GatewayConfig) {
    config.channels.count = channels
    config.channels.depth = depth
    config.channels.datagramBytes = datagramBytes
    config.channels.encoder = encoder
    config.snapshot.depth = snapshotDepth
    config.books.maxLiveOrders = maxLiveOrders
    config.books.maxLevels = maxLevels
    config.books.maxOrderReference = maxOrderReference
    config.books.maxOrderPages = maxOrderPages
  }

  /// The core's settings from those sections, checked by their key tables; gap filling stays off
  /// (a file has no other line to fill from).
  func coreConfig() throws -> CoreConfig {
    var config = GatewayConfig()
    apply(to: &config)
    var problems = config.coreProblems()
    if messagesPerPacket < 1 || messagesPerPacket > 4096 {
      problems.append("messagesPerPacket: must be 1...4096, got \(messagesPerPacket)")
    }
    if !problems.isEmpty {
      throw ValidationError("invalid options:\n  " + problems.joined(separator: "\n  "))
    }
    return GatewayConfig.coreConfig(channels: config.channels, snapshot: config.snapshot, books: config.books)
  }
}

/// Options of the in-memory benchmarks: timed passes (the median is reported) and the output's form.
struct PassOptions: ParsableArguments {
  @Option(help: "Timed passes per stage; the median is reported.")
  var passes = 5

  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard passes >= 1 && passes <= 100 else { throw ValidationError("--passes must be 1...100") }
  }

  /// Sets these and the core's options on `job` and runs it; a refusal is reported as a bad option is (exit 64).
  func run<Job: MeasuredCoreRun>(_ job: inout Job, core: CoreOptions) throws {
    job.passes = passes
    job.json = json
    job.config = try core.coreConfig()
    job.messagesPerPacket = core.messagesPerPacket
    do { try job.run() } catch let error as BenchError { throw ValidationError(error.description) }
  }
}

extension EncoderBackend: ExpressibleByArgument {}
