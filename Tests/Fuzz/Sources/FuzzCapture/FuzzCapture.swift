import Capture
import FuzzFiles

/// The pcap and pcapng reader on arbitrary files (seeded with real captures), read in chunks of a size the first
/// byte picks. It may count, skip or throw for a bad file header, but never crash; every payload must be a UDP
/// payload no longer than the file, and the datagram count must match.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  // Byte-sized reads only for small files: one read(2) per byte would starve the fuzzer.
  let chunk = (size <= 1024 ? [1, 5, 64, 4096] : [61, 509, 4096, 1 << 20])[Int(data[0]) % 4]
  let file = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  let path = ScratchFile.write(file)
  guard let input = try? InputFile(path: path, readChunkBytes: chunk),
    var reader = try? PacketCaptureReader(file: input)
  else { return 0 }
  var datagrams: UInt64 = 0
  do {
    while let datagram = try reader.next() {
      // Payload bytes are read, so AddressSanitizer sees any view outside the buffer.
      var sum: UInt8 = 0
      for byte in datagram.payload { sum &+= byte }
      guard datagram.payload.count <= file.count else { fatalError("payload longer than the file") }
      datagrams += 1
      _ = sum
    }
  } catch {
    guard input.isGzip else { fatalError("a plain capture threw \(error) after its header") }
  }
  guard reader.counters.datagrams == datagrams else { fatalError("datagram count \(reader.counters.datagrams)") }
  return 0
}
