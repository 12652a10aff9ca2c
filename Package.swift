// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "calib",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "CalibKit", targets: ["CalibKit"]),
        .executable(name: "calib", targets: ["calib"]),
        .executable(name: "calib-bench", targets: ["CalibBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // zlib from the system (zlib1g-dev) inflates deflated .npz members.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // XXH3-128 from the system (libxxhash-dev): the batch identity of new sessions, at memory
        // bandwidth (SHA-256 ran at ~1.5 GB/s and capped `calib run` there).
        .systemLibrary(name: "CXXHash", path: "Sources/CXXHash"),
        // Observer kernels in C: one portable binary with AVX2 code chosen at run time.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // The SQL migrations, embedded as Swift strings so a copied binary still carries them.
        .target(
            name: "CalibMigrations",
            path: "migrations",
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(name: "MigrationEmbedder", path: "Sources/MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"],
            path: "Plugins/EmbedMigrations"
        ),
        // The stages, one target each, so that imports can only point one way (README, "Layout"):
        // CalibSupport → CalibModel → CalibReaders, CalibObservers, CalibDerivation, CalibFormats →
        // CalibStore → CalibKit → calib. A backward import does not compile.
        .target(name: "CalibSupport"),
        .target(name: "CalibModel", dependencies: ["CalibSupport"]),
        .target(
            name: "CalibReaders",
            dependencies: [
                "CalibModel", "CalibSupport", "CZlib", "CXXHash", "CKernels",
            ]),
        .target(name: "CalibObservers", dependencies: ["CalibModel", "CKernels"]),
        .target(name: "CalibDerivation", dependencies: ["CalibModel"]),
        .target(name: "CalibFormats", dependencies: ["CalibModel", "CalibSupport"]),
        .target(
            name: "CalibStore",
            dependencies: [
                "CalibModel", "CalibSupport", "CalibMigrations", "CXXHash",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .target(
            name: "CalibKit",
            dependencies: [
                "CalibSupport", "CalibModel", "CalibReaders", "CalibObservers", "CalibDerivation", "CalibFormats",
                "CalibStore",
            ]
        ),
        .executableTarget(
            name: "calib",
            dependencies: [
                "CalibKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "CalibBench", dependencies: ["CalibKit"], path: "Sources/CalibBench"),
        // Tests: unit tests run in-process; CLI tests run the built `calib` as users do. Both share
        // CalibTestSupport (fixtures, the CLI runner, golden cases, snapshots).
        .target(
            name: "CalibTestSupport",
            dependencies: [
                "CalibKit", "CalibSupport", "CalibModel", "CalibReaders", "CalibObservers", "CalibDerivation", "CalibFormats",
                "CalibStore",
            ],
            path: "Tests/CalibTestSupport"
        ),
        .testTarget(
            name: "CalibTests",
            dependencies: [
                "CalibKit", "CalibTestSupport", "CalibSupport", "CalibModel", "CalibReaders", "CalibObservers",
                "CalibDerivation", "CalibFormats", "CalibStore",
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "CalibCLITests",
            dependencies: [
                "calib", "CalibKit", "CalibTestSupport", "CalibSupport", "CalibModel", "CalibReaders", "CalibObservers",
                "CalibDerivation", "CalibFormats", "CalibStore",
            ],
            exclude: ["Snapshots"]
        ),
    ]
)
