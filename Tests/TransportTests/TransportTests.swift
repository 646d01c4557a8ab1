import Foundation
import Glibc
import Transport
import XCTest

/// Sends UDP datagrams from an ordinary socket (loopback only).
final class LoopbackSender {
  let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
  deinit { close(fd) }

  func send(_ bytes: [UInt8], to endpoint: IPv4Endpoint) {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = endpoint.port.bigEndian
    address.sin_addr.s_addr = endpoint.address.bigEndian
    let sent = bytes.withUnsafeBytes { raw in
      withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
    precondition(sent == bytes.count)
  }
}

func makeReceiver(_ sockets: [UDPReceiveSocket], bufferCount: Int = 64) throws -> URingReceiver {
  var config = URingReceiver.Config()
  config.bufferCount = bufferCount
  do {
    return try URingReceiver(sockets: sockets, config: config)
  } catch let error as TransportError where error.description.contains("no io_uring") {
    throw XCTSkip("kernel lacks io_uring provided buffer rings: \(error)")
  }
}

/// Polls until `count` datagrams arrived or a second passed.
func receive(_ receiver: URingReceiver, count: Int) -> [(Int, [UInt8], IPv4Endpoint)] {
  var received: [(Int, [UInt8], IPv4Endpoint)] = []
  let deadline = Clock.monotonicNs() + 2_000_000_000
  while received.count < count && Clock.monotonicNs() < deadline {
    _ = receiver.poll(waitNs: 10_000_000) { socket, payload, source in received.append((socket, Array(payload), source))
    }
  }
  return received
}

final class TransportTests: XCTestCase {
  func testEndpointParsing() {
    XCTAssertEqual(IPv4Endpoint("127.0.0.1:26400"), IPv4Endpoint(address: 0x7F00_0001, port: 26400))
    XCTAssertEqual(IPv4Endpoint("239.255.10.1:31001")?.isMulticast, true)
    XCTAssertNil(IPv4Endpoint("127.0.0.1"))
    XCTAssertNil(IPv4Endpoint("127.0.0.256:1"))
    XCTAssertNil(IPv4Endpoint("127.0.0.1:0"))
    XCTAssertNil(IPv4Endpoint("localhost:80"))
    XCTAssertEqual(IPv4Endpoint(address: 0xEFFF_0A01, port: 9).description, "239.255.10.1:9")
  }

