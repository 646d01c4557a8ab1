// swift-tools-version:6.1
// libFuzzer targets, built apart from the main package because they have no main():
//   swift build --package-path Tests/Fuzz --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address
import PackageDescription

let package = Package(
  name: "quotecast-fuzz",
  dependencies: [.package(name: "quotecast", path: "../..")],
  targets: [
    .executableTarget(
      name: "FuzzCore",
      dependencies: [
        .product(name: "QuotecastCore", package: "quotecast"), .product(name: "ITCH", package: "quotecast"),
        .product(name: "Encoding", package: "quotecast"),
      ],
      path: "Sources/FuzzCore"),
    .executableTarget(
      name: "FuzzClient", dependencies: [.product(name: "QuotecastClient", package: "quotecast")],
      path: "Sources/FuzzClient"),
    // The file readers: each input is written to a file and read back the way the commands read it.
    .target(name: "FuzzFiles", path: "Sources/FuzzFiles"),
    .executableTarget(
      name: "FuzzDayFile", dependencies: ["FuzzFiles", .product(name: "Capture", package: "quotecast")],
      path: "Sources/FuzzDayFile"),
    .executableTarget(
      name: "FuzzCapture", dependencies: ["FuzzFiles", .product(name: "Capture", package: "quotecast")],
      path: "Sources/FuzzCapture"),
    .executableTarget(
      name: "FuzzFeedInput",
      dependencies: [
        "FuzzFiles", .product(name: "Replay", package: "quotecast"), .product(name: "ITCH", package: "quotecast"),
      ],
      path: "Sources/FuzzFeedInput"),
  ],
  swiftLanguageModes: [.v5]
)
