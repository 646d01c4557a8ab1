import Glibc

/// One growable buffer between an `InputFile` and a record parser. Unconsumed bytes (a record split across reads)
/// are carried to the front before refilling, so a record always comes out contiguous, however the file was read.
///
/// Consuming only moves an index: bytes handed out stay put until the next `fill`, which is what lets readers
/// return pointers into the buffer that live until their next call.
final class ReadBuffer {
  private let file: InputFile
  private var storage: UnsafeMutableRawPointer
  private(set) var capacity: Int
  private var start = 0
  private var end = 0
  private(set) var reachedEOF = false

  init(file: InputFile, initialCapacity: Int = 1 << 20) {
    self.file = file
    capacity = max(initialCapacity, 64)
    storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
  }

  deinit { storage.deallocate() }

  /// Bytes buffered and not yet consumed.
  var available: Int { end - start }

  /// Start of the unconsumed bytes; valid until the next `fill` or `skip`.
  var bytes: UnsafeRawPointer { UnsafeRawPointer(storage + start) }

  /// Makes at least `byteCount` unconsumed bytes contiguous at `bytes`. Returns false if the file ends first; the
  /// bytes that did arrive stay available.
  func fill(atLeast byteCount: Int) throws -> Bool {
    if available >= byteCount { return true }
    if byteCount > capacity - start {
      if byteCount > capacity { grow(to: max(byteCount, capacity * 2)) }
      // Carry the partial record to the front so the rest can follow it.
      if start > 0 {
        if available > 0 { memmove(storage, storage + start, available) }
        end = available
        start = 0
      }
    }
    while available < byteCount {
      if reachedEOF { return false }
      let got = try file.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
      if got == 0 {
        reachedEOF = true
        return false
      }
      end += got
    }
    return true
  }

  func consume(_ byteCount: Int) {
    precondition(byteCount >= 0 && byteCount <= available, "consume past the buffered bytes")
    start += byteCount
    if start == end {
      start = 0
      end = 0
    }
  }

  /// Drops everything buffered, e.g. the stub of a truncated record.
  func consumeAll() {
    start = 0
    end = 0
  }

  /// Discards `byteCount` bytes without ever holding them all, for records too large (or too dull) to buffer.
  /// Returns false if the file ends first.
  func skip(_ byteCount: Int) throws -> Bool {
    var remaining = byteCount
    while true {
      let step = min(remaining, available)
      consume(step)
      remaining -= step
      if remaining == 0 { return true }
      if try !fill(atLeast: 1) { return false }
    }
  }

  private func grow(to newCapacity: Int) {
    let newStorage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
    if available > 0 { newStorage.copyMemory(from: storage + start, byteCount: available) }
    storage.deallocate()
    storage = newStorage
    end = available
    start = 0
    capacity = newCapacity
  }
}
