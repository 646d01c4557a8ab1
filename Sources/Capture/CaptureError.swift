import Glibc

/// Everything the Capture module throws. Malformed packets inside a capture are never thrown: they are counted in
/// `CaptureCounters` and skipped, so one bad record cannot stop a replay.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
  /// `open(2)` failed.
  case open(path: String, errno: Int32)
  /// `read(2)` failed after the file was opened.
  case read(path: String, errno: Int32)
  /// `write(2)` (or `close(2)`) failed.
  case write(path: String, errno: Int32)
  /// The gzip stream is corrupt or ends early; raised only after every byte decoded before the damage was returned.
  case gzip(String)
  /// The file starts with neither a pcap nor a pcapng magic number.
  case notACapture
  /// The capture's magic is right but its file or section header is unusable (too short, bad byte-order mark).
  case malformedHeader(String)
  /// A writer was handed something the format cannot carry.
  case invalidArgument(String)

  public var description: String {
    switch self {
    case .open(let path, let code): return "cannot open \(path): \(Self.describe(errno: code))"
    case .read(let path, let code): return "cannot read \(path): \(Self.describe(errno: code))"
    case .write(let path, let code): return "cannot write \(path): \(Self.describe(errno: code))"
    case .gzip(let message): return "gzip: \(message)"
    case .notACapture: return "not a capture: the file starts with neither a pcap nor a pcapng magic number"
    case .malformedHeader(let message): return "malformed capture header: \(message)"
    case .invalidArgument(let message): return "invalid argument: \(message)"
    }
  }

  static func describe(errno code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    return "\(String(cString: text)) (errno \(code))"
  }
}
