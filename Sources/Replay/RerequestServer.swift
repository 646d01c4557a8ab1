import Feed
import Glibc
import ITCH
import Synchronization
import Transport

/// Every message sent, by sequence, and a MoldUDP64 re-request server over them: a request
/// (`RerequestAction`'s 20 bytes) is answered with the messages it names, framed by
/// `MoldPacketizer` into datagrams of at most `answerDatagramBytes`, sent back to the requester.
/// Requests for nothing that was sent are ignored.
public final class RerequestServer: @unchecked Sendable {
  public static let answerDatagramBytes = 1400
  let socket: UDPReceiveSocket
  let store = Mutex(MessageStore())
  let running = SharedFlag()
  let finished = SharedFlag(true)

  /// What was recorded and what was served.
  public struct Counts: Equatable, Sendable {
    public var requestsServed: UInt64 = 0
    public var messagesRetransmitted: UInt64 = 0
    public var datagramsRetransmitted: UInt64 = 0
    public var messagesRecorded: UInt64 = 0
  }

  struct MessageStore {
    var session = MoldSessionID(high: 0x2020_2020_2020_2020, low: 0x2020)
    /// Message bytes, back to back, and where message `sequence` starts (`offsets[sequence - 1]`).
    var bytes: [UInt8] = []
    var offsets: [Int] = []
    var counts = Counts()
  }

  /// Listens on `address:port` (UDP).
  public init(port: UInt16, address: UInt32 = IPv4Endpoint.loopback) throws {
    socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: address, port: port))
  }

  public var counts: Counts { store.withLock { $0.counts } }

  /// The UDP port it listens on (the one asked for, or the kernel's choice for 0).
  public var port: UInt16 { socket.boundPort }

  /// Records a datagram as sent: its messages become retransmittable. Only the next sequence in
  /// order is stored, so a copy sent again adds nothing.
  public func record(_ datagram: UnsafeRawBufferPointer) {
    guard let packet = MoldPacket(datagram), !packet.isHeartbeat, !packet.isEndOfSession else { return }
    store.withLock { store in
      store.session = packet.session
      var sequence = packet.sequenceNumber
      var blocks = packet.blocks
      while let message = blocks.next() {
        if sequence == UInt64(store.offsets.count) + 1 {
          store.offsets.append(store.bytes.count)
          store.bytes.append(contentsOf: message)
          store.counts.messagesRecorded += 1
        }
        sequence += 1
      }
    }
  }

  /// Serves requests on a thread of its own until `stop`.
  public func start() {
    running.set()
    finished.clear()
    WorkerThread.detached { [self] in
      serve()
      finished.set()
    }
  }

  /// Stops serving and waits (up to a second) for the thread to finish.
  public func stop() {
    running.clear()
    let deadlineNs = Clock.monotonicNs() + 1_000_000_000
    while !finished.isSet && Clock.monotonicNs() < deadlineNs { usleep(1000) }
  }

  func serve() {
    var request = [UInt8](repeating: 0, count: 64)
    while running.isSet {
      var from = sockaddr_in()
      var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
      let received = request.withUnsafeMutableBytes { buffer in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            recvfrom(socket.fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &fromLength)
          }
        }
      }
      if received < 0 {
        usleep(200)
        continue
      }
      let parsed = request.withUnsafeBytes {
        RerequestAction(requestBytes: UnsafeRawBufferPointer(rebasing: $0[..<received]))
      }
      guard let parsed else { continue }
      for datagram in answer(parsed) {
        _ = datagram.withUnsafeBytes { bytes in
          withUnsafePointer(to: &from) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
              sendto(socket.fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
          }
        }
      }
    }
  }

  /// The datagrams answering `request`: the messages from its sequence, as many as it asks for and
  /// were sent, in order. Empty for a request of another session, for nothing, or past the end.
  public func answer(_ request: RerequestAction) -> [[UInt8]] {
    store.withLock { store in
      let available = UInt64(store.offsets.count)
      let first = request.sequence
      guard request.session == store.session, first >= 1, first <= available, request.count > 0 else { return [] }
      let last = min(first + UInt64(request.count) - 1, available)
      var packetizer = MoldPacketizer(
        session: store.session, maxDatagramBytes: Self.answerDatagramBytes, maxMessagesPerPacket: 0xFFFE,
        firstSequence: first)
      var datagrams: [[UInt8]] = []
      store.bytes.withUnsafeBytes { bytes in
        for sequence in first...last {
          let start = store.offsets[Int(sequence - 1)]
          let end = sequence < available ? store.offsets[Int(sequence)] : bytes.count
          packetizer.add(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) { datagrams.append(Array($0)) }
        }
      }
      packetizer.flush { datagrams.append(Array($0)) }
      store.counts.requestsServed += 1
      store.counts.messagesRetransmitted += last - first + 1
      store.counts.datagramsRetransmitted += UInt64(datagrams.count)
      return datagrams
    }
  }
}
