// Unaligned integer loads. Callers check bounds first; these helpers only fix the byte order.
extension UnsafeRawPointer {
  @inline(__always) func loadBigEndianUInt16(at offset: Int) -> UInt16 {
    UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }

  @inline(__always) func loadBigEndianUInt32(at offset: Int) -> UInt32 {
    UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  @inline(__always) func loadUInt16(at offset: Int, bigEndian: Bool) -> UInt16 {
    let raw = loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
  }

  @inline(__always) func loadUInt32(at offset: Int, bigEndian: Bool) -> UInt32 {
    let raw = loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
  }

  @inline(__always) func loadUInt64(at offset: Int, bigEndian: Bool) -> UInt64 {
    let raw = loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    return bigEndian ? UInt64(bigEndian: raw) : UInt64(littleEndian: raw)
  }
}
