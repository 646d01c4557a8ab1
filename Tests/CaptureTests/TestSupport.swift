import Foundation
import XCTest

@testable import Capture

/// Each test gets its own temporary directory, removed afterwards.
class CaptureTestCase: XCTestCase {
  private(set) var directory = ""

  override func setUpWithError() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("capture-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    directory = url.path
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func path(_ name: String) -> String { directory + "/" + name }

  @discardableResult
  func writeFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let filePath = path(name)
    try Data(bytes).write(to: URL(fileURLWithPath: filePath))
    return filePath
  }

  func readFile(_ filePath: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: filePath)))
  }

  /// Every message of a day file, copied out, plus the reader's final state.
  func readDayFile(_ filePath: String, readChunkBytes: Int = 1 << 20) throws -> (
    messages: [[UInt8]], reader: DayFileReader
  ) {
    var reader = DayFileReader(file: try InputFile(path: filePath, readChunkBytes: readChunkBytes))
    var messages: [[UInt8]] = []
    while let message = try reader.next() { messages.append([UInt8](message)) }
    return (messages, reader)
  }

  /// Every datagram of a capture, copied out, plus the counters.
  func readCapture(_ filePath: String, readChunkBytes: Int = 1 << 20) throws -> (
    datagrams: [Datagram], counters: CaptureCounters
  ) {
    var reader = try PacketCaptureReader(file: try InputFile(path: filePath, readChunkBytes: readChunkBytes))
    var datagrams: [Datagram] = []
    while let datagram = try reader.next() { datagrams.append(Datagram(datagram)) }
    return (datagrams, reader.counters)
  }
}

/// A `UDPDatagram` with its payload copied, so it can be kept and compared.
struct Datagram: Equatable, CustomStringConvertible {
  var timestampNs: UInt64
  var sourceAddress: UInt32
  var sourcePort: UInt16
  var destinationAddress: UInt32
  var destinationPort: UInt16
  var payload: [UInt8]

  var description: String {
    "Datagram(t=\(timestampNs) \(String(sourceAddress, radix: 16)):\(sourcePort) → "
      + "\(String(destinationAddress, radix: 16)):\(destinationPort) \(payload))"
  }
}

extension Datagram {
  init(_ datagram: UDPDatagram) {
    self.init(
      timestampNs: datagram.timestampNs, sourceAddress: datagram.sourceAddress, sourcePort: datagram.sourcePort,
      destinationAddress: datagram.destinationAddress, destinationPort: datagram.destinationPort,
      payload: [UInt8](datagram.payload))
  }
}

/// Little helper for writing test files byte by byte, in either byte order.
struct ByteWriter {
  var bytes: [UInt8] = []
  var bigEndian = false

  init(bigEndian: Bool = false) { self.bigEndian = bigEndian }

  mutating func append(_ more: [UInt8]) { bytes += more }
  mutating func u8(_ value: UInt8) { bytes.append(value) }
  mutating func u16(_ value: UInt16) {
    let ordered = bigEndian ? value.bigEndian : value.littleEndian
    withUnsafeBytes(of: ordered) { bytes += $0 }
  }
  mutating func u32(_ value: UInt32) {
    let ordered = bigEndian ? value.bigEndian : value.littleEndian
    withUnsafeBytes(of: ordered) { bytes += $0 }
  }
  mutating func u64(_ value: UInt64) {
    let ordered = bigEndian ? value.bigEndian : value.littleEndian
    withUnsafeBytes(of: ordered) { bytes += $0 }
  }
  mutating func padTo4() { while bytes.count % 4 != 0 { bytes.append(0) } }
}

/// Frames and packets shared by the capture tests. The literal ones are spelled out byte by byte.
enum Frames {
  static let hello: [UInt8] = Array("HELLO".utf8)

  /// IPv4 + UDP, 10.0.0.1:12345 → 233.54.12.111:26477, payload "HELLO"; checksum worked out by hand:
  /// 4500 + 0021 + 0111 + 0A00 + 0001 + E936 + 0C6F = 0x145D8 → 0x45D9 → ~ = 0xBA26.
  static let helloIPv4: [UInt8] = [
    0x45, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x01, 0x11, 0xBA, 0x26,
    0x0A, 0x00, 0x00, 0x01, 0xE9, 0x36, 0x0C, 0x6F,
    0x30, 0x39, 0x67, 0x6D, 0x00, 0x0D, 0x00, 0x00,
    0x48, 0x45, 0x4C, 0x4C, 0x4F,
  ]
  static let helloDatagramAddresses = (source: UInt32(0x0A00_0001), destination: UInt32(0xE936_0C6F))

  /// Ethernet header (to 01:00:5e:36:0c:6f from 00:11:22:33:44:55) with the given EtherType tags in front of IPv4.
  static func ethernet(vlanTags: [[UInt8]] = [], etherType: [UInt8] = [0x08, 0x00]) -> [UInt8] {
    [0x01, 0x00, 0x5E, 0x36, 0x0C, 0x6F, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55] + vlanTags.joined() + etherType
  }

  static let helloEthernet = ethernet() + helloIPv4

  /// A datagram as the readers should return it for `helloIPv4`.
  static func helloDatagram(timestampNs: UInt64) -> Datagram {
    Datagram(
      timestampNs: timestampNs, sourceAddress: 0x0A00_0001, sourcePort: 12345, destinationAddress: 0xE936_0C6F,
      destinationPort: 26477, payload: hello)
  }

