import ArgumentParser
import LatencyBench
import Glibc
import ITCH
import QuotecastClient
import QuotecastCore
import Synth

/// What a subscriber pays per update: decoding the packet views, and applying to the mirror.
struct BenchClientCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-client",
    abstract: "Subscriber cost per update on a generated day's output, held in memory: decode, and decode + apply.")
  @Option(help: "Messages in the generated day.")
  var messages = 2_000_000
  @Option(help: "Symbols in the generated day.")
  var symbols = 500
  @Option(help: "Seed of the generated day.")
  var seed: UInt64 = 1

  @OptionGroup var measuring: PassOptions

  @OptionGroup var core: CoreOptions

  func validate() throws {
    guard messages >= 1000 && messages <= 100_000_000 else { throw ValidationError("--messages must be 1000...1e8") }
    guard symbols >= 1 && symbols <= 60_000 else { throw ValidationError("--symbols must be 1...60000") }
  }

  func run() throws {
    var job = ClientCost()
    job.messages = messages
    job.symbols = symbols
    job.seed = seed
    try measuring.run(&job, core: core)
  }
}
