// swift-tools-version:6.1
// libFuzzer targets, built apart from the main package because they have no main():
//   swift build --package-path Tests/Fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
import PackageDescription

let package = Package(
  name: "quotecast-fuzz",
  dependencies: [.package(name: "quotecast", path: "../..")],
  targets: [
    .executableTarget(
      name: "FuzzCore", dependencies: [.product(name: "QuotecastCore", package: "quotecast")],
      path: "Sources/FuzzCore"),
    .executableTarget(
      name: "FuzzClient", dependencies: [.product(name: "QuotecastClient", package: "quotecast")],
      path: "Sources/FuzzClient"),
  ],
  swiftLanguageModes: [.v5]
)
