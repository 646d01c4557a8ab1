import CQuotecastLinux
import XCTest

/// A zero-allocation test means something only if the tests' malloc counter (CMallocCounter) is linked in and
/// counts this thread: without it the weak fallback answers UInt64.max, and every difference is 0.
public func assertMallocCounterIsLive(file: StaticString = #filePath, line: UInt = #line) {
  let before = qc_thread_allocations()
  XCTAssertNotEqual(before, UInt64.max, "the malloc counter is linked in", file: file, line: line)
  let probe = [Int](repeating: 1, count: 1000)
  XCTAssertEqual(probe.count, 1000)
  XCTAssertGreaterThan(qc_thread_allocations(), before, "the malloc counter counts this thread", file: file, line: line)
}
