/// Reads UDP/IPv4 datagrams out of a classic pcap or a pcapng file (optionally gzipped, see `InputFile`).
///
/// Nothing inside the capture is ever thrown: a packet we cannot or will not decode is counted in `counters` and
/// skipped, and a file that ends inside a record just ends. Only I/O, gzip and file-header problems throw.
public struct PacketCaptureReader {
  /// Records larger than this are skipped unread (and counted as oversized) instead of being buffered.
  static let maxRecordBytes = 16 << 20

  public let format: InputFormat
  public private(set) var counters = CaptureCounters()
  /// Packet records seen (pcap records, pcapng Enhanced and Simple Packet Blocks), decoded or not.
  public private(set) var recordsRead: UInt64 = 0

  /// The captured bytes of the last packet record handed to the frame decoder; tests check that every payload
  /// lies inside it.
  private(set) var lastRecord = UnsafeRawBufferPointer(start: nil, count: 0)

  private let buffer: ReadBuffer
  private var finished = false
  private var bigEndian = false
  // Classic pcap: one link type per file, and a timestamp fraction in µs or ns.
  private var classicLinkType: UInt32 = 0
  private var classicFractionNs: UInt64 = 1000
  private var classicSnapLength = 0
  // pcapng: the current section's interfaces, in the order their Interface Description Blocks appeared.
  private var interfaces: [PcapngInterface] = []

  private enum Step {
    case datagram(UDPDatagram)
    case skipped
    case end
  }

  private enum SectionHeaderResult {
    case ok
    case truncated
    case malformed(String)
  }

  /// Detects pcap or pcapng from the first bytes and reads the file header. Throws `CaptureError.notACapture` for
  /// anything else and `CaptureError.malformedHeader` when the header itself is unusable.
  public init(file: InputFile) throws {
    buffer = ReadBuffer(file: file)
    guard try buffer.fill(atLeast: 4) else { throw CaptureError.notACapture }
    format = InputFormat.detect(firstBytes: UnsafeRawBufferPointer(start: buffer.bytes, count: 4))
    switch format {
    case .pcap:
      guard try buffer.fill(atLeast: 24) else {
        throw CaptureError.malformedHeader("file ends inside the 24-byte pcap file header")
      }
      let magic = buffer.bytes.loadBigEndianUInt32(at: 0)
      bigEndian = magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D
      classicFractionNs = (magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1) ? 1 : 1000
      // The low 16 bits are the link type; the high bits may carry FCS-length flags we do not need.
      classicLinkType = buffer.bytes.loadUInt32(at: 20, bigEndian: bigEndian) & 0xFFFF
      classicSnapLength = Int(buffer.bytes.loadUInt32(at: 16, bigEndian: bigEndian))
      buffer.consume(24)
    case .pcapng:
      switch try readSectionHeader() {
      case .ok: break
      case .truncated: throw CaptureError.malformedHeader("file ends inside the pcapng section header")
      case .malformed(let reason): throw CaptureError.malformedHeader(reason)
      }
    case .dayFile:
      throw CaptureError.notACapture
    }
  }

  /// The next UDP/IPv4 datagram; its payload is valid until the next call. Nil at the end of the file.
  public mutating func next() throws -> UDPDatagram? {
    while !finished {
      let step = format == .pcap ? try nextClassicRecord() : try nextPcapngBlock()
      switch step {
      case .datagram(let datagram): return datagram
      case .skipped: continue
      case .end: finished = true
      }
    }
    return nil
  }

  // MARK: - Classic pcap

  private mutating func nextClassicRecord() throws -> Step {
    guard try buffer.fill(atLeast: 16) else { return endOfFile() }
    let header = buffer.bytes
    let seconds = UInt64(header.loadUInt32(at: 0, bigEndian: bigEndian))
    let fraction = UInt64(header.loadUInt32(at: 4, bigEndian: bigEndian))
    let capturedBytes = Int(header.loadUInt32(at: 8, bigEndian: bigEndian))
    // Cannot overflow: seconds < 2^32, so seconds * 10^9 + fraction * 1000 < 2^63.
    let timestampNs = seconds * 1_000_000_000 + fraction * classicFractionNs
    recordsRead += 1
    if capturedBytes > Self.maxRecordBytes {
      counters.oversizedRecords += 1
      buffer.consume(16)
      return try skip(capturedBytes)
    }
    // More than the snap length should not have been captured. Like libpcap, read it anyway (the IP and UDP lengths
    // bound what is used), but count it: a damaged length shows up here.
    if classicSnapLength != 0 && capturedBytes > classicSnapLength { counters.beyondSnapLength += 1 }
    guard try buffer.fill(atLeast: 16 + capturedBytes) else { return endOfFile() }
    let frame = buffer.bytes + 16
    buffer.consume(16 + capturedBytes)  // the bytes stay in place until the next fill
    return decoded(frame: frame, capturedBytes: capturedBytes, linkType: classicLinkType, timestampNs: timestampNs)
  }

