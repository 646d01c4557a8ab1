/// What the readers skipped, and why. Every field counts records or frames, never bytes.
public struct CaptureCounters: Equatable, CustomStringConvertible, Sendable {
  /// UDP/IPv4 payloads handed out.
  public var datagrams: UInt64 = 0
  /// Frames on an interface whose link type we do not decode.
  public var unsupportedLinkType: UInt64 = 0
  /// Frames that carry something other than IPv4 (IPv6, ARP, a third VLAN tag, ...).
  public var nonIPv4: UInt64 = 0
  /// IPv4 packets whose protocol is not UDP.
  public var nonUDP: UInt64 = 0
  /// IPv4 fragments (MF set or a non-zero offset): we do not reassemble.
  public var ipFragments: UInt64 = 0
  /// Headers promise more bytes than were captured: the packet was cut by the snap length.
  public var truncatedByCaplen: UInt64 = 0
  /// IPv4 header that cannot be right (version, IHL, total length shorter than the header).
  public var badIPHeader: UInt64 = 0
  /// UDP length shorter than its own header or longer than the IP payload.
  public var badUDPHeader: UInt64 = 0
  /// The file ends inside a record (or a day-file frame).
  public var truncatedRecords: UInt64 = 0
  /// pcapng blocks whose lengths contradict each other, or that name an interface never described.
  public var malformedRecords: UInt64 = 0
  /// Records larger than the reader will buffer; skipped without being read into memory.
  public var oversizedRecords: UInt64 = 0
  /// Records with more captured bytes than their file's or interface's snap length (read anyway, as libpcap does).
  public var beyondSnapLength: UInt64 = 0

  public init() {}

  /// Every anomaly counter (everything but `datagrams`), by name, in a stable order.
  public var anomalies: [(name: String, value: UInt64)] {
    [
      ("unsupported_link_type", unsupportedLinkType), ("non_ipv4", nonIPv4), ("non_udp", nonUDP),
      ("ip_fragments", ipFragments), ("truncated_by_caplen", truncatedByCaplen), ("bad_ip_header", badIPHeader),
      ("bad_udp_header", badUDPHeader), ("truncated_records", truncatedRecords),
      ("malformed_records", malformedRecords), ("oversized_records", oversizedRecords),
      ("beyond_snap_length", beyondSnapLength),
    ]
  }

  public var description: String {
    let fields: [(String, UInt64)] = [
      ("datagrams", datagrams), ("unsupportedLinkType", unsupportedLinkType), ("nonIPv4", nonIPv4),
      ("nonUDP", nonUDP), ("ipFragments", ipFragments), ("truncatedByCaplen", truncatedByCaplen),
      ("badIPHeader", badIPHeader), ("badUDPHeader", badUDPHeader), ("truncatedRecords", truncatedRecords),
      ("malformedRecords", malformedRecords), ("oversizedRecords", oversizedRecords),
      ("beyondSnapLength", beyondSnapLength),
    ]
    let nonZero = fields.filter { $0.1 != 0 }.map { "\($0.0)=\($0.1)" }
    return nonZero.isEmpty ? "(no counts)" : nonZero.joined(separator: " ")
  }
}
