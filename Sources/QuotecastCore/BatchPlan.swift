/// Groups input datagrams into output batches offline, the way the live gateway groups what is waiting, so that a
/// given batching can be reproduced byte for byte (`replay --batch-datagrams`, `--batch-plan`) and tested.
public struct BatchPlan: Sendable, Equatable {
  /// Input datagrams per batch, used in turn and then from the start again. `[1]`: no batching.
  public let sizes: [Int]
  var index = 0
  var inBatch = 0

  public init(sizes: [Int]) {
    precondition(!sizes.isEmpty && sizes.allSatisfy { $0 >= 1 }, "batch sizes are at least 1")
    self.sizes = sizes
  }

  /// "4" or "3,1,1,5" (commas, spaces or newlines between sizes), each 1...4096; nil for anything else.
  public init?(_ text: String) {
    let fields = text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\t" })
    let sizes = fields.compactMap { Int($0) }
    guard !sizes.isEmpty, sizes.count == fields.count, sizes.allSatisfy({ $0 >= 1 && $0 <= 4096 }) else { return nil }
    self.init(sizes: sizes)
  }

  /// Runs one datagram through `core`, opening a batch before the first of a group and closing it after the last.
  public mutating func process<Sink: PacketSink>(
    _ core: QuotecastCore, moldPacket: UnsafeRawBufferPointer, nowNs: UInt64, into sink: inout Sink
  ) {
    if inBatch == 0 { core.openBatch() }
    core.process(moldPacket: moldPacket, nowNs: nowNs, into: &sink)
    inBatch += 1
    if inBatch >= sizes[index] { close(core, into: &sink) }
  }

  /// Closes a batch left open by the end of the input.
  public mutating func finish<Sink: PacketSink>(_ core: QuotecastCore, into sink: inout Sink) {
    if inBatch > 0 { close(core, into: &sink) }
  }

  mutating func close<Sink: PacketSink>(_ core: QuotecastCore, into sink: inout Sink) {
    core.closeBatch(into: &sink)
    inBatch = 0
    index = (index + 1) % sizes.count
  }
}
