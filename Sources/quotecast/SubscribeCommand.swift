import ArgumentParser
import Glibc
import QuotecastClient
import Transport

extension SubscribeFormat: ExpressibleByArgument {}

struct SubscribeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "subscribe",
    abstract: "Join a gateway's channels and show the feed: a live depth ladder, or one update per line.",
    discussion: """
      Joins every channel group and the snapshot group on the interface (loopback by default), receives with \
      io_uring, and keeps a mirrored book per instrument that recovers from gaps and late joins through the \
      snapshot channel. The defaults match `quotecast serve`'s.

      Without --channels, the layout is learned from the snapshot group: every gateway publishes its channels \
      there, and with --symbols only those symbols' channels are joined. A change of layout is followed.
      """)
  @Option(help: "Only these symbols (comma-separated); all by default.")
  var symbols: String?
  @Option(help: "Levels per side to show in the table.")
  var depth = 5
  @Option(help: "table (default on a terminal), lines or json (one update per line, for piping).")
  var format: SubscribeFormat?
  @Option(help: "Pin the receiving thread to this CPU.")
  var cpu: Int?
  @Option(help: "The gateway's channel count (channels.count); without it, learned from the snapshot group.")
  var channels: Int?
  @Option(help: "Without --channels: how long to listen for the layout, in seconds.")
  var discoverTimeout = 3.0
  @Option(help: "The gateway's channels.group_base (channel n is group_base + n).")
  var groupBase = ChannelGroups.defaultBase.description
  @Option(help: "The gateway's snapshot.group.")
  var snapshotGroup = ChannelGroups.defaultSnapshot.description
  @Option(help: "The interface to join on.")
  var interface = "127.0.0.1"
  @Option(help: "Stop after this many seconds.")
  var duration: Double?
  @Option(help: "Stop after printing this many updates (lines and json).")
  var count: Int?
  @Option(help: "Levels per side the gateway publishes (its channels.depth); the mirror keeps this many.")
  var bookDepth = 10
  @Option(help: "At the end, write every mirrored book and the subscriber's counters as JSON to this file.")
  var booksJSON: String?

  func validate() throws {
    guard IPv4Endpoint(groupBase)?.isMulticast == true else {
      throw ValidationError("--group-base must be a multicast address:port, got \(groupBase)")
    }
    guard IPv4Endpoint(snapshotGroup)?.isMulticast == true else {
      throw ValidationError("--snapshot-group must be a multicast address:port, got \(snapshotGroup)")
    }
    guard IPv4Endpoint.parseAddress(interface) != nil else {
      throw ValidationError("--interface must be an IPv4 address")
    }
    if let channels, !(channels >= 1 && channels <= 1024) { throw ValidationError("--channels must be 1...1024") }
    guard discoverTimeout > 0 && discoverTimeout <= 600 else {
      throw ValidationError("--discover-timeout must be 0...600 seconds")
    }
    guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
    if let cpu, !CPUPinning.isAllowed(cpu) { throw ValidationError("--cpu \(cpu) does not exist or is not allowed") }
  }

  func run() throws {
    var job = FeedFollower()
    job.symbols = symbols
    job.depth = depth
    job.format = format
    job.cpu = cpu
    job.channels = channels
    job.discoverTimeout = discoverTimeout
    job.groupBase = IPv4Endpoint(groupBase)!
    job.snapshotGroup = IPv4Endpoint(snapshotGroup)!
    job.interface = IPv4Endpoint.parseAddress(interface)!
    job.duration = duration
    job.count = count
    job.bookDepth = bookDepth
    job.booksJSON = booksJSON
    // A refusal is reported as a bad option is (exit code 64).
    do { try job.run() } catch let error as SubscribeError { throw ValidationError(error.description) }
  }
}
