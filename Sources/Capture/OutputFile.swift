import CZlib
import Glibc

/// A buffered output file written with plain `write(2)`, gzip-compressed through zlib when asked.
/// Bytes collect in one fixed buffer and go to disk (or to deflate) only when it fills or on `close`.
final class OutputFile {
  static let bufferBytes = 1 << 20

  let path: String
  private var fd: Int32
  private let buffer: UnsafeMutableRawPointer
  private var buffered = 0
  // Gzip mode only: the deflate stream (heap-allocated: zlib checks its address) and its output area.
  private var stream: UnsafeMutablePointer<z_stream>?
  private var compressed: UnsafeMutableRawPointer?
  private var closed = false

  init(path: String, gzip: Bool) throws {
    self.path = path
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CaptureError.open(path: path, errno: errno) }
    self.fd = fd
    buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: 16)
    guard gzip else { return }
    let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    z.initialize(to: z_stream())
    // 16 + MAX_WBITS asks for a gzip wrapper; with no header set, zlib writes mtime 0, so output is deterministic.
    let status = deflateInit2_(
      z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
      Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else {
      z.deallocate()
      throw CaptureError.gzip("deflateInit2 failed (\(status))")
    }
    stream = z
    compressed = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: 16)
  }

  deinit {
    // Best effort for a writer dropped without close(); errors have nowhere to go here.
    if !closed { try? close() }
    if let z = stream {
      deflateEnd(z)
      z.deallocate()
    }
    compressed?.deallocate()
    buffer.deallocate()
  }

  /// Space left in the buffer before it must be flushed.
  var spaceLeft: Int { Self.bufferBytes - buffered }

  /// Hands out `byteCount` contiguous bytes of the buffer for the caller to fill, flushing first if needed.
  func reserve(_ byteCount: Int) throws -> UnsafeMutableRawPointer {
    guard !closed else { throw CaptureError.invalidArgument("\(path) is already closed") }
    precondition(byteCount <= Self.bufferBytes, "record larger than the output buffer")
    if byteCount > spaceLeft { try flush() }
    let slot = buffer + buffered
    buffered += byteCount
    return slot
  }

  func append(_ bytes: UnsafeRawBufferPointer) throws {
    guard !closed else { throw CaptureError.invalidArgument("\(path) is already closed") }
    guard var source = bytes.baseAddress else { return }
    var remaining = bytes.count
    while remaining > 0 {
      if spaceLeft == 0 { try flush() }
      let step = min(remaining, spaceLeft)
      (buffer + buffered).copyMemory(from: source, byteCount: step)
      buffered += step
      source += step
      remaining -= step
    }
  }

  func flush() throws {
    guard !closed else { throw CaptureError.invalidArgument("\(path) is already closed") }
    try drain(finish: false)
  }

  func close() throws {
    guard !closed else { return }
    closed = true
    var firstError: CaptureError?
    do { try drain(finish: true) } catch let error as CaptureError { firstError = error }
    if Glibc.close(fd) != 0 && firstError == nil { firstError = CaptureError.write(path: path, errno: errno) }
    fd = -1
    if let firstError { throw firstError }
  }

  /// Sends the buffer to disk, through deflate in gzip mode; `finish` also writes the gzip trailer.
  private func drain(finish: Bool) throws {
    guard let z = stream, let compressed else {
      try writeAll(UnsafeRawPointer(buffer), byteCount: buffered)
      buffered = 0
      return
    }
    z.pointee.next_in = buffer.assumingMemoryBound(to: Bytef.self)
    z.pointee.avail_in = uInt(buffered)
    while true {
      z.pointee.next_out = compressed.assumingMemoryBound(to: Bytef.self)
      z.pointee.avail_out = uInt(Self.bufferBytes)
      let status = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH)
      guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
        throw CaptureError.gzip("deflate failed (\(status))")
      }
      try writeAll(UnsafeRawPointer(compressed), byteCount: Self.bufferBytes - Int(z.pointee.avail_out))
      if finish ? status == Z_STREAM_END : (z.pointee.avail_in == 0 && z.pointee.avail_out != 0) { break }
    }
    buffered = 0
  }

  private func writeAll(_ start: UnsafeRawPointer, byteCount: Int) throws {
    var offset = 0
    while offset < byteCount {
      let wrote = Glibc.write(fd, start + offset, byteCount - offset)
      if wrote < 0 {
        if errno == EINTR { continue }
        throw CaptureError.write(path: path, errno: errno)
      }
      offset += wrote
    }
  }
}