  // MARK: - pcapng

  private enum BlockType {
    static let interfaceDescription: UInt32 = 0x0000_0001
    static let simplePacket: UInt32 = 0x0000_0003
    static let enhancedPacket: UInt32 = 0x0000_0006
    static let sectionHeader: UInt32 = 0x0A0D_0D0A
  }

  private mutating func nextPcapngBlock() throws -> Step {
    guard try buffer.fill(atLeast: 8) else { return endOfFile() }
    let blockType = buffer.bytes.loadUInt32(at: 0, bigEndian: bigEndian)
    if blockType == BlockType.sectionHeader {
      switch try readSectionHeader() {
      case .ok: return .skipped
      case .truncated: return truncated()
      case .malformed:
        counters.malformedRecords += 1
        return .end
      }
    }
    let blockBytes = Int(buffer.bytes.loadUInt32(at: 4, bigEndian: bigEndian))
    // With a nonsensical length there is no way to find the next block.
    guard blockBytes >= 12, blockBytes % 4 == 0 else {
      counters.malformedRecords += 1
      buffer.consumeAll()
      return .end
    }
    let isPacket = blockType == BlockType.enhancedPacket || blockType == BlockType.simplePacket
    if isPacket { recordsRead += 1 }
    guard isPacket || blockType == BlockType.interfaceDescription else { return try skip(blockBytes) }
    if blockBytes > Self.maxRecordBytes {
      counters.oversizedRecords += 1
      return try skip(blockBytes)
    }
    guard try buffer.fill(atLeast: blockBytes) else { return endOfFile() }
    let block = buffer.bytes
    buffer.consume(blockBytes)  // the bytes stay in place until the next fill
    guard block.loadUInt32(at: blockBytes - 4, bigEndian: bigEndian) == UInt32(blockBytes) else {
      counters.malformedRecords += 1
      return .skipped
    }
    switch blockType {
    case BlockType.interfaceDescription:
      readInterfaceDescription(block: block, blockBytes: blockBytes)
      return .skipped
    case BlockType.enhancedPacket:
      return enhancedPacket(block: block, blockBytes: blockBytes)
    default:
      return simplePacket(block: block, blockBytes: blockBytes)
    }
  }

  /// Reads (and consumes) a Section Header Block, which fixes the byte order of the blocks after it.
  private mutating func readSectionHeader() throws -> SectionHeaderResult {
    guard try buffer.fill(atLeast: 12) else { return .truncated }
    switch buffer.bytes.loadBigEndianUInt32(at: 8) {
    case 0x1A2B_3C4D: bigEndian = true
    case 0x4D3C_2B1A: bigEndian = false
    case let mark: return .malformed("bad pcapng byte-order magic 0x\(String(mark, radix: 16))")
    }
    let blockBytes = Int(buffer.bytes.loadUInt32(at: 4, bigEndian: bigEndian))
    guard blockBytes >= 28, blockBytes % 4 == 0 else {
      return .malformed("bad pcapng section header length \(blockBytes)")
    }
    // A new section starts a new list of interfaces.
    interfaces.removeAll(keepingCapacity: true)
    return try buffer.skip(blockBytes) ? .ok : .truncated
  }

  private mutating func readInterfaceDescription(block: UnsafeRawPointer, blockBytes: Int) {
    guard blockBytes >= 20 else {
      counters.malformedRecords += 1
      return
    }
    var interface = PcapngInterface(
      linkType: UInt32(block.loadUInt16(at: 8, bigEndian: bigEndian)),
      snapLength: block.loadUInt32(at: 12, bigEndian: bigEndian))
    // Options: [code u16][length u16][value, padded to 4 bytes], up to the trailing block length.
    let optionsEnd = blockBytes - 4
    var offset = 16
    while offset + 4 <= optionsEnd {
      let code = block.loadUInt16(at: offset, bigEndian: bigEndian)
      let valueBytes = Int(block.loadUInt16(at: offset + 2, bigEndian: bigEndian))
      let valueOffset = offset + 4
      guard code != 0, valueOffset + valueBytes <= optionsEnd else { break }  // opt_endofopt, or overrun
      if code == 9 && valueBytes >= 1 {  // if_tsresol
        interface.timestampResolution = block.load(fromByteOffset: valueOffset, as: UInt8.self)
      } else if code == 14 && valueBytes >= 8 {  // if_tsoffset, in seconds
        interface.timestampOffsetSeconds = Int64(bitPattern: block.loadUInt64(at: valueOffset, bigEndian: bigEndian))
      }
      offset = valueOffset + ((valueBytes + 3) & ~3)
    }
    interfaces.append(interface)
  }

