import Capture
import FuzzFiles

/// The day-file reader, plain and gzip. The first byte picks the mode and a read chunk size, so records arrive split
/// at every offset:
/// - plain: the rest of the input is the file. Every message must be exactly the frame the file holds there, and the
///   frames read plus a truncated tail must account for every byte before the end-of-session mark.
/// - gzip round trip: the rest is cut into messages, written through `DayFileWriter` to a `.gz` file, and must read
///   back identical.
/// Inputs that start with the gzip magic are also read as they are, which reaches zlib's error paths.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  let control = data[0]
  // Byte-sized reads only for small files: one read(2) per byte would starve the fuzzer.
  let chunk = (size <= 1024 ? [1, 3, 7, 64] : [61, 509, 4096, 1 << 20])[Int(control >> 1) % 4]
  let file = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  if control & 1 == 0 || (size >= 3 && data[1] == 0x1F && data[2] == 0x8B) {
    readPlain(file, chunk: chunk)
  } else {
    roundTripGzip(file, chunk: chunk)
  }
  return 0
}

func readPlain(_ file: UnsafeRawBufferPointer, chunk: Int) {
  let path = ScratchFile.write(file)
  guard let input = try? InputFile(path: path, readChunkBytes: chunk) else { return }
  var reader = DayFileReader(file: input)
  var offset = 0
  do {
    while let message = try reader.next() {
      guard !input.isGzip else { continue }
      // Plain: the message is the frame at `offset`, byte for byte.
      guard offset + 2 + message.count <= file.count,
        Int(file[offset]) << 8 | Int(file[offset + 1]) == message.count,
        message.elementsEqual(UnsafeRawBufferPointer(rebasing: file[(offset + 2)..<(offset + 2 + message.count)]))
      else { fatalError("message \(reader.messagesRead) is not the frame at offset \(offset)") }
      offset += 2 + message.count
    }
  } catch {
    // Only gzip input may throw (a damaged stream); a plain file is never an error.
    guard input.isGzip else { fatalError("plain read threw \(error)") }
    return
  }
  guard !input.isGzip else { return }
  if reader.endOfSession {
    guard offset + 2 <= file.count, file[offset] == 0, file[offset + 1] == 0 else { fatalError("bad end of session") }
    offset += 2
  }
  guard reader.offset == UInt64(offset) else { fatalError("offset \(reader.offset) != \(offset)") }
  if reader.endOfSession {
    guard reader.truncatedAtOffset == nil else { fatalError("truncated after the end of session") }
  } else if offset == file.count {
    guard reader.truncatedAtOffset == nil else { fatalError("truncated at the very end") }
  } else {
    guard reader.truncatedAtOffset == UInt64(offset), reader.counters.truncatedRecords == 1 else {
      fatalError("a tail of \(file.count - offset) bytes was not reported as truncated")
    }
  }
}

func roundTripGzip(_ file: UnsafeRawBufferPointer, chunk: Int) {
  // Messages of 1...64 bytes, each length taken from the byte before it.
  var messages: [UnsafeRawBufferPointer] = []
  var offset = 0
  while offset < file.count {
    let length = min(Int(file[offset] & 63) + 1, file.count - offset - 1)
    offset += 1
    guard length >= 1 else { break }
    messages.append(UnsafeRawBufferPointer(rebasing: file[offset..<(offset + length)]))
    offset += length
  }
  let path = ScratchFile.path(".itch.gz")
  do {
    let writer = try DayFileWriter(path: path)
    for message in messages { try writer.write(message: message) }
    try writer.close()
    var reader = DayFileReader(file: try InputFile(path: path, readChunkBytes: chunk))
    var index = 0
    while let message = try reader.next() {
      guard index < messages.count, message.elementsEqual(messages[index]) else {
        fatalError("gzip round trip differs at message \(index)")
      }
      index += 1
    }
    guard index == messages.count, reader.counters.truncatedRecords == 0 else {
      fatalError("gzip round trip read \(index) of \(messages.count) messages")
    }
  } catch {
    fatalError("gzip round trip threw \(error)")
  }
}
