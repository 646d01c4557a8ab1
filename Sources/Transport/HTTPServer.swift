import Glibc

/// A read-only HTTP/1.0 server for operators: one short connection at a time on a thread of its own,
/// each request bounded in size and time, only GET answered. It binds at once, so a taken port fails
/// at start-up, before anything runs.
public final class ReadOnlyHTTPServer: @unchecked Sendable {
  public struct Response: Sendable {
    public var status: String
    public var contentType: String
    public var body: String

    public init(status: String = "200 OK", contentType: String, body: String) {
      self.status = status
      self.contentType = contentType
      self.body = body
    }
  }

  public let endpoint: IPv4Endpoint
  let listener: Int32
  let running = SharedFlag()

  /// `name` says whose server it is in errors ("metrics endpoint").
  public init(endpoint: IPv4Endpoint, name: String) throws {
    self.endpoint = endpoint
    listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard listener >= 0 else { throw TransportError("\(name): socket failed (errno \(errno))") }
    var one: Int32 = 1
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    // A short accept timeout lets the thread notice `stop`.
    var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = endpoint.socketAddress
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0, listen(listener, 16) == 0 else {
      let code = errno
      close(listener)
      throw TransportError("\(name): cannot listen on \(endpoint): \(String(cString: strerror(code)))")
    }
  }

  deinit { close(listener) }

  /// The port actually bound (for port 0).
  public var port: UInt16 { localPort(listener) }

  /// Serves until `stop`: `route` answers a GET of a path, nil for a path it does not serve (404 with
  /// `usage`); another method gets 405, "read-only: " and `usage`.
  public func start(usage: String, route: @escaping (Substring) -> Response?) {
    running.set()
    WorkerThread.detached { [self] in
      while running.isSet {
        let connection = accept(listener, nil, nil)
        if connection < 0 { continue }
        answer(connection, usage: usage, route: route)
        close(connection)
      }
    }
  }

  public func stop() { running.clear() }

  func answer(_ connection: Int32, usage: String, route: (Substring) -> Response?) {
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var request = [UInt8](repeating: 0, count: 8192)
    var received = 0
    // Read until the end of the headers, or the buffer is full, or the client stalls.
    while received < request.count {
      let count = request.withUnsafeMutableBytes {
        recv(connection, $0.baseAddress! + received, $0.count - received, 0)
      }
      if count <= 0 { break }
      received += count
      if request[0..<received].withUnsafeBufferPointer({ Self.containsHeaderEnd($0) }) { break }
    }
    let line = String(decoding: request[0..<received].prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
    let parts = line.split(separator: " ")
    let plain = "text/plain; charset=utf-8"
    var response = Response(status: "404 Not Found", contentType: plain, body: usage)
    if parts.count >= 2 && parts[0] != "GET" {
      response = Response(status: "405 Method Not Allowed", contentType: plain, body: "read-only: " + usage)
    } else if parts.count >= 2, let routed = route(parts[1]) {
      response = routed
    }
    let bytes = Array(
      ("HTTP/1.0 \(response.status)\r\nContent-Type: \(response.contentType)\r\n"
        + "Content-Length: \(response.body.utf8.count)\r\nConnection: close\r\n\r\n\(response.body)").utf8)
    var sent = 0
    while sent < bytes.count {
      let count = bytes.withUnsafeBytes {
        send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
      }
      if count <= 0 { break }
      sent += count
    }
  }

  static func containsHeaderEnd(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count >= 4 else { return false }
    for index in 3..<bytes.count
    where bytes[index - 3] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 1] == 0x0D && bytes[index] == 0x0A {
      return true
    }
    return false
  }
}
