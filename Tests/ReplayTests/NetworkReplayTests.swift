import Capture
import Feed
import Foundation
import Glibc
import ITCH
import Replay
import Synth
import Transport
import XCTest

/// The sender side of `replay --to`: the fault plan, the re-request server's answers, and a paced
/// replay with faults into a loopback socket, every injected fault counted exactly.
final class NetworkReplayTests: DirectoryTestCase {

  /// A synthetic day's messages, and the same as a day file.
  func day(messages: Int, seed: UInt64) throws -> (messages: [[UInt8]], path: String) {
    var day = SyntheticDay(config: SyntheticDayConfig(messages: messages, symbols: 8, seed: seed))
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    defer { buffer.deallocate() }
    let path = directory + "/day.itch"
    let writer = try DayFileWriter(path: path)
    var all: [[UInt8]] = []
    while let length = day.next(into: buffer) {
      let message = UnsafeRawBufferPointer(start: buffer, count: length)
      all.append(Array(message))
      try writer.write(message: message)
    }
    try writer.close()
    return (all, path)
  }

  /// The messages of MoldUDP64 datagrams, in order, and each datagram's first sequence.
  func messages(of datagrams: [[UInt8]]) -> (messages: [[UInt8]], firstSequences: [UInt64]) {
    var messages: [[UInt8]] = []
    var firsts: [UInt64] = []
    for datagram in datagrams {
      datagram.withUnsafeBytes { bytes in
        guard let packet = MoldPacket(bytes) else { return XCTFail("an answer that is not MoldUDP64") }
        firsts.append(packet.sequenceNumber)
        var blocks = packet.blocks
        while let message = blocks.next() { messages.append(Array(message)) }
        XCTAssertEqual(blocks.anomaly, .none)
      }
    }
    return (messages, firsts)
  }

  func testTheFaultPlanReadsEveryKindAndRefusesBadOnes() throws {
    let plan = try FaultPlan(
      "drop_a=0.1,drop_b=0.2,drop_both=0.01,duplicate=0.05,reorder=0.5,truncate=0,foreign=0.02", seed: 9)
    XCTAssertEqual(
      [plan.dropA, plan.dropB, plan.dropBoth, plan.duplicate, plan.reorder, plan.truncate, plan.foreign],
      [0.1, 0.2, 0.01, 0.05, 0.5, 0, 0.02])
    XCTAssertEqual(plan.seed, 9)
    XCTAssertFalse(plan.isEmpty)
    XCTAssertTrue(try FaultPlan("truncate=0", seed: 1).isEmpty)
    XCTAssertThrowsError(try FaultPlan("drop_a=0.6", seed: 1)) { error in
      XCTAssertEqual("\(error)", "--faults: expected kind=rate with a rate of 0...0.5, got drop_a=0.6")
    }
    XCTAssertThrowsError(try FaultPlan("lose=0.1", seed: 1)) { error in
      XCTAssertTrue("\(error)".hasPrefix("--faults: unknown kind lose"), "\(error)")
    }
    XCTAssertThrowsError(try NetworkReplay.parseSpeed("0"))
    XCTAssertNil(try NetworkReplay.parseSpeed("max"))
    XCTAssertEqual(try NetworkReplay.parseSpeed("10"), 10)
  }

  func testARequestReadsBackFromItsBytes() {
    let request = RerequestAction(session: MoldSessionID("QUOTECAST"), sequence: 0x0102_0304_0506_0708, count: 513)
    let read = request.withRequestBytes { RerequestAction(requestBytes: $0) }
    XCTAssertEqual(read, request)
    XCTAssertNil([UInt8](repeating: 0, count: 19).withUnsafeBytes { RerequestAction(requestBytes: $0) })
  }

