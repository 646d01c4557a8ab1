import Capture
import ITCH

/// What a file held, beside what the core counted.
public struct InputSummary: Sendable {
  public var format: InputFormat = .dayFile
  /// The file was gzip-compressed (and read through zlib).
  public var gzip = false
  public var datagrams: UInt64 = 0
  public var messages: UInt64 = 0
  public var capture = CaptureCounters()
  /// Day-file messages longer than any MoldUDP64 datagram can carry: skipped by their length prefix.
  public var oversizedMessages: UInt64 = 0
  /// Where a day file ends inside a frame (the byte offset of that frame, in decompressed bytes).
  public var truncatedAtOffset: UInt64?
  public var endOfSession = false

  public init() {}

  /// "day file", "gzip-compressed pcap", ...: what detection found.
  public var formatDescription: String { InputDetection.describe(format, gzip: gzip) }

  /// Framing anomalies of the file itself (not of the feed in it), by name, in a stable order.
  public var anomalies: [(name: String, value: UInt64)] {
    capture.anomalies + [("oversized_messages", oversizedMessages)]
  }
}

/// Why a file cannot be read as a feed at all.
public enum FeedInputError: Error, CustomStringConvertible, Equatable {
  /// Zero bytes (after decompression).
  case empty(path: String)
  /// None of the formats we read.
  case unrecognized(path: String, firstBytes: [UInt8])
  /// The file (or its gzip stream) broke after `messages` messages or `datagrams` datagrams were read.
  case damaged(path: String, after: String, reason: String)

  public var description: String {
    switch self {
    case .empty(let path): return "\(path) is empty: \(InputDetection.accepted)"
    case .unrecognized(let path, let firstBytes):
      let hex = firstBytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined(separator: " ")
      return "\(path) is not a feed file (it starts with \(hex)): \(InputDetection.accepted)"
    case .damaged(let path, let after, let reason): return "\(path): \(reason), after \(after)"
    }
  }
}

/// Decides what a file holds from its first (decompressed) bytes.
public enum InputDetection {
  public static let accepted =
    "quotecast reads NASDAQ ITCH 5.0 day files ([uint16 length][message] frames), pcap and pcapng captures "
    + "of MoldUDP64 over UDP/IPv4, each plain or gzip-compressed"

  public static func describe(_ format: InputFormat, gzip: Bool) -> String {
    let name =
      switch format {
      case .dayFile: "day file"
      case .pcap: "pcap"
      case .pcapng: "pcapng"
      }
    return gzip ? "gzip-compressed \(name)" : name
  }

  /// A day file has no magic number, so it is recognised by its first frame: a known ITCH 5.0 message type with
  /// exactly that type's length (or NASDAQ's zero-length end-of-session frame). Random bytes pass with a chance of
  /// about 23 in 16 million.
  public static func looksLikeDayFile(_ head: [UInt8]) -> Bool {
    guard head.count >= 2 else { return false }
    let length = Int(head[0]) << 8 | Int(head[1])
    if length == 0 { return true }
    guard head.count >= 3 else { return false }
    let expected = ITCHMessageType.length(of: head[2])
    return expected != 0 && expected == length
  }

  /// The format, or a clear error for an empty or unrecognised file.
  public static func detect(path: String) throws -> (format: InputFormat, gzip: Bool) {
    let file = try InputFile(path: path)
    var head = [UInt8](repeating: 0, count: 4)
    var filled = 0
    while filled < head.count {
      let read = try head.withUnsafeMutableBytes { buffer in
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
      }
      if read == 0 { break }
      filled += read
    }
    let first = Array(head[0..<filled])
    if first.isEmpty { throw FeedInputError.empty(path: path) }
    let format = InputFormat.detect(firstBytes: first)
    if format == .dayFile && !looksLikeDayFile(first) {
      throw FeedInputError.unrecognized(path: path, firstBytes: first)
    }
    return (format, file.isGzip)
  }
}

