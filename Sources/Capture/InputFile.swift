import CZlib
import Glibc

/// A file read with plain `read(2)`, gunzipped on the fly when it starts with the gzip magic 1F 8B.
///
/// `read(into:)` hands back at most `readChunkBytes` bytes per call (both from disk and out of zlib), so tests can
/// force records to arrive split at every possible byte.
public final class InputFile {
  public let path: String
  public let readChunkBytes: Int
  /// True when the file is gzip-compressed and `read` returns inflated bytes.
  public let isGzip: Bool

  private var fd: Int32
  // Raw file bytes read but not yet used: the two sniffed bytes in plain mode, compressed input in gzip mode.
  private let rawBuffer: UnsafeMutableRawPointer
  private let rawCapacity: Int
  private var rawStart = 0
  private var rawEnd = 0
  private var rawAtEOF = false
  // Heap-allocated because zlib remembers the stream's address and rejects a moved stream.
  private var stream: UnsafeMutablePointer<z_stream>?
  private var gzipFinished = false
  // A gzip error met after some bytes were decoded waits here until those bytes have been returned.
  private var pendingError: CaptureError?

  public init(path: String, readChunkBytes: Int = 1 << 20) throws {
    self.path = path
    self.readChunkBytes = max(1, readChunkBytes)
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CaptureError.open(path: path, errno: errno) }
    self.fd = fd
    rawCapacity = max(self.readChunkBytes, 2)
    rawBuffer = UnsafeMutableRawPointer.allocate(byteCount: rawCapacity, alignment: 16)

    // Sniff the first two bytes; `read` serves them back in plain mode, and zlib gets them in gzip mode.
    var sniffed = 0
    var sniffError: CaptureError?
    while sniffed < 2 {
      let got = Self.readRetrying(fd: fd, into: rawBuffer + sniffed, byteCount: rawCapacity - sniffed)
      if got < 0 {
        sniffError = CaptureError.read(path: path, errno: errno)
        break
      }
      if got == 0 {
        rawAtEOF = true
        break
      }
      sniffed += got
    }
    rawEnd = sniffed
    isGzip =
      sniffed >= 2 && rawBuffer.load(as: UInt8.self) == 0x1F
      && rawBuffer.load(fromByteOffset: 1, as: UInt8.self) == 0x8B
    if let sniffError { throw sniffError }
    if isGzip {
      let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
      z.initialize(to: z_stream())
      // 16 + MAX_WBITS: expect a gzip wrapper (header and CRC trailer), 32 KiB window.
      guard inflateInit2_(z, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        z.deallocate()
        throw CaptureError.gzip("inflateInit2 failed")
      }
      z.pointee.next_in = rawBuffer.assumingMemoryBound(to: Bytef.self)
      z.pointee.avail_in = uInt(rawEnd)
      stream = z
    }
  }

  deinit {
    if let z = stream {
      inflateEnd(z)
      z.deallocate()
    }
    rawBuffer.deallocate()
    if fd >= 0 { _ = Glibc.close(fd) }
  }

  /// Fills the front of `buffer` with up to `min(buffer.count, readChunkBytes)` bytes; returns 0 only at end of
  /// file. A damaged gzip stream throws `CaptureError.gzip`, but only once every byte decoded before it was returned.
  public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    let wanted = min(buffer.count, readChunkBytes)
    guard wanted > 0, let destination = buffer.baseAddress else { return 0 }
    return isGzip ? try inflate(into: destination, wanted: wanted) : try readPlain(into: destination, wanted: wanted)
  }

  private func readPlain(into destination: UnsafeMutableRawPointer, wanted: Int) throws -> Int {
    if rawStart < rawEnd {
      let count = min(wanted, rawEnd - rawStart)
      destination.copyMemory(from: rawBuffer + rawStart, byteCount: count)
      rawStart += count
      return count
    }
    if rawAtEOF { return 0 }
    let got = Self.readRetrying(fd: fd, into: destination, byteCount: wanted)
    guard got >= 0 else { throw CaptureError.read(path: path, errno: errno) }
    if got == 0 { rawAtEOF = true }
    return got
  }

  private func inflate(into destination: UnsafeMutableRawPointer, wanted: Int) throws -> Int {
    if let pendingError { throw pendingError }
    guard !gzipFinished, let z = stream else { return 0 }
    z.pointee.next_out = destination.assumingMemoryBound(to: Bytef.self)
    z.pointee.avail_out = uInt(wanted)

    // Returns what was produced so far and keeps the error for the next call, or throws it now if nothing was.
    func fail(_ error: CaptureError) throws -> Int {
      let produced = wanted - Int(z.pointee.avail_out)
      pendingError = error
      if produced > 0 { return produced }
      throw error
    }

    while true {
      if z.pointee.avail_in == 0 && !rawAtEOF, let error = refillCompressed() { return try fail(error) }
      let status = CZlib.inflate(z, Z_NO_FLUSH)
      let produced = wanted - Int(z.pointee.avail_out)
      switch status {
      case Z_OK:
        if produced > 0 { return produced }
      case Z_STREAM_END:
        // One member is done; concatenated members may follow, in hand or still on disk.
        if z.pointee.avail_in == 0 && !rawAtEOF, let error = refillCompressed() { return try fail(error) }
        if z.pointee.avail_in == 0 {
          gzipFinished = true
          return produced
        }
        guard inflateReset(z) == Z_OK else { return try fail(.gzip("inflateReset failed")) }
        if produced > 0 { return produced }
      case Z_BUF_ERROR:
        // No progress was possible: zlib needs input we do not have.
        if z.pointee.avail_in == 0 && rawAtEOF {
          return try fail(.gzip("unexpected end of file (truncated gzip stream)"))
        }
        if produced > 0 { return produced }
        if z.pointee.avail_in != 0 { return try fail(.gzip("inflate made no progress")) }
      default:
        let reason = z.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
        return try fail(.gzip(reason))
      }
    }
  }

  /// Reads the next compressed chunk into zlib's input; returns the read error instead of throwing it so the caller
  /// can first hand back what it already decoded.
  private func refillCompressed() -> CaptureError? {
    guard let z = stream else { return nil }
    let got = Self.readRetrying(fd: fd, into: rawBuffer, byteCount: readChunkBytes)
    guard got >= 0 else { return CaptureError.read(path: path, errno: errno) }
    if got == 0 { rawAtEOF = true }
    z.pointee.next_in = rawBuffer.assumingMemoryBound(to: Bytef.self)
    z.pointee.avail_in = uInt(got)
    return nil
  }

  /// `read(2)` retried on EINTR; returns -1 with `errno` set on failure.
  static func readRetrying(fd: Int32, into destination: UnsafeMutableRawPointer, byteCount: Int) -> Int {
    while true {
      let got = Glibc.read(fd, destination, byteCount)
      if got < 0 && errno == EINTR { continue }
      return got
    }
  }
}
