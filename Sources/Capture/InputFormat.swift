/// What kind of file a path holds, judged from its first (decompressed) bytes.
public enum InputFormat: Equatable, Sendable {
  case dayFile
  case pcap
  case pcapng

  /// pcap's magic (µs a1b2c3d4 or ns a1b23c4d) in either byte order, or pcapng's Section Header block type
  /// 0A0D0D0A; anything else, including fewer than four bytes, is taken for a NASDAQ day file.
  public static func detect<Bytes: Sequence>(firstBytes: Bytes) -> InputFormat where Bytes.Element == UInt8 {
    var magic: UInt32 = 0
    var count = 0
    for byte in firstBytes.prefix(4) {
      magic = magic << 8 | UInt32(byte)
      count += 1
    }
    guard count == 4 else { return .dayFile }
    switch magic {
    case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1: return .pcap
    case 0x0A0D_0D0A: return .pcapng
    default: return .dayFile
    }
  }

  /// Opens `path` (gunzipping if needed), reads its first four bytes and closes it again.
  public static func detect(path: String) throws -> InputFormat {
    let file = try InputFile(path: path)
    var firstBytes: [UInt8] = [0, 0, 0, 0]
    var filled = 0
    while filled < firstBytes.count {
      let got = try firstBytes.withUnsafeMutableBytes { bytes in
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[filled...]))
      }
      if got == 0 { break }
      filled += got
    }
    return detect(firstBytes: firstBytes.prefix(filled))
  }
}
