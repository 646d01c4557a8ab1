import CQuotecastLinux
import CZlib
import Glibc

/// A buffered output file written with plain `write(2)`, gzip-compressed through zlib when asked.
/// Bytes collect in one of two fixed buffers; a full one goes to a writer thread, which writes it
/// (deflating it first in gzip mode) while the caller fills the other, so the caller never waits
/// on the disk or on deflate unless it gets a whole buffer ahead. A write error surfaces at the
/// next flush or at `close`.
///
/// A plain regular file is written with O_DIRECT where its file system allows: the bytes go from
/// the block-aligned buffers to the device without a copy into the page cache, which on this
/// project's VM took about as much CPU as the whole core (see `Drain.writeDirect`). A buffer then
/// goes over in whole blocks only; the bytes short of a block move to the front of the next one.
final class OutputFile {
  static let bufferBytes = 1 << 20

  let path: String
  private var buffer: UnsafeMutableRawPointer
  private var spare: UnsafeMutableRawPointer
  private var buffered = 0
  private let drain: Drain
  private let thread: pthread_t
  private var closed = false
  /// O_DIRECT mode: every hand-over but the last is of whole blocks.
  private let wholeBlocks: Bool

  init(path: String, gzip: Bool) throws {
    self.path = path
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CaptureError.open(path: path, errno: errno) }
    let drain: Drain
    do {
      drain = try Drain(path: path, fd: fd, gzip: gzip)
    } catch {
      Glibc.close(fd)
      throw error
    }
    self.drain = drain
    wholeBlocks = drain.direct
    buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: Drain.blockBytes)
    spare = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: Drain.blockBytes)
    var thread = pthread_t()
    let context = Unmanaged.passRetained(drain).toOpaque()
    let status = pthread_create(
      &thread, nil,
      { context in
        Unmanaged<Drain>.fromOpaque(context!).takeRetainedValue().run()
        return nil
      }, context)
    guard status == 0 else {
      Unmanaged<Drain>.fromOpaque(context).release()
      Glibc.close(fd)
      buffer.deallocate()
      spare.deallocate()
      throw CaptureError.write(path: path, errno: status)
    }
    self.thread = thread
  }

  deinit {
    // Best effort for a writer dropped without close(); errors have nowhere to go here.
    if !closed { try? close() }
    buffer.deallocate()
    spare.deallocate()
  }

  /// Space left in the buffer before it must be flushed.
  var spaceLeft: Int { Self.bufferBytes - buffered }

  /// Hands out `byteCount` contiguous bytes of the buffer for the caller to fill, flushing first if needed.
  func reserve(_ byteCount: Int) throws -> UnsafeMutableRawPointer {
    guard !closed else { throw CaptureError.invalidArgument("\(path) is already closed") }
    // Up to a block short of a block may be carried over into an empty buffer.
    precondition(byteCount <= Self.bufferBytes - Drain.blockBytes, "record larger than the output buffer")
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

  private func flush() throws {
    guard !closed else { throw CaptureError.invalidArgument("\(path) is already closed") }
    try handOver(finish: false)
  }

  /// Bytes that went to the file with O_DIRECT (read after `close`).
  var directBytes: Int { drain.directBytes }

  func close() throws {
    guard !closed else { return }
    closed = true
    let handed = Result { try handOver(finish: true) }
    drain.wait()
    pthread_join(thread, nil)
    try handed.get()
    if let error = drain.error { throw error }
  }

  /// Waits for the writer to finish the previous buffer, then gives it this one and takes the
  /// other; `finish` makes it the last (gzip trailer, then close). In O_DIRECT mode only whole
  /// blocks go (but for the last), and the rest starts the other buffer: a copy of under a block,
  /// read while the writer reads the blocks before it.
  private func handOver(finish: Bool) throws {
    drain.wait()
    if let error = drain.error {
      if finish { drain.submit(buffer, byteCount: 0, finish: true) }
      throw error
    }
    let handed = wholeBlocks && !finish ? buffered & ~(Drain.blockBytes - 1) : buffered
    drain.submit(buffer, byteCount: handed, finish: finish)
    let carried = buffered - handed
    if carried > 0 { spare.copyMemory(from: buffer + handed, byteCount: carried) }
    swap(&buffer, &spare)
    buffered = carried
  }
}

/// The writer thread's side of an `OutputFile`: one job at a time, handed over by two semaphores
/// (each `sem_post`/`sem_wait` pair orders the memory between the threads).
private final class Drain: @unchecked Sendable {
  let path: String
  private var fd: Int32
  private var idle = sem_t()
  private var work = sem_t()
  private var job: (bytes: UnsafeMutableRawPointer, count: Int, finish: Bool)?
  /// The first write or deflate error; read by the caller only after `wait`.
  private(set) var error: CaptureError?
  // Gzip mode only: the deflate stream (heap-allocated: zlib checks its address) and its output area.
  private var stream: UnsafeMutablePointer<z_stream>?
  private var compressed: UnsafeMutableRawPointer?
  /// Writes go with O_DIRECT (set at `init`; cleared by the writer for the last bytes, or when
  /// the file system refuses a direct write).
  private(set) var direct = false
  private(set) var directBytes = 0
  static let blockBytes = 4096

