import FuzzFiles
import ITCH
import Replay

/// The path every file-reading command takes: detection, then a day file packetized into MoldUDP64 datagrams, or
/// a capture's UDP payloads. Whatever the file, it either is refused with an error or yields datagrams; a day file's
/// datagrams must be well-framed MoldUDP64 within the datagram size, numbered without a gap, and carry every
/// message the summary counts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  let messagesPerPacket = Int(data[0] & 31) + 1
  let path = ScratchFile.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1))
  var messagesOut: UInt64 = 0
  var nextSequence: UInt64 = 1
  let dayFile = (try? InputDetection.detect(path: path))?.format == .dayFile
  let summary: InputSummary
  do {
    summary = try FeedInput.forEachDatagram(path: path, messagesPerPacket: messagesPerPacket) { datagram, _ in
      guard dayFile else { return }
      guard datagram.count <= FeedInput.datagramBytes, let packet = MoldPacket(datagram), packet.isWellFramed else {
        fatalError("a bad datagram of \(datagram.count) bytes out of the packetizer")
      }
      guard packet.sequenceNumber == nextSequence, packet.messageCount >= 1,
        Int(packet.messageCount) <= messagesPerPacket
      else { fatalError("sequence \(packet.sequenceNumber) count \(packet.messageCount), expected \(nextSequence)") }
      var blocks = packet.blocks
      var count: UInt64 = 0
      while blocks.next() != nil { count += 1 }
      guard blocks.anomaly == .none, count == UInt64(packet.messageCount) else { fatalError("blocks \(count)") }
      nextSequence += count
      messagesOut += count
    }
  } catch {
    return 0  // refused, or a damaged gzip stream: an error, not a crash
  }
  if dayFile && summary.messages != messagesOut { fatalError("summary \(summary.messages) != \(messagesOut) out") }
  return 0
}