  private mutating func enhancedPacket(block: UnsafeRawPointer, blockBytes: Int) -> Step {
    // type, length, interface id, timestamp high, timestamp low, captured length, original length, data..., length
    guard blockBytes >= 32 else {
      counters.malformedRecords += 1
      return .skipped
    }
    let interfaceID = Int(block.loadUInt32(at: 8, bigEndian: bigEndian))
    let capturedBytes = Int(block.loadUInt32(at: 20, bigEndian: bigEndian))
    guard interfaceID < interfaces.count, capturedBytes <= blockBytes - 32 else {
      counters.malformedRecords += 1
      return .skipped
    }
    let interface = interfaces[interfaceID]
    if interface.snapLength != 0 && capturedBytes > Int(interface.snapLength) { counters.beyondSnapLength += 1 }
    let units =
      UInt64(block.loadUInt32(at: 12, bigEndian: bigEndian)) << 32
      | UInt64(block.loadUInt32(at: 16, bigEndian: bigEndian))
    return decoded(
      frame: block + 28, capturedBytes: capturedBytes, linkType: interface.linkType,
      timestampNs: interface.nanoseconds(fromUnits: units))
  }

  private mutating func simplePacket(block: UnsafeRawPointer, blockBytes: Int) -> Step {
    // type, length, original length, data..., length. It always belongs to the section's first interface.
    guard blockBytes >= 16, let interface = interfaces.first else {
      counters.malformedRecords += 1
      return .skipped
    }
    var capturedBytes = min(Int(block.loadUInt32(at: 8, bigEndian: bigEndian)), blockBytes - 16)
    if interface.snapLength != 0 { capturedBytes = min(capturedBytes, Int(interface.snapLength)) }
    return decoded(frame: block + 12, capturedBytes: capturedBytes, linkType: interface.linkType, timestampNs: 0)
  }

  // MARK: - Shared

  private mutating func decoded(
    frame: UnsafeRawPointer, capturedBytes: Int, linkType: UInt32, timestampNs: UInt64
  ) -> Step {
    lastRecord = UnsafeRawBufferPointer(start: frame, count: capturedBytes)
    guard
      let datagram = FrameDecoder.decode(
        frame: frame, capturedBytes: capturedBytes, linkType: linkType, timestampNs: timestampNs,
        counters: &counters)
    else { return .skipped }
    return .datagram(datagram)
  }

  /// The file ended; whatever is left over is the stub of a record.
  private mutating func endOfFile() -> Step {
    buffer.available > 0 ? truncated() : .end
  }

  /// The file ended inside a record.
  private mutating func truncated() -> Step {
    counters.truncatedRecords += 1
    buffer.consumeAll()
    return .end
  }

  /// Streams past a record we do not want (or cannot hold) in memory.
  private mutating func skip(_ byteCount: Int) throws -> Step {
    try buffer.skip(byteCount) ? .skipped : truncated()
  }
}

/// What an Interface Description Block says about the packets that name it.
struct PcapngInterface {
  var linkType: UInt32
  var snapLength: UInt32
  /// if_tsresol: high bit clear → units of 10^-n s, set → units of 2^-n s. The default 6 means microseconds.
  var timestampResolution: UInt8 = 6
  /// if_tsoffset: seconds to add to every timestamp.
  var timestampOffsetSeconds: Int64 = 0

  /// Converts a raw 64-bit timestamp to nanoseconds. Garbage in (a corrupt file) wraps rather than traps.
  func nanoseconds(fromUnits units: UInt64) -> UInt64 {
    let nsPerSecond: UInt64 = 1_000_000_000
    var ns: UInt64
    if timestampResolution & 0x80 == 0 {
      let exponent = Int(timestampResolution)
      if exponent <= 9 {
        ns = units &* Self.powerOfTen(9 - exponent)
      } else if exponent - 9 <= 19 {
        ns = units / Self.powerOfTen(exponent - 9)
      } else {
        ns = 0  // finer than 10^-28 s: below a nanosecond for any 64-bit count
      }
    } else {
      // units / 2^shift seconds = whole seconds plus a binary fraction; scale the fraction in 128 bits.
      let shift = Int(timestampResolution & 0x7F)
      let wholeSeconds = shift >= 64 ? 0 : units >> shift
      let fraction = shift >= 64 ? units : units & ((1 << shift) &- 1)
      let product = fraction.multipliedFullWidth(by: nsPerSecond)
      let fractionNs: UInt64
      if shift == 0 {
        fractionNs = 0
      } else if shift < 64 {
        fractionNs = product.high << (64 - shift) | product.low >> shift
      } else {
        fractionNs = shift - 64 < 64 ? product.high >> (shift - 64) : 0
      }
      ns = wholeSeconds &* nsPerSecond &+ fractionNs
    }
    return ns &+ UInt64(bitPattern: timestampOffsetSeconds &* Int64(nsPerSecond))
  }

  private static func powerOfTen(_ exponent: Int) -> UInt64 {
    var value: UInt64 = 1
    for _ in 0..<exponent { value &*= 10 }
    return value
  }
}
