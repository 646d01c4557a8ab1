/// Writes UDP/IPv4 datagrams as a classic nanosecond pcap over Ethernet, e.g. to replay a day as multicast.
/// The same calls always produce the same bytes: no clocks, no random fields, IP identification 0.
/// A path ending in `.gz` is gzip-compressed.
public final class PcapWriter {
  /// The largest UDP payload an IPv4 datagram can carry: 65,535 - 20 (IP) - 8 (UDP).
  public static let maxPayloadBytes = 65_507

  private static let ethernetBytes = 14
  private static let ipv4Bytes = 20
  private static let udpBytes = 8
  private static let recordHeaderBytes = 16
  private let output: OutputFile

  public init(path: String) throws {
    output = try OutputFile(path: path, gzip: path.hasSuffix(".gz"))
    let header = try output.reserve(24)
    header.storeBytes(of: UInt32(0xA1B2_3C4D).littleEndian, toByteOffset: 0, as: UInt32.self)  // ns magic
    header.storeBytes(of: UInt16(2).littleEndian, toByteOffset: 4, as: UInt16.self)  // version 2.4
    header.storeBytes(of: UInt16(4).littleEndian, toByteOffset: 6, as: UInt16.self)
    header.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)  // thiszone
    header.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)  // sigfigs
    header.storeBytes(of: UInt32(65_535).littleEndian, toByteOffset: 16, as: UInt32.self)  // snaplen
    header.storeBytes(of: UInt32(LinkType.ethernet).littleEndian, toByteOffset: 20, as: UInt32.self)
  }

  /// Appends one Ethernet + IPv4 (TTL 1, DF clear) + UDP (checksum 0) frame. Addresses and ports in host order.
  public func write(
    timestampNs: UInt64, sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32,
    destinationPort: UInt16, payload: UnsafeRawBufferPointer
  ) throws {
    guard payload.count <= Self.maxPayloadBytes else {
      throw CaptureError.invalidArgument("UDP payload of \(payload.count) bytes exceeds \(Self.maxPayloadBytes)")
    }
    let seconds = timestampNs / 1_000_000_000
    guard seconds <= UInt64(UInt32.max) else {
      throw CaptureError.invalidArgument("timestamp \(timestampNs) ns is past what pcap's 32-bit seconds can hold")
    }
    let ipTotalBytes = Self.ipv4Bytes + Self.udpBytes + payload.count
    let frameBytes = Self.ethernetBytes + ipTotalBytes
    let record = try output.reserve(Self.recordHeaderBytes + frameBytes)

    func put16(_ value: UInt16, _ offset: Int) {
      record.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
    }
    func put32(_ value: UInt32, _ offset: Int) {
      record.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
    }

    // Record header, in the file's (little-endian) byte order.
    record.storeBytes(of: UInt32(seconds).littleEndian, toByteOffset: 0, as: UInt32.self)
    record.storeBytes(
      of: UInt32(timestampNs % 1_000_000_000).littleEndian, toByteOffset: 4, as: UInt32.self)
    record.storeBytes(of: UInt32(frameBytes).littleEndian, toByteOffset: 8, as: UInt32.self)
    record.storeBytes(of: UInt32(frameBytes).littleEndian, toByteOffset: 12, as: UInt32.self)

    // Ethernet: a multicast group maps to 01:00:5e plus its low 23 bits (RFC 1112); anything else gets a fixed,
    // locally administered unicast MAC.
    let ethernet = Self.recordHeaderBytes
    if destinationAddress >> 28 == 0xE {
      put16(0x0100, ethernet)
      put32(0x5E00_0000 | destinationAddress & 0x007F_FFFF, ethernet + 2)
    } else {
      put16(0x0200, ethernet)
      put32(0x0000_0001, ethernet + 2)
    }
    put16(0x0200, ethernet + 6)
    put32(0x0000_0002, ethernet + 8)
    put16(0x0800, ethernet + 12)

    let ip = ethernet + Self.ethernetBytes
    put16(0x4500, ip)  // version 4, IHL 5, TOS 0
    put16(UInt16(ipTotalBytes), ip + 2)
    put16(0, ip + 4)  // identification
    put16(0, ip + 6)  // flags and fragment offset: DF clear
    put16(0x0111, ip + 8)  // TTL 1, protocol 17 (UDP)
    put16(0, ip + 10)  // checksum, filled in below
    put32(sourceAddress, ip + 12)
    put32(destinationAddress, ip + 16)
    put16(Self.ipv4HeaderChecksum(UnsafeRawPointer(record + ip)), ip + 10)

    let udp = ip + Self.ipv4Bytes
    put16(sourcePort, udp)
    put16(destinationPort, udp + 2)
    put16(UInt16(Self.udpBytes + payload.count), udp + 4)
    put16(0, udp + 6)  // no checksum: optional over IPv4
    if let source = payload.baseAddress, payload.count > 0 {
      (record + udp + Self.udpBytes).copyMemory(from: source, byteCount: payload.count)
    }
  }

  /// Flushes the buffer and closes the file. Safe to call twice.
  public func close() throws { try output.close() }

  /// RFC 791: the ones' complement of the ones' complement sum of the header's 16-bit words.
  static func ipv4HeaderChecksum(_ header: UnsafeRawPointer) -> UInt16 {
    var sum: UInt32 = 0
    for offset in stride(from: 0, to: ipv4Bytes, by: 2) { sum += UInt32(header.loadBigEndianUInt16(at: offset)) }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
  }
}
