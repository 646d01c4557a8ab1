/// Writes a NASDAQ day file: `[uint16 big-endian length][message]` frames, gzip-compressed when the path ends
/// in `.gz`.
public final class DayFileWriter {
  private let output: OutputFile
  /// Messages written so far (the end-of-session frame not included).
  public private(set) var messagesWritten: UInt64 = 0

  public init(path: String) throws {
    output = try OutputFile(path: path, gzip: path.hasSuffix(".gz"))
  }

  /// Appends one message; it must be 1 to 65,535 bytes (a zero length would read back as end of session).
  public func write(message: UnsafeRawBufferPointer) throws {
    guard message.count > 0, message.count <= Int(UInt16.max) else {
      throw CaptureError.invalidArgument("day-file message of \(message.count) bytes (must be 1...65535)")
    }
    let prefix = try output.reserve(2)
    prefix.storeBytes(of: UInt16(message.count).bigEndian, as: UInt16.self)
    try output.append(message)
    messagesWritten += 1
  }

  /// Appends the zero-length frame that marks the end of the session.
  public func writeEndOfSession() throws {
    let prefix = try output.reserve(2)
    prefix.storeBytes(of: UInt16(0), as: UInt16.self)
  }

  /// Flushes the buffer (and the gzip trailer) and closes the file. Safe to call twice.
  public func close() throws { try output.close() }
}
