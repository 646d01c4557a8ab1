// Types for ./flatbuffers.js, so tsc can check flatc's generated readers against it.
export declare const SIZE_PREFIX_LENGTH: number;
export declare const Encoding: { UTF8_BYTES: number; UTF16_STRING: number };
export type Encoding = number;
export type Offset = number;
export declare class ByteBuffer {
  constructor(bytes: Uint8Array);
  static allocate(length: number): ByteBuffer;
  bytes(): Uint8Array;
  position(): number;
  setPosition(position: number): void;
  capacity(): number;
  readInt8(offset: number): number;
  readUint8(offset: number): number;
  readInt16(offset: number): number;
  readUint16(offset: number): number;
  readInt32(offset: number): number;
  readUint32(offset: number): number;
  readInt64(offset: number): bigint;
  readUint64(offset: number): bigint;
  readFloat32(offset: number): number;
  readFloat64(offset: number): number;
  __offset(tablePosition: number, vtableOffset: number): number;
  __indirect(offset: number): number;
  __vector(offset: number): number;
  __vector_len(offset: number): number;
  __string(offset: number): string;
  __string(offset: number, encoding: Encoding): string | Uint8Array;
  __union<T>(table: T, offset: number): T;
  __has_identifier(identifier: string): boolean;
}
export declare class Builder {
  [method: string]: any;
}
