import ITCH
import QuotecastClient
import QuotecastCore
import Synth

/// How the send rate moves through a run.
public enum LoadProfile: String, Sendable, CaseIterable {
  /// The same rate throughout.
  case flat
  /// Shaped like a trading day's edges: the first tenth at 4× the rate (the open), the last tenth
  /// at 3× (the close), the middle at the rate.
  case openClose = "open-close"

  /// The rate multiplier at a fraction `position` (0..<1) of the run.
  func multiplier(at position: Double) -> Double {
    switch self {
    case .flat: 1
    case .openClose: position < 0.1 ? 4 : position >= 0.9 ? 3 : 1
    }
  }
}

/// A generated day, framed into MoldUDP64 datagrams held in memory, with the time each one is
/// meant to leave (open loop: the schedule never waits for the system under test).
public struct LoadPlan: Sendable {
  /// Datagrams back to back.
  public let bytes: [UInt8]
  public let datagrams: [(offset: Int, count: Int)]
  /// When datagram i is meant to be sent, ns after the start.
  public let intendedNs: [UInt64]
  /// The datagram carrying message `sequence` (index sequence - 1).
  public let datagramOfMessage: [Int32]
  public let messages: Int
  /// Messages by ITCH type, for the report.
  public let mix: [UInt8: Int]
  public let rate: Double
  public let profile: LoadProfile
  public let messagesPerPacket: Int
  public let seconds: Double

  /// A day of `rate × seconds` messages (more with the open-close profile), `messagesPerPacket` to a
  /// datagram, scheduled at `rate` messages a second shaped by `profile`.
  public init(
    rate: Double, seconds: Double, profile: LoadProfile = .flat, messagesPerPacket: Int = 4, symbols: Int = 500,
    seed: UInt64 = 11
  ) {
    self.rate = rate
    self.profile = profile
    self.messagesPerPacket = messagesPerPacket
    self.seconds = seconds
    // Messages the schedule needs: integrate the rate over the run (in 1,000 slices).
    var total = 0.0
    for slice in 0..<1000 { total += rate * profile.multiplier(at: (Double(slice) + 0.5) / 1000) * seconds / 1000 }
    let messages = max(1, Int(total))
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    var packetizer = MoldPacketizer(session: MoldSessionID("QCBENCH"), maxMessagesPerPacket: messagesPerPacket)
    var bytes: [UInt8] = []
    var datagrams: [(offset: Int, count: Int)] = []
    bytes.reserveCapacity(messages * 40)
    func take(_ datagram: UnsafeRawBufferPointer) {
      datagrams.append((bytes.count, datagram.count))
      bytes.append(contentsOf: datagram)
    }
    day.forEachDatagram(&packetizer, take)
    mix = day.counts
    // The schedule: datagram i leaves when the messages before it have been sent at the profile's rate.
    var intended: [UInt64] = []
    var ofMessage: [Int32] = []
    intended.reserveCapacity(datagrams.count)
    ofMessage.reserveCapacity(messages)
    var clockNs = 0.0
    for (index, datagram) in datagrams.enumerated() {
      intended.append(UInt64(clockNs))
      let count = bytes.withUnsafeBytes {
        Int(
          MoldPacket(UnsafeRawBufferPointer(rebasing: $0[datagram.offset..<datagram.offset + datagram.count]))!
            .messageCount)
      }
      for _ in 0..<count { ofMessage.append(Int32(index)) }
      let position = min(0.999_999, clockNs / (seconds * 1e9))
      clockNs += Double(count) / (rate * profile.multiplier(at: position)) * 1e9
    }
    self.bytes = bytes
    self.datagrams = datagrams
    intendedNs = intended
    datagramOfMessage = ofMessage
    self.messages = ofMessage.count
  }

  /// Which upstream messages make output: the offline core on the same datagrams (a subscriber
  /// should see exactly these; the rest are loss).
  public func sequencesWithOutput(config: CoreConfig) -> [Bool] {
    struct Marker: PacketSink {
      var seen: [Bool]
      mutating func send(channel: UInt16, packet: UnsafeRawBufferPointer) {
        guard let view = PacketView(packet) else { return }
        for index in 0..<view.updateCount {
          guard let sequence = view.update(at: index)?.upstreamSequence else { continue }
          if sequence >= 1 && sequence < UInt64(seen.count) { seen[Int(sequence)] = true }
        }
      }
    }
    let core = QuotecastCore(config: config)
    var marker = Marker(seen: [Bool](repeating: false, count: messages + 1))
    bytes.withUnsafeBytes { raw in
      for datagram in datagrams {
        core.process(
          moldPacket: UnsafeRawBufferPointer(rebasing: raw[datagram.offset..<datagram.offset + datagram.count]),
          nowNs: 0, into: &marker)
      }
    }
    return marker.seen
  }
}