  /// An IPv4 packet built field by field; `udpLength` and `totalLength` default to the honest values.
  static func ipv4(
    source: UInt32 = 0xC0A8_0001, destination: UInt32 = 0xEF00_0001, sourcePort: UInt16 = 1000,
    destinationPort: UInt16 = 2000, payload: [UInt8], protocolNumber: UInt8 = 17, flagsAndFragment: UInt16 = 0,
    options: [UInt8] = [], versionNibble: UInt8 = 4, ihlOverride: UInt8? = nil, totalLength: UInt16? = nil,
    udpLength: UInt16? = nil
  ) -> [UInt8] {
    var header = ByteWriter(bigEndian: true)
    let headerBytes = 20 + options.count
    header.u8(versionNibble << 4 | (ihlOverride ?? UInt8(headerBytes / 4)))
    header.u8(0)
    header.u16(totalLength ?? UInt16(headerBytes + 8 + payload.count))
    header.u16(0x1234)
    header.u16(flagsAndFragment)
    header.u8(64)
    header.u8(protocolNumber)
    header.u16(0)
    header.u32(source)
    header.u32(destination)
    header.append(options)
    var bytes = header.bytes
    let checksum = ipv4Checksum(bytes)
    bytes[10] = UInt8(checksum >> 8)
    bytes[11] = UInt8(checksum & 0xFF)
    var udp = ByteWriter(bigEndian: true)
    udp.u16(sourcePort)
    udp.u16(destinationPort)
    udp.u16(udpLength ?? UInt16(8 + payload.count))
    udp.u16(0)
    return bytes + udp.bytes + payload
  }

  /// The test's own RFC 791 checksum (independent of the one in PcapWriter).
  static func ipv4Checksum(_ header: [UInt8]) -> UInt16 {
    var sum = 0
    var index = 0
    while index + 1 < header.count {
      if index != 10 { sum += Int(header[index]) << 8 + Int(header[index + 1]) }
      index += 2
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return UInt16(0xFFFF - sum)
  }
}

/// Classic pcap file builder.
struct PcapBuilder {
  private var writer: ByteWriter
  let nanosecond: Bool

  init(bigEndian: Bool, nanosecond: Bool, linkType: UInt32, snapLength: UInt32 = 65_535) {
    self.nanosecond = nanosecond
    writer = ByteWriter(bigEndian: bigEndian)
    writer.u32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4)
    writer.u16(2)
    writer.u16(4)
    writer.u32(0)
    writer.u32(0)
    writer.u32(snapLength)
    writer.u32(linkType)
  }

  /// `fraction` is µs or ns per the file's magic; `originalLength` defaults to the captured length.
  mutating func record(seconds: UInt32, fraction: UInt32, frame: [UInt8], originalLength: UInt32? = nil) {
    writer.u32(seconds)
    writer.u32(fraction)
    writer.u32(UInt32(frame.count))
    writer.u32(originalLength ?? UInt32(frame.count))
    writer.append(frame)
  }

  var bytes: [UInt8] { writer.bytes }
}

/// pcapng block builder.
struct PcapngBuilder {
  private(set) var bytes: [UInt8] = []
  var bigEndian: Bool

  init(bigEndian: Bool) { self.bigEndian = bigEndian }

  mutating func block(type: UInt32, body: [UInt8]) {
    var writer = ByteWriter(bigEndian: bigEndian)
    var padded = body
    while padded.count % 4 != 0 { padded.append(0) }
    writer.u32(type)
    writer.u32(UInt32(12 + padded.count))
    writer.append(padded)
    writer.u32(UInt32(12 + padded.count))
    bytes += writer.bytes
  }

  mutating func sectionHeader() {
    var body = ByteWriter(bigEndian: bigEndian)
    body.u32(0x1A2B_3C4D)
    body.u16(1)
    body.u16(0)
    body.u64(UInt64.max)  // section length unknown
    block(type: 0x0A0D_0D0A, body: body.bytes)
  }

  /// `options` are (code, value) pairs; an opt_endofopt is added when there are any.
  mutating func interface(linkType: UInt16, snapLength: UInt32, options: [(UInt16, [UInt8])] = []) {
    var body = ByteWriter(bigEndian: bigEndian)
    body.u16(linkType)
    body.u16(0)
    body.u32(snapLength)
    for (code, value) in options {
      body.u16(code)
      body.u16(UInt16(value.count))
      body.append(value)
      body.padTo4()
    }
    if !options.isEmpty {
      body.u16(0)
      body.u16(0)
    }
    block(type: 1, body: body.bytes)
  }

  mutating func enhancedPacket(
    interface: UInt32, timestampUnits: UInt64, frame: [UInt8], capturedLength: UInt32? = nil
  ) {
    var body = ByteWriter(bigEndian: bigEndian)
    body.u32(interface)
    body.u32(UInt32(timestampUnits >> 32))
    body.u32(UInt32(timestampUnits & 0xFFFF_FFFF))
    body.u32(capturedLength ?? UInt32(frame.count))
    body.u32(UInt32(frame.count))
    body.append(frame)
    block(type: 6, body: body.bytes)
  }

  mutating func simplePacket(frame: [UInt8], originalLength: UInt32? = nil) {
    var body = ByteWriter(bigEndian: bigEndian)
    body.u32(originalLength ?? UInt32(frame.count))
    body.append(frame)
    block(type: 3, body: body.bytes)
  }
}
