// A bounds-checked, zero-copy reader for the FlatBuffers binary format, just enough for the
// quotecast schema. Every offset is checked against the datagram before it is followed, so a
// hostile packet yields nil or defaults, never a read outside the buffer.

@inlinable @inline(__always)
func loadLittleEndian<T: FixedWidthInteger>(_ base: UnsafeRawPointer, _ offset: Int, as: T.Type) -> T {
  T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
}

/// One table inside a buffer of `byteCount` bytes.
@frozen public struct FlatTable {
  @usableFromInline let base: UnsafeRawPointer
  @usableFromInline let byteCount: Int
  @usableFromInline let position: Int
  @usableFromInline let vtable: Int
  @usableFromInline let vtableBytes: Int
  @usableFromInline let tableBytes: Int

  @inlinable
  init?(base: UnsafeRawPointer, byteCount: Int, position: Int) {
    guard position >= 0, position <= byteCount - 4 else { return nil }
    let vtable = position - Int(loadLittleEndian(base, position, as: Int32.self))
    guard vtable >= 0, vtable <= byteCount - 4 else { return nil }
    let vtableBytes = Int(loadLittleEndian(base, vtable, as: UInt16.self))
    let tableBytes = Int(loadLittleEndian(base, vtable + 2, as: UInt16.self))
    guard vtableBytes >= 4, vtableBytes & 1 == 0, vtable + vtableBytes <= byteCount, tableBytes >= 4,
      position + tableBytes <= byteCount
    else { return nil }
    self.base = base
    self.byteCount = byteCount
    self.position = position
    self.vtable = vtable
    self.vtableBytes = vtableBytes
    self.tableBytes = tableBytes
  }

  /// The field's offset inside the table if present and `size` bytes of it fit, else nil.
  @inlinable @inline(__always)
  func field(_ vtableOffset: Int, size: Int) -> Int? {
    guard vtableOffset + 2 <= vtableBytes else { return nil }
    let offset = Int(loadLittleEndian(base, vtable + vtableOffset, as: UInt16.self))
    guard offset != 0, offset + size <= tableBytes else { return nil }
    return position + offset
  }

  @inlinable @inline(__always)
  func scalar<T: FixedWidthInteger>(_ vtableOffset: Int, _ type: T.Type) -> T {
    guard let at = field(vtableOffset, size: MemoryLayout<T>.size) else { return 0 }
    return loadLittleEndian(base, at, as: T.self)
  }

  /// The position of an inline struct field of `size` bytes.
  @inlinable @inline(__always)
  func structField(_ vtableOffset: Int, size: Int) -> Int? { field(vtableOffset, size: size) }

  /// Follows an offset field to the position it points at, if that lies inside the buffer.
  @inlinable @inline(__always)
  func indirect(_ vtableOffset: Int) -> Int? {
    guard let at = field(vtableOffset, size: 4) else { return nil }
    let target = at + Int(loadLittleEndian(base, at, as: UInt32.self))
    return target <= byteCount - 4 ? target : nil
  }

  @inlinable
  func table(_ vtableOffset: Int) -> FlatTable? {
    guard let target = indirect(vtableOffset) else { return nil }
    return FlatTable(base: base, byteCount: byteCount, position: target)
  }

  /// A vector's first element position and length, if all `elementBytes * length` bytes fit.
  @inlinable
  func vector(_ vtableOffset: Int, elementBytes: Int) -> (start: Int, count: Int)? {
    guard let target = indirect(vtableOffset) else { return nil }
    let count = Int(loadLittleEndian(base, target, as: UInt32.self))
    guard count <= (byteCount - target - 4) / elementBytes else { return nil }
    return (target + 4, count)
  }

  @inlinable
  func string(_ vtableOffset: Int) -> UnsafeRawBufferPointer? {
    guard let (start, count) = vector(vtableOffset, elementBytes: 1) else { return nil }
    return UnsafeRawBufferPointer(start: base + start, count: count)
  }
}