  init(path: String, fd: Int32, gzip: Bool) throws {
    self.path = path
    self.fd = fd
    sem_init(&idle, 0, 1)
    sem_init(&work, 0, 0)
    guard gzip else {
      var status = stat()
      if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG && qc_set_direct_io(fd, 1) == 0 {
        direct = true
      }
      return
    }
    let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    z.initialize(to: z_stream())
    // 16 + MAX_WBITS asks for a gzip wrapper; with no header set, zlib writes mtime 0, so output is deterministic.
    // Level 1: on a replay's pcap it deflates 5× faster than the default level 6 (97 against 19 MB/s
    // here) for a file 17% larger (0.386 against 0.329 of the input), and deflate is what a gzip
    // output waits for.
    let status = deflateInit2_(
      z, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
      Int32(MemoryLayout<z_stream>.size))
    guard status == Z_OK else {
      z.deallocate()
      throw CaptureError.gzip("deflateInit2 failed (\(status))")
    }
    stream = z
    compressed = UnsafeMutableRawPointer.allocate(byteCount: OutputFile.bufferBytes, alignment: 16)
  }

  deinit {
    if let z = stream {
      deflateEnd(z)
      z.deallocate()
    }
    compressed?.deallocate()
    sem_destroy(&idle)
    sem_destroy(&work)
  }

  /// Caller: blocks until the writer has finished the last job.
  func wait() {
    while sem_wait(&idle) != 0 {}
    sem_post(&idle)
  }

  /// Caller, after `wait`: the next job.
  func submit(_ bytes: UnsafeMutableRawPointer, byteCount: Int, finish: Bool) {
    while sem_wait(&idle) != 0 {}
    job = (bytes, byteCount, finish)
    sem_post(&work)
  }

  /// The writer thread: jobs until the finishing one, then the file is closed.
  func run() {
    while true {
      while sem_wait(&work) != 0 {}
      guard let job else { continue }
      if error == nil {
        do { try write(job.bytes, byteCount: job.count, finish: job.finish) } catch let failure as CaptureError {
          error = failure
        } catch {}
      }
      if job.finish {
        if Glibc.close(fd) != 0 && error == nil { error = CaptureError.write(path: path, errno: errno) }
        fd = -1
        sem_post(&idle)
        return
      }
      sem_post(&idle)
    }
  }

  /// Sends one buffer to disk, through deflate in gzip mode; `finish` also writes the gzip trailer.
  private func write(_ bytes: UnsafeMutableRawPointer, byteCount: Int, finish: Bool) throws {
    guard let z = stream, let compressed else {
      try writeDirect(bytes, byteCount: byteCount)
      return
    }
    z.pointee.next_in = bytes.assumingMemoryBound(to: Bytef.self)
    z.pointee.avail_in = uInt(byteCount)
    while true {
      z.pointee.next_out = compressed.assumingMemoryBound(to: Bytef.self)
      z.pointee.avail_out = uInt(OutputFile.bufferBytes)
      let status = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH)
      guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
        throw CaptureError.gzip("deflate failed (\(status))")
      }
      try writeAll(UnsafeRawPointer(compressed), byteCount: OutputFile.bufferBytes - Int(z.pointee.avail_out))
      if finish ? status == Z_STREAM_END : (z.pointee.avail_in == 0 && z.pointee.avail_out != 0) { break }
    }
  }

  /// O_DIRECT writes need whole blocks from block-aligned memory at block-aligned offsets: the
  /// buffers are aligned and every hand-over but the last is whole blocks, so the blocks go straight
  /// out of the buffer, and only the last hand-over's tail (under a block) goes buffered. (On this
  /// VM `dd` wrote 300 MiB at 2.3 GB/s direct and 440 MB/s through the page cache, whose copy into
  /// fresh pages took a third of `replay --output`'s CPU.) A file system that refuses a direct
  /// write (EINVAL) gets the same bytes buffered, and every later write too.
  private func writeDirect(_ bytes: UnsafeMutableRawPointer, byteCount: Int) throws {
    let whole = direct ? byteCount & ~(Self.blockBytes - 1) : byteCount
    var offset = 0
    while offset < whole {
      let wrote = Glibc.write(fd, bytes + offset, whole - offset)
      if wrote < 0 {
        if errno == EINTR { continue }
        if errno == EINVAL && direct && qc_set_direct_io(fd, 0) == 0 {
          direct = false
          continue
        }
        throw CaptureError.write(path: path, errno: errno)
      }
      offset += wrote
      if direct { directBytes += wrote }
    }
    guard whole < byteCount else { return }
    // A tail short of a block: the file's last bytes, so the file leaves direct mode for them.
    if direct && qc_set_direct_io(fd, 0) != 0 { throw CaptureError.write(path: path, errno: errno) }
    direct = false
    try writeAll(UnsafeRawPointer(bytes + whole), byteCount: byteCount - whole)
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
