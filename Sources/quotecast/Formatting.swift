import Capture
import Glibc
import QuotecastCore

/// What a file held, beside what the core counted.
struct InputSummary {
  var format: InputFormat = .dayFile
  var datagrams: UInt64 = 0
  var messages: UInt64 = 0
  var capture = CaptureCounters()
  var endOfSession = false
}

/// Reads a day file (plain or gzipped) or a pcap/pcapng capture and yields MoldUDP64 datagrams
/// with a timestamp. Day files are framed by the same packetizer the replayer sends with, so the
/// upstream sequence of each message is its ordinal in the file.
enum FeedInput {
  static func detectFormat(path: String) throws -> InputFormat {
    let file = try InputFile(path: path)
    var head = [UInt8](repeating: 0, count: 4)
    var filled = 0
    while filled < 4 {
      let read = try head.withUnsafeMutableBytes { buffer in
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
      }
      if read == 0 { break }
      filled += read
    }
    return InputFormat.detect(firstBytes: Array(head[0..<filled]))
  }

  static func forEachDatagram(
    path: String, messagesPerPacket: Int, udpPort: UInt16? = nil,
    _ body: (UnsafeRawBufferPointer, UInt64) throws -> Void
  ) throws -> InputSummary {
    var summary = InputSummary()
    summary.format = try detectFormat(path: path)
    let file = try InputFile(path: path)
    switch summary.format {
    case .dayFile:
      var reader = DayFileReader(file: file)
      var packetizer = MoldPacketizer(
        session: MoldSessionID("QUOTECAST"), maxDatagramBytes: 1400, maxMessagesPerPacket: messagesPerPacket)
      var packetTimestampNs: UInt64 = 0
      while let message = try reader.next() {
        if packetizer.wouldOverflow(messageBytes: message.count) {
          try packetizer.flush { try body($0, packetTimestampNs) }
          summary.datagrams += 1
        }
        if packetizer.pendingMessages == 0 && message.count >= 11 {
          packetTimestampNs = loadBigEndianUInt48(message.baseAddress!, 5)
        }
        packetizer.append(message)
        summary.messages += 1
      }
      if packetizer.pendingMessages > 0 {
        try packetizer.flush { try body($0, packetTimestampNs) }
        summary.datagrams += 1
      }
      summary.capture = reader.counters
      summary.endOfSession = reader.endOfSession
    case .pcap, .pcapng:
      var reader = try PacketCaptureReader(file: file)
      while let datagram = try reader.next() {
        if let udpPort, datagram.destinationPort != udpPort { continue }
        summary.datagrams += 1
        try body(datagram.payload, datagram.timestampNs)
      }
      summary.capture = reader.counters
    }
    return summary
  }
}

/// Monotonic nanoseconds, for throughput.
func monotonicNowNs() -> UInt64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// Price(4) as dollars with trailing zeros trimmed: 1234500 → "123.45".
func formatPrice(_ price: UInt32) -> String {
  let whole = price / 10_000
  var fraction = String(price % 10_000)
  while fraction.count < 4 { fraction = "0" + fraction }
  while fraction.hasSuffix("0") { fraction.removeLast() }
  return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
}

func jsonString(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case _ where scalar.value < 0x20:
      out +=
        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
        + String(scalar.value, radix: 16)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}

/// One instrument's book as the JSON object `book --json` prints.
func bookJSON(_ books: OrderBooks, locate: UInt16, depth: Int) -> String {
  func side(_ side: BookSide) -> String {
    let levels = books.levels(locate: locate, side: side, depth: depth)
    return "["
      + levels.map { "{\"price\":\(formatPrice($0.price)),\"shares\":\($0.shares),\"orders\":\($0.orders)}" }
      .joined(separator: ",") + "]"
  }
  let symbol = books.symbol(locate: locate)?.description ?? ""
  return "{\"symbol\":\(jsonString(symbol)),\"locate\":\(locate),\"bids\":\(side(.bid)),\"asks\":\(side(.ask))}"
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { fputs(string, stderr) }
}