  func testTheServerAnswersExactlyTheMessagesAskedForThatWereSent() throws {
    let (all, _) = try day(messages: 3_000, seed: 4)
    let server = try RerequestServer(port: 0)
    var packetizer = MoldPacketizer(session: MoldSessionID("QUOTECAST"), maxMessagesPerPacket: 7)
    var sent: [[UInt8]] = []
    for message in all { message.withUnsafeBytes { packetizer.add($0) { sent.append(Array($0)) } } }
    packetizer.flush { sent.append(Array($0)) }
    for datagram in sent + sent.prefix(10) { datagram.withUnsafeBytes { server.record($0) } }
    XCTAssertEqual(server.counts.messagesRecorded, UInt64(all.count), "copies add nothing")

    let session = MoldSessionID("QUOTECAST")
    let answer = server.answer(RerequestAction(session: session, sequence: 37, count: 1_000))
    let read = messages(of: answer)
    XCTAssertEqual(read.messages, Array(all[36..<1036]))
    XCTAssertEqual(read.firstSequences.first, 37)
    XCTAssertGreaterThan(answer.count, 1, "split into datagrams")
    XCTAssertTrue(answer.allSatisfy { $0.count <= RerequestServer.answerDatagramBytes })
    // Past the end: what exists; nothing for another session, sequence 0, or beyond what was sent.
    XCTAssertEqual(
      messages(of: server.answer(RerequestAction(session: session, sequence: 2_990, count: 500))).messages,
      Array(all[2989...]))
    XCTAssertEqual(server.answer(RerequestAction(session: MoldSessionID("OTHER"), sequence: 1, count: 5)), [])
    XCTAssertEqual(server.answer(RerequestAction(session: session, sequence: 0, count: 5)), [])
    XCTAssertEqual(server.answer(RerequestAction(session: session, sequence: 3_001, count: 5)), [])
    XCTAssertEqual(server.counts.requestsServed, 2)
    XCTAssertEqual(server.counts.messagesRetransmitted, 1_000 + 11)
  }

  func testAReplayWithFaultsSendsWhatItCountsAndTheServerAnswersOverLoopback() throws {
    let (all, path) = try day(messages: 20_000, seed: 6)
    let receiver = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0))
    let port = receiver.boundPort
    let server = try RerequestServer(port: 0)
    server.start()
    defer { server.stop() }
    var replay = NetworkReplay(
      destination: IPv4Endpoint(address: IPv4Endpoint.loopback, port: port), speed: nil, rate: 400_000,
      loopInput: false, durationNs: nil)
    replay.faults = try FaultPlan("drop_a=0.05,duplicate=0.05,reorder=0.05", seed: 12)
    replay.rerequest = server
    var received: [[UInt8]] = []
    let reader = WorkerThread {
      var buffer = [UInt8](repeating: 0, count: 2048)
      var quietSinceNs = Clock.monotonicNs()
      while Clock.monotonicNs() - quietSinceNs < 500_000_000 {
        let count = buffer.withUnsafeMutableBytes { recv(receiver.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count > 0 {
          received.append(Array(buffer[..<count]))
          quietSinceNs = Clock.monotonicNs()
        } else {
          usleep(100)
        }
      }
    }
    let sent = try replay.run(input: path, messagesPerPacket: 4)
    reader.join()
    let counts = replay.counts
    XCTAssertEqual(sent.messages, UInt64(all.count))
    XCTAssertEqual(counts.datagrams, sent.datagrams)
    XCTAssertGreaterThan(counts.droppedA, 0)
    XCTAssertGreaterThan(counts.duplicated, 0)
    XCTAssertGreaterThan(counts.reordered, 0)
    XCTAssertEqual(counts.sentA, counts.datagrams - counts.droppedA + counts.duplicated, "every fault counted")
    XCTAssertEqual(UInt64(received.count), counts.sentA, "and exactly that many arrived")
    XCTAssertEqual(server.counts.messagesRecorded, UInt64(all.count), "the dropped ones can be re-requested")

    // A request over the wire is answered to its sender.
    let client = try UDPReceiveSocket(endpoint: IPv4Endpoint(address: IPv4Endpoint.loopback, port: 0))
    var serverAddress = IPv4Endpoint(address: IPv4Endpoint.loopback, port: server.port).socketAddress
    let request = RerequestAction(session: MoldSessionID("QUOTECAST"), sequence: 100, count: 50)
    _ = request.withRequestBytes { bytes in
      withUnsafePointer(to: &serverAddress) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(client.fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
    var answer: [[UInt8]] = []
    let deadlineNs = Clock.monotonicNs() + 2_000_000_000
    var buffer = [UInt8](repeating: 0, count: 2048)
    while messages(of: answer).messages.count < 50 && Clock.monotonicNs() < deadlineNs {
      let count = buffer.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
      if count > 0 { answer.append(Array(buffer[..<count])) } else { usleep(1000) }
    }
    XCTAssertEqual(messages(of: answer).messages, Array(all[99..<149]))
  }
}
