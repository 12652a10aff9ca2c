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
        // SHA-256 batch identity: BoringSSL's assembly runs several times faster than a Swift rewrite.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
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
        .target(
            name: "CalibKit",
            dependencies: [
                "CZlib",
                "CXXHash",
                "CKernels",
                "CalibMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
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
        .testTarget(
            name: "CalibTests",
            dependencies: ["CalibKit", "calib"],
            exclude: ["Fixtures"]
        ),
    ]
)
