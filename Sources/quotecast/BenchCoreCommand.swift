import ITCH
import Replay
import ArgumentParser
import LatencyBench
import Glibc
import QuotecastCore

struct BenchCoreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-core",
    abstract: "Core throughput on a file held in memory: decode only, decode + books, and the whole core.")
  @Argument(help: "A day file or capture (see `quotecast gen`).")
  var input: String

  @OptionGroup var measuring: PassOptions

  @OptionGroup var core: CoreOptions

  func run() throws {
    var job = CoreThroughput()
    job.input = input
    try measuring.run(&job, core: core)
  }
}
