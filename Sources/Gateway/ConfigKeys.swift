import Transport
import Yams

/// One key of a config section: how it is read from YAML, printed, and checked, all from one
/// entry, so a key cannot be read into one field and printed or checked as another.
struct ConfigKey<Section> {
  let name: String
  /// Reads the node into the section; problems go to the reader, by the key's dotted path.
  let read: (inout ConfigReader, Node, String, inout Section) -> Void
  /// The value as YAML; nil: unset, printed as a comment with `unsetHint`.
  let value: (Section) -> String?
  var unsetHint = ""
  /// What is wrong with the value (without the key); nil: nothing.
  var check: (Section) -> String? = { _ in nil }

  func line(_ section: Section) -> String { value(section).map { "\(name): \($0)" } ?? "# \(name): \(unsetHint)" }
}

/// A section of the YAML file (`feed`, `channels`, ...) and its key table.
protocol ConfigSection: Equatable, Sendable {
  static var name: String { get }
  static var keys: [ConfigKey<Self>] { get }
  /// A section with no key set is left out of the printed file (faults).
  static var omittedWhenUnset: Bool { get }
  init()
}

extension ConfigSection {
  static var omittedWhenUnset: Bool { false }

  mutating func read(_ node: Node, into reader: inout ConfigReader) {
    let keys = Self.keys
    reader.section(node, Self.name, keys: Set(keys.map(\.name))) { reader, key, value in
      keys.first { $0.name == key }?.read(&reader, value, "\(Self.name).\(key)", &self)
    }
  }

  /// The section as YAML, every key with its value (or a comment where unset).
  var yaml: String {
    let keys = Self.keys
    if Self.omittedWhenUnset && keys.allSatisfy({ $0.value(self) == nil }) { return "" }
    return "\(Self.name):\n" + keys.map { "  " + $0.line(self) + "\n" }.joined()
  }

  /// Each key's own problems, named by key.
  var keyProblems: [String] {
    Self.keys.compactMap { key in key.check(self).map { "\(Self.name).\(key.name): \($0)" } }
  }
}

/// "must be 1...100, got 0": a range check's words.
func rangeProblem<Value: Comparable>(_ value: Value, _ range: ClosedRange<Value>, _ note: String = "") -> String? {
  range.contains(value) ? nil : "must be \(range.lowerBound)...\(range.upperBound)\(note), got \(value)"
}

/// "a power of two in 2...32768, got 1000".
func powerOfTwoProblem(_ value: Int, _ range: ClosedRange<Int>) -> String? {
  range.contains(value) && value & (value - 1) == 0
    ? nil : "must be a power of two in \(range.lowerBound)...\(range.upperBound), got \(value)"
}

extension ConfigKey {
  static func int<Value: FixedWidthInteger>(
    _ name: String, _ field: WritableKeyPath<Section, Value>, check: @escaping (Value) -> String? = { _ in nil }
  ) -> ConfigKey {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in
        guard let value = reader.int(node, path) else { return }
        guard let exact = Value(exactly: value) else {
          reader.problems.append("\(path): \(value) is out of range")
          return
        }
        section[keyPath: field] = exact
      }, value: { "\($0[keyPath: field])" }, check: { check($0[keyPath: field]) })
  }

  static func int(
    _ name: String, _ field: WritableKeyPath<Section, Int>, _ range: ClosedRange<Int>, _ note: String = ""
  )
    -> ConfigKey
  { int(name, field) { rangeProblem($0, range, note) } }

  /// A CPU to pin to, or none (printed as a comment).
  static func optionalInt(_ name: String, _ field: WritableKeyPath<Section, Int?>, unsetHint: String) -> ConfigKey {
    ConfigKey(
      name: name, read: { reader, node, path, section in reader.int(node, path).map { section[keyPath: field] = $0 } },
      value: { $0[keyPath: field].map(String.init) }, unsetHint: unsetHint)
  }

  static func bool(_ name: String, _ field: WritableKeyPath<Section, Bool>) -> ConfigKey {
    ConfigKey(
      name: name, read: { reader, node, path, section in reader.bool(node, path).map { section[keyPath: field] = $0 } },
      value: { "\($0[keyPath: field])" })
  }

  static func string(
    _ name: String, _ field: WritableKeyPath<Section, String>, check: @escaping (String) -> String? = { _ in nil }
  ) -> ConfigKey {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in reader.string(node, path).map { section[keyPath: field] = $0 } },
      value: { "\"\($0[keyPath: field])\"" }, check: { check($0[keyPath: field]) })
  }

  static func endpoint(
    _ name: String, _ field: WritableKeyPath<Section, IPv4Endpoint>,
    check: @escaping (IPv4Endpoint) -> String? = { _ in nil }
  ) -> ConfigKey {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in reader.endpoint(node, path).map { section[keyPath: field] = $0 } },
      value: { "\"\($0[keyPath: field])\"" }, check: { check($0[keyPath: field]) })
  }

  /// An endpoint or `off`; `on` means `onValue` where there is one.
  static func optionalEndpoint(
    _ name: String, _ field: WritableKeyPath<Section, IPv4Endpoint?>, on onValue: IPv4Endpoint? = nil,
    check: @escaping (IPv4Endpoint) -> String? = { _ in nil }
  ) -> ConfigKey {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in
        switch node.scalar?.string {
        case "off": section[keyPath: field] = nil
        case "on" where onValue != nil: section[keyPath: field] = onValue
        default: reader.endpoint(node, path).map { section[keyPath: field] = $0 }
        }
      }, value: { $0[keyPath: field].map { "\"\($0)\"" } ?? "off" }, check: { $0[keyPath: field].flatMap(check) })
  }

  /// An IPv4 address (an interface).
  static func address(_ name: String, _ field: WritableKeyPath<Section, UInt32>) -> ConfigKey {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in reader.address(node, path).map { section[keyPath: field] = $0 } },
      value: { IPv4Endpoint.format($0[keyPath: field]) })
  }

  /// One of a closed set of words: "must be a, b or c, got d".
  static func choice<Value: RawRepresentable & CaseIterable>(_ name: String, _ field: WritableKeyPath<Section, Value>)
    -> ConfigKey where Value.RawValue == String
  {
    ConfigKey(
      name: name,
      read: { reader, node, path, section in
        guard let text = reader.string(node, path) else { return }
        if let value = Value(rawValue: text) {
          section[keyPath: field] = value
        } else {
          let words = Value.allCases.map(\.rawValue)
          let choices = words.dropLast().joined(separator: ", ") + " or " + (words.last ?? "")
          reader.problems.append("\(path): must be \(choices), got \(text)")
        }
      }, value: { $0[keyPath: field].rawValue })
  }
}