/// Reads a day file (plain or gzipped) or a pcap/pcapng capture and yields MoldUDP64 datagrams with a timestamp.
/// Day files are framed by the same packetizer the replayer sends with, so the upstream sequence of each message is
/// its ordinal in the file (a message skipped as oversized takes no sequence number).
///
/// Nothing in the file traps: what cannot be framed is counted in the summary and skipped; a file that cannot be
/// read at all, or whose gzip stream breaks, throws `FeedInputError` or `CaptureError` with a clear message.
public enum FeedInput {
  public static let datagramBytes = 1400

  public static func forEachDatagram(
    path: String, messagesPerPacket: Int, udpPort: UInt16? = nil,
    _ body: (UnsafeRawBufferPointer, UInt64) throws -> Void
  ) throws -> InputSummary {
    var summary = InputSummary()
    (summary.format, summary.gzip) = try InputDetection.detect(path: path)
    let file = try InputFile(path: path)
    switch summary.format {
    case .dayFile:
      var reader = DayFileReader(file: file)
      do {
        try packetize(dayFile: &reader, messagesPerPacket: messagesPerPacket, summary: &summary, body)
      } catch let error as CaptureError {
        throw damaged(error, path: path, after: "\(summary.messages) messages")
      }
      summary.capture = reader.counters
      summary.truncatedAtOffset = reader.truncatedAtOffset
      summary.endOfSession = reader.endOfSession
    case .pcap, .pcapng:
      var reader: PacketCaptureReader
      do {
        reader = try PacketCaptureReader(file: file)
      } catch let error as CaptureError {
        throw damaged(error, path: path, after: "0 datagrams")
      }
      do {
        while let datagram = try reader.next() {
          if let udpPort, datagram.destinationPort != udpPort { continue }
          summary.datagrams += 1
          try body(datagram.payload, datagram.timestampNs)
        }
      } catch let error as CaptureError {
        throw damaged(error, path: path, after: "\(summary.datagrams) datagrams")
      }
      summary.capture = reader.counters
    }
    return summary
  }

  /// Frames a day file's messages into MoldUDP64 datagrams of at most `datagramBytes`.
  public static func packetize(
    dayFile reader: inout DayFileReader, messagesPerPacket: Int, summary: inout InputSummary,
    _ body: (UnsafeRawBufferPointer, UInt64) throws -> Void
  ) throws {
    var packetizer = MoldPacketizer(
      session: MoldSessionID("QUOTECAST"), maxDatagramBytes: datagramBytes, maxMessagesPerPacket: messagesPerPacket)
    var packetTimestampNs: UInt64 = 0
    var datagrams: UInt64 = 0
    while let message = try reader.next() {
      // The timestamp of the first message that opens a packet stamps the whole packet.
      let opensPacket =
        packetizer.pendingMessages == 0 || packetizer.wouldOverflow(messageBytes: message.count)
      let added = try packetizer.add(message) { datagram in
        try body(datagram, packetTimestampNs)
        datagrams += 1
      }
      guard added else {
        summary.oversizedMessages += 1
        continue
      }
      if opensPacket && message.count >= 11 { packetTimestampNs = loadBigEndianUInt48(message.baseAddress!, 5) }
      summary.messages += 1
    }
    try packetizer.flush { datagram in
      try body(datagram, packetTimestampNs)
      datagrams += 1
    }
    summary.datagrams += datagrams
  }

  private static func damaged(_ error: CaptureError, path: String, after: String) -> Error {
    switch error {
    case .gzip(let reason): return FeedInputError.damaged(path: path, after: after, reason: "gzip stream: \(reason)")
    case .malformedHeader(let reason):
      return FeedInputError.damaged(path: path, after: after, reason: "malformed capture header: \(reason)")
    case .read, .notACapture: return FeedInputError.damaged(path: path, after: after, reason: error.description)
    default: return error
    }
  }
}
