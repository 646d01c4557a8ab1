import Capture
import ITCH
import Synth

/// How `quotecast gen` writes a day.
public enum DayFileFormat: String, CaseIterable, Sendable {
  /// A NASDAQ day file ([length: UInt16 BE][message] frames; gzipped if the name ends in .gz).
  case raw
  /// MoldUDP64 packets over UDP/IPv4 to 127.0.0.1:26400, ending with an end-of-session packet.
  case pcap
}

/// A synthetic ITCH 5.0 day written to a file: the same seed gives the same bytes.
public enum SyntheticDayFile {
  /// Where the pcap's datagrams go (the gateway's default feed port).
  public static let feedPort: UInt16 = 26400

  public static func write(
    messages: Int, symbols: Int, seed: UInt64, out: String, format: DayFileFormat, messagesPerPacket: Int
  ) throws {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: symbols, seed: seed))
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: ITCHWriter.maxMessageBytes, alignment: 8)
    defer { buffer.deallocate() }
    switch format {
    case .raw:
      let writer = try DayFileWriter(path: out)
      while let length = day.next(into: buffer) {
        try writer.write(message: UnsafeRawBufferPointer(start: buffer, count: length))
      }
      try writer.close()
    case .pcap:
      let writer = try PcapWriter(path: out)
      var packetizer = MoldPacketizer(
        session: MoldSessionID("QUOTECAST"), maxDatagramBytes: 1400, maxMessagesPerPacket: messagesPerPacket)
      var packetTimestampNs: UInt64 = 0
      func send(_ datagram: UnsafeRawBufferPointer) throws {
        try writer.write(
          timestampNs: packetTimestampNs, sourceAddress: 0x7F00_0001, sourcePort: feedPort + 1,
          destinationAddress: 0x7F00_0001, destinationPort: feedPort, payload: datagram)
      }
      while let length = day.next(into: buffer) {
        if packetizer.wouldOverflow(messageBytes: length) { try packetizer.flush(send) }
        if packetizer.pendingMessages == 0 { packetTimestampNs = loadBigEndianUInt48(buffer, 5) }
        packetizer.append(UnsafeRawBufferPointer(start: buffer, count: length))
      }
      try packetizer.flush(send)
      try packetizer.control(endOfSession: true, send)
      try writer.close()
    }
  }
}
