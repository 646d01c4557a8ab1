/// Reads a NASDAQ day file: `[uint16 big-endian length][message]` frames, optionally gzipped (see `InputFile`).
///
/// One buffer serves the whole file; `next()` returns a view into it, so there is no allocation per message.
public struct DayFileReader {
  private let buffer: ReadBuffer
  private var finished = false
  /// Messages returned so far.
  public private(set) var messagesRead: UInt64 = 0
  /// Set when a zero-length frame (NASDAQ's end-of-session mark) was read; `next()` returns nil from then on.
  public private(set) var endOfSession = false
  /// Only `truncatedRecords` is used here: a final frame cut short by the end of the file.
  public private(set) var counters = CaptureCounters()
  /// Offset (in decompressed bytes) of the next frame.
  public private(set) var offset: UInt64 = 0
  /// Set when the file ends inside a frame: the offset where that frame starts.
  public private(set) var truncatedAtOffset: UInt64?

  public init(file: InputFile) {
    // 256 KiB holds any frame (at most 2 + 65,535 bytes) several times over, so the buffer never grows.
    buffer = ReadBuffer(file: file, initialCapacity: 1 << 18)
  }

  /// The next message without its length prefix, valid until the next call; nil at end of file or end of session.
  public mutating func next() throws -> UnsafeRawBufferPointer? {
    guard !finished else { return nil }
    guard try buffer.fill(atLeast: 2) else { return finish() }
    let messageBytes = Int(buffer.bytes.loadBigEndianUInt16(at: 0))
    if messageBytes == 0 {
      buffer.consume(2)
      offset += 2
      endOfSession = true
      finished = true
      return nil
    }
    guard try buffer.fill(atLeast: 2 + messageBytes) else { return finish() }
    let message = UnsafeRawBufferPointer(start: buffer.bytes + 2, count: messageBytes)
    // The bytes stay where they are until the next fill, so the view outlives this consume.
    buffer.consume(2 + messageBytes)
    offset += UInt64(2 + messageBytes)
    messagesRead += 1
    return message
  }

  private mutating func finish() -> UnsafeRawBufferPointer? {
    if buffer.available > 0 {
      counters.truncatedRecords += 1
      truncatedAtOffset = offset
      buffer.consumeAll()
    }
    finished = true
    return nil
  }
}
