import Glibc
import Transport

/// `FeedInput.forEachDatagram` with the reading on a second thread: the file is read, unzipped and
/// framed there, and its datagrams cross to the caller's thread through a `PacketRing` (each
/// behind its capture time), so the caller's thread runs only what `body` does. The same
/// datagrams in the same order, then the same summary or the same error, after every datagram
/// read before it.
public enum ReadAheadInput {
  static let ringBytes = 1 << 22
  /// Datagrams the reader writes before it publishes them (one release store per batch).
  static let publishEvery = 16

  /// What the reading thread ended with, written before `finished` is raised.
  final class Outcome: @unchecked Sendable {
    var result: Result<InputSummary, Error> = .failure(CancellationError())
  }

  /// The reader gives up when the caller has stopped (its `body` threw).
  struct Stopped: Error {}

  public static func forEachDatagram(
    path: String, messagesPerPacket: Int, udpPort: UInt16? = nil,
    _ body: (UnsafeRawBufferPointer, UInt64) throws -> Void
  ) throws -> InputSummary {
    let ring = PacketRing(capacity: ringBytes)
    let finished = SharedFlag()
    let stop = SharedFlag()
    let outcome = Outcome()
    let reader = WorkerThread {
      var unpublished = 0
      do {
        let summary = try FeedInput.forEachDatagram(path: path, messagesPerPacket: messagesPerPacket, udpPort: udpPort)
        {
          datagram, timestampNs in
          while !ring.write(stamp: timestampNs, datagram) {
            ring.publish()
            unpublished = 0
            if stop.isSet { throw Stopped() }
            sched_yield()
          }
          unpublished += 1
          if unpublished == publishEvery {
            ring.publish()
            unpublished = 0
          }
        }
        outcome.result = .success(summary)
      } catch {
        outcome.result = .failure(error)
      }
      ring.publish()
      finished.set()
    }
    defer {
      stop.set()
      reader.join()
    }
    var bodyError: Error?
    while bodyError == nil {
      // Read the flag first: whatever was published before it was raised is drained below.
      let readerDone = finished.isSet
      let drained = ring.read { _, record in
        guard bodyError == nil else { return }
        let (timestampNs, datagram) = PacketRing.stamp(of: record)
        do { try body(datagram, timestampNs) } catch { bodyError = error }
      }
      ring.release()
      if drained == 0 {
        if readerDone { break }
        sched_yield()
      }
    }
    if let bodyError { throw bodyError }
    return try outcome.result.get()
  }
}
