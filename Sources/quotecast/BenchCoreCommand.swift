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
  @Option(help: "Timed passes per stage; the median is reported.")
  var passes = 5
  @OptionGroup var core: CoreOptions
  @Flag(help: "Print one JSON object instead of a table.")
  var json = false

  func validate() throws {
    guard passes >= 1 && passes <= 100 else { throw ValidationError("--passes must be 1...100") }
  }

  func run() throws {
    var job = CoreThroughput()
    job.input = input
    job.passes = passes
    job.json = json
    try job.run()
  }
}