/// Walks YAML mappings, collecting problems by dotted key instead of stopping at the first.
struct ConfigReader {
  var problems: [String] = []

  mutating func section(
    _ node: Node, _ path: String, keys: Set<String>, _ body: (inout ConfigReader, String, Node) -> Void
  ) {
    guard let mapping = node.mapping else {
      problems.append("\(path.isEmpty ? "top level" : path): must be a mapping")
      return
    }
    for (keyNode, value) in mapping {
      guard let key = keyNode.string else {
        problems.append("\(path.isEmpty ? "top level" : path): keys must be strings")
        continue
      }
      let full = path.isEmpty ? key : "\(path).\(key)"
      guard keys.contains(key) else {
        problems.append("\(full): unknown key (expected one of \(keys.sorted().joined(separator: ", ")))")
        continue
      }
      body(&self, key, value)
    }
  }

  mutating func int(_ node: Node, _ path: String) -> Int? {
    if let text = node.scalar?.string, let value = Int(text.replacingUnderscores()) { return value }
    problems.append("\(path): must be an integer, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }

  /// A channel number, or a range "FIRST-LAST".
  mutating func channelRange(_ node: Node, _ path: String) -> [Int] {
    if let text = node.scalar?.string {
      if let value = Int(text) { return [value] }
      let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
      if bounds.count == 2, let first = Int(bounds[0]), let last = Int(bounds[1]), first <= last, last - first < 1024 {
        return Array(first...last)
      }
    }
    problems.append(
      "\(path): each item is a channel number or FIRST-LAST, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return []
  }

  mutating func bool(_ node: Node, _ path: String) -> Bool? {
    switch node.scalar?.string {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default:
      problems.append("\(path): must be true or false, got \(node.scalar?.string ?? "a \(node.kindName)")")
      return nil
    }
  }

  mutating func string(_ node: Node, _ path: String) -> String? {
    if let text = node.scalar?.string { return text }
    problems.append("\(path): must be a string")
    return nil
  }

  mutating func list(_ node: Node, _ path: String) -> [Node]? {
    if let sequence = node.sequence { return Array(sequence) }
    problems.append("\(path): must be a list")
    return nil
  }

  mutating func endpoint(_ node: Node, _ path: String) -> IPv4Endpoint? {
    if let text = node.scalar?.string, let endpoint = IPv4Endpoint(text) { return endpoint }
    problems.append("\(path): must be an IPv4 address:port, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }

  mutating func address(_ node: Node, _ path: String) -> UInt32? {
    if let text = node.scalar?.string, let address = IPv4Endpoint.parseAddress(text) { return address }
    problems.append("\(path): must be an IPv4 address, got \(node.scalar?.string ?? "a \(node.kindName)")")
    return nil
  }
}

extension Node {
  var kindName: String {
    switch self {
    case .mapping: "mapping"
    case .sequence: "list"
    default: "scalar"
    }
  }
}

extension String {
  func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
