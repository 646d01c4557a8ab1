/// pcap/pcapng link-layer header types (LINKTYPE_* numbers) that we decode.
enum LinkType {
  static let null: UInt32 = 0  // BSD loopback: 4-byte address family in the capturing host's byte order
  static let ethernet: UInt32 = 1
  static let rawLegacy: UInt32 = 12  // DLT_RAW as written by some older tools
  static let raw: UInt32 = 101  // raw IPv4 or IPv6
  static let loop: UInt32 = 108  // OpenBSD loopback: address family in big-endian
  static let linuxSLL: UInt32 = 113
  static let ipv4: UInt32 = 228
  static let linuxSLL2: UInt32 = 276
}

/// Peels link, IPv4 and UDP headers off one captured frame. Every offset is checked against the captured length
/// before it is read; whatever is not a whole, unfragmented UDP/IPv4 datagram is counted and dropped.
enum FrameDecoder {
  private static let etherTypeIPv4: UInt16 = 0x0800
  private static let etherTypeVLAN: UInt16 = 0x8100
  private static let etherTypeQinQ: UInt16 = 0x88A8
  private static let ipProtocolUDP: UInt8 = 17

  static func decode(
    frame: UnsafeRawPointer, capturedBytes: Int, linkType: UInt32, timestampNs: UInt64,
    counters: inout CaptureCounters
  ) -> UDPDatagram? {
    var ipOffset = 0
    var rawIP = false
    switch linkType {
    case LinkType.ethernet:
      var offset = 12
      var vlanTags = 0
      while true {
        guard capturedBytes >= offset + 2 else {
          counters.truncatedByCaplen += 1
          return nil
        }
        let etherType = frame.loadBigEndianUInt16(at: offset)
        offset += 2
        if etherType == etherTypeVLAN || etherType == etherTypeQinQ {
          vlanTags += 1
          // Two tags is Q-in-Q; a third is not something a market-data feed sends.
          guard vlanTags <= 2 else {
            counters.nonIPv4 += 1
            return nil
          }
          offset += 2  // the tag control information; the next EtherType follows it
          continue
        }
        guard etherType == etherTypeIPv4 else {
          counters.nonIPv4 += 1
          return nil
        }
        break
      }
      ipOffset = offset
    case LinkType.linuxSLL:
      guard capturedBytes >= 16 else {
        counters.truncatedByCaplen += 1
        return nil
      }
      guard frame.loadBigEndianUInt16(at: 14) == etherTypeIPv4 else {
        counters.nonIPv4 += 1
        return nil
      }
      ipOffset = 16
    case LinkType.linuxSLL2:
      guard capturedBytes >= 20 else {
        counters.truncatedByCaplen += 1
        return nil
      }
      guard frame.loadBigEndianUInt16(at: 0) == etherTypeIPv4 else {
        counters.nonIPv4 += 1
        return nil
      }
      ipOffset = 20
    case LinkType.null, LinkType.loop:
      guard capturedBytes >= 4 else {
        counters.truncatedByCaplen += 1
        return nil
      }
      let family = frame.loadUInt32(at: 0, bigEndian: true)
      // AF_INET is 2 everywhere; LINKTYPE_NULL stores it in the writer's byte order, which we do not know.
      guard family == 2 || (linkType == LinkType.null && family == 0x0200_0000) else {
        counters.nonIPv4 += 1
        return nil
      }
      ipOffset = 4
    case LinkType.raw, LinkType.rawLegacy, LinkType.ipv4:
      rawIP = true
    default:
      counters.unsupportedLinkType += 1
      return nil
    }
    return decodeIPv4(
      packet: frame + ipOffset, capturedBytes: capturedBytes - ipOffset, rawIP: rawIP, timestampNs: timestampNs,
      counters: &counters)
  }

  private static func decodeIPv4(
    packet: UnsafeRawPointer, capturedBytes: Int, rawIP: Bool, timestampNs: UInt64, counters: inout CaptureCounters
  ) -> UDPDatagram? {
    guard capturedBytes >= 1 else {
      counters.truncatedByCaplen += 1
      return nil
    }
    let versionAndIHL = packet.load(as: UInt8.self)
    let version = versionAndIHL >> 4
    guard version == 4 else {
      // Raw-IP link types carry IPv6 too; under an IPv4 EtherType another version is a broken header.
      if rawIP && version == 6 { counters.nonIPv4 += 1 } else { counters.badIPHeader += 1 }
      return nil
    }
    guard capturedBytes >= 20 else {
      counters.truncatedByCaplen += 1
      return nil
    }
    let headerBytes = Int(versionAndIHL & 0x0F) * 4
    let totalLength = Int(packet.loadBigEndianUInt16(at: 2))
    guard headerBytes >= 20, totalLength >= headerBytes else {
      counters.badIPHeader += 1
      return nil
    }
    // More-fragments flag or a non-zero offset: only the first fragment has a UDP header, and we do not reassemble.
    guard packet.loadBigEndianUInt16(at: 6) & 0x3FFF == 0 else {
      counters.ipFragments += 1
      return nil
    }
    guard packet.load(fromByteOffset: 9, as: UInt8.self) == ipProtocolUDP else {
      counters.nonUDP += 1
      return nil
    }
    // The IP total length, not the captured length, bounds the datagram: link padding and trailers lie beyond it.
    guard totalLength <= capturedBytes else {
      counters.truncatedByCaplen += 1
      return nil
    }
    let udpBytesAvailable = totalLength - headerBytes
    guard udpBytesAvailable >= 8 else {
      counters.badUDPHeader += 1
      return nil
    }
    let udp = packet + headerBytes
    let udpLength = Int(udp.loadBigEndianUInt16(at: 4))
    guard udpLength >= 8, udpLength <= udpBytesAvailable else {
      counters.badUDPHeader += 1
      return nil
    }
    counters.datagrams += 1
    return UDPDatagram(
      timestampNs: timestampNs,
      sourceAddress: packet.loadBigEndianUInt32(at: 12),
      sourcePort: udp.loadBigEndianUInt16(at: 0),
      destinationAddress: packet.loadBigEndianUInt32(at: 16),
      destinationPort: udp.loadBigEndianUInt16(at: 2),
      payload: UnsafeRawBufferPointer(start: udp + 8, count: udpLength - 8))
  }
}
