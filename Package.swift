// swift-tools-version:6.1
import PackageDescription

// The folders follow the data: ITCH (wire) → Feed (session) → Book → Encoding, glued by
// QuotecastCore. Capture and Synth feed that core from files; the CLI drives it.

// Release builds of the modules the hot path runs in (the core's code is specialized into its
// callers' modules) skip the runtime exclusivity checks, a `swift_beginAccess` per class-property
// write; debug builds, and so the tests, keep them.
let hotPathSwiftSettings: [SwiftSetting] = [
  .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]
// Aggressive cross-module optimization: the core's generic entry points (`process<Sink>`) are
// specialized for the caller's sink in the caller's module instead of running unspecialized,
// with runtime metadata lookups per datagram.
let coreSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"])] + hotPathSwiftSettings

let package = Package(
  name: "quotecast",
  products: [
    .executable(name: "quotecast", targets: ["quotecast"]),
    .library(name: "QuotecastCore", targets: ["QuotecastCore"]),
    .library(name: "ITCH", targets: ["ITCH"]),
    .library(name: "Feed", targets: ["Feed"]),
    .library(name: "Book", targets: ["Book"]),
    .library(name: "Encoding", targets: ["Encoding"]),
    .library(name: "Capture", targets: ["Capture"]),
    .library(name: "QuotecastClient", targets: ["QuotecastClient"]),
    .library(name: "Synth", targets: ["Synth"]),
    .library(name: "Replay", targets: ["Replay"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
  ],
  targets: [
    // System libraries and C/C++ shims.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .systemLibrary(name: "CLibURing", path: "Sources/CLibURing"),
    .target(name: "CQuotecastLinux", path: "Sources/CQuotecastLinux"),
    .target(
      name: "CQuotecastSchema",
      path: "Sources/CQuotecastSchema"
    ),

    // The core: no I/O.
    .target(name: "ITCH", path: "Sources/ITCH", swiftSettings: coreSwiftSettings),
    .target(name: "Feed", dependencies: ["ITCH"], path: "Sources/Feed", swiftSettings: coreSwiftSettings),
    // LLVM's x86 cmov converter turns the level search's conditional moves back into branches,
    // which mispredict about half the time; off for the books.
    .target(
      name: "Book", dependencies: ["ITCH"], path: "Sources/Book",
      swiftSettings: coreSwiftSettings + [.unsafeFlags(["-Xllvm", "-x86-cmov-converter=false"])]),
    .target(
      name: "Encoding", dependencies: ["Book", "CQuotecastSchema"], path: "Sources/Encoding",
      swiftSettings: coreSwiftSettings),
    .target(
      name: "QuotecastCore", dependencies: ["ITCH", "Feed", "Book", "Encoding"], path: "Sources/QuotecastCore",
      swiftSettings: coreSwiftSettings),

    // Subscribers: zero-copy packet views, book mirrors, and the io_uring subscriber.
    .target(name: "QuotecastClient", dependencies: ["Transport"], path: "Sources/QuotecastClient"),

    // The network: io_uring ingest, multicast fan-out, pinning.
    .target(
      name: "Transport",
      dependencies: ["CLibURing", "CQuotecastLinux"],
      path: "Sources/Transport", swiftSettings: hotPathSwiftSettings),

    // The WebSocket edge, off the hot path: published packets from a ring, to WebSocket clients.
    .target(
      name: "Edge",
      dependencies: [
        "QuotecastClient", "Transport", "CQuotecastSchema",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      path: "Sources/Edge",
      resources: [.copy("Web")]),

    // The live gateway: config, the run-to-completion loop, heartbeats, snapshot cycle.
    .target(
      name: "Gateway",
      dependencies: [
        "ITCH", "Feed", "Book", "Encoding", "QuotecastCore", "Transport", "CQuotecastLinux",
        .product(name: "Yams", package: "Yams"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ],
      path: "Sources/Gateway", swiftSettings: hotPathSwiftSettings),

    // The latency harness: open-loop load, wire-to-wire matching, the null relay, reports.
    .target(
      name: "LatencyBench",
      dependencies: [
        "Gateway", "QuotecastCore", "QuotecastClient", "Transport", "Synth", "ITCH", "Replay", "Capture", "Book",
        .product(name: "Histogram", package: "hdrhistogram-swift"),
      ],
      path: "Sources/LatencyBench", swiftSettings: hotPathSwiftSettings),

    // Files in and out, and synthetic days.
    .target(name: "Capture", dependencies: ["CZlib", "CQuotecastLinux"], path: "Sources/Capture"),
    .target(name: "Synth", dependencies: ["ITCH"], path: "Sources/Synth"),
    // Files to MoldUDP64 datagrams: format detection, day-file packetizing, capture payloads.
    // … and to the network: the paced sender with A/B lines and fault injection, and a MoldUDP64 re-request server.
    .target(
      name: "Replay",
      dependencies: ["Capture", "ITCH", "Feed", "Book", "QuotecastCore", "QuotecastClient", "Synth", "Transport"],
      path: "Sources/Replay", swiftSettings: hotPathSwiftSettings),

    .executableTarget(
      name: "quotecast",
      dependencies: [
        "ITCH", "Book", "Encoding", "QuotecastCore", "QuotecastClient", "Capture", "Replay", "Synth", "Gateway",
        "Transport", "LatencyBench",
        "Edge",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      path: "Sources/quotecast"
    ),

    // Test support: a per-thread malloc counter interposed on glibc's allocator.
    .target(name: "CMallocCounter", path: "Tests/CMallocCounter"),
    .target(name: "TestSupport", dependencies: ["CQuotecastLinux", "Synth"], path: "Tests/TestSupport"),
    .testTarget(name: "ITCHTests", dependencies: ["ITCH"], path: "Tests/ITCHTests"),
    .testTarget(name: "FeedTests", dependencies: ["Feed", "ITCH"], path: "Tests/FeedTests"),
    .testTarget(
      name: "BookTests", dependencies: ["Book", "ITCH", "CMallocCounter", "TestSupport"],
      path: "Tests/BookTests"),
    .testTarget(
      name: "EncodingTests",
      dependencies: ["Encoding", "Book", "ITCH", "QuotecastClient", "TestSupport"],
      path: "Tests/EncodingTests"),
    .testTarget(name: "TransportTests", dependencies: ["Transport"], path: "Tests/TransportTests"),
    .testTarget(
      name: "GatewayTests",
      dependencies: [
        "ITCH", "Book", "Gateway", "QuotecastCore", "QuotecastClient", "Transport", "Synth", "CMallocCounter",
        "TestSupport",
      ],
      path: "Tests/GatewayTests"),
    .testTarget(
      name: "CaptureTests", dependencies: ["Capture", "Synth", "CQuotecastLinux"], path: "Tests/CaptureTests"),
    .testTarget(
      name: "ReplayTests",
      dependencies: ["Replay", "Capture", "ITCH", "Feed", "Synth", "Transport", "QuotecastCore"],
      path: "Tests/ReplayTests"),
    .testTarget(
      name: "LatencyBenchTests",
      dependencies: [
        "LatencyBench", "Gateway", "Transport", .product(name: "Histogram", package: "hdrhistogram-swift"),
      ],
      path: "Tests/LatencyBenchTests"),
    .testTarget(
      name: "EdgeTests", dependencies: ["ITCH", "Edge", "QuotecastCore", "QuotecastClient", "Synth"],
      path: "Tests/EdgeTests"),
    .testTarget(name: "SynthTests", dependencies: ["Synth"], path: "Tests/SynthTests"),
    .target(
      name: "CoreTestSupport", dependencies: ["ITCH", "QuotecastCore", "Synth"], path: "Tests/CoreTestSupport"),
    // The subscriber library: recovery through snapshots, layouts, stale marks, fuzz regressions.
    .testTarget(
      name: "QuotecastClientTests",
      dependencies: [
        "QuotecastClient", "QuotecastCore", "CoreTestSupport", "Book", "Encoding", "ITCH", "Transport",
        "CMallocCounter",
        "TestSupport",
      ],
      path: "Tests/QuotecastClientTests"),
    .testTarget(
      name: "CoreTests",
      dependencies: [
        "CoreTestSupport",
        "ITCH", "Feed", "Book", "Encoding", "QuotecastCore", "QuotecastClient", "Synth", "CMallocCounter",
        "TestSupport",
        "Transport",
      ],
      path: "Tests/CoreTests"),
  ],
  swiftLanguageModes: [.v5],
  cxxLanguageStandard: .cxx17
)
