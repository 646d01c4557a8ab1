import ArgumentParser
import LatencyBench

struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Generate a day, run it through a live gateway over loopback, and show what a subscriber sees.",
    discussion: """
      Live (the default): the gateway serves with its built-in loopback defaults (feed in on 127.0.0.1:26400, \
      channels out on 239.255.10.x:31001 via 127.0.0.1), the day is replayed into it over UDP, and a subscriber \
      joined to every channel rebuilds the books from the multicast output. --offline runs the core on the file \
      instead and writes the packets to a pcap.
      """)
  @Option(help: "Messages in the generated day.")
  var messages = 500_000
  @Option(help: "Instruments in the generated day.")
  var symbols = 50
  @Option(help: "Seed for the generated day.")
  var seed: UInt64 = 7
  @Option(help: "Folder for the generated day (and, offline, the output pcap).")
  var dir = "out/demo"
  @Option(help: "Books to show (the deepest).")
  var show = 3
  @Option(help: "Live: replay rate in messages per second.")
  var rate: Double = 500_000
  @Flag(help: "Run the core on the file instead of a live gateway.")
  var offline = false
  @OptionGroup var core: CoreOptions

  func run() throws {
    var job = LiveDemo()
    job.messages = messages
    job.symbols = symbols
    job.seed = seed
    job.dir = dir
    job.show = show
    job.rate = rate
    job.offline = offline
    job.config = try core.coreConfig()
    job.messagesPerPacket = core.messagesPerPacket
    core.apply(to: &job.gatewayConfig)
    do { try job.run() } catch let error as BenchError {
      print("\(error)")
      throw ExitCode.failure
    }
  }
}
