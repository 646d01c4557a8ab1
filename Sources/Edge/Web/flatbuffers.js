// The part of a FlatBuffers runtime that flatc's generated TypeScript readers call, written for
// this page: reading only (the page never builds buffers). Little-endian, per the format.
export const SIZE_PREFIX_LENGTH = 4;
export const Encoding = { UTF8_BYTES: 1, UTF16_STRING: 2 };

export class ByteBuffer {
  constructor(bytes) {
    this.bytes_ = bytes;
    this.position_ = 0;
    this.view_ = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  static allocate(length) { return new ByteBuffer(new Uint8Array(length)); }
  bytes() { return this.bytes_; }
  position() { return this.position_; }
  setPosition(position) { this.position_ = position; }
  capacity() { return this.bytes_.length; }
  readInt8(offset) { return this.view_.getInt8(offset); }
  readUint8(offset) { return this.view_.getUint8(offset); }
  readInt16(offset) { return this.view_.getInt16(offset, true); }
  readUint16(offset) { return this.view_.getUint16(offset, true); }
  readInt32(offset) { return this.view_.getInt32(offset, true); }
  readUint32(offset) { return this.view_.getUint32(offset, true); }
  readInt64(offset) { return this.view_.getBigInt64(offset, true); }
  readUint64(offset) { return this.view_.getBigUint64(offset, true); }
  readFloat32(offset) { return this.view_.getFloat32(offset, true); }
  readFloat64(offset) { return this.view_.getFloat64(offset, true); }
  // A table's field: its vtable lists each field's offset from the table (0: absent).
  __offset(tablePosition, vtableOffset) {
    const vtable = tablePosition - this.readInt32(tablePosition);
    return vtableOffset < this.readInt16(vtable) ? this.readInt16(vtable + vtableOffset) : 0;
  }
  __indirect(offset) { return offset + this.readInt32(offset); }
  __vector(offset) { return offset + this.readInt32(offset) + 4; }
  __vector_len(offset) { return this.readInt32(offset + this.readInt32(offset)); }
  __string(offset, encoding) {
    offset += this.readInt32(offset);
    const length = this.readInt32(offset);
    const bytes = this.bytes_.subarray(offset + 4, offset + 4 + length);
    return encoding === Encoding.UTF8_BYTES ? bytes : new TextDecoder().decode(bytes);
  }
  __union(table, offset) {
    table.bb_pos = offset + this.readInt32(offset);
    table.bb = this;
    return table;
  }
  __has_identifier(identifier) {
    if (this.bytes_.length < this.position_ + 8) return false;
    for (let i = 0; i < 4; i++) {
      if (identifier.charCodeAt(i) !== this.readUint8(this.position_ + 4 + i)) return false;
    }
    return true;
  }
}

// Referenced by the generated builders' signatures; this page does not build buffers.
export class Builder {
  constructor() { throw new Error("quotecast's page only reads FlatBuffers"); }
}
