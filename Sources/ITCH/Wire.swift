// Big-endian field loads at arbitrary offsets. Every ITCH and MoldUDP64 field is read
// through these: one unaligned load plus a byte swap, never a byte-by-byte loop.

@inlinable @inline(__always)
public func loadBigEndianUInt16(_ base: UnsafeRawPointer, _ offset: Int) -> UInt16 {
  UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inlinable @inline(__always)
public func loadBigEndianUInt32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
  UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inlinable @inline(__always)
public func loadBigEndianUInt64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
  UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

/// A 6-byte big-endian integer (ITCH timestamps), read as 2 + 4 bytes so it never
/// touches a byte past the field.
@inlinable @inline(__always)
public func loadBigEndianUInt48(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
  UInt64(loadBigEndianUInt16(base, offset)) << 32 | UInt64(loadBigEndianUInt32(base, offset + 2))
}

@inlinable @inline(__always)
public func loadByte(_ base: UnsafeRawPointer, _ offset: Int) -> UInt8 {
  base.load(fromByteOffset: offset, as: UInt8.self)
}

@inlinable @inline(__always)
public func storeBigEndian<T: FixedWidthInteger>(_ value: T, _ base: UnsafeMutableRawPointer, _ offset: Int) {
  base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
}

/// An 8-byte ASCII symbol packed big-endian into a UInt64, so it compares and hashes as one word.
public struct Symbol: Hashable, Comparable, CustomStringConvertible, Sendable {
  public var packed: UInt64

  @inlinable public init(packed: UInt64) { self.packed = packed }

  /// Space-pads (or truncates) to 8 bytes.
  public init(_ text: String) {
    var value: UInt64 = 0
    var bytes = Array(text.utf8.prefix(8))
    while bytes.count < 8 { bytes.append(0x20) }
    for byte in bytes { value = value << 8 | UInt64(byte) }
    packed = value
  }

  /// The symbol with trailing spaces removed.
  public var description: String {
    var bytes: [UInt8] = []
    for shift in stride(from: 56, through: 0, by: -8) {
      bytes.append(UInt8(truncatingIfNeeded: packed >> UInt64(shift)))
    }
    while let last = bytes.last, last == 0x20 || last == 0 { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
  }

  public static func < (lhs: Symbol, rhs: Symbol) -> Bool { lhs.packed < rhs.packed }
}
