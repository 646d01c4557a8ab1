import Foundation
import XCTest

/// A test case with a fresh temporary folder per test (`directory`), removed afterwards.
class DirectoryTestCase: XCTestCase {
  var directory = ""

  override func setUpWithError() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("replay-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    directory = url.path
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }
}