  func testMultishotReceivesAndRecyclesBuffers() throws {
    let socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0))
    let receiver = try makeReceiver([socket], bufferCount: 16)
    let target = IPv4Endpoint(address: IPv4Endpoint.loopback, port: socket.boundPort)
    let sender = LoopbackSender()
    // Ten times more datagrams than buffers, in small bursts: every buffer is reused many times.
    var received: [(Int, [UInt8], IPv4Endpoint)] = []
    for burst in 0..<20 {
      for index in 0..<8 { sender.send([UInt8(burst), UInt8(index)] + Array(repeating: 7, count: 100), to: target) }
      received += receive(receiver, count: 8)
    }
    XCTAssertEqual(received.count, 160)
    XCTAssertEqual(
      received.map { Array($0.1.prefix(2)) }, (0..<20).flatMap { b in (0..<8).map { [UInt8(b), UInt8($0)] } })
    XCTAssertTrue(received.allSatisfy { $0.0 == 0 && $0.1.count == 102 && $0.2.address == IPv4Endpoint.loopback })
    XCTAssertEqual(receiver.counters.datagrams, 160)
    XCTAssertEqual(receiver.counters.errors, 0)
  }

  func testBufferExhaustionIsBackPressureAndRecovers() throws {
    let socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0))
    let receiver = try makeReceiver([socket], bufferCount: 4)
    let target = IPv4Endpoint(address: IPv4Endpoint.loopback, port: socket.boundPort)
    let sender = LoopbackSender()
    // More datagrams than buffers before anyone polls: the multishot ends with ENOBUFS.
    for index in 0..<12 { sender.send([UInt8(index)], to: target) }
    let received = receive(receiver, count: 12)
    XCTAssertEqual(received.map { $0.1 }, (0..<12).map { [UInt8($0)] }, "nothing lost once re-armed")
    XCTAssertGreaterThan(receiver.counters.noBuffers, 0)
    XCTAssertGreaterThan(receiver.counters.rearms, 0)
  }

  func testMulticastOnLoopbackReachesAJoinedGroupOnly() throws {
    for method in MulticastPublisher.SendMethod.allCases { try checkMulticastReachesAJoinedGroupOnly(method) }
  }

  func checkMulticastReachesAJoinedGroupOnly(_ method: MulticastPublisher.SendMethod) throws {
    let groupA = IPv4Endpoint(address: 0xEFFF_0F01, port: 0)
    let first = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: groupA.address, port: 39_211))
    let other = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: 0xEFFF_0F02, port: 39_211))
    let receiver = try makeReceiver([first, other])
    let publisher = try MulticastPublisher(
      destinations: [
        IPv4Endpoint(address: 0xEFFF_0F01, port: 39_211), IPv4Endpoint(address: 0xEFFF_0F02, port: 39_211),
      ], method: method)
    let packets: [[UInt8]] = [[1, 1], [2, 2, 2], [3]]
    for (index, packet) in packets.enumerated() {
      packet.withUnsafeBytes { publisher.enqueue(destination: UInt16(index % 2), $0) }
    }
    publisher.flush()
    let received = receive(receiver, count: 3).sorted { $0.1.count < $1.1.count }
    XCTAssertEqual(received.map(\.1), [[3], [1, 1], [2, 2, 2]])
    XCTAssertEqual(received.map(\.0), [0, 0, 1], "each group's socket gets only its group")
    XCTAssertEqual(publisher.counters.packets, 3)
    XCTAssertEqual(publisher.packetsPerDestination[0], 2)
  }

  /// SEND_ZC from a registered buffer: every send completes with its result and its notification, and the
  /// packets arrive whole (on loopback the kernel reports that it copied).
  func testZeroCopySendsArriveAndEveryNotificationIsReaped() throws {
    let group = IPv4Endpoint(address: 0xEFFF_0F0C, port: 39_226)
    let member = try UDPReceiveSocket(endpoint: group)
    let receiver = try makeReceiver([member])
    let sender: ZeroCopyRingSender
    do {
      sender = try ZeroCopyRingSender(destination: group, bufferBytes: 4096, batchCapacity: 8)
    } catch {
      throw XCTSkip("this kernel has no io_uring SEND_ZC with registered buffers: \(error)")
    }
    for index in 0..<4 { sender.buffer.storeBytes(of: UInt8(index + 1), toByteOffset: index * 64, as: UInt8.self) }
    for round in 0..<3 {
      for index in 0..<4 { sender.enqueue(offset: index * 64, length: 64) }
      let failure = sender.flush()
      if round == 0 && (failure == EINVAL || failure == EOPNOTSUPP) {
        throw XCTSkip("SEND_ZC on UDP refused: \(String(cString: strerror(failure)))")
      }
      XCTAssertEqual(failure, 0)
    }
    XCTAssertEqual(sender.counters.packets, 12)
    XCTAssertEqual(sender.notifications, 12, "each send's buffer was released before flush returned")
    let received = receive(receiver, count: 12).map(\.1)
    XCTAssertEqual(received.count, 12)
    XCTAssertEqual(received.map(\.count), [Int](repeating: 64, count: 12))
    XCTAssertEqual(received.prefix(4).map { $0[0] }, [1, 2, 3, 4])
  }

  /// GSO in the publisher: each destination's packets of a batch leave as one segmented message; every
  /// packet arrives whole, in its destination's order, padded with zeros to the run's longest.
  func testGSOPublisherKeepsEachDestinationsPacketsInOrder() throws {
    let groups = [IPv4Endpoint(address: 0xEFFF_0F0D, port: 39_228), IPv4Endpoint(address: 0xEFFF_0F0E, port: 39_228)]
    let members = try groups.map { try UDPReceiveSocket(endpoint: $0) }
    let receiver = try makeReceiver(members, bufferCount: 128)
    let publisher = try MulticastPublisher(destinations: groups, batchCapacity: 16, method: .gso)
    // Interleaved destinations, sizes that differ, and a last packet longer than the rest.
    let packets: [(UInt16, [UInt8])] = (0..<10).map { index in
      (UInt16(index % 2), [UInt8](repeating: UInt8(index + 1), count: index == 8 ? 300 : 40 + index * 7))
    }
    for (destination, bytes) in packets { bytes.withUnsafeBytes { publisher.enqueue(destination: destination, $0) } }
    publisher.flush()
    if publisher.segmentationRefused { throw XCTSkip("this kernel refuses UDP_SEGMENT on loopback") }
    XCTAssertEqual(publisher.counters.packets, 10)
    let payloadBytes = packets.reduce(0) { $0 + $1.1.count }
    XCTAssertEqual(publisher.counters.bytes, UInt64(payloadBytes), "padding is not counted")
    XCTAssertEqual(publisher.packetsPerDestination[0], 5)
    XCTAssertEqual(publisher.counters.segmentedSends, 2, "one segmented message per destination")
    // Destination 0 sends 40, 54, 68, 82 and 300 bytes: the 300 is too much longer and goes alone, the rest are
    // padded to 82 (84 zero bytes). Destination 1 sends 47, 61, 75, 89, 103: padded to 103 (140).
    XCTAssertEqual(publisher.counters.paddingBytes, UInt64(84 + 140))
    let received = receive(receiver, count: 10)
    XCTAssertEqual(received.count, 10)
    let expectedSizes = [[82, 82, 82, 82, 300], [103, 103, 103, 103, 103]]
    for destination in 0..<2 {
      let sent = packets.filter { Int($0.0) == destination }.map(\.1)
      let arrived = received.filter { $0.0 == destination }.map(\.1)
      XCTAssertEqual(arrived.map(\.count), expectedSizes[destination], "destination \(destination)'s datagrams")
      for (position, (bytes, packet)) in zip(arrived, sent).enumerated() {
        XCTAssertEqual(Array(bytes.prefix(packet.count)), packet, "destination \(destination) packet \(position)")
        XCTAssertTrue(bytes.dropFirst(packet.count).allSatisfy { $0 == 0 }, "padding is zeros")
      }
    }
  }

  /// Many full batches through either method: every packet is sent or counted as dropped, none is
  /// an error, and the io_uring ring is reaped batch by batch (its entries never run out).
  func testEveryPacketOfManyBatchesIsAccountedForWithEitherMethod() throws {
    for method in MulticastPublisher.SendMethod.allCases {
      let publisher = try MulticastPublisher(
        destinations: [IPv4Endpoint(address: 0xEFFF_0F0A, port: 39_222)], sendBufferBytes: 4096, batchCapacity: 256,
        method: method)
      let payload = [UInt8](repeating: 7, count: 8000)
      let startNs = Clock.monotonicNs()
      for _ in 0..<20 {
        for _ in 0..<256 { payload.withUnsafeBytes { publisher.enqueue(destination: 0, $0) } }
        publisher.flush()
      }
      XCTAssertEqual(publisher.counters.packets + publisher.counters.dropped, 20 * 256, "\(method)")
      XCTAssertEqual(publisher.counters.errors, 0, "\(method)")
      XCTAssertLessThan(Clock.monotonicNs() - startNs, 5_000_000_000, "\(method) never waits for room")
    }
  }

  /// A SINGLE_ISSUER ring polled from a thread that did not create it fails loudly (counted), never
  /// silently: this is why the gateway creates its ring on its own thread.
  func testPollingFromAnotherThreadIsCountedNotSilent() throws {
    let socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0))
    let receiver = try makeReceiver([socket])
    guard receiver.setupDescription == "single-issuer+defer-taskrun" else {
      throw XCTSkip("kernel has no SINGLE_ISSUER|DEFER_TASKRUN (\(receiver.setupDescription))")
    }
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
      _ = receiver.poll { _, _, _ in }
      done.signal()
    }
    thread.start()
    done.wait()
    XCTAssertEqual(receiver.counters.enterErrors, 1)
    XCTAssertEqual(receiver.lastEnterError, EEXIST)
  }

  /// The receiver owns its sockets. An optimized build may end a caller's local array right after
  /// its last use; if that closes the sockets before the ring arms them, nothing ever arrives (seen
  /// in the release build of `subscribe`). Here the receiver must be the one keeping the socket.
  func testTheReceiverKeepsItsSocketsOpen() throws {
    weak var weakSocket: UDPReceiveSocket?
    func joinedReceiver() throws -> URingReceiver {
      let socket = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: 0xEFFF_0F09, port: 39_219))
      weakSocket = socket
      return try makeReceiver([socket])
    }
    let receiver = try joinedReceiver()
    XCTAssertNotNil(weakSocket, "the receiver keeps its socket alive")
    let publisher = try MulticastPublisher(destinations: [IPv4Endpoint(address: 0xEFFF_0F09, port: 39_219)])
    [UInt8](repeating: 9, count: 32).withUnsafeBytes { publisher.enqueue(destination: 0, $0) }
    publisher.flush()
    XCTAssertEqual(receive(receiver, count: 1).map(\.1), [[UInt8](repeating: 9, count: 32)])
  }

  func testAChannelIsClaimedOncePerHostAndFreedWithItsHolder() throws {
    let group = IPv4Endpoint("239.255.77.1:31001")!
    let other = IPv4Endpoint("239.255.77.2:31001")!
    var first: ChannelClaims? = try ChannelClaims([(channel: 0, group: group)])
    XCTAssertNotNil(first)
    XCTAssertThrowsError(try ChannelClaims([(channel: 1, group: other), (channel: 0, group: group)])) { error in
      guard let conflict = error as? ChannelClaims.Conflict else { return XCTFail("\(error)") }
      XCTAssertEqual(conflict.channel, 0)
      XCTAssertEqual(conflict.holderPid, getpid(), "the holder is named")
      XCTAssertTrue(conflict.description.contains("channel 0 (239.255.77.1:31001) is already published"))
    }
    // The refused claim let go of the channel it had taken first.
    XCTAssertNoThrow(try ChannelClaims([(channel: 1, group: other)]))
    first = nil
    XCTAssertNoThrow(try ChannelClaims([(channel: 0, group: group)]), "freed when its holder goes")
  }

  /// The edge's option: a thread put under SCHED_IDLE reports that policy (and the others keep theirs).
  func testAThreadCanBeMovedToTheIdlePolicy() {
    let policies = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
    defer { policies.deallocate() }
    let worker = WorkerThread {
      policies[0] = sched_getscheduler(0)
      do { try CPUPinning.setCurrentThreadIdlePolicy() } catch { XCTFail("\(error)") }
      policies[1] = sched_getscheduler(0)
    }
    worker.join()
    XCTAssertEqual(policies[0], SCHED_OTHER)
    XCTAssertEqual(policies[1], 5, "SCHED_IDLE (5: a _GNU_SOURCE name Swift's Glibc does not import)")
    XCTAssertEqual(sched_getscheduler(0), SCHED_OTHER, "only that thread moved")
  }

  func testPinningRejectsACPUThatDoesNotExist() {
    XCTAssertThrowsError(try CPUPinning.pinCurrentThread(to: 4095))
    XCTAssertTrue(CPUPinning.isAllowed(0))
  }
}
