// swift-tools-version:6.1
import PackageDescription

// Microbenchmarks of the core with ordo-one/benchmark, beside the code (as swift-nio keeps its
// Benchmarks package). Thresholds are checked in under Thresholds/:
//   swift package benchmark thresholds check     (fails on a regression)
//   swift package --allow-writing-to-package-directory benchmark thresholds update
let package = Package(
  name: "quotecast-benchmarks",
  dependencies: [
    .package(name: "quotecast", path: ".."),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "CoreBenchmarks",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "ITCH", package: "quotecast"),
        .product(name: "QuotecastCore", package: "quotecast"),
        .product(name: "QuotecastClient", package: "quotecast"),
        .product(name: "Synth", package: "quotecast"),
      ],
      path: "Benchmarks/CoreBenchmarks",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
  ],
  swiftLanguageModes: [.v5]
)
