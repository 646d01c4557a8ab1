/// One UDP/IPv4 payload from a capture. `payload` points into the reader's buffer and is valid only until the
/// reader's next call to `next()`.
public struct UDPDatagram {
  /// Capture time in nanoseconds since the Unix epoch (0 for pcapng Simple Packet Blocks, which carry no time).
  public var timestampNs: UInt64
  /// IPv4 addresses and ports in host byte order: 127.0.0.1 is 0x7F00_0001.
  public var sourceAddress: UInt32
  public var sourcePort: UInt16
  public var destinationAddress: UInt32
  public var destinationPort: UInt16
  /// Exactly the UDP payload as bounded by the UDP length field (link padding and trailers excluded).
  public var payload: UnsafeRawBufferPointer

  public init(
    timestampNs: UInt64, sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32,
    destinationPort: UInt16, payload: UnsafeRawBufferPointer
  ) {
    self.timestampNs = timestampNs
    self.sourceAddress = sourceAddress
    self.sourcePort = sourcePort
    self.destinationAddress = destinationAddress
    self.destinationPort = destinationPort
    self.payload = payload
  }
}
